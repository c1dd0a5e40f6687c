//! The emulator's state and what a call does to it: the model decides, this module realizes.
//!
//! Every API call goes the same way: finish what is past its deadline (`--backup-duration`),
//! ask [`model::step`] for the outcomes the documents allow, take the first (the reference
//! reading), perturb it if a mutant is being served, then realize it: choose BackupIds and
//! times, render the output JSON from the world after. No rule is re-implemented here; the only
//! decisions this module makes are the ones the model leaves to an endpoint (ids, clocks, when
//! an asynchronous operation ends).
//!
//! One mutex guards the whole state, and a call checks and acts under it, so concurrent
//! CreateBackup calls on one server see each other (the `racy-create` mutant breaks exactly this).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::mutants::Mutant;
use super::render::{self, Snapshot};
use super::sigv4::Verifier;
use super::EmulatorConfig;
use crate::model::{
    self, Action, BackupStatus, BackupType, ErrorKind, Expected, Operation, Pending, Possible,
    Readings, ServerSpec, ServerStatus, World,
};
use crate::wire::Dialect;

/// How long `racy-create` leaves the lock released between its check and its act.
const RACE_WINDOW: Duration = Duration::from_millis(30);

/// The emulator: shared state behind one lock, plus the settings it was started with. Cheap to
/// clone (an `Arc`); every clone is the same emulator.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) settings: Settings,
    state: Mutex<State>,
}

/// What does not change while the emulator runs.
pub(crate) struct Settings {
    pub(crate) dialect: Dialect,
    pub(crate) mutant: Option<Mutant>,
    pub(crate) verifier: Option<Verifier>,
    pub(crate) backup_duration: Option<Duration>,
    pub(crate) region: String,
    pub(crate) limit: u32,
}

struct State {
    world: World,
    /// The last millisecond given to a backup: creation times strictly increase, so BackupIds
    /// are unique and newest-first is well defined even for fixture backups made together.
    last_ms: i64,
    /// When each server's operation in progress ends by itself (`--backup-duration`).
    deadlines: BTreeMap<String, Instant>,
    /// What each backup recorded of its server when it was made (by BackupId).
    snapshots: HashMap<String, Snapshot>,
}

/// A successful answer: the output JSON, and for CreateBackup the id and RFC 3339 time the
/// envelope dialect sends instead.
#[derive(Debug, Clone)]
pub struct CallAnswer {
    pub output: Value,
    pub created: Option<(String, String)>,
}

/// An error the model decided, with a message that says what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    pub kind: ErrorKind,
    pub message: String,
}

impl Emulator {
    /// A fresh emulator (no servers) for `config`. Fails on an unknown mutant, or on a mutant
    /// served in a dialect it does not make sense in.
    pub fn new(config: &EmulatorConfig) -> anyhow::Result<Emulator> {
        let mutant = match &config.mutant {
            None => None,
            Some(name) => {
                let info = super::find_mutant(name).map_err(anyhow::Error::msg)?;
                if let Some(d) = info.dialect.filter(|d| *d != config.dialect) {
                    anyhow::bail!(
                        "mutant {} only makes sense in the {} dialect (hint: add `--dialect {}`)",
                        info.name,
                        d.name(),
                        d.name()
                    );
                }
                Some(Mutant::from_name(name).map_err(anyhow::Error::msg)?)
            }
        };
        let verifier = config
            .verify_sigv4
            .then(|| Verifier::from_env(&config.region));
        Ok(Emulator {
            shared: Arc::new(Shared {
                settings: Settings {
                    dialect: config.dialect,
                    mutant,
                    verifier,
                    backup_duration: config.backup_duration,
                    region: config.region.clone(),
                    limit: config.limit,
                },
                state: Mutex::new(State {
                    world: World::new(config.limit, Readings::REFERENCE),
                    last_ms: 0,
                    deadlines: BTreeMap::new(),
                    snapshots: HashMap::new(),
                }),
            }),
        })
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    fn mutant(&self) -> Option<Mutant> {
        self.shared.settings.mutant
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a world that is still a whole value: keep going.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the current world (for tests and diagnostics).
    pub fn world(&self) -> World {
        let mut state = self.lock();
        self.expire(&mut state);
        state.world.clone()
    }

    /// One API call: decide with the model, realize, render.
    pub async fn call(&self, op: Operation, input: Value) -> Result<CallAnswer, ModelError> {
        if self.mutant() == Some(Mutant::RacyCreate) && op == Operation::CreateBackup {
            return self.racy_create(input).await;
        }
        let mut state = self.lock();
        self.expire(&mut state);
        let possible = decide(&state.world, op, &input, self.mutant());
        self.conclude(&mut state, op, &input, possible)
    }

    /// Turns the chosen possibility into the new state and the answer.
    fn conclude(
        &self,
        state: &mut State,
        op: Operation,
        input: &Value,
        possible: Possible,
    ) -> Result<CallAnswer, ModelError> {
        if let Expected::Error(kind) = &possible.expected {
            return Err(ModelError {
                kind: kind.clone(),
                message: render::error_message(&state.world, op, input, possible.rule, kind),
            });
        }
        state.world = possible.world;
        self.realize(state);
        let answer = render::answer(
            &possible.expected,
            &state.world,
            &state.snapshots,
            &self.shared.settings,
        );
        if self.mutant() != Some(Mutant::DeleteKeepsSlot) {
            // Deletion is immediate here: a legal reading (the backup may be gone at once).
            state.world.forget_deleting();
        }
        self.arm_deadlines(state);
        Ok(answer)
    }

    /// `racy-create`: the state and limit check, then the lock released for a moment, then the
    /// act on whatever the world has become meanwhile.
    async fn racy_create(&self, input: Value) -> Result<CallAnswer, ModelError> {
        let op = Operation::CreateBackup;
        let checked = {
            let mut state = self.lock();
            self.expire(&mut state);
            let possible = decide(&state.world, op, &input, None);
            if possible.expected.error().is_some() {
                return self.conclude(&mut state, op, &input, possible);
            }
            possible
        };
        tokio::time::sleep(RACE_WINDOW).await;
        let mut state = self.lock();
        let mut world = state.world.clone();
        let mut new = checked
            .world
            .backups
            .last()
            .cloned()
            .expect("CreateBackup's success adds a backup");
        let Some(server) = world.servers.get_mut(&new.server) else {
            // Deleted meanwhile: the act finds nothing to back up.
            return Err(ModelError {
                kind: ErrorKind::ResourceNotFoundException,
                message: format!("Server {} does not exist", new.server),
            });
        };
        let after = &checked.world.servers[&new.server];
        server.status = after.status;
        server.pending = after.pending.clone();
        new.seq = world.next_seq;
        world.next_seq += 1;
        std::sync::Arc::make_mut(&mut world.backups).push(new);
        let possible = Possible { world, ..checked };
        self.conclude(&mut state, op, &input, possible)
    }

    /// Control plane: removes every server and backup.
    pub fn reset(&self) {
        let mut state = self.lock();
        let possible = first(model::step(&state.world, &Action::Reset));
        state.world = possible.world;
        state.deadlines.clear();
        state.snapshots.clear();
        // No backup is left whose id could clash: let creation times follow the wall clock
        // again (fixture backups push it ahead by a millisecond each).
        state.last_ms = 0;
    }

    /// Control plane: creates or replaces a server with its fixture backups; returns the Server
    /// as DescribeServers shows it.
    pub fn put_server(&self, spec: ServerSpec) -> Value {
        let mut state = self.lock();
        self.expire(&mut state);
        let name = spec.name.clone();
        let possible = first(model::step(&state.world, &Action::PutServer(spec)));
        state.world = possible.world;
        state.deadlines.remove(&name);
        self.realize(&mut state);
        self.arm_deadlines(&mut state);
        render::server(&state.world.servers[&name], &self.shared.settings)
    }

    /// Control plane: every IN_PROGRESS backup ends with `status`, every BACKING_UP server
    /// returns to its earlier status.
    pub fn settle(&self, status: BackupStatus) {
        let mut state = self.lock();
        self.expire(&mut state);
        let before = state.world.clone();
        let mut after = first(model::step(&before, &Action::Settle(status))).world;
        if self.mutant() == Some(Mutant::SettleKeepsBackingUp) {
            keep_backing_up(&before, &mut after);
        }
        state.world = after;
        self.arm_deadlines(&mut state);
    }

    /// Gives every backup the model left unbound an id and a creation time, and every server a
    /// creation time.
    fn realize(&self, state: &mut State) {
        let now = chrono::Utc::now().timestamp_millis();
        for server in state.world.servers.values_mut() {
            server.created_at_ms.get_or_insert(now);
        }
        for i in 0..state.world.backups.len() {
            if state.world.backups[i].id.is_some() {
                continue;
            }
            let server = state.world.backups[i].server.clone();
            let (id, at) = loop {
                let at = now.max(state.last_ms + 1);
                state.last_ms = at;
                let id = render::backup_id(&server, at);
                // Unique by construction (times strictly increase); checked all the same.
                if !state
                    .world
                    .backups
                    .iter()
                    .any(|b| b.id.as_ref() == Some(&id))
                {
                    break (id, at);
                }
            };
            let snapshot = Snapshot::of(state.world.servers.get(&server));
            state.snapshots.insert(id.clone(), snapshot);
            let b = &mut std::sync::Arc::make_mut(&mut state.world.backups)[i];
            b.id = Some(id);
            b.created_at_ms = Some(at);
        }
    }

    /// Records when each operation in progress ends by itself (with `--backup-duration`).
    fn arm_deadlines(&self, state: &mut State) {
        let Some(duration) = self.shared.settings.backup_duration else {
            return;
        };
        let now = Instant::now();
        let State {
            world, deadlines, ..
        } = state;
        deadlines.retain(|name, _| world.servers.get(name).is_some_and(|s| s.pending.is_some()));
        for (name, server) in &world.servers {
            if server.pending.is_some() {
                deadlines.entry(name.clone()).or_insert(now + duration);
            }
        }
    }

    /// Ends every operation past its deadline, the way the reference reading ends it: a backup
    /// OK with the server back in its earlier status, maintenance and restores HEALTHY, a
    /// deletion gone.
    fn expire(&self, state: &mut State) {
        if state.deadlines.is_empty() {
            return;
        }
        let now = Instant::now();
        let due: Vec<String> = state
            .deadlines
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            state.deadlines.remove(&name);
            let before = state.world.clone();
            let Some(pending) = before.servers.get(&name).and_then(|s| s.pending.clone()) else {
                continue;
            };
            match pending {
                Pending::Backup { previous } => {
                    let to = previous.unwrap_or(ServerStatus::Healthy);
                    state.world.finish_backup(&name, BackupStatus::Ok, to);
                    if self.mutant() == Some(Mutant::SettleKeepsBackingUp) {
                        keep_backing_up(&before, &mut state.world);
                    }
                }
                Pending::Maintenance | Pending::Restore => {
                    let s = state.world.servers.get_mut(&name).expect("server exists");
                    s.status = ServerStatus::Healthy;
                    s.pending = None;
                }
                Pending::Deletion => {
                    state.world.servers.remove(&name);
                }
            }
        }
    }
}

fn first(possibles: Vec<Possible>) -> Possible {
    possibles
        .into_iter()
        .next()
        .expect("the model allows at least one outcome for every action")
}

fn error(world: &World, kind: ErrorKind, rule: &'static str) -> Possible {
    Possible {
        expected: Expected::Error(kind),
        world: world.clone(),
        rule,
        exercised: vec![],
    }
}

fn server_name(input: &Value) -> Option<&str> {
    input.get("ServerName").and_then(Value::as_str)
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

/// After a backup finished: servers that were backing up stay BACKING_UP (`settle-keeps-backing-up`).
fn keep_backing_up(before: &World, after: &mut World) {
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

/// The outcome the emulator serves: the model's reference reading, perturbed by the mutant.
pub(crate) fn decide(
    world: &World,
    op: Operation,
    input: &Value,
    mutant: Option<Mutant>,
) -> Possible {
    let reference = || {
        first(model::step(
            world,
            &Action::Call {
                op,
                input: input.clone(),
            },
        ))
    };
    let Some(mutant) = mutant else {
        return reference();
    };
    let creating = op == Operation::CreateBackup;
    let server = server_name(input).and_then(|n| world.servers.get(n));
    match mutant {
        Mutant::LimitOffByOneHigh | Mutant::LimitOffByOneLow if creating => {
            let mut view = world.clone();
            view.limit = if mutant == Mutant::LimitOffByOneHigh {
                world.limit.saturating_add(1)
            } else {
                world.limit.saturating_sub(1)
            };
            let mut p = first(model::step(
                &view,
                &Action::Call {
                    op,
                    input: input.clone(),
                },
            ));
            p.world.limit = world.limit;
            p
        }
        Mutant::CountsAutomated if creating => {
            let mut view = world.clone();
            for b in std::sync::Arc::make_mut(&mut view.backups).iter_mut() {
                b.kind = BackupType::Manual;
            }
            let p = first(model::step(
                &view,
                &Action::Call {
                    op,
                    input: input.clone(),
                },
            ));
            match p.expected {
                Expected::Error(ErrorKind::LimitExceededException) => {
                    error(world, ErrorKind::LimitExceededException, p.rule)
                }
                _ => reference(),
            }
        }
        Mutant::BackingUpAllowsBackup | Mutant::BackupFromAnyState if creating => {
            let Some(s) = server else {
                return reference();
            };
            let skipped = match mutant {
                Mutant::BackingUpAllowsBackup => s.status == ServerStatus::BackingUp,
                _ => s.status != ServerStatus::BackingUp && !s.status.may_back_up(),
            };
            if !skipped {
                return reference();
            }
            let before = if s.status == ServerStatus::BackingUp {
                status_before(s)
            } else {
                s.status
            };
            let view = with_status(world, &s.name, ServerStatus::Healthy);
            let mut p = first(model::step(
                &view,
                &Action::Call {
                    op,
                    input: input.clone(),
                },
            ));
            if let Some(after) = p.world.servers.get_mut(&s.name) {
                if matches!(after.pending, Some(Pending::Backup { .. })) {
                    after.pending = Some(Pending::Backup {
                        previous: Some(before),
                    });
                }
            }
            p
        }
        Mutant::UpdateWhileBackingUp if op == Operation::UpdateServer => {
            let Some(s) = server.filter(|s| s.status == ServerStatus::BackingUp) else {
                return reference();
            };
            let view = with_status(world, &s.name, status_before(s));
            let mut p = first(model::step(
                &view,
                &Action::Call {
                    op,
                    input: input.clone(),
                },
            ));
            if let Some(after) = p.world.servers.get_mut(&s.name) {
                after.status = s.status;
                after.pending = s.pending.clone();
            }
            p
        }
        Mutant::NoBackingUpStatus if creating => {
            let mut p = reference();
            if let Some(after) = server_name(input).and_then(|n| p.world.servers.get_mut(n)) {
                if after.status == ServerStatus::BackingUp {
                    // The backup is still in progress (it ends as usual), but the status says nothing.
                    after.status = status_before(after);
                }
            }
            p
        }
        Mutant::CaseInsensitiveNames => {
            let Some(name) = server_name(input).filter(|n| !world.servers.contains_key(*n)) else {
                return reference();
            };
            let Some(found) = world.servers.keys().find(|k| k.eq_ignore_ascii_case(name)) else {
                return reference();
            };
            let mut input = input.clone();
            input["ServerName"] = json!(found);
            first(model::step(world, &Action::Call { op, input }))
        }
        Mutant::DescriptionOffByOne if creating => {
            let at_max = input
                .get("Description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.chars().count() == 10_000);
            if !at_max {
                return reference();
            }
            // The length check counts one character too many.
            let mut input = input.clone();
            input["Description"] =
                json!(format!("{}x", input["Description"].as_str().unwrap_or("")));
            first(model::step(world, &Action::Call { op, input }))
        }
        Mutant::TagsUnchecked => {
            let mut input = input.clone();
            if let Some(obj) = input.as_object_mut() {
                obj.remove("Tags");
            }
            first(model::step(world, &Action::Call { op, input }))
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
                    "create-backup.not-found",
                )
            } else {
                reference()
            }
        }
        Mutant::NotFoundBeforeValidation => {
            let unknown = server_name(input).is_some_and(|n| !world.servers.contains_key(n));
            let invalid = model::has_definite(&model::validation_errors(op, input));
            if unknown && invalid {
                error(
                    world,
                    ErrorKind::ResourceNotFoundException,
                    "create-backup.not-found",
                )
            } else {
                reference()
            }
        }
        _ => reference(),
    }
}
