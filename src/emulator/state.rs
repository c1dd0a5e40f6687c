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

use serde_json::Value;

use super::mutants::{self, Call, Mutant};
use super::readings::{first, Reading, ReadingSet};
use super::render::{self, Snapshot};
use super::settings::{CallAnswer, Settings};
use super::sigv4::Verifier;
use super::EmulatorConfig;
use crate::model::{
    self, Action, BackupStatus, ErrorKind, Expected, Operation, Pending, Possible, ServerSpec,
    ServerStatus, World, DEFAULT_LIMIT,
};

/// How far in the past `seeded-in-the-past` dates the control plane's backups.
const SEED_AGE: Duration = Duration::from_secs(24 * 60 * 60);

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

struct State {
    world: World,
    /// The last millisecond given to a backup made through the API: creation times strictly
    /// increase, so BackupIds are unique and newest-first is well defined even for fixture
    /// backups made together.
    last_ms: i64,
    /// When each server's operation in progress ends by itself (`--backup-duration`).
    deadlines: BTreeMap<String, Instant>,
    /// When each backup being deleted is gone (`async-delete` with `--backup-duration`).
    deletions: BTreeMap<String, Instant>,
    /// What each backup recorded of its server when it was made (by BackupId).
    snapshots: HashMap<String, Snapshot>,
    /// What a mutant remembers between calls.
    memory: mutants::Memory,
}

/// An error the model decided, with a message that says what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    pub kind: ErrorKind,
    pub message: String,
}

impl Emulator {
    /// A fresh emulator (no servers) for `config`. Fails on an unknown mutant, on a mutant
    /// served in a dialect it does not make sense in, and on a limit `limit-10` contradicts.
    pub fn new(config: &EmulatorConfig) -> anyhow::Result<Emulator> {
        let mutant = match &config.mutant {
            None => None,
            Some(name) => {
                let info = super::find_mutant(name)?;
                if let Some(d) = info.dialect.filter(|d| *d != config.dialect) {
                    anyhow::bail!(
                        "mutant {} only makes sense in the {} dialect (hint: add `--dialect {}`)",
                        info.name,
                        d.name(),
                        d.name()
                    );
                }
                Some(Mutant::from_name(name)?)
            }
        };
        let readings = config.readings;
        if readings.contains(Reading::LimitTen) && ![DEFAULT_LIMIT, 10].contains(&config.limit) {
            anyhow::bail!(
                "--limit {} contradicts the reading limit-10 (hint: drop one of them)",
                config.limit
            );
        }
        let limit = readings.limit(config.limit);
        let verifier = config
            .verify_sigv4
            .then(|| Verifier::from_env(&config.region));
        Ok(Emulator {
            shared: Arc::new(Shared {
                settings: Settings {
                    dialect: config.dialect,
                    mutant,
                    readings,
                    verifier,
                    backup_duration: config.backup_duration,
                    region: config.region.clone(),
                    limit,
                },
                state: Mutex::new(State {
                    world: World::new(limit, readings.model_readings()),
                    last_ms: 0,
                    deadlines: BTreeMap::new(),
                    deletions: BTreeMap::new(),
                    snapshots: HashMap::new(),
                    memory: mutants::Memory::default(),
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

    fn readings(&self) -> ReadingSet {
        self.shared.settings.readings
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

    /// The outcome served for a call from the current state (`mutant`: None to leave it out).
    fn decide(
        &self,
        state: &State,
        op: Operation,
        input: &Value,
        mutant: Option<Mutant>,
    ) -> Possible {
        let call = Call {
            world: &state.world,
            op,
            input,
            readings: self.readings(),
            memory: &state.memory,
        };
        mutants::decide(&call, mutant)
    }

    /// One API call: decide (model, readings, mutant), realize, render.
    pub async fn call(&self, op: Operation, input: Value) -> Result<CallAnswer, ModelError> {
        if op == Operation::CreateBackup {
            if let Some(gap) = self.mutant().and_then(Mutant::race_gap) {
                return self.racy_create(input, gap).await;
            }
        }
        let mut state = self.lock();
        self.expire(&mut state);
        let possible = self.decide(&state, op, &input, self.mutant());
        let answer = self.conclude(&mut state, op, &input, possible);
        state.memory.after_call(op);
        answer
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
        self.realize(state, false);
        let answer = render::answer(
            &possible.expected,
            &state.world,
            &state.snapshots,
            &self.shared.settings,
        );
        if !self.readings().contains(Reading::AsyncDelete) {
            // Deletion is immediate here: a legal reading (the backup may be gone at once).
            self.vanish(state, |_| true);
        }
        self.arm_deadlines(state);
        Ok(answer)
    }

    /// A racy mutant: the state and limit check, then the lock released for `gap`, then the
    /// act on whatever the world has become meanwhile.
    async fn racy_create(
        &self,
        input: Value,
        gap: mutants::RaceGap,
    ) -> Result<CallAnswer, ModelError> {
        let op = Operation::CreateBackup;
        let checked = {
            let mut state = self.lock();
            self.expire(&mut state);
            let possible = self.decide(&state, op, &input, None);
            if possible.expected.error().is_some() {
                return self.conclude(&mut state, op, &input, possible);
            }
            possible
        };
        gap.wait().await;
        let mut state = self.lock();
        let possible = mutants::act_after_race(checked, &state.world);
        self.conclude(&mut state, op, &input, possible)
    }

    /// Control plane: removes every server and backup.
    pub fn reset(&self) {
        let mut state = self.lock();
        let possible = first(model::step(&state.world, &Action::Reset));
        state.world = possible.world;
        state.deadlines.clear();
        state.deletions.clear();
        state.snapshots.clear();
        state.memory = mutants::Memory::default();
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
        state.memory.forget(&name);
        self.realize(&mut state, true);
        self.arm_deadlines(&mut state);
        render::server_json(&state.world.servers[&name], &self.shared.settings)
    }

    /// Control plane: every IN_PROGRESS backup ends with `status`, every BACKING_UP server
    /// returns to its earlier status; under `async-delete`, deletions in progress end too.
    pub fn settle(&self, status: BackupStatus) {
        let mut state = self.lock();
        self.expire(&mut state);
        let before = state.world.clone();
        let mut after = first(model::step(&before, &Action::Settle(status))).world;
        mutants::after_finish(self.mutant(), &before, &mut after);
        state.world = after;
        self.vanish(&mut state, |_| true);
        self.arm_deadlines(&mut state);
    }

    /// Removes the backups being deleted whose id `due` accepts (all of them when the
    /// deletion is immediate).
    fn vanish(&self, state: &mut State, due: impl Fn(&str) -> bool) {
        if !state
            .world
            .backups
            .iter()
            .any(|b| b.status == BackupStatus::Deleting)
        {
            return;
        }
        let State {
            world,
            memory,
            deletions,
            ..
        } = state;
        Arc::make_mut(&mut world.backups).retain(|b| {
            let gone = b.status == BackupStatus::Deleting && due(b.id.as_deref().unwrap_or(""));
            if gone {
                memory.record_vanished(self.mutant(), b);
                if let Some(id) = &b.id {
                    deletions.remove(id);
                }
            }
            !gone
        });
    }

    /// Gives every backup the model left unbound an id and a creation time, and every server a
    /// creation time. `seeded`: the backups come from the control plane.
    fn realize(&self, state: &mut State, seeded: bool) {
        let unbound_servers = state
            .world
            .servers
            .values()
            .any(|s| s.created_at_ms.is_none());
        if !unbound_servers && state.world.backups.iter().all(|b| b.id.is_some()) {
            // Most calls add nothing: the world is not copied (or touched) then.
            return;
        }
        let now = chrono::Utc::now().timestamp_millis();
        if unbound_servers {
            for server in state.world.servers_mut().values_mut() {
                server.created_at_ms.get_or_insert(now);
            }
        }
        let in_the_past = seeded && self.readings().contains(Reading::SeededInThePast);
        let mut next_seeded = now - SEED_AGE.as_millis() as i64;
        for i in 0..state.world.backups.len() {
            if state.world.backups[i].id.is_some() {
                continue;
            }
            let server = state.world.backups[i].server.clone();
            let (id, at) = loop {
                let at = if in_the_past {
                    // A day ago, one second apart: servers put one after another interleave.
                    next_seeded += 1000;
                    next_seeded
                } else {
                    let at = now.max(state.last_ms + 1);
                    state.last_ms = at;
                    at
                };
                let id = render::backup_id(&server, at, self.readings());
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
            let b = &mut Arc::make_mut(&mut state.world.backups)[i];
            b.id = Some(id);
            b.created_at_ms = Some(at);
        }
    }

    /// Records when each operation in progress, and each deletion, ends by itself (with
    /// `--backup-duration`).
    fn arm_deadlines(&self, state: &mut State) {
        let Some(duration) = self.shared.settings.backup_duration else {
            return;
        };
        let now = Instant::now();
        let State {
            world,
            deadlines,
            deletions,
            ..
        } = state;
        deadlines.retain(|name, _| world.servers.get(name).is_some_and(|s| s.pending.is_some()));
        for (name, server) in world.servers.iter() {
            if server.pending.is_some() {
                deadlines.entry(name.clone()).or_insert(now + duration);
            }
        }
        for b in world.backups.iter() {
            if let (BackupStatus::Deleting, Some(id)) = (b.status, &b.id) {
                deletions.entry(id.clone()).or_insert(now + duration);
            }
        }
    }

    /// Ends every operation past its deadline: a backup OK with the server back in its
    /// earlier status (or HEALTHY, `fresh-health-after-backup`), maintenance and restores
    /// HEALTHY, a server deletion gone, a backup deletion gone.
    fn expire(&self, state: &mut State) {
        if state.deadlines.is_empty() && state.deletions.is_empty() {
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
                    let to = self.readings().after_backup(previous);
                    state.world.finish_backup(&name, BackupStatus::Ok, to);
                    mutants::after_finish(self.mutant(), &before, &mut state.world);
                }
                Pending::Maintenance | Pending::Restore => {
                    let s = state.world.server_mut(&name).expect("server exists");
                    s.status = ServerStatus::Healthy;
                    s.pending = None;
                }
                Pending::Deletion => {
                    state.world.servers_mut().remove(&name);
                }
            }
        }
        let gone: Vec<String> = state
            .deletions
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        if !gone.is_empty() {
            self.vanish(state, |id| gone.iter().any(|g| g == id));
        }
    }
}
