//! The catalogue of deliberately wrong emulator variants (`emulate --mutant NAME`).
//!
//! Each mutant is one small, realistic bug: a perturbation of the model step (what the emulator
//! decides), of its realization (what the answer shows) or of the wire encoding (how it is
//! sent), never a separate implementation. `selftest` serves each one and counts how many the
//! suite catches; a mutant that survives points at a rule the suite does not exercise.

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
    /// The only dialect it makes sense in (None: either).
    pub dialect: Option<Dialect>,
}

/// The mutants as the emulator's code matches on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutant {
    LimitOffByOneHigh,
    LimitOffByOneLow,
    CountsAutomated,
    DeleteKeepsSlot,
    BackingUpAllowsBackup,
    BackupFromAnyState,
    UpdateWhileBackingUp,
    NoBackingUpStatus,
    CaseInsensitiveNames,
    DescriptionOffByOne,
    TagsUnchecked,
    ServerName41,
    ListingOldestFirst,
    SettleKeepsBackingUp,
    CreatedAtMillis,
    StatusLowercase,
    MissingBackupId,
    ErrorHttp500,
    ErrorTypeMissing,
    NotFoundBeforeValidation,
    RacyCreate,
    AlwaysSuccess,
}

const fn mutant(name: &'static str, family: &'static str, description: &'static str) -> MutantInfo {
    MutantInfo {
        name,
        description,
        family,
        dialect: None,
    }
}

static MUTANTS: &[MutantInfo] = &[
    mutant("limit-off-by-one-high", "limit", "allows one manual backup more than the limit (the 51st succeeds)"),
    mutant("limit-off-by-one-low", "limit", "refuses the last allowed manual backup (the 50th gives LimitExceededException)"),
    mutant("counts-automated", "limit", "counts automated backups toward the manual-backup limit"),
    mutant("delete-keeps-slot", "limit", "a deleted backup disappears from listings but still counts toward the limit"),
    mutant("backing-up-allows-backup", "backing-up-lock", "CreateBackup succeeds while the server is BACKING_UP"),
    mutant("backup-from-any-state", "state", "CreateBackup succeeds from any status but BACKING_UP (no state gate)"),
    mutant("update-while-backing-up", "backing-up-lock", "UpdateServer is accepted while the server is BACKING_UP"),
    mutant("no-backing-up-status", "state", "the server keeps its status after CreateBackup instead of turning BACKING_UP"),
    mutant("case-insensitive-names", "not-found", "server names are matched ignoring case (WEB finds web)"),
    mutant("description-off-by-one", "validation", "a Description of exactly 10000 characters is refused"),
    mutant("tags-unchecked", "validation", "Tags are not validated at all"),
    mutant("server-name-41", "validation", "a 41-character ServerName is answered ResourceNotFoundException instead of ValidationException"),
    mutant("listing-oldest-first", "listing", "DescribeBackups lists the oldest backup first"),
    mutant("settle-keeps-backing-up", "async", "after a backup finishes the server stays BACKING_UP"),
    mutant("created-at-millis", "shape", "CreatedAt is sent in epoch milliseconds instead of seconds"),
    mutant("status-lowercase", "shape", "Backup.Status is lowercase (in_progress)"),
    mutant("missing-backup-id", "shape", "CreateBackup's Backup has no BackupId"),
    mutant("error-http-500", "protocol", "modeled errors are sent with HTTP 500 instead of 400"),
    mutant("error-type-missing", "protocol", "error bodies have no __type (and no X-Amzn-Errortype); the name is only in the message"),
    mutant("not-found-before-validation", "not-found", "an unknown server with invalid input is answered ResourceNotFoundException before validation"),
    mutant("racy-create", "race", "check-then-act race: the lock is released between the state/limit check and the act, so concurrent CreateBackup calls can all succeed"),
    MutantInfo {
        name: "always-success",
        description: "answers every request, on any path, with the seed page's example success body",
        family: "stub",
        dialect: Some(Dialect::Envelope),
    },
];

/// Every built-in mutant, in a stable order.
pub fn mutants() -> &'static [MutantInfo] {
    MUTANTS
}

/// Looks a mutant up by name; an unknown name gets the closest names as suggestions.
pub fn find_mutant(name: &str) -> Result<&'static MutantInfo, String> {
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
    message.push_str(" (hint: `opsworkscm-conformance emulate --list-mutants` lists them all)");
    Err(message)
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

impl Mutant {
    pub(crate) fn from_name(name: &str) -> Result<Mutant, String> {
        let info = find_mutant(name)?;
        Ok(match info.name {
            "limit-off-by-one-high" => Mutant::LimitOffByOneHigh,
            "limit-off-by-one-low" => Mutant::LimitOffByOneLow,
            "counts-automated" => Mutant::CountsAutomated,
            "delete-keeps-slot" => Mutant::DeleteKeepsSlot,
            "backing-up-allows-backup" => Mutant::BackingUpAllowsBackup,
            "backup-from-any-state" => Mutant::BackupFromAnyState,
            "update-while-backing-up" => Mutant::UpdateWhileBackingUp,
            "no-backing-up-status" => Mutant::NoBackingUpStatus,
            "case-insensitive-names" => Mutant::CaseInsensitiveNames,
            "description-off-by-one" => Mutant::DescriptionOffByOne,
            "tags-unchecked" => Mutant::TagsUnchecked,
            "server-name-41" => Mutant::ServerName41,
            "listing-oldest-first" => Mutant::ListingOldestFirst,
            "settle-keeps-backing-up" => Mutant::SettleKeepsBackingUp,
            "created-at-millis" => Mutant::CreatedAtMillis,
            "status-lowercase" => Mutant::StatusLowercase,
            "missing-backup-id" => Mutant::MissingBackupId,
            "error-http-500" => Mutant::ErrorHttp500,
            "error-type-missing" => Mutant::ErrorTypeMissing,
            "not-found-before-validation" => Mutant::NotFoundBeforeValidation,
            "racy-create" => Mutant::RacyCreate,
            "always-success" => Mutant::AlwaysSuccess,
            other => unreachable!("mutant {other} is listed but not matched"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_mutant_has_a_variant_and_a_known_family() {
        const FAMILIES: [&str; 11] = [
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
        for m in mutants() {
            assert!(Mutant::from_name(m.name).is_ok(), "{}", m.name);
            assert!(FAMILIES.contains(&m.family), "{}: {}", m.name, m.family);
            assert!(!m.description.contains('\n'));
        }
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let err = find_mutant("limit-off-by-one").unwrap_err();
        assert!(err.contains("did you mean"), "{err}");
        assert!(err.contains("limit-off-by-one-high"), "{err}");
        let err = find_mutant("racy-creat").unwrap_err();
        assert!(err.contains("racy-create"), "{err}");
    }
}
