//! The catalogue of documented rules and ambiguities, each with a stable id.
//!
//! Tests, scenario files, coverage counts and reports all name rules by these ids; the text is
//! what AWS's documents say (quoted or closely paraphrased), so a report can show the rule a
//! divergence broke without sending the reader elsewhere.
//!
//! Each rule is declared once, in the table below: the declaration makes a constant
//! ([`CREATE_BACKUP_LIMIT`], ...) of type [`RuleId`] and the rule's entry in [`RULES`]. Code names
//! a rule only through these constants, so a misspelled id does not compile; a [`RuleId`] is
//! made from text (a scenario file, a saved plan) only by [`RuleId::parse`], which knows the
//! table.

use std::fmt;

/// Whether an entry is a rule every endpoint must follow or a place where the documents leave a
/// choice (every reading is accepted; the entry names the readings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    Rule,
    Ambiguity,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Rule => "rule",
            RuleKind::Ambiguity => "ambiguity",
        }
    }
}

/// The id of a rule of [`RULES`], e.g. `create-backup.limit`. Only the table's constants and
/// [`RuleId::parse`] make one; it serializes as its text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(&'static str);

impl RuleId {
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The rule with id `id`, if the table has one (for ids read from scenario files and saved
    /// plans).
    pub fn parse(id: &str) -> Option<RuleId> {
        RULES.iter().map(|r| r.id).find(|r| r.0 == id)
    }

    /// The rule's entry in [`RULES`].
    pub fn rule(self) -> &'static Rule {
        RULES
            .iter()
            .find(|r| r.id == self)
            .expect("every RuleId comes from RULES")
    }
}

impl fmt::Debug for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A rule id reads as its text (`id.starts_with("validation.")`).
impl std::ops::Deref for RuleId {
    type Target = str;

    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for RuleId {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// Lets maps keyed by [`RuleId`] be looked up by text (the order is the text's order).
impl std::borrow::Borrow<str> for RuleId {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl From<RuleId> for String {
    fn from(id: RuleId) -> String {
        id.0.to_string()
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for RuleId {
    fn eq(&self, other: &String) -> bool {
        self.0 == other
    }
}

impl PartialEq<RuleId> for &str {
    fn eq(&self, other: &RuleId) -> bool {
        *self == other.0
    }
}

impl PartialEq<RuleId> for String {
    fn eq(&self, other: &RuleId) -> bool {
        self == other.0
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RuleId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RuleId::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a rule id (hint: `opsworkscm-conformance rules` lists them)"
            ))
        })
    }
}

/// One documented rule.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub kind: RuleKind,
    /// The documented text behind the rule.
    pub text: &'static str,
}

/// Declares every rule once: `CONSTANT: Kind "id" "text";` makes `pub const CONSTANT: RuleId`
/// and the rule's entry in [`RULES`], in the order written.
macro_rules! rules {
    ($($name:ident: $kind:ident $id:literal $text:literal;)*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $text)]
            pub const $name: RuleId = RuleId($id);
        )*

        /// Every rule and ambiguity the model encodes.
        pub const RULES: &[Rule] = &[
            $(Rule { id: $name, kind: RuleKind::$kind, text: $text },)*
        ];

        /// Each constant's name with its id (the test checks the one is spelled after the other).
        #[cfg(test)]
        const NAMES: &[(&str, RuleId)] = &[$((stringify!($name), $name),)*];
    };
}

rules! {
    // CreateBackup: state gate
    CREATE_BACKUP_STATE_ALLOWED: Rule "create-backup.state.allowed" "Backups can be created for servers in RUNNING, HEALTHY, and UNHEALTHY states.";
    CREATE_BACKUP_STATE_REFUSED: Rule "create-backup.state.refused" "An InvalidStateException is thrown when the server is not in any of the following states: RUNNING, HEALTHY, or UNHEALTHY.";
    CREATE_BACKUP_STATE_BACKING_UP: Rule "create-backup.state.backing-up" "While the server is in the BACKING_UP state, the server cannot be changed, and no additional backup can be created.";
    CREATE_BACKUP_NOT_FOUND: Rule "create-backup.not-found" "A ResourceNotFoundException is thrown when the server is not found (server names are case-sensitive).";
    // CreateBackup: the limit
    CREATE_BACKUP_LIMIT: Rule "create-backup.limit" "By default, you can create a maximum of 50 manual backups. A LimitExceededException is thrown when the maximum number of manual backups is reached.";
    CREATE_BACKUP_LIMIT_AUTOMATED_NOT_COUNTED: Rule "create-backup.limit.automated-not-counted" "Only manual backups count toward the manual-backup limit; automated backups follow BackupRetentionCount.";
    CREATE_BACKUP_LIMIT_DELETE_FREES_SLOT: Rule "create-backup.limit.delete-frees-slot" "You can delete both manual and automated backups; a deleted manual backup no longer counts toward the limit.";
    // CreateBackup: effect
    CREATE_BACKUP_EFFECT_RESPONSE: Rule "create-backup.effect.response" "CreateBackup returns the Backup: BackupType MANUAL, the ServerName, the Description echoed, a Status from the BackupStatus enum.";
    CREATE_BACKUP_EFFECT_BACKUP_ID: Rule "create-backup.effect.backup-id" "The generated ID of the backup. Example: myServerName-yyyyMMddHHmmssSSS (BackupId: at most 79 characters, pattern [a-zA-Z][a-zA-Z0-9\\-\\.\\:]*).";
    CREATE_BACKUP_EFFECT_CREATED_AT: Rule "create-backup.effect.created-at" "CreatedAt is the time the backup was created (a timestamp, epoch seconds in awsJson).";
    CREATE_BACKUP_EFFECT_ARN: Rule "create-backup.effect.arn" "BackupArn: the ARN of the backup, arn:aws:opsworks-cm:<region>:<account>:backup/<BackupId>.";
    CREATE_BACKUP_EFFECT_SERVER_FACTS: Rule "create-backup.effect.server-facts" "The Backup records its server: Engine, EngineModel and EngineVersion are the server's, and the server-snapshot members (instance type and profile, key pair, windows, security groups, subnets, service role) agree with what DescribeServers shows for that server.";
    CREATE_BACKUP_EFFECT_DESCRIPTION: Rule "create-backup.effect.description" "Description: a user-provided description for the backup, echoed exactly; none when none was sent.";
    CREATE_BACKUP_EFFECT_BACKING_UP: Rule "create-backup.effect.backing-up" "This operation is asynchronous: the backup is IN_PROGRESS and the server BACKING_UP until it finishes.";
    BACKUP_CREATED_AT_STABLE: Rule "backup.created-at.stable" "CreatedAt is the time the backup was created: the same Backup carries the same CreatedAt in every later answer.";
    BACKUP_STATUS_MONOTONIC: Rule "backup.status.monotonic" "A backup's status never goes backwards: a backup seen OK or FAILED is never IN_PROGRESS again, and a backup seen gone never reappears.";
    BACKUP_COMPLETION: Rule "backup.completion" "An asynchronous backup ends OK or FAILED; the server then leaves BACKING_UP and returns to its status before the backup.";
    SERVER_BACKING_UP_LOCKED: Rule "server.backing-up.locked" "While the server is in the BACKING_UP state, the server cannot be changed (UpdateServer and other changes give InvalidStateException).";
    // Validation
    VALIDATION_REQUIRED: Rule "validation.required" "A ValidationException is thrown when parameters of the request are not valid: a required member is missing.";
    VALIDATION_TYPE: Rule "validation.type" "A ValidationException is thrown when parameters of the request are not valid: a member has the wrong JSON type (or, for an enum, a value outside it).";
    VALIDATION_SERVER_NAME_LENGTH: Rule "validation.server-name.length" "ServerName: 1 to 40 characters.";
    VALIDATION_SERVER_NAME_PATTERN: Rule "validation.server-name.pattern" "ServerName: pattern [a-zA-Z][a-zA-Z0-9\\-]*.";
    VALIDATION_DESCRIPTION_LENGTH: Rule "validation.description.length" "Description (String): at most 10000 characters.";
    VALIDATION_TAGS_COUNT: Rule "validation.tags.count" "Tags (TagList): at most 200 tags in the shape; the prose says a maximum of 50 user-applied tags.";
    VALIDATION_TAG_KEY_LENGTH: Rule "validation.tag-key.length" "TagKey: 1 to 128 characters in the shape; the key cannot be empty and can be a maximum of 127 characters in the prose.";
    VALIDATION_TAG_KEY_PATTERN: Rule "validation.tag-key.pattern" "TagKey: only Unicode letters, numbers, separators, or + - = . _ : / (@ in the shape's pattern).";
    VALIDATION_TAG_VALUE_LENGTH: Rule "validation.tag-value.length" "TagValue: at most 256 characters in the shape; a maximum of 255 characters in the prose.";
    VALIDATION_TAG_VALUE_PATTERN: Rule "validation.tag-value.pattern" "TagValue: only Unicode letters, numbers, separators, or + - = . _ : / (@ in the shape's pattern).";
    VALIDATION_BACKUP_ID_LENGTH: Rule "validation.backup-id.length" "BackupId: at most 79 characters.";
    VALIDATION_BACKUP_ID_PATTERN: Rule "validation.backup-id.pattern" "BackupId: pattern [a-zA-Z][a-zA-Z0-9\\-\\.\\:]*.";
    VALIDATION_MAX_RESULTS_RANGE: Rule "validation.max-results.range" "MaxResults: at least 1.";
    VALIDATION_TIME_WINDOW_PATTERN: Rule "validation.time-window.pattern" "TimeWindowDefinition: pattern ^((Mon|Tue|Wed|Thu|Fri|Sat|Sun):)?([0-1][0-9]|2[0-3]):[0-5][0-9]$.";
    VALIDATION_STRING_LENGTH: Rule "validation.string.length" "Other string members: the lengths of their shapes.";
    VALIDATION_BACKUP_RETENTION_COUNT: Rule "validation.backup-retention-count" "BackupRetentionCount: at least 1 (CreateServer's BackupRetentionCountDefinition); UpdateServer's member is a plain Integer (A16).";
    // Observation
    DESCRIBE_BACKUPS_LISTING: Rule "describe-backups.listing" "DescribeBackups describes backups: every backup that exists, with its type and status, consistent with what was created and deleted.";
    DESCRIBE_BACKUPS_ORDER: Rule "describe-backups.order" "The results are ordered by time, with newest backups first: by the CreatedAt each backup shows, and a backup created through the API is newer than every backup that existed before its call.";
    DESCRIBE_BACKUPS_FILTER: Rule "describe-backups.filter" "If you do not specify a BackupId or ServerName, the command returns all backups; otherwise only the matching ones.";
    DESCRIBE_BACKUPS_NOT_FOUND: Rule "describe-backups.not-found" "A ResourceNotFoundException is thrown when the backup does not exist.";
    DESCRIBE_SERVERS_LISTING: Rule "describe-servers.listing" "DescribeServers lists the servers with their Status.";
    DESCRIBE_SERVERS_NOT_FOUND: Rule "describe-servers.not-found" "A ResourceNotFoundException is thrown when the server does not exist.";
    ACCOUNT_ATTRIBUTES_MANUAL_BACKUP_LIMIT: Rule "account-attributes.manual-backup-limit" "ManualBackupLimit: the number of current manual backups / maximum number of backups allowed.";
    // DeleteBackup
    DELETE_BACKUP_EFFECT: Rule "delete-backup.effect" "Deletes a backup. You can delete both manual and automated backups. This operation is asynchronous.";
    DELETE_BACKUP_NOT_FOUND: Rule "delete-backup.not-found" "A ResourceNotFoundException is thrown when the backup does not exist.";
    DELETE_BACKUP_IN_PROGRESS: Rule "delete-backup.in-progress" "DeleteBackup deletes a backup whatever its status but DELETING: the backup still IN_PROGRESS is deleted too (A17 says what becomes of the server).";
    DELETE_BACKUP_ALREADY_DELETING: Rule "delete-backup.already-deleting" "An InvalidStateException is thrown when a backup deletion is already in progress.";
    // Other operations tied to the same state
    UPDATE_SERVER_EFFECT: Rule "update-server.effect" "UpdateServer updates settings for a server (DisableAutomatedBackup, BackupRetentionCount, windows). This operation is synchronous.";
    UPDATE_SERVER_OBSERVABLE: Rule "update-server.observable" "UpdateServer updates settings for a server: DescribeServers (and UpdateServer's own answer) shows the settings it changed.";
    UPDATE_SERVER_NOT_FOUND: Rule "update-server.not-found" "A ResourceNotFoundException is thrown when the server does not exist (UpdateServer, StartMaintenance, DeleteServer, RestoreServer).";
    START_MAINTENANCE_STATE: Rule "start-maintenance.state" "Maintenance can only be started on servers in HEALTHY and UNHEALTHY states. Otherwise, an InvalidStateException is thrown. The server is UNDER_MAINTENANCE while maintenance is in progress.";
    DELETE_SERVER_EFFECT: Rule "delete-server.effect" "When you run DeleteServer, the server state is updated to DELETING. After the server is deleted, it is no longer returned by DescribeServer requests.";
    DELETE_SERVER_IN_PROGRESS: Rule "delete-server.in-progress" "DeleteServer while another operation is in progress (CREATING, MODIFYING, RESTORING, SETUP, UNDER_MAINTENANCE, BACKING_UP) is refused; A10 names the two errors allowed.";
    DELETE_SERVER_ALREADY_DELETING: Rule "delete-server.already-deleting" "An InvalidStateException is thrown when a server deletion is already in progress.";
    RESTORE_SERVER_STATE: Rule "restore-server.state" "Restores a backup to a server that is in a CONNECTION_LOST, HEALTHY, RUNNING, UNHEALTHY, or TERMINATED state; otherwise InvalidStateException.";
    RESTORE_SERVER_BACKUP: Rule "restore-server.backup" "RestoreServer restores a server from one of its own finished backups: a backup that is not OK, or that belongs to another server, is refused.";
    RESTORE_SERVER_NOT_FOUND: Rule "restore-server.not-found" "A ResourceNotFoundException is thrown when the server or the backup does not exist.";
    // Response shape and protocol
    RESPONSE_SHAPE: Rule "response.shape" "Every response member has the type, enum value and constraints of its shape in the service model.";
    PROTOCOL_ERROR: Rule "protocol.error" "Errors are HTTP 4xx/5xx with a JSON body {\"__type\": \"<ErrorName>\", \"message\": \"...\"} naming one of the operation's documented errors.";
    CONTROL_PLANE_CONTRACT: Rule "control-plane.contract" "The fixture control plane (version 1): reset, put a server, settle; each answers 200 with a JSON object.";
    PROTOCOL_SUCCESS: Rule "protocol.success" "A success is HTTP 200 with a JSON object body of the operation's output shape.";
    // Ambiguities: every reading is accepted; the entry says which
    AMBIGUITY_LIMIT_SCOPE: Ambiguity "ambiguity.limit-scope" "A1: the manual-backup limit counts per server (the CreateBackup page) or per account and region (ManualBackupLimit is an account attribute). Both readings are kept until an observation rules one out.";
    AMBIGUITY_LIMIT_VALUE: Ambiguity "ambiguity.limit-value" "A2: 50 (API, account attribute) or 10 (user guide). The harness follows the endpoint's advertised limit (control plane maxManualBackups, or DescribeAccountAttributes).";
    AMBIGUITY_COUNTED_STATUSES: Ambiguity "ambiguity.counted-statuses" "A3: IN_PROGRESS, FAILED and DELETING manual backups may or may not count toward the limit; a CreateBackup is accepted or refused wherever the count is in that range.";
    AMBIGUITY_ERROR_PRECEDENCE: Ambiguity "ambiguity.error-precedence" "A4: validation, then not-found, is AWS's order; when both the state gate and the limit apply, either InvalidStateException or LimitExceededException is accepted.";
    AMBIGUITY_STATUS_AFTER_BACKUP: Ambiguity "ambiguity.status-after-backup" "A5: after a backup finishes by itself, the server returns to its earlier status or takes a fresh health status (HEALTHY or UNHEALTHY). The control plane's settle restores the earlier status.";
    AMBIGUITY_CREATED_STATUS: Ambiguity "ambiguity.created-status" "A6: Backup.Status in the CreateBackup answer is IN_PROGRESS (asynchronous) or OK (the CLI example).";
    AMBIGUITY_BACKUP_ID_FORMAT: Ambiguity "ambiguity.backup-id-format" "A7: BackupId is ServerName-yyyyMMddHHmmssSSS (docs) or ServerName-2016-11-19T23:42:40.240Z (CLI and IAM examples).";
    AMBIGUITY_TAG_LIMITS: Ambiguity "ambiguity.tag-limits" "A8: tag key at most 127 or 128 characters, value 255 or 256, at most 50 or 200 tags, @ allowed or not, whitespace trimmed before or after the check.";
    AMBIGUITY_PATTERN_ANCHORING: Ambiguity "ambiguity.pattern-anchoring" "A9: botocore's patterns are unanchored, the Smithy model's anchored; a value that matches only somewhere inside may be accepted or refused.";
    AMBIGUITY_DELETE_SERVER_IN_PROGRESS: Ambiguity "ambiguity.delete-server-in-progress" "A10: DeleteServer while an operation is in progress gives InvalidStateException (API docs) or ValidationException (AWS's CloudFormation handler).";
    AMBIGUITY_UNNAMED_STATES: Ambiguity "ambiguity.unnamed-states" "A11: UpdateServer lists InvalidStateException without naming states: BACKING_UP refuses changes; other non-running states may accept or refuse.";
    AMBIGUITY_ERROR_TYPE_FORM: Ambiguity "ambiguity.error-type-form" "A12: __type is a plain name or namespace#Name (a :suffix is stripped too).";
    AMBIGUITY_DESCRIBE_UNKNOWN_SERVER: Ambiguity "ambiguity.describe-unknown-server" "A13: DescribeBackups with an unknown ServerName gives ResourceNotFoundException or an empty list.";
    AMBIGUITY_TAG_RESERVED_PREFIX: Ambiguity "ambiguity.tag-reserved-prefix" "A14: a tag key starting with aws: is reserved in AWS's general tagging rules but not in this service's documents: refused or accepted.";
    AMBIGUITY_TYPE_ERROR_KIND: Ambiguity "ambiguity.type-error-kind" "A15: a member of the wrong JSON type gives ValidationException (the documents) or SerializationException (AWS's JSON services).";
    AMBIGUITY_RETENTION_ZERO: Ambiguity "ambiguity.retention-zero" "A16: UpdateServer BackupRetentionCount 0 (UpdateServer's member is a plain Integer; CreateServer's is min 1): accepted, or ValidationException.";
    AMBIGUITY_DELETE_IN_PROGRESS_BACKUP: Ambiguity "ambiguity.delete-in-progress-backup" "A17: DeleteBackup of the backup still IN_PROGRESS: the server leaves BACKING_UP at once, or stays BACKING_UP until the job ends.";
    AMBIGUITY_DELETING_BACKUP_LOOKUP: Ambiguity "ambiguity.deleting-backup-lookup" "A18: a backup being deleted (DELETING), used by RestoreServer or fetched by id, gives ResourceNotFoundException or is listed as DELETING; an error answer alone does not prove it left the listings.";
}

/// Looks a rule up by id.
pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    RuleId::parse(id).map(RuleId::rule)
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
                r.id.as_str()
                    .chars()
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

    #[test]
    fn each_constant_is_named_after_its_id() {
        for (name, id) in NAMES {
            let want = id.as_str().to_ascii_uppercase().replace(['.', '-'], "_");
            assert_eq!(*name, want, "the constant for {id} should be {want}");
        }
        assert_eq!(NAMES.len(), RULES.len());
    }

    #[test]
    fn parse_knows_exactly_the_table() {
        for r in RULES {
            assert_eq!(RuleId::parse(r.id.as_str()), Some(r.id));
            assert_eq!(r.id.rule().text, r.text);
        }
        assert_eq!(RuleId::parse("create-backup.limits"), None);
        assert_eq!(RuleId::parse(""), None);
    }

    #[test]
    fn a_rule_id_serializes_as_its_text_and_parses_back() {
        let text = serde_json::to_string(&CREATE_BACKUP_LIMIT).unwrap();
        assert_eq!(text, "\"create-backup.limit\"");
        let back: RuleId = serde_json::from_str(&text).unwrap();
        assert_eq!(back, CREATE_BACKUP_LIMIT);
        let err = serde_json::from_str::<RuleId>("\"create-backup.limitt\"").unwrap_err();
        assert!(err.to_string().contains("not a rule id"), "{err}");
        assert_eq!(
            format!("{CREATE_BACKUP_LIMIT:?}"),
            "\"create-backup.limit\""
        );
    }
}
