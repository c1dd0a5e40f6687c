//! The catalogue of mutants: each one's name, family, the rules it breaks and what it gets
//! wrong (`emulate --list-mutants`), and the lookup by name with suggestions.

use super::Mutant;
use crate::exit::ConfigError;
use crate::model::rules;
use crate::wire::Dialect;

/// One mutant, as `--list-mutants` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MutantInfo {
    /// The `--mutant` value.
    pub name: &'static str,
    /// What it gets wrong, in one line.
    pub description: &'static str,
    /// The kind of rule it breaks: `state`, `backing-up-lock`, `limit`, `validation`,
    /// `not-found`, `async`, `listing`, `shape`, `protocol`, `race` or `stub`.
    pub family: &'static str,
    /// The rules of its family: ids, or id prefixes (`validation` stands for `validation.*`).
    /// `selftest` counts the mutant killed only by a divergence under one of them.
    pub rules: &'static [&'static str],
    /// The only dialect it makes sense in (None: either).
    pub dialect: Option<Dialect>,
    /// The mutant as the emulator's code matches on it.
    pub(crate) mutant: Mutant,
}

impl MutantInfo {
    /// Whether a divergence under `rule` belongs to this mutant's family.
    pub fn owns(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| {
            rule == *r || (rule.starts_with(r) && rule.as_bytes().get(r.len()) == Some(&b'.'))
        })
    }
}

// The rules of each family (ids or prefixes).
/// The limit, and where it meets the state gate: a limit off by one makes a server that cannot
/// back up answer the state first at the limit when the endpoint answers the limit first (A4).
const LIMIT: &[&str] = &[
    rules::CREATE_BACKUP_LIMIT.as_str(),
    rules::AMBIGUITY_COUNTED_STATUSES.as_str(),
    rules::AMBIGUITY_LIMIT_SCOPE.as_str(),
    rules::AMBIGUITY_LIMIT_VALUE.as_str(),
    rules::AMBIGUITY_ERROR_PRECEDENCE.as_str(),
];
const LOCK: &[&str] = &[
    rules::CREATE_BACKUP_STATE_BACKING_UP.as_str(),
    rules::SERVER_BACKING_UP_LOCKED.as_str(),
];
/// A state gate skipped for some statuses only: at the limit, the endpoint then answers the
/// limit first for those and the state first for the others, which is a precedence (A4) the
/// endpoint does not hold.
const GATE: &[&str] = &[
    "create-backup.state",
    rules::CREATE_BACKUP_EFFECT_BACKING_UP.as_str(),
    rules::SERVER_BACKING_UP_LOCKED.as_str(),
    rules::AMBIGUITY_ERROR_PRECEDENCE.as_str(),
];
const STATE: &[&str] = &[
    "create-backup.state",
    rules::CREATE_BACKUP_EFFECT_BACKING_UP.as_str(),
    rules::SERVER_BACKING_UP_LOCKED.as_str(),
];
const VALIDATION: &[&str] = &[
    "validation",
    rules::AMBIGUITY_TAG_LIMITS.as_str(),
    rules::AMBIGUITY_TYPE_ERROR_KIND.as_str(),
];
const NAMES: &[&str] = &[
    rules::CREATE_BACKUP_NOT_FOUND.as_str(),
    rules::DESCRIBE_BACKUPS_NOT_FOUND.as_str(),
    rules::DESCRIBE_BACKUPS_FILTER.as_str(),
    rules::DESCRIBE_SERVERS_NOT_FOUND.as_str(),
    rules::UPDATE_SERVER_NOT_FOUND.as_str(),
    rules::DELETE_BACKUP_NOT_FOUND.as_str(),
    rules::RESTORE_SERVER_NOT_FOUND.as_str(),
    rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER.as_str(),
];
/// Validation before not-found; a wrongly typed member is validation too, whichever error
/// the endpoint names it with (A15).
const PRECEDENCE: &[&str] = &[
    "validation",
    rules::CREATE_BACKUP_NOT_FOUND.as_str(),
    rules::AMBIGUITY_ERROR_PRECEDENCE.as_str(),
    rules::AMBIGUITY_TYPE_ERROR_KIND.as_str(),
];
const LISTING: &[&str] = &["describe-backups"];
const ASYNC: &[&str] = &[
    rules::BACKUP_COMPLETION.as_str(),
    "create-backup.state",
    rules::SERVER_BACKING_UP_LOCKED.as_str(),
    rules::AMBIGUITY_STATUS_AFTER_BACKUP.as_str(),
];
const SHAPE: &[&str] = &[rules::RESPONSE_SHAPE.as_str(), "create-backup.effect"];
const PROTOCOL: &[&str] = &["protocol", rules::AMBIGUITY_ERROR_TYPE_FORM.as_str()];
// The gap lets a CreateBackup act on what it checked before a concurrent call changed it: a
// second backup, one over the limit, or one on a server a concurrent call has since moved to a
// state that refuses backups (maintenance, deletion).
const RACE: &[&str] = &[
    rules::CREATE_BACKUP_STATE_BACKING_UP.as_str(),
    rules::CREATE_BACKUP_STATE_REFUSED.as_str(),
    rules::CREATE_BACKUP_LIMIT.as_str(),
    rules::SERVER_BACKING_UP_LOCKED.as_str(),
];
const ARN: &[&str] = &[rules::CREATE_BACKUP_EFFECT_ARN.as_str()];
const SERVER_FACTS: &[&str] = &[rules::CREATE_BACKUP_EFFECT_SERVER_FACTS.as_str()];
const DESCRIPTION: &[&str] = &[rules::CREATE_BACKUP_EFFECT_DESCRIPTION.as_str()];
const CREATED_AT: &[&str] = &[rules::BACKUP_CREATED_AT_STABLE.as_str()];
const MONOTONIC: &[&str] = &[rules::BACKUP_STATUS_MONOTONIC.as_str()];
const OBSERVABLE: &[&str] = &[rules::UPDATE_SERVER_OBSERVABLE.as_str()];
const SUCCESS: &[&str] = &[rules::PROTOCOL_SUCCESS.as_str()];
const DELETE_SERVER: &[&str] = &[rules::DELETE_SERVER_IN_PROGRESS.as_str()];
const RESTORE: &[&str] = &[rules::RESTORE_SERVER_BACKUP.as_str()];
const DELETE_BACKUP: &[&str] = &[rules::DELETE_BACKUP_IN_PROGRESS.as_str()];
const STUB: &[&str] = &[
    "validation",
    "create-backup",
    "protocol",
    rules::RESPONSE_SHAPE.as_str(),
    rules::CONTROL_PLANE_CONTRACT.as_str(),
];

const fn mutant(
    mutant: Mutant,
    name: &'static str,
    family: &'static str,
    rules: &'static [&'static str],
    description: &'static str,
) -> MutantInfo {
    MutantInfo {
        mutant,
        name,
        description,
        family,
        rules,
        dialect: None,
    }
}

impl MutantInfo {
    /// The mutant, served only in `dialect`.
    const fn only_in(self, dialect: Dialect) -> MutantInfo {
        MutantInfo {
            dialect: Some(dialect),
            ..self
        }
    }
}

static MUTANTS: &[MutantInfo] = &[
    mutant(Mutant::LimitOffByOneHigh, "limit-off-by-one-high", "limit", LIMIT, "allows one manual backup more than the limit (the 51st succeeds)"),
    mutant(Mutant::LimitOffByOneLow, "limit-off-by-one-low", "limit", LIMIT, "refuses the last allowed manual backup (the 50th gives LimitExceededException)"),
    mutant(Mutant::CountsAutomated, "counts-automated", "limit", LIMIT, "counts automated backups toward the manual-backup limit"),
    mutant(Mutant::DeleteKeepsSlot, "delete-keeps-slot", "limit", LIMIT, "a deleted backup disappears from listings but still counts toward the limit"),
    mutant(Mutant::BackingUpAllowsBackup, "backing-up-allows-backup", "backing-up-lock", GATE, "CreateBackup succeeds while the server is BACKING_UP"),
    mutant(Mutant::BackupFromAnyState, "backup-from-any-state", "state", GATE, "CreateBackup succeeds from any status but BACKING_UP (no state gate)"),
    mutant(Mutant::UpdateWhileBackingUp, "update-while-backing-up", "backing-up-lock", LOCK, "UpdateServer is accepted while the server is BACKING_UP"),
    mutant(Mutant::NoBackingUpStatus, "no-backing-up-status", "state", STATE, "the server keeps its status after CreateBackup instead of turning BACKING_UP"),
    mutant(Mutant::CaseInsensitiveNames, "case-insensitive-names", "not-found", NAMES, "server names are matched ignoring case (WEB finds web)"),
    mutant(Mutant::DescriptionOffByOne, "description-off-by-one", "validation", VALIDATION, "a Description of exactly 10000 characters is refused"),
    mutant(Mutant::TagsUnchecked, "tags-unchecked", "validation", VALIDATION, "Tags are not validated at all"),
    mutant(Mutant::ServerName41, "server-name-41", "validation", VALIDATION, "a 41-character ServerName is answered ResourceNotFoundException instead of ValidationException"),
    mutant(Mutant::ListingOldestFirst, "listing-oldest-first", "listing", LISTING, "DescribeBackups lists the oldest backup first"),
    mutant(Mutant::SettleKeepsBackingUp, "settle-keeps-backing-up", "async", ASYNC, "after a backup finishes the server stays BACKING_UP"),
    mutant(Mutant::CreatedAtMillis, "created-at-millis", "shape", SHAPE, "CreatedAt is sent in epoch milliseconds instead of seconds"),
    mutant(Mutant::StatusLowercase, "status-lowercase", "shape", SHAPE, "Backup.Status is lowercase (in_progress)"),
    mutant(Mutant::MissingBackupId, "missing-backup-id", "shape", SHAPE, "CreateBackup's Backup has no BackupId"),
    mutant(Mutant::ErrorHttp500, "error-http-500", "protocol", PROTOCOL, "modeled errors are sent with HTTP 500 instead of 400"),
    mutant(Mutant::ErrorTypeMissing, "error-type-missing", "protocol", PROTOCOL, "error bodies have no __type (and no X-Amzn-Errortype); the name is only in the message"),
    mutant(Mutant::NotFoundBeforeValidation, "not-found-before-validation", "not-found", PRECEDENCE, "an unknown server with invalid input is answered ResourceNotFoundException before validation"),
    mutant(Mutant::RacyCreate, "racy-create", "race", RACE, "check-then-act race: the lock is released for 5 ms between the state/limit check and the act, so concurrent CreateBackup calls can all succeed"),
    mutant(Mutant::RacyCreateYield, "racy-create-yield", "race", RACE, "check-then-act race with no sleep: the task only yields (tokio::task::yield_now) between the check and the act"),
    mutant(Mutant::ArnNamesServer, "arn-names-server", "effect", ARN, "BackupArn names the server (arn:...:server/<ServerName>) instead of the backup"),
    mutant(Mutant::BackupEngineVersionDefault, "backup-engine-default", "effect", SERVER_FACTS, "a Backup's EngineVersion is the ChefAutomate default (\"2\") whatever its server runs"),
    mutant(Mutant::DescriptionInvented, "description-invented", "effect", DESCRIPTION, "a backup made without a Description shows \"Description\": \"\""),
    mutant(Mutant::CreatedAtListingTime, "created-at-listing-time", "history", CREATED_AT, "DescribeBackups shows the listing's time as every backup's CreatedAt"),
    mutant(Mutant::DeletedBackupReappears, "deleted-backup-reappears", "history", MONOTONIC, "a stale replica: a deleted backup missing from one listing is listed once more, as DELETING, in the next"),
    mutant(Mutant::UpdateIgnoresRetention, "update-ignores-retention", "other-operations", OBSERVABLE, "UpdateServer answers success but does not apply BackupRetentionCount"),
    mutant(Mutant::CreatedHttp201, "created-http-201", "protocol", SUCCESS, "CreateBackup's success is sent with HTTP 201 Created instead of 200").only_in(Dialect::AwsJson),
    mutant(Mutant::DeleteServerWhileBusy, "delete-server-while-busy", "other-operations", DELETE_SERVER, "DeleteServer succeeds on a server UNDER_MAINTENANCE, MODIFYING or in another operation but a backup"),
    mutant(Mutant::RestoreAnyBackup, "restore-any-backup", "other-operations", RESTORE, "RestoreServer accepts any existing backup: another server's, or one that FAILED"),
    mutant(Mutant::DeleteInProgressRefused, "delete-in-progress-refused", "other-operations", DELETE_BACKUP, "DeleteBackup of the backup still IN_PROGRESS is refused with InvalidStateException"),
    mutant(Mutant::AlwaysSuccess, "always-success", "stub", STUB, "answers every request, on any path, with the seed page's example success body").only_in(Dialect::Envelope),
];

/// Every built-in mutant, in a stable order.
pub fn mutants() -> &'static [MutantInfo] {
    MUTANTS
}

/// Looks a mutant up by name; an unknown name gets the closest names as suggestions.
pub fn find_mutant(name: &str) -> Result<&'static MutantInfo, ConfigError> {
    if let Some(m) = MUTANTS.iter().find(|m| m.name == name) {
        return Ok(m);
    }
    let mut scored: Vec<(usize, &str)> = MUTANTS
        .iter()
        .map(|m| (distance(name, m.name), m.name))
        .collect();
    scored.sort();
    let best = scored[0].0;
    // Suggest the nearest names, plus any that contain what was typed.
    let mut close: Vec<&str> = scored
        .iter()
        .filter(|(d, _)| *d <= best.max(1) + 1 && *d <= name.len().max(4))
        .map(|(_, n)| *n)
        .take(3)
        .collect();
    for m in MUTANTS {
        if !name.is_empty() && m.name.contains(name) && !close.contains(&m.name) {
            close.push(m.name);
        }
    }
    let mut message = format!("unknown mutant {name:?}");
    if !close.is_empty() {
        message.push_str(&format!("; did you mean {}?", close.join(", ")));
    }
    Err(ConfigError {
        message,
        hint: "`opsworkscm-conformance emulate --list-mutants` lists them all".into(),
    })
}

/// Levenshtein distance, on characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_mutant_has_a_variant_and_a_known_family() {
        const FAMILIES: [&str; 14] = [
            "effect",
            "history",
            "other-operations",
            "state",
            "backing-up-lock",
            "limit",
            "validation",
            "not-found",
            "async",
            "listing",
            "shape",
            "protocol",
            "race",
            "stub",
        ];
        let mut seen = Vec::new();
        for m in mutants() {
            assert!(
                !seen.contains(&m.mutant),
                "{} lists a variant twice",
                m.name
            );
            seen.push(m.mutant);
            assert!(FAMILIES.contains(&m.family), "{}: {}", m.name, m.family);
            assert!(!m.description.contains('\n'));
        }
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let err = find_mutant("limit-off-by-one").unwrap_err().message;
        assert!(err.contains("did you mean"), "{err}");
        assert!(err.contains("limit-off-by-one-high"), "{err}");
        let err = find_mutant("racy-creat").unwrap_err();
        assert!(err.message.contains("racy-create"), "{err}");
        assert!(err.hint.contains("--list-mutants"), "{err}");
        assert_eq!(err.to_string().matches("hint").count(), 1, "{err}");
    }
}
