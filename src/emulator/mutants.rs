//! The catalogue of deliberately wrong emulator variants (`emulate --mutant NAME`).
//!
//! Each mutant is one small, realistic bug: a perturbation of the model step (what the emulator
//! decides), of its realization (what the answer shows) or of the wire encoding (how it is
//! sent), never a separate implementation. `selftest` serves each one and counts how many the
//! suite catches; a mutant that survives points at a rule the suite does not exercise.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::readings::{self, error, ReadingSet};
use crate::exit::ConfigError;
use crate::model::rules;
use crate::model::{
    self, Backup, BackupStatus, BackupType, ErrorKind, Expected, Operation, Pending, Possible,
    ServerStatus, World,
};
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
}

impl MutantInfo {
    /// Whether a divergence under `rule` belongs to this mutant's family.
    pub fn owns(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| {
            rule == *r || (rule.starts_with(r) && rule.as_bytes().get(r.len()) == Some(&b'.'))
        })
    }
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
    RacyCreateYield,
    AlwaysSuccess,
    ArnNamesServer,
    BackupEngineVersionDefault,
    DescriptionInvented,
    CreatedAtListingTime,
    DeletedBackupReappears,
    UpdateIgnoresRetention,
    CreatedHttp201,
    DeleteServerWhileBusy,
    RestoreAnyBackup,
    DeleteInProgressRefused,
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
const RACE: &[&str] = &[
    rules::CREATE_BACKUP_STATE_BACKING_UP.as_str(),
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
    name: &'static str,
    family: &'static str,
    rules: &'static [&'static str],
    description: &'static str,
) -> MutantInfo {
    MutantInfo {
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
    mutant("limit-off-by-one-high", "limit", LIMIT, "allows one manual backup more than the limit (the 51st succeeds)"),
    mutant("limit-off-by-one-low", "limit", LIMIT, "refuses the last allowed manual backup (the 50th gives LimitExceededException)"),
    mutant("counts-automated", "limit", LIMIT, "counts automated backups toward the manual-backup limit"),
    mutant("delete-keeps-slot", "limit", LIMIT, "a deleted backup disappears from listings but still counts toward the limit"),
    mutant("backing-up-allows-backup", "backing-up-lock", GATE, "CreateBackup succeeds while the server is BACKING_UP"),
    mutant("backup-from-any-state", "state", GATE, "CreateBackup succeeds from any status but BACKING_UP (no state gate)"),
    mutant("update-while-backing-up", "backing-up-lock", LOCK, "UpdateServer is accepted while the server is BACKING_UP"),
    mutant("no-backing-up-status", "state", STATE, "the server keeps its status after CreateBackup instead of turning BACKING_UP"),
    mutant("case-insensitive-names", "not-found", NAMES, "server names are matched ignoring case (WEB finds web)"),
    mutant("description-off-by-one", "validation", VALIDATION, "a Description of exactly 10000 characters is refused"),
    mutant("tags-unchecked", "validation", VALIDATION, "Tags are not validated at all"),
    mutant("server-name-41", "validation", VALIDATION, "a 41-character ServerName is answered ResourceNotFoundException instead of ValidationException"),
    mutant("listing-oldest-first", "listing", LISTING, "DescribeBackups lists the oldest backup first"),
    mutant("settle-keeps-backing-up", "async", ASYNC, "after a backup finishes the server stays BACKING_UP"),
    mutant("created-at-millis", "shape", SHAPE, "CreatedAt is sent in epoch milliseconds instead of seconds"),
    mutant("status-lowercase", "shape", SHAPE, "Backup.Status is lowercase (in_progress)"),
    mutant("missing-backup-id", "shape", SHAPE, "CreateBackup's Backup has no BackupId"),
    mutant("error-http-500", "protocol", PROTOCOL, "modeled errors are sent with HTTP 500 instead of 400"),
    mutant("error-type-missing", "protocol", PROTOCOL, "error bodies have no __type (and no X-Amzn-Errortype); the name is only in the message"),
    mutant("not-found-before-validation", "not-found", PRECEDENCE, "an unknown server with invalid input is answered ResourceNotFoundException before validation"),
    mutant("racy-create", "race", RACE, "check-then-act race: the lock is released for 5 ms between the state/limit check and the act, so concurrent CreateBackup calls can all succeed"),
    mutant("racy-create-yield", "race", RACE, "check-then-act race with no sleep: the task only yields (tokio::task::yield_now) between the check and the act"),
    mutant("arn-names-server", "effect", ARN, "BackupArn names the server (arn:...:server/<ServerName>) instead of the backup"),
    mutant("backup-engine-default", "effect", SERVER_FACTS, "a Backup's EngineVersion is the ChefAutomate default (\"2\") whatever its server runs"),
    mutant("description-invented", "effect", DESCRIPTION, "a backup made without a Description shows \"Description\": \"\""),
    mutant("created-at-listing-time", "history", CREATED_AT, "DescribeBackups shows the listing's time as every backup's CreatedAt"),
    mutant("deleted-backup-reappears", "history", MONOTONIC, "a stale replica: a deleted backup missing from one listing is listed once more, as DELETING, in the next"),
    mutant("update-ignores-retention", "other-operations", OBSERVABLE, "UpdateServer answers success but does not apply BackupRetentionCount"),
    mutant("created-http-201", "protocol", SUCCESS, "CreateBackup's success is sent with HTTP 201 Created instead of 200").only_in(Dialect::AwsJson),
    mutant("delete-server-while-busy", "other-operations", DELETE_SERVER, "DeleteServer succeeds on a server UNDER_MAINTENANCE, MODIFYING or in another operation but a backup"),
    mutant("restore-any-backup", "other-operations", RESTORE, "RestoreServer accepts any existing backup: another server's, or one that FAILED"),
    mutant("delete-in-progress-refused", "other-operations", DELETE_BACKUP, "DeleteBackup of the backup still IN_PROGRESS is refused with InvalidStateException"),
    mutant("always-success", "stub", STUB, "answers every request, on any path, with the seed page's example success body").only_in(Dialect::Envelope),
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

impl Mutant {
    pub(crate) fn from_name(name: &str) -> Result<Mutant, ConfigError> {
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
            "racy-create-yield" => Mutant::RacyCreateYield,
            "always-success" => Mutant::AlwaysSuccess,
            "arn-names-server" => Mutant::ArnNamesServer,
            "backup-engine-default" => Mutant::BackupEngineVersionDefault,
            "description-invented" => Mutant::DescriptionInvented,
            "created-at-listing-time" => Mutant::CreatedAtListingTime,
            "deleted-backup-reappears" => Mutant::DeletedBackupReappears,
            "update-ignores-retention" => Mutant::UpdateIgnoresRetention,
            "created-http-201" => Mutant::CreatedHttp201,
            "delete-server-while-busy" => Mutant::DeleteServerWhileBusy,
            "restore-any-backup" => Mutant::RestoreAnyBackup,
            "delete-in-progress-refused" => Mutant::DeleteInProgressRefused,
            other => unreachable!("mutant {other} is listed but not matched"),
        })
    }
}

/// How long `racy-create` leaves the lock released between its check and its act: about one
/// realistic round trip to a database.
const RACE_WINDOW: Duration = Duration::from_millis(5);

/// What a racy mutant does between its check and its act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RaceGap {
    Sleep(Duration),
    /// Only `tokio::task::yield_now()`: another task may run, or not.
    Yield,
}

impl RaceGap {
    pub(crate) async fn wait(self) {
        match self {
            RaceGap::Sleep(d) => tokio::time::sleep(d).await,
            RaceGap::Yield => tokio::task::yield_now().await,
        }
    }
}

impl Mutant {
    /// The gap between check and act, for the mutants that race.
    pub(crate) fn race_gap(self) -> Option<RaceGap> {
        match self {
            Mutant::RacyCreate => Some(RaceGap::Sleep(RACE_WINDOW)),
            Mutant::RacyCreateYield => Some(RaceGap::Yield),
            _ => None,
        }
    }
}

/// One call, with what a mutant's decision may read besides it.
pub(crate) struct Call<'a> {
    pub(crate) world: &'a World,
    pub(crate) op: Operation,
    pub(crate) input: &'a Value,
    pub(crate) readings: ReadingSet,
    pub(crate) memory: &'a Memory,
}

/// What mutants remember between calls.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// `delete-keeps-slot`: the servers of manual backups deleted (they still count).
    ghosts: Vec<String>,
    /// `deleted-backup-reappears`: backups gone, with the listings served since.
    echoes: Vec<(Backup, u32)>,
}

impl Memory {
    /// Forgets what was remembered of `server` (the control plane replaced it).
    pub(crate) fn forget(&mut self, server: &str) {
        self.ghosts.retain(|g| g != server);
        self.echoes.retain(|(b, _)| b.server != server);
    }

    /// A backup that vanished: `delete-keeps-slot` still counts it, `deleted-backup-reappears`
    /// lists it again later.
    pub(crate) fn record_vanished(&mut self, mutant: Option<Mutant>, backup: &Backup) {
        match mutant {
            Some(Mutant::DeleteKeepsSlot) if backup.kind == BackupType::Manual => {
                self.ghosts.push(backup.server.clone());
            }
            Some(Mutant::DeletedBackupReappears)
                if !self.echoes.iter().any(|(b, _)| b.id == backup.id) =>
            {
                self.echoes.push((backup.clone(), 0));
            }
            _ => {}
        }
    }

    /// After a call: a listing served moves every echo one listing on; an echo is listed
    /// (by [`decide`]) in the second listing after it vanished, then forgotten.
    pub(crate) fn after_call(&mut self, op: Operation) {
        if op == Operation::DescribeBackups {
            for (_, listings) in &mut self.echoes {
                *listings += 1;
            }
            self.echoes.retain(|(_, listings)| *listings < 2);
        }
    }

    /// The echoes due in this listing, as DELETING.
    fn due_echoes(&self) -> impl Iterator<Item = Backup> + '_ {
        self.echoes
            .iter()
            .filter(|(_, listings)| *listings == 1)
            .map(|(b, _)| Backup {
                status: BackupStatus::Deleting,
                ..b.clone()
            })
    }
}

/// After backups finished (`before` -> `after`): servers that were backing up stay BACKING_UP
/// under `settle-keeps-backing-up`.
pub(crate) fn after_finish(mutant: Option<Mutant>, before: &World, after: &mut World) {
    if mutant != Some(Mutant::SettleKeepsBackingUp) {
        return;
    }
    for (name, s) in &before.servers {
        if matches!(s.pending, Some(Pending::Backup { .. })) {
            if let Some(a) = after.servers.get_mut(name) {
                if a.pending.is_none() {
                    a.status = ServerStatus::BackingUp;
                }
            }
        }
    }
}

/// `world` with one server in another status (and nothing in progress), for mutants that skip
/// a state gate.
fn with_status(world: &World, name: &str, status: ServerStatus) -> World {
    let mut view = world.clone();
    if let Some(s) = view.servers.get_mut(name) {
        s.status = status;
        s.pending = None;
    }
    view
}

/// The status a BACKING_UP server had before (HEALTHY when the fixture put it there directly).
fn status_before(server: &model::Server) -> ServerStatus {
    match &server.pending {
        Some(Pending::Backup {
            previous: Some(previous),
        }) => *previous,
        _ => ServerStatus::Healthy,
    }
}

/// Where the backup `id` is in the world.
fn index_of(world: &World, id: &str) -> Option<usize> {
    world
        .backups
        .iter()
        .position(|b| b.id.as_deref() == Some(id))
}

fn server_name(input: &Value) -> Option<&str> {
    input.get("ServerName").and_then(Value::as_str)
}

/// The outcome the emulator serves: its readings' decision, perturbed by the mutant. Each
/// mutant asks the same (reading-aware) path about a slightly wrong view of the call.
pub(crate) fn decide(call: &Call, mutant: Option<Mutant>) -> Possible {
    let (world, op, input) = (call.world, call.op, call.input);
    let reference = |w: &World, input: &Value| readings::decide(w, op, input, call.readings);
    let Some(mutant) = mutant else {
        return reference(world, input);
    };
    let creating = op == Operation::CreateBackup;
    match mutant {
        Mutant::LimitOffByOneHigh | Mutant::LimitOffByOneLow if creating => {
            let mut view = world.clone();
            view.limit = if mutant == Mutant::LimitOffByOneHigh {
                world.limit.saturating_add(1)
            } else {
                world.limit.saturating_sub(1)
            };
            let mut p = reference(&view, input);
            p.world.limit = world.limit;
            p
        }
        Mutant::CountsAutomated if creating => {
            let mut view = world.clone();
            for b in Arc::make_mut(&mut view.backups).iter_mut() {
                b.kind = BackupType::Manual;
            }
            limit_only(call, &view)
        }
        Mutant::DeleteKeepsSlot if creating && !call.memory.ghosts.is_empty() => {
            let mut view = world.clone();
            let seq = view.next_seq;
            for server in &call.memory.ghosts {
                Arc::make_mut(&mut view.backups).push(Backup {
                    id: None,
                    server: server.clone(),
                    kind: BackupType::Manual,
                    status: BackupStatus::Ok,
                    description: None,
                    seq,
                    created_at_ms: None,
                });
            }
            limit_only(call, &view)
        }
        Mutant::BackingUpAllowsBackup | Mutant::BackupFromAnyState if creating => {
            skip_state_gate(call, mutant)
        }
        Mutant::UpdateWhileBackingUp if op == Operation::UpdateServer => {
            let Some(s) = server_name(input)
                .and_then(|n| world.servers.get(n))
                .filter(|s| s.status == ServerStatus::BackingUp)
            else {
                return reference(world, input);
            };
            let mut p = reference(&with_status(world, &s.name, status_before(s)), input);
            if let Some(after) = p.world.servers.get_mut(&s.name) {
                after.status = s.status;
                after.pending = s.pending.clone();
            }
            p
        }
        Mutant::NoBackingUpStatus if creating => {
            let mut p = reference(world, input);
            if let Some(after) = server_name(input).and_then(|n| p.world.servers.get_mut(n)) {
                if after.status == ServerStatus::BackingUp {
                    // The backup is still in progress (it ends as usual), but the status says nothing.
                    after.status = status_before(after);
                }
            }
            p
        }
        _ => decide_input(call, mutant),
    }
}

/// The mutants that misread the input.
fn decide_input(call: &Call, mutant: Mutant) -> Possible {
    let (world, op, input) = (call.world, call.op, call.input);
    let reference = |input: &Value| readings::decide(world, op, input, call.readings);
    match mutant {
        Mutant::CaseInsensitiveNames => {
            let Some(name) = server_name(input).filter(|n| !world.servers.contains_key(*n)) else {
                return reference(input);
            };
            let Some(found) = world.servers.keys().find(|k| k.eq_ignore_ascii_case(name)) else {
                return reference(input);
            };
            let mut input = input.clone();
            input["ServerName"] = json!(found);
            reference(&input)
        }
        Mutant::DescriptionOffByOne if op == Operation::CreateBackup => {
            let at_max = input
                .get("Description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.chars().count() == 10_000);
            if !at_max {
                return reference(input);
            }
            // The length check counts one character too many.
            let mut input = input.clone();
            input["Description"] =
                json!(format!("{}x", input["Description"].as_str().unwrap_or("")));
            reference(&input)
        }
        Mutant::TagsUnchecked => {
            let mut input = input.clone();
            if let Some(obj) = input.as_object_mut() {
                obj.remove("Tags");
            }
            reference(&input)
        }
        Mutant::ServerName41 => {
            let forty_one = server_name(input).is_some_and(|n| {
                let forty: String = n.chars().take(40).collect();
                n.chars().count() == 41
                    && model::validation_errors(op, &json!({ "ServerName": forty }))
                        .iter()
                        .all(|v| v.path != "ServerName")
            });
            if forty_one {
                // The length check is missing: the lookup finds no such server.
                error(
                    world,
                    ErrorKind::ResourceNotFoundException,
                    rules::CREATE_BACKUP_NOT_FOUND,
                )
            } else {
                reference(input)
            }
        }
        Mutant::NotFoundBeforeValidation => {
            let unknown = server_name(input).is_some_and(|n| !world.servers.contains_key(n));
            let invalid = model::has_definite(&model::validation_errors(op, input));
            if unknown && invalid {
                error(
                    world,
                    ErrorKind::ResourceNotFoundException,
                    rules::CREATE_BACKUP_NOT_FOUND,
                )
            } else {
                reference(input)
            }
        }
        _ => decide_operations(call, mutant),
    }
}

/// The mutants that get another operation's rule wrong: each decides on a view of the world
/// where the rule does not apply.
fn decide_operations(call: &Call, mutant: Mutant) -> Possible {
    let (world, op, input) = (call.world, call.op, call.input);
    let reference = |w: &World| readings::decide(w, op, input, call.readings);
    let server = server_name(input).and_then(|n| world.servers.get(n));
    let backup = input
        .get("BackupId")
        .and_then(Value::as_str)
        .and_then(|id| index_of(world, id));
    match (mutant, op) {
        (Mutant::DeletedBackupReappears, Operation::DescribeBackups) => {
            // A stale replica: the echoes are listed once more, as DELETING.
            let mut view = world.clone();
            let echoes = call
                .memory
                .due_echoes()
                .filter(|e| !world.backups.iter().any(|b| b.id == e.id));
            Arc::make_mut(&mut view.backups).extend(echoes);
            reference(&view)
        }
        (Mutant::UpdateIgnoresRetention, Operation::UpdateServer) => {
            let mut p = reference(world);
            let after = server_name(input).and_then(|n| p.world.servers.get_mut(n));
            if let (Some(s), Some(after)) = (server, after) {
                after.backup_retention_count = s.backup_retention_count;
            }
            p
        }
        (Mutant::DeleteServerWhileBusy, Operation::DeleteServer) => match server {
            Some(s) if s.status.operation_in_progress() => {
                reference(&with_status(world, &s.name, ServerStatus::Healthy))
            }
            _ => reference(world),
        },
        (Mutant::RestoreAnyBackup, Operation::RestoreServer) => match (server, backup) {
            (Some(s), Some(i)) if world.backups[i].status != BackupStatus::Deleting => {
                // The backup is looked up by id alone; its server and status are not checked.
                let mut view = world.clone();
                let b = &mut Arc::make_mut(&mut view.backups)[i];
                b.server = s.name.clone();
                b.status = BackupStatus::Ok;
                let mut p = reference(&view);
                Arc::make_mut(&mut p.world.backups)[i] = world.backups[i].clone();
                p
            }
            _ => reference(world),
        },
        (Mutant::DeleteInProgressRefused, Operation::DeleteBackup) => match backup {
            Some(i) if world.backups[i].status == BackupStatus::InProgress => error(
                world,
                ErrorKind::InvalidStateException,
                rules::SERVER_BACKING_UP_LOCKED,
            ),
            _ => reference(world),
        },
        _ => reference(world),
    }
}

/// A limit mutant: the limit is judged on `view`; anything else as usual.
fn limit_only(call: &Call, view: &World) -> Possible {
    let p = readings::decide(view, call.op, call.input, call.readings);
    match p.expected {
        Expected::Error(ErrorKind::LimitExceededException) => {
            error(call.world, ErrorKind::LimitExceededException, p.rule)
        }
        _ => readings::decide(call.world, call.op, call.input, call.readings),
    }
}

/// `backing-up-allows-backup` and `backup-from-any-state`: CreateBackup as if the server were
/// HEALTHY, remembering the status it really had.
fn skip_state_gate(call: &Call, mutant: Mutant) -> Possible {
    let (world, input) = (call.world, call.input);
    let reference = |w: &World| readings::decide(w, call.op, input, call.readings);
    let Some(s) = server_name(input).and_then(|n| world.servers.get(n)) else {
        return reference(world);
    };
    let skipped = match mutant {
        Mutant::BackingUpAllowsBackup => s.status == ServerStatus::BackingUp,
        _ => s.status != ServerStatus::BackingUp && !s.status.may_back_up(),
    };
    if !skipped {
        return reference(world);
    }
    let before = if s.status == ServerStatus::BackingUp {
        status_before(s)
    } else {
        s.status
    };
    let mut p = reference(&with_status(world, &s.name, ServerStatus::Healthy));
    if let Some(after) = p.world.servers.get_mut(&s.name) {
        if matches!(after.pending, Some(Pending::Backup { .. })) {
            after.pending = Some(Pending::Backup {
                previous: Some(before),
            });
        }
    }
    p
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
        for m in mutants() {
            assert!(Mutant::from_name(m.name).is_ok(), "{}", m.name);
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
