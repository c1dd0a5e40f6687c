//! The transition relation: for one action from one world, every outcome the documents allow.
//!
//! Order matters in one way only: the first possibility is the reference reading, the one the
//! bundled emulator serves. Every other possibility is a legal reading a checker must accept.

use std::sync::Arc;

use serde_json::Value;

use super::validate::{validate, Certainty};
use super::*;
use crate::model::rules;

mod changes;
mod create_backup;
mod observe;
mod shared;

use changes::{delete_backup, delete_server, restore_server, start_maintenance, update_server};
use create_backup::{create_backup, end_targets};
use observe::{describe_backups, describe_servers};
use shared::{Change, SharedChanges};

/// Every outcome `action` may have from `world`, the reference reading first.
pub fn step(world: &World, action: &Action) -> Vec<Possible> {
    match action {
        Action::Call { op, input } => call_alone(world, *op, input, false),
        _ => fixture(world, action),
    }
}

/// The reference reading of `action` from `world` (the outcome the bundled emulator serves):
/// [`step`]'s first possibility, without working out the others.
pub fn step_first(world: &World, action: &Action) -> Possible {
    match action {
        Action::Call { op, input } => call_first(world, *op, input),
        _ => first(fixture(world, action)),
    }
}

/// [`step_first`] of a call of `op` with `input`.
pub fn call_first(world: &World, op: Operation, input: &Value) -> Possible {
    first(call_alone(world, op, input, true))
}

/// The outcomes of one call from one world (only the reference reading with `only_first`).
fn call_alone(world: &World, op: Operation, input: &Value, only_first: bool) -> Vec<Possible> {
    let mut out = Vec::new();
    let validated = Validated::new(op, input);
    let mut shared = SharedChanges::default();
    call(
        world,
        op,
        input,
        &validated,
        &mut shared,
        &mut out,
        only_first,
    );
    out
}

fn first(mut out: Vec<Possible>) -> Possible {
    assert!(
        !out.is_empty(),
        "the model allows at least one outcome for every action"
    );
    out.swap_remove(0)
}

/// The outcomes of a control-plane action.
fn fixture(world: &World, action: &Action) -> Vec<Possible> {
    match action {
        Action::Reset => vec![done(
            World::new(world.limit, world.readings.clone()),
            rules::CONTROL_PLANE_CONTRACT,
        )],
        Action::PutServer(spec) => {
            let mut w = world.clone();
            w.put_server(spec, None);
            vec![done(w, rules::CONTROL_PLANE_CONTRACT)]
        }
        Action::Settle(status) => world.settle(*status).into_iter().map(settled).collect(),
        Action::Call { .. } => unreachable!("calls are stepped by `call`"),
    }
}

fn settled(world: World) -> Possible {
    Possible {
        exercised: vec![(rules::BACKUP_COMPLETION, Polarity::Pass)],
        ..done(world, rules::BACKUP_COMPLETION)
    }
}

/// [`step`] of a settle for many worlds: a backup's end is made once for the worlds that share
/// the state it ends in.
fn settle_all(worlds: &[World], status: BackupStatus) -> Vec<Possible> {
    let mut shared = SharedChanges::default();
    let mut out = Vec::with_capacity(worlds.len());
    for w in worlds {
        let ends = w.settle_with(|after, server, to| {
            let change = Change::FinishBackup { server, status, to };
            shared.make(after, change, |after| {
                after.finish_backup(server, status, to)
            });
        });
        out.extend(ends.into_iter().map(settled));
    }
    out
}

fn done(world: World, rule: RuleId) -> Possible {
    Possible {
        expected: Expected::Done,
        world,
        rule,
        exercised: vec![],
    }
}

/// Builds possibilities that share the exercised rules of one call.
struct Outcomes<'a> {
    world: World,
    exercised: Vec<(RuleId, Polarity)>,
    out: Vec<Possible>,
    /// Changes made from a state other worlds of the step share (see [`shared`]).
    shared: SharedChanges<'a>,
    /// Only the reference reading is wanted: once it is out, the others are not worked out.
    only_first: bool,
}

impl<'a> Outcomes<'a> {
    /// Whether the outcomes wanted are out already (only the first was wanted).
    fn done(&self) -> bool {
        self.only_first && !self.out.is_empty()
    }

    fn pass(&mut self, rule: RuleId) {
        self.exercised.push((rule, Polarity::Pass));
    }

    /// The rules exercised so far and `rule`: one outcome's list, allocated once.
    fn exercised_with(&self, rule: RuleId, polarity: Polarity) -> Vec<(RuleId, Polarity)> {
        let mut exercised = Vec::with_capacity(self.exercised.len() + 1);
        exercised.extend_from_slice(&self.exercised);
        exercised.push((rule, polarity));
        exercised
    }

    /// An error that leaves the world as it was.
    fn error(&mut self, kind: ErrorKind, rule: RuleId) {
        if self.done() {
            return;
        }
        let exercised = self.exercised_with(rule, Polarity::Fail);
        self.out.push(Possible {
            expected: Expected::Error(kind),
            world: self.world.clone(),
            rule,
            exercised,
        });
    }

    /// An error that answers `choice` with `pick`: offered only when the endpoint has not
    /// answered it the other way before, and remembered in the world after.
    fn error_picking(&mut self, kind: ErrorKind, rule: RuleId, choice: Choice, pick: u8) {
        if self.done() || !self.world.readings.allows(choice, pick) {
            return;
        }
        let before = self.world.clone();
        self.world = before.clone().picking(choice, pick);
        self.error(kind, rule);
        self.world = before;
    }

    /// Whether the endpoint may still answer `choice` with `pick`.
    fn allows(&self, choice: Choice, pick: u8) -> bool {
        self.world.readings.allows(choice, pick)
    }

    /// From here on, every outcome answers `choice` with `pick`.
    fn commit(&mut self, choice: Choice, pick: u8) {
        self.world = self.world.clone().picking(choice, pick);
    }

    /// A branch of this call under more answered choices (its outcomes join this call's).
    fn branch(&self, picks: &[(Choice, u8)]) -> Outcomes<'a> {
        let mut world = self.world.clone();
        for (c, p) in picks {
            world = world.picking(*c, *p);
        }
        Outcomes {
            world,
            exercised: self.exercised.clone(),
            out: Vec::new(),
            shared: SharedChanges::default(),
            only_first: self.only_first,
        }
    }

    /// ResourceNotFoundException because backup `i`, being deleted, is gone by now (the world
    /// after drops it).
    fn gone(&mut self, i: usize, rule: RuleId) {
        if self.done() {
            return;
        }
        let mut world = self.world.clone();
        let removed = Arc::make_mut(&mut world.backups).remove(i);
        if let Some(id) = removed.id {
            Arc::make_mut(&mut world.gone).insert(id);
        }
        let exercised = self.exercised_with(rule, Polarity::Fail);
        self.out.push(Possible {
            expected: Expected::Error(ErrorKind::ResourceNotFoundException),
            world,
            rule,
            exercised,
        });
    }

    fn success(&mut self, expected: Expected, world: World, rule: RuleId) {
        if self.done() {
            return;
        }
        let exercised = self.exercised_with(rule, Polarity::Pass);
        self.out.push(Possible {
            expected,
            world,
            rule,
            exercised,
        });
    }
}

fn str_member<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// What validation found in one input: computed once per call, whatever the number of worlds.
pub struct Validated {
    violations: Vec<super::validate::Violation>,
    checked: Vec<RuleId>,
}

impl Validated {
    pub fn new(op: Operation, input: &Value) -> Validated {
        let (violations, checked) = validate(op.name(), input);
        Validated {
            violations,
            checked,
        }
    }
}

/// [`step`] for many worlds at once: the input is validated once.
pub fn step_all(worlds: &[World], action: &Action) -> Vec<Possible> {
    match action {
        Action::Call { op, input } => {
            let validated = Validated::new(*op, input);
            let mut shared = SharedChanges::default();
            let mut out = Vec::with_capacity(worlds.len() * 2);
            for w in worlds {
                call(w, *op, input, &validated, &mut shared, &mut out, false);
            }
            out
        }
        Action::PutServer(spec) => put_server_all(worlds, spec),
        Action::Settle(status) => settle_all(worlds, *status),
        Action::Reset => worlds.iter().flat_map(|w| fixture(w, action)).collect(),
    }
}

/// [`step`] of a put-server for many worlds: the change reads and writes only the servers, the
/// backups and the sequence number, so worlds that share those (they differ in a reading)
/// share the change too, made once.
fn put_server_all(worlds: &[World], spec: &ServerSpec) -> Vec<Possible> {
    let mut made: Vec<(&World, World)> = Vec::new();
    let mut out = Vec::with_capacity(worlds.len());
    for w in worlds {
        let known = made.iter().find(|(before, _)| {
            Arc::ptr_eq(&before.servers, &w.servers)
                && Arc::ptr_eq(&before.backups, &w.backups)
                && before.next_seq == w.next_seq
        });
        let after = match known {
            Some((_, after)) => World {
                servers: after.servers.clone(),
                backups: after.backups.clone(),
                next_seq: after.next_seq,
                ..w.clone()
            },
            None => {
                let mut after = w.clone();
                after.put_server(spec, None);
                made.push((w, after.clone()));
                after
            }
        };
        out.push(done(after, rules::CONTROL_PLANE_CONTRACT));
    }
    out
}

/// The outcomes of one call from `world`, appended to `out`; state changes other worlds made
/// from the same state are taken from `shared`. With `only_first`, only the reference reading.
fn call<'a>(
    world: &World,
    op: Operation,
    input: &'a Value,
    validated: &Validated,
    shared: &mut SharedChanges<'a>,
    out: &mut Vec<Possible>,
    only_first: bool,
) {
    let mut o = Outcomes {
        world: world.clone(),
        exercised: Vec::with_capacity(validated.checked.len() + 8),
        out: std::mem::take(out),
        shared: std::mem::take(shared),
        only_first,
    };
    call_in(&mut o, op, input, validated);
    *shared = o.shared;
    *out = o.out;
}

fn call_in<'a>(o: &mut Outcomes<'a>, op: Operation, input: &'a Value, validated: &Validated) {
    let violations = &validated.violations;
    if let Some(v) = violations.iter().find(|v| v.is_definite()) {
        let type_error = violations
            .iter()
            .any(|v| v.is_definite() && v.rule == rules::VALIDATION_TYPE);
        if type_error {
            // A15: AWS's JSON services answer a wrong type with SerializationException (they
            // decode before they validate, so whatever else is wrong); the endpoint keeps to
            // one answer.
            o.pass(rules::AMBIGUITY_TYPE_ERROR_KIND);
            let (choice, rule) = (Choice::TypeErrorKind, rules::AMBIGUITY_TYPE_ERROR_KIND);
            o.error_picking(ErrorKind::ValidationException, v.rule, choice, 0);
            o.error_picking(ErrorKind::SerializationException, rule, choice, 1);
        } else {
            o.error(ErrorKind::ValidationException, v.rule);
        }
        return;
    }
    // Ambiguous violations: the reference reading refuses; accepting is legal too.
    if let Some(v) = violations.first() {
        let Certainty::Ambiguous(amb) = v.certainty else {
            unreachable!("definite violations returned above")
        };
        o.pass(amb);
        if amb == rules::AMBIGUITY_RETENTION_ZERO {
            // A16: a property of the endpoint, held for the whole run. The reference reading
            // follows UpdateServer's own shape (a plain Integer) and accepts.
            let before = o.world.clone();
            if o.allows(Choice::RetentionZero, 1) {
                o.pass(v.rule);
                o.commit(Choice::RetentionZero, 1);
                operation(o, op, input);
            }
            o.world = before;
            let (kind, choice) = (ErrorKind::ValidationException, Choice::RetentionZero);
            o.error_picking(kind, v.rule, choice, 0);
            return;
        } else {
            o.error(ErrorKind::ValidationException, v.rule);
        }
    } else {
        for rule in &validated.checked {
            o.pass(*rule);
        }
    }
    operation(o, op, input);
}

/// The outcomes of a call whose input passed validation.
fn operation<'a>(o: &mut Outcomes<'a>, op: Operation, input: &'a Value) {
    match op {
        Operation::CreateBackup => create_backup(o, input),
        Operation::DescribeBackups => describe_backups(o, input),
        Operation::DeleteBackup => delete_backup(o, input),
        Operation::DescribeServers => describe_servers(o, input),
        Operation::UpdateServer => update_server(o, input),
        Operation::StartMaintenance => start_maintenance(o, input),
        Operation::DeleteServer => delete_server(o, input),
        Operation::RestoreServer => restore_server(o, input),
        Operation::DescribeAccountAttributes => {
            let (mut low, mut high) = (0, 0);
            for b in o
                .world
                .backups
                .iter()
                .filter(|b| b.kind == BackupType::Manual)
            {
                high += 1;
                if b.status == BackupStatus::Ok {
                    low += 1;
                }
            }
            let expected = Expected::AccountAttributes {
                used: (low, high),
                maximum: o.world.limit,
            };
            let w = o.world.clone();
            o.success(expected, w, rules::ACCOUNT_ATTRIBUTES_MANUAL_BACKUP_LIMIT);
        }
    }
}

/// Every world an endpoint may reach by itself from `world` between two calls: any operation in
/// progress may finish (a backup OK or FAILED, maintenance, a restore, a deletion). The first
/// world is `world` unchanged.
pub fn spontaneous(world: &World) -> Vec<World> {
    let mut worlds = vec![world.clone()];
    if world.servers.values().all(|s| s.pending.is_none()) {
        // Nothing in progress: nothing can end by itself.
        return worlds;
    }
    for (name, server) in world.servers.iter() {
        let Some(pending) = &server.pending else {
            continue;
        };
        let mut endings: Vec<World> = Vec::new();
        for w in &worlds {
            match pending {
                Pending::Backup { previous } => {
                    let targets = end_targets(*previous, world.readings.after_backup);
                    for status in [BackupStatus::Ok, BackupStatus::Failed] {
                        for t in &targets {
                            let mut w = w.clone();
                            w.finish_backup(name, status, *t);
                            endings.push(w);
                        }
                    }
                }
                Pending::Maintenance | Pending::Restore => {
                    for t in [ServerStatus::Healthy, ServerStatus::Unhealthy] {
                        let mut w = w.clone();
                        let s = w.server_mut(name).expect("server exists");
                        s.status = t;
                        s.pending = None;
                        endings.push(w);
                    }
                }
                Pending::Deletion => {
                    let mut w = w.clone();
                    w.servers_mut().remove(name);
                    endings.push(w);
                }
            }
        }
        worlds.extend(endings);
    }
    // The unchanged world stays first.
    worlds.into_iter().collect::<WorldSet>().into_vec()
}
