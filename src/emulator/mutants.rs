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

mod catalogue;
pub use catalogue::{find_mutant, mutants, MutantInfo};

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

impl Mutant {
    pub(crate) fn from_name(name: &str) -> Result<Mutant, ConfigError> {
        Ok(find_mutant(name)?.mutant)
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

/// A racy mutant's act, after the gap: the backup its check decided on, added to whatever the
/// world has become meanwhile (not found when the server was deleted meanwhile).
pub(crate) fn act_after_race(checked: Possible, now: &World) -> Possible {
    let mut world = now.clone();
    let mut new = checked
        .world
        .backups
        .last()
        .cloned()
        .expect("CreateBackup's success adds a backup");
    let Some(server) = world.server_mut(&new.server) else {
        // Deleted meanwhile: the act finds nothing to back up.
        return error(
            now,
            ErrorKind::ResourceNotFoundException,
            rules::CREATE_BACKUP_NOT_FOUND,
        );
    };
    let after = &checked.world.servers[&new.server];
    server.status = after.status;
    server.pending = after.pending.clone();
    new.seq = world.next_seq;
    world.next_seq += 1;
    Arc::make_mut(&mut world.backups).push(new);
    Possible { world, ..checked }
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
    for (name, s) in before.servers.iter() {
        if matches!(s.pending, Some(Pending::Backup { .. })) {
            if let Some(a) = after.server_mut(name) {
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
    if let Some(s) = view.server_mut(name) {
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
            if let Some(after) = p.world.server_mut(&s.name) {
                after.status = s.status;
                after.pending = s.pending.clone();
            }
            p
        }
        Mutant::NoBackingUpStatus if creating => {
            let mut p = reference(world, input);
            if let Some(after) = server_name(input).and_then(|n| p.world.server_mut(n)) {
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
            let after = server_name(input).and_then(|n| p.world.server_mut(n));
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
    if let Some(after) = p.world.server_mut(&s.name) {
        if matches!(after.pending, Some(Pending::Backup { .. })) {
            after.pending = Some(Pending::Backup {
                previous: Some(before),
            });
        }
    }
    p
}
