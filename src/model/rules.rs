//! The catalogue of documented rules and ambiguities, each with a stable id.
//!
//! Tests, scenario files, coverage counts and reports all name rules by these ids; the text is
//! what AWS's documents say (quoted or closely paraphrased), so a report can show the rule a
//! divergence broke without sending the reader elsewhere.

/// Whether an entry is a rule every endpoint must follow or a place where the documents leave a
/// choice (every reading is accepted; the entry names the readings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    Rule,
    Ambiguity,
}

/// One documented rule.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub kind: RuleKind,
    /// The documented text behind the rule.
    pub text: &'static str,
}

const fn rule(id: &'static str, text: &'static str) -> Rule {
    Rule {
        id,
        kind: RuleKind::Rule,
        text,
    }
}

const fn ambiguity(id: &'static str, text: &'static str) -> Rule {
    Rule {
        id,
        kind: RuleKind::Ambiguity,
        text,
    }
}

/// Every rule and ambiguity the model encodes.
pub const RULES: &[Rule] = &[
    // CreateBackup: state gate
    rule("create-backup.state.allowed", "Backups can be created for servers in RUNNING, HEALTHY, and UNHEALTHY states."),
    rule("create-backup.state.refused", "An InvalidStateException is thrown when the server is not in any of the following states: RUNNING, HEALTHY, or UNHEALTHY."),
    rule("create-backup.state.backing-up", "While the server is in the BACKING_UP state, the server cannot be changed, and no additional backup can be created."),
    rule("create-backup.not-found", "A ResourceNotFoundException is thrown when the server is not found (server names are case-sensitive)."),
    // CreateBackup: the limit
    rule("create-backup.limit", "By default, you can create a maximum of 50 manual backups. A LimitExceededException is thrown when the maximum number of manual backups is reached."),
    rule("create-backup.limit.automated-not-counted", "Only manual backups count toward the manual-backup limit; automated backups follow BackupRetentionCount."),
    rule("create-backup.limit.delete-frees-slot", "You can delete both manual and automated backups; a deleted manual backup no longer counts toward the limit."),
    // CreateBackup: effect
    rule("create-backup.effect.response", "CreateBackup returns the Backup: BackupType MANUAL, the ServerName, the Description echoed, a Status from the BackupStatus enum."),
    rule("create-backup.effect.backup-id", "The generated ID of the backup. Example: myServerName-yyyyMMddHHmmssSSS (BackupId: at most 79 characters, pattern [a-zA-Z][a-zA-Z0-9\\-\\.\\:]*)."),
    rule("create-backup.effect.created-at", "CreatedAt is the time the backup was created (a timestamp, epoch seconds in awsJson)."),
    rule("create-backup.effect.arn", "BackupArn: the ARN of the backup, arn:aws:opsworks-cm:<region>:<account>:backup/<BackupId>."),
    rule("create-backup.effect.server-facts", "The Backup records its server: Engine, EngineModel and EngineVersion are the server's, and the server-snapshot members (instance type and profile, key pair, windows, security groups, subnets, service role) agree with what DescribeServers shows for that server."),
    rule("create-backup.effect.description", "Description: a user-provided description for the backup, echoed exactly; none when none was sent."),
    rule("create-backup.effect.backing-up", "This operation is asynchronous: the backup is IN_PROGRESS and the server BACKING_UP until it finishes."),
    rule("backup.created-at.stable", "CreatedAt is the time the backup was created: the same Backup carries the same CreatedAt in every later answer."),
    rule("backup.status.monotonic", "A backup's status never goes backwards: a backup seen OK or FAILED is never IN_PROGRESS again, and a backup seen gone never reappears."),
    rule("backup.completion", "An asynchronous backup ends OK or FAILED; the server then leaves BACKING_UP and returns to its status before the backup."),
    rule("server.backing-up.locked", "While the server is in the BACKING_UP state, the server cannot be changed (UpdateServer and other changes give InvalidStateException)."),
    // Validation
    rule("validation.required", "A ValidationException is thrown when parameters of the request are not valid: a required member is missing."),
    rule("validation.type", "A ValidationException is thrown when parameters of the request are not valid: a member has the wrong JSON type (or, for an enum, a value outside it)."),
    rule("validation.server-name.length", "ServerName: 1 to 40 characters."),
    rule("validation.server-name.pattern", "ServerName: pattern [a-zA-Z][a-zA-Z0-9\\-]*."),
    rule("validation.description.length", "Description (String): at most 10000 characters."),
    rule("validation.tags.count", "Tags (TagList): at most 200 tags in the shape; the prose says a maximum of 50 user-applied tags."),
    rule("validation.tag-key.length", "TagKey: 1 to 128 characters in the shape; the key cannot be empty and can be a maximum of 127 characters in the prose."),
    rule("validation.tag-key.pattern", "TagKey: only Unicode letters, numbers, separators, or + - = . _ : / (@ in the shape's pattern)."),
    rule("validation.tag-value.length", "TagValue: at most 256 characters in the shape; a maximum of 255 characters in the prose."),
    rule("validation.tag-value.pattern", "TagValue: only Unicode letters, numbers, separators, or + - = . _ : / (@ in the shape's pattern)."),
    rule("validation.backup-id.length", "BackupId: at most 79 characters."),
    rule("validation.backup-id.pattern", "BackupId: pattern [a-zA-Z][a-zA-Z0-9\\-\\.\\:]*."),
    rule("validation.max-results.range", "MaxResults: at least 1."),
    rule("validation.time-window.pattern", "TimeWindowDefinition: pattern ^((Mon|Tue|Wed|Thu|Fri|Sat|Sun):)?([0-1][0-9]|2[0-3]):[0-5][0-9]$."),
    rule("validation.string.length", "Other string members: the lengths of their shapes."),
    rule("validation.backup-retention-count", "BackupRetentionCount: at least 1 (CreateServer's BackupRetentionCountDefinition); UpdateServer's member is a plain Integer (A16)."),
    // Observation
    rule("describe-backups.listing", "DescribeBackups describes backups: every backup that exists, with its type and status, consistent with what was created and deleted."),
    rule("describe-backups.order", "The results are ordered by time, with newest backups first: by the CreatedAt each backup shows, and a backup created through the API is newer than every backup that existed before its call."),
    rule("describe-backups.filter", "If you do not specify a BackupId or ServerName, the command returns all backups; otherwise only the matching ones."),
    rule("describe-backups.not-found", "A ResourceNotFoundException is thrown when the backup does not exist."),
    rule("describe-servers.listing", "DescribeServers lists the servers with their Status."),
    rule("describe-servers.not-found", "A ResourceNotFoundException is thrown when the server does not exist."),
    rule("account-attributes.manual-backup-limit", "ManualBackupLimit: the number of current manual backups / maximum number of backups allowed."),
    // DeleteBackup
    rule("delete-backup.effect", "Deletes a backup. You can delete both manual and automated backups. This operation is asynchronous."),
    rule("delete-backup.not-found", "A ResourceNotFoundException is thrown when the backup does not exist."),
    rule("delete-backup.in-progress", "DeleteBackup deletes a backup whatever its status but DELETING: the backup still IN_PROGRESS is deleted too (A17 says what becomes of the server)."),
    rule("delete-backup.already-deleting", "An InvalidStateException is thrown when a backup deletion is already in progress."),
    // Other operations tied to the same state
    rule("update-server.effect", "UpdateServer updates settings for a server (DisableAutomatedBackup, BackupRetentionCount, windows). This operation is synchronous."),
    rule("update-server.observable", "UpdateServer updates settings for a server: DescribeServers (and UpdateServer's own answer) shows the settings it changed."),
    rule("update-server.not-found", "A ResourceNotFoundException is thrown when the server does not exist (UpdateServer, StartMaintenance, DeleteServer, RestoreServer)."),
    rule("start-maintenance.state", "Maintenance can only be started on servers in HEALTHY and UNHEALTHY states. Otherwise, an InvalidStateException is thrown. The server is UNDER_MAINTENANCE while maintenance is in progress."),
    rule("delete-server.effect", "When you run DeleteServer, the server state is updated to DELETING. After the server is deleted, it is no longer returned by DescribeServer requests."),
    rule("delete-server.in-progress", "DeleteServer while another operation is in progress (CREATING, MODIFYING, RESTORING, SETUP, UNDER_MAINTENANCE, BACKING_UP) is refused; A10 names the two errors allowed."),
    rule("delete-server.already-deleting", "An InvalidStateException is thrown when a server deletion is already in progress."),
    rule("restore-server.state", "Restores a backup to a server that is in a CONNECTION_LOST, HEALTHY, RUNNING, UNHEALTHY, or TERMINATED state; otherwise InvalidStateException."),
    rule("restore-server.backup", "RestoreServer restores a server from one of its own finished backups: a backup that is not OK, or that belongs to another server, is refused."),
    rule("restore-server.not-found", "A ResourceNotFoundException is thrown when the server or the backup does not exist."),
    // Response shape and protocol
    rule("response.shape", "Every response member has the type, enum value and constraints of its shape in the service model."),
    rule("protocol.error", "Errors are HTTP 4xx/5xx with a JSON body {\"__type\": \"<ErrorName>\", \"message\": \"...\"} naming one of the operation's documented errors."),
    rule("control-plane.contract", "The fixture control plane (version 1): reset, put a server, settle; each answers 200 with a JSON object."),
    rule("protocol.success", "A success is HTTP 200 with a JSON object body of the operation's output shape."),
    // Ambiguities: every reading is accepted; the entry says which
    ambiguity("ambiguity.limit-scope", "A1: the manual-backup limit counts per server (the CreateBackup page) or per account and region (ManualBackupLimit is an account attribute). Both readings are kept until an observation rules one out."),
    ambiguity("ambiguity.limit-value", "A2: 50 (API, account attribute) or 10 (user guide). The harness follows the endpoint's advertised limit (control plane maxManualBackups, or DescribeAccountAttributes)."),
    ambiguity("ambiguity.counted-statuses", "A3: IN_PROGRESS, FAILED and DELETING manual backups may or may not count toward the limit; a CreateBackup is accepted or refused wherever the count is in that range."),
    ambiguity("ambiguity.error-precedence", "A4: validation, then not-found, is AWS's order; when both the state gate and the limit apply, either InvalidStateException or LimitExceededException is accepted."),
    ambiguity("ambiguity.status-after-backup", "A5: after a backup finishes by itself, the server returns to its earlier status or takes a fresh health status (HEALTHY or UNHEALTHY). The control plane's settle restores the earlier status."),
    ambiguity("ambiguity.created-status", "A6: Backup.Status in the CreateBackup answer is IN_PROGRESS (asynchronous) or OK (the CLI example)."),
    ambiguity("ambiguity.backup-id-format", "A7: BackupId is ServerName-yyyyMMddHHmmssSSS (docs) or ServerName-2016-11-19T23:42:40.240Z (CLI and IAM examples)."),
    ambiguity("ambiguity.tag-limits", "A8: tag key at most 127 or 128 characters, value 255 or 256, at most 50 or 200 tags, @ allowed or not, whitespace trimmed before or after the check."),
    ambiguity("ambiguity.pattern-anchoring", "A9: botocore's patterns are unanchored, the Smithy model's anchored; a value that matches only somewhere inside may be accepted or refused."),
    ambiguity("ambiguity.delete-server-in-progress", "A10: DeleteServer while an operation is in progress gives InvalidStateException (API docs) or ValidationException (AWS's CloudFormation handler)."),
    ambiguity("ambiguity.unnamed-states", "A11: UpdateServer lists InvalidStateException without naming states: BACKING_UP refuses changes; other non-running states may accept or refuse."),
    ambiguity("ambiguity.error-type-form", "A12: __type is a plain name or namespace#Name (a :suffix is stripped too)."),
    ambiguity("ambiguity.describe-unknown-server", "A13: DescribeBackups with an unknown ServerName gives ResourceNotFoundException or an empty list."),
    ambiguity("ambiguity.tag-reserved-prefix", "A14: a tag key starting with aws: is reserved in AWS's general tagging rules but not in this service's documents: refused or accepted."),
    ambiguity("ambiguity.type-error-kind", "A15: a member of the wrong JSON type gives ValidationException (the documents) or SerializationException (AWS's JSON services)."),
    ambiguity("ambiguity.retention-zero", "A16: UpdateServer BackupRetentionCount 0 (UpdateServer's member is a plain Integer; CreateServer's is min 1): accepted, or ValidationException."),
    ambiguity("ambiguity.delete-in-progress-backup", "A17: DeleteBackup of the backup still IN_PROGRESS: the server leaves BACKING_UP at once, or stays BACKING_UP until the job ends."),
    ambiguity("ambiguity.deleting-backup-lookup", "A18: a backup being deleted (DELETING), used by RestoreServer or fetched by id, gives ResourceNotFoundException or is listed as DELETING; an error answer alone does not prove it left the listings."),
];

/// Looks a rule up by id.
pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(
                r.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
                "rule id {} is not lowercase kebab-case",
                r.id
            );
        }
        assert_eq!(
            RULES
                .iter()
                .filter(|r| r.kind == RuleKind::Ambiguity)
                .count(),
            18
        );
        assert!(rule_by_id("create-backup.limit").is_some());
    }
}
