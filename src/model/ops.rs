//! The transition relation: for one action from one world, every outcome the documents allow.
//!
//! Order matters in one way only: the first possibility is the reference reading, the one the
//! bundled emulator serves. Every other possibility is a legal reading a checker must accept.

use std::sync::Arc;

use serde_json::Value;

use super::validate::{checked_rules, validate_input, Certainty};
use super::*;
use crate::model::rules;

/// Every outcome `action` may have from `world`, the reference reading first.
pub fn step(world: &World, action: &Action) -> Vec<Possible> {
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
        Action::Settle(status) => world
            .settle(*status)
            .into_iter()
            .map(|w| Possible {
                exercised: vec![(rules::BACKUP_COMPLETION, Polarity::Pass)],
                ..done(w, rules::BACKUP_COMPLETION)
            })
            .collect(),
        Action::Call { op, input } => call(world, *op, input, &Validated::new(*op, input)),
    }
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
struct Outcomes {
    world: World,
    exercised: Vec<(RuleId, Polarity)>,
    out: Vec<Possible>,
}

impl Outcomes {
    fn new(world: &World) -> Outcomes {
        Outcomes {
            world: world.clone(),
            exercised: Vec::new(),
            out: Vec::new(),
        }
    }

    fn pass(&mut self, rule: RuleId) {
        self.exercised.push((rule, Polarity::Pass));
    }

    /// An error that leaves the world as it was.
    fn error(&mut self, kind: ErrorKind, rule: RuleId) {
        let mut exercised = self.exercised.clone();
        exercised.push((rule, Polarity::Fail));
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
        if !self.world.readings.allows(choice, pick) {
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
    fn branch(&self, picks: &[(Choice, u8)]) -> Outcomes {
        let mut world = self.world.clone();
        for (c, p) in picks {
            world = world.picking(*c, *p);
        }
        Outcomes {
            world,
            exercised: self.exercised.clone(),
            out: Vec::new(),
        }
    }

    /// ResourceNotFoundException because backup `i`, being deleted, is gone by now (the world
    /// after drops it).
    fn gone(&mut self, i: usize, rule: RuleId) {
        let mut world = self.world.clone();
        let removed = Arc::make_mut(&mut world.backups).remove(i);
        if let Some(id) = removed.id {
            Arc::make_mut(&mut world.gone).insert(id);
        }
        let mut exercised = self.exercised.clone();
        exercised.push((rule, Polarity::Fail));
        self.out.push(Possible {
            expected: Expected::Error(ErrorKind::ResourceNotFoundException),
            world,
            rule,
            exercised,
        });
    }

    fn success(&mut self, expected: Expected, world: World, rule: RuleId) {
        let mut exercised = self.exercised.clone();
        exercised.push((rule, Polarity::Pass));
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
        let violations = validate_input(op.name(), input);
        let checked = if violations.is_empty() {
            checked_rules(op.name(), input)
        } else {
            Vec::new()
        };
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
            worlds
                .iter()
                .flat_map(|w| call(w, *op, input, &validated))
                .collect()
        }
        _ => worlds.iter().flat_map(|w| step(w, action)).collect(),
    }
}

fn call(world: &World, op: Operation, input: &Value, validated: &Validated) -> Vec<Possible> {
    let mut o = Outcomes::new(world);
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
        return o.out;
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
                operation(&mut o, op, input);
            }
            o.world = before;
            let (kind, choice) = (ErrorKind::ValidationException, Choice::RetentionZero);
            o.error_picking(kind, v.rule, choice, 0);
            return o.out;
        } else {
            o.error(ErrorKind::ValidationException, v.rule);
        }
    } else {
        for rule in &validated.checked {
            o.pass(*rule);
        }
    }
    operation(&mut o, op, input);
    o.out
}

/// The outcomes of a call whose input passed validation.
fn operation(o: &mut Outcomes, op: Operation, input: &Value) {
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

fn create_backup(o: &mut Outcomes, input: &Value) {
    let name = str_member(input, "ServerName").unwrap_or_default();
    let Some(server) = o.world.servers.get(name).cloned() else {
        o.error(
            ErrorKind::ResourceNotFoundException,
            rules::CREATE_BACKUP_NOT_FOUND,
        );
        return;
    };
    o.pass(rules::CREATE_BACKUP_NOT_FOUND);
    let limit = o.world.limit;
    let (low, high) = o.world.manual_count(name);
    if high < limit || low >= limit {
        // The open A3 choices cannot change the answer here.
        let certain = o.world.manual_in_ok(name);
        create_backup_counted(o, &server, low.max(certain), input);
        return;
    }
    // A3: which statuses count decides the answer; each way of answering is its own branch,
    // and the endpoint keeps to the one it shows.
    for (count, picks) in o.world.count_forks(name) {
        let mut branch = o.branch(&picks);
        create_backup_counted(&mut branch, &server, count, input);
        // A deletion may end at any time (settle covers backups in progress only), so the
        // DELETING backups counted here may already be gone and free their slots.
        let deleting = o.world.deleting_counted(name, &picks);
        if count >= o.world.limit && count - deleting < o.world.limit {
            create_backup_counted(&mut branch, &server, count - deleting, input);
        }
        o.out.append(&mut branch.out);
    }
}

/// CreateBackup once the count toward the limit is known.
fn create_backup_counted(o: &mut Outcomes, server: &Server, count: u32, input: &Value) {
    let name = server.name.as_str();
    let limit = o.world.limit;
    let state_rule = match server.status {
        ServerStatus::BackingUp => rules::CREATE_BACKUP_STATE_BACKING_UP,
        s if s.may_back_up() => rules::CREATE_BACKUP_STATE_ALLOWED,
        _ => rules::CREATE_BACKUP_STATE_REFUSED,
    };
    if !server.status.may_back_up() {
        if count >= limit {
            // A4: the state gate and the limit both apply; the endpoint keeps to one order.
            o.pass(rules::AMBIGUITY_ERROR_PRECEDENCE);
            let choice = Choice::LimitBeforeState;
            o.error_picking(ErrorKind::InvalidStateException, state_rule, choice, 0);
            let rule = rules::AMBIGUITY_ERROR_PRECEDENCE;
            o.error_picking(ErrorKind::LimitExceededException, rule, choice, 1);
        } else {
            o.error(ErrorKind::InvalidStateException, state_rule);
        }
        return;
    }
    o.pass(state_rule);
    if count >= limit {
        let rule = if o.world.manual_in_ok(name) >= limit {
            rules::CREATE_BACKUP_LIMIT
        } else {
            rules::AMBIGUITY_COUNTED_STATUSES
        };
        o.error(ErrorKind::LimitExceededException, rule);
        return;
    }
    o.pass(rules::CREATE_BACKUP_LIMIT);
    let automated_in_scope = o
        .world
        .backups
        .iter()
        .filter(|b| b.kind == BackupType::Automated)
        .filter(|b| o.world.readings.limit_scope == LimitScope::PerAccount || b.server == name)
        .count() as u32;
    if automated_in_scope > 0 && count + automated_in_scope >= limit {
        o.pass(rules::CREATE_BACKUP_LIMIT_AUTOMATED_NOT_COUNTED);
    }
    if server.freed_slots > 0 && count + server.freed_slots >= limit {
        o.pass(rules::CREATE_BACKUP_LIMIT_DELETE_FREES_SLOT);
    }
    let mut w = o.world.clone();
    let description = str_member(input, "Description").map(str::to_string);
    let seq = w.next_seq;
    w.next_seq += 1;
    Arc::make_mut(&mut w.backups).push(Backup {
        id: None,
        server: name.to_string(),
        kind: BackupType::Manual,
        status: BackupStatus::InProgress,
        description: Some(description.clone()),
        seq,
        created_at_ms: None,
    });
    let s = w.servers.get_mut(name).expect("server exists");
    s.pending = Some(Pending::Backup {
        previous: Some(s.status),
    });
    s.status = ServerStatus::BackingUp;
    for rule in [
        rules::CREATE_BACKUP_EFFECT_BACKING_UP,
        rules::CREATE_BACKUP_EFFECT_BACKUP_ID,
        rules::CREATE_BACKUP_EFFECT_CREATED_AT,
        rules::CREATE_BACKUP_EFFECT_ARN,
        rules::CREATE_BACKUP_EFFECT_SERVER_FACTS,
        rules::CREATE_BACKUP_EFFECT_DESCRIPTION,
    ] {
        o.pass(rule);
    }
    let previous = server.status;
    let readings = w.readings.after_backup;
    o.success(
        Expected::CreatedBackup {
            server: name.to_string(),
            description: description.clone(),
            finished: false,
        },
        w.clone(),
        rules::CREATE_BACKUP_EFFECT_RESPONSE,
    );
    // A6: the answer may say the backup is done already (OK); then it is over, and the
    // server has left BACKING_UP as after any backup.
    for to in end_targets(Some(previous), readings) {
        let mut done = w.clone();
        done.finish_backup(name, BackupStatus::Ok, to);
        let expected = Expected::CreatedBackup {
            server: name.to_string(),
            description: description.clone(),
            finished: true,
        };
        o.success(expected, done, rules::AMBIGUITY_CREATED_STATUS);
    }
}

/// The statuses a server may take when its backup ends by itself (A5): the one before the
/// backup, or a fresh health status; any that can back up when the earlier one is unknown.
fn end_targets(previous: Option<ServerStatus>, after: AfterBackup) -> Vec<ServerStatus> {
    match (previous, after) {
        (Some(p), AfterBackup::Previous) => vec![p],
        (None, AfterBackup::Previous) => vec![
            ServerStatus::Healthy,
            ServerStatus::Running,
            ServerStatus::Unhealthy,
        ],
        (_, AfterBackup::FreshHealth) => vec![ServerStatus::Healthy, ServerStatus::Unhealthy],
    }
}

/// Splits the backups that match `filter` into those that must be listed and those that may be
/// (being deleted, or unbound when a BackupId is asked for).
fn listing(world: &World, filter: impl Fn(&Backup) -> bool) -> (Vec<usize>, Vec<usize>) {
    let mut listed = Vec::new();
    let mut maybe = Vec::new();
    for (i, b) in world.backups.iter().enumerate().rev() {
        if !filter(b) {
            continue;
        }
        if b.status == BackupStatus::Deleting {
            maybe.push(i);
        } else {
            listed.push(i);
        }
    }
    (listed, maybe)
}

fn describe_backups(o: &mut Outcomes, input: &Value) {
    let w = o.world.clone();
    if w.backups.iter().any(|b| b.id.is_some()) || !w.gone.is_empty() {
        // What was seen of a backup before binds what a listing may show now.
        o.pass(rules::BACKUP_CREATED_AT_STABLE);
        o.pass(rules::BACKUP_STATUS_MONOTONIC);
    }
    if let Some(id) = str_member(input, "BackupId") {
        match w.backup_index(id) {
            Some(i) if w.backups[i].status == BackupStatus::Deleting => {
                let expected = Expected::Backups {
                    listed: vec![],
                    maybe_gone: vec![i],
                };
                o.success(expected, w.clone(), rules::DESCRIBE_BACKUPS_FILTER);
                o.error(
                    ErrorKind::ResourceNotFoundException,
                    rules::DESCRIBE_BACKUPS_NOT_FOUND,
                );
            }
            Some(i) => o.success(
                Expected::Backups {
                    listed: vec![i],
                    maybe_gone: vec![],
                },
                w,
                rules::DESCRIBE_BACKUPS_FILTER,
            ),
            None => {
                o.error(
                    ErrorKind::ResourceNotFoundException,
                    rules::DESCRIBE_BACKUPS_NOT_FOUND,
                );
                // The id may be one the endpoint chose for a backup not yet observed: one
                // possibility per kind of unbound backup (backups made together are alike), with
                // the id bound, so the answer must list exactly that backup under that id.
                let mut alike = Vec::new();
                for (i, b) in w.backups.iter().enumerate() {
                    let class = (&b.server, b.kind, b.seq, b.status);
                    if b.id.is_some() || alike.contains(&class) {
                        continue;
                    }
                    alike.push(class);
                    let mut bound = w.clone();
                    Arc::make_mut(&mut bound.backups)[i].id = Some(id.to_string());
                    let (listed, maybe_gone) = if b.status == BackupStatus::Deleting {
                        (vec![], vec![i])
                    } else {
                        (vec![i], vec![])
                    };
                    o.success(
                        Expected::Backups { listed, maybe_gone },
                        bound,
                        rules::DESCRIBE_BACKUPS_FILTER,
                    );
                }
            }
        }
        return;
    }
    if let Some(name) = str_member(input, "ServerName") {
        let (listed, maybe_gone) = listing(&w, |b| b.server == name);
        if !w.servers.contains_key(name) {
            // A13: an unknown server gives ResourceNotFoundException or an empty list, the
            // same way every time.
            let (choice, rule) = (
                Choice::DescribeUnknownServer,
                rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER,
            );
            o.error_picking(ErrorKind::ResourceNotFoundException, rule, choice, 0);
            if o.allows(choice, 1) {
                let expected = Expected::Backups { listed, maybe_gone };
                o.success(expected, w.picking(choice, 1), rule);
            }
            return;
        }
        o.pass(rules::DESCRIBE_BACKUPS_ORDER);
        o.pass(rules::DESCRIBE_BACKUPS_FILTER);
        o.success(
            Expected::Backups { listed, maybe_gone },
            w,
            rules::DESCRIBE_BACKUPS_LISTING,
        );
        return;
    }
    let (listed, maybe_gone) = listing(&w, |_| true);
    o.pass(rules::DESCRIBE_BACKUPS_ORDER);
    o.success(
        Expected::Backups { listed, maybe_gone },
        w,
        rules::DESCRIBE_BACKUPS_LISTING,
    );
}

fn delete_backup(o: &mut Outcomes, input: &Value) {
    let id = str_member(input, "BackupId").unwrap_or_default();
    let Some(i) = o.world.backup_index(id) else {
        o.error(
            ErrorKind::ResourceNotFoundException,
            rules::DELETE_BACKUP_NOT_FOUND,
        );
        return;
    };
    o.pass(rules::DELETE_BACKUP_NOT_FOUND);
    let backup = o.world.backups[i].clone();
    match backup.status {
        BackupStatus::Deleting => {
            o.error(
                ErrorKind::InvalidStateException,
                rules::DELETE_BACKUP_ALREADY_DELETING,
            );
            // It may be gone by now.
            o.gone(i, rules::DELETE_BACKUP_NOT_FOUND);
            return;
        }
        BackupStatus::InProgress => o.pass(rules::DELETE_BACKUP_IN_PROGRESS),
        BackupStatus::Ok | BackupStatus::Failed => {
            o.pass(rules::DELETE_BACKUP_ALREADY_DELETING);
        }
    }
    let mut w = o.world.clone();
    Arc::make_mut(&mut w.backups)[i].status = BackupStatus::Deleting;
    if backup.kind == BackupType::Manual {
        if let Some(s) = w.servers.get_mut(&backup.server) {
            s.freed_slots += 1;
        }
    }
    if backup.status != BackupStatus::InProgress {
        o.success(Expected::Done, w, rules::DELETE_BACKUP_EFFECT);
        return;
    }
    // A17: the backup in progress is being deleted: the server leaves BACKING_UP at once, or
    // stays BACKING_UP until the job ends (by itself or through settle).
    let choice = Choice::DeleteInProgressKeepsBackingUp;
    o.pass(rules::AMBIGUITY_DELETE_IN_PROGRESS_BACKUP);
    if o.allows(choice, 0) {
        let mut ended = w.clone().picking(choice, 0);
        if let Some(s) = ended.servers.get_mut(&backup.server) {
            if let Some(Pending::Backup { previous }) = s.pending.clone() {
                s.status = previous.unwrap_or(ServerStatus::Healthy);
                s.pending = None;
            }
        }
        o.success(Expected::Done, ended, rules::DELETE_BACKUP_IN_PROGRESS);
    }
    if o.allows(choice, 1) {
        o.success(
            Expected::Done,
            w.picking(choice, 1),
            rules::DELETE_BACKUP_IN_PROGRESS,
        );
    }
}

fn describe_servers(o: &mut Outcomes, input: &Value) {
    let w = o.world.clone();
    if let Some(name) = str_member(input, "ServerName") {
        if w.servers.contains_key(name) {
            o.pass(rules::DESCRIBE_SERVERS_NOT_FOUND);
            o.success(
                Expected::Servers(vec![name.to_string()]),
                w,
                rules::DESCRIBE_SERVERS_LISTING,
            );
        } else {
            o.error(
                ErrorKind::ResourceNotFoundException,
                rules::DESCRIBE_SERVERS_NOT_FOUND,
            );
        }
        return;
    }
    let names = w.servers.keys().cloned().collect();
    o.success(Expected::Servers(names), w, rules::DESCRIBE_SERVERS_LISTING);
}

/// Looks the named server up, answering ResourceNotFoundException when it is unknown.
fn existing_server(o: &mut Outcomes, input: &Value) -> Option<Server> {
    let name = str_member(input, "ServerName").unwrap_or_default();
    match o.world.servers.get(name).cloned() {
        Some(s) => {
            o.pass(rules::UPDATE_SERVER_NOT_FOUND);
            Some(s)
        }
        None => {
            o.error(
                ErrorKind::ResourceNotFoundException,
                rules::UPDATE_SERVER_NOT_FOUND,
            );
            None
        }
    }
}

/// The settings UpdateServer changes, which DescribeServers shows afterwards.
pub const UPDATABLE: &[&str] = &[
    "DisableAutomatedBackup",
    "BackupRetentionCount",
    "PreferredBackupWindow",
    "PreferredMaintenanceWindow",
];

fn update_server(o: &mut Outcomes, input: &Value) {
    let Some(server) = existing_server(o, input) else {
        return;
    };
    if server.status == ServerStatus::BackingUp {
        o.error(
            ErrorKind::InvalidStateException,
            rules::SERVER_BACKING_UP_LOCKED,
        );
        return;
    }
    o.pass(rules::SERVER_BACKING_UP_LOCKED);
    if !server.status.may_back_up() {
        // A11: states other than BACKING_UP are not named; refusing is the reference reading.
        o.error(
            ErrorKind::InvalidStateException,
            rules::AMBIGUITY_UNNAMED_STATES,
        );
    }
    let mut w = o.world.clone();
    let s = w.servers.get_mut(&server.name).expect("server exists");
    if let Some(b) = input.get("DisableAutomatedBackup").and_then(Value::as_bool) {
        s.disable_automated_backup = b;
    }
    if let Some(n) = input.get("BackupRetentionCount").and_then(Value::as_i64) {
        s.backup_retention_count = n;
    }
    if let Some(t) = str_member(input, "PreferredBackupWindow") {
        s.preferred_backup_window = Some(t.to_string());
    }
    if let Some(t) = str_member(input, "PreferredMaintenanceWindow") {
        s.preferred_maintenance_window = Some(t.to_string());
    }
    for member in UPDATABLE {
        if let Some(v) = input.get(*member).filter(|v| !v.is_null()) {
            s.updated.insert(member.to_string(), v.to_string());
        }
    }
    o.pass(rules::UPDATE_SERVER_OBSERVABLE);
    o.success(
        Expected::Server(server.name),
        w,
        rules::UPDATE_SERVER_EFFECT,
    );
}

fn start_maintenance(o: &mut Outcomes, input: &Value) {
    let Some(server) = existing_server(o, input) else {
        return;
    };
    if !server.status.may_start_maintenance() {
        let rule = if server.status == ServerStatus::BackingUp {
            rules::SERVER_BACKING_UP_LOCKED
        } else {
            rules::START_MAINTENANCE_STATE
        };
        o.error(ErrorKind::InvalidStateException, rule);
        return;
    }
    let mut w = o.world.clone();
    let s = w.servers.get_mut(&server.name).expect("server exists");
    s.status = ServerStatus::UnderMaintenance;
    s.pending = Some(Pending::Maintenance);
    o.success(
        Expected::Server(server.name),
        w,
        rules::START_MAINTENANCE_STATE,
    );
}

fn delete_server(o: &mut Outcomes, input: &Value) {
    let Some(server) = existing_server(o, input) else {
        return;
    };
    match server.status {
        ServerStatus::Deleting => {
            o.error(
                ErrorKind::InvalidStateException,
                rules::DELETE_SERVER_ALREADY_DELETING,
            );
            return;
        }
        ServerStatus::BackingUp => {
            // A10: refused, with either error (the endpoint keeps to one).
            let choice = Choice::DeleteServerError;
            let rule = rules::SERVER_BACKING_UP_LOCKED;
            o.error_picking(ErrorKind::InvalidStateException, rule, choice, 0);
            let rule = rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS;
            o.error_picking(ErrorKind::ValidationException, rule, choice, 1);
            return;
        }
        s if s.operation_in_progress() => {
            // A10: an operation in progress refuses the deletion, with either error; success is
            // not a reading the documents allow.
            o.pass(rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS);
            let choice = Choice::DeleteServerError;
            let rule = rules::DELETE_SERVER_IN_PROGRESS;
            o.error_picking(ErrorKind::InvalidStateException, rule, choice, 0);
            o.error_picking(ErrorKind::ValidationException, rule, choice, 1);
            return;
        }
        _ => {
            o.pass(rules::SERVER_BACKING_UP_LOCKED);
            o.pass(rules::DELETE_SERVER_IN_PROGRESS);
        }
    }
    let mut w = o.world.clone();
    let s = w.servers.get_mut(&server.name).expect("server exists");
    s.status = ServerStatus::Deleting;
    s.pending = Some(Pending::Deletion);
    o.success(Expected::Done, w, rules::DELETE_SERVER_EFFECT);
}

fn restore_server(o: &mut Outcomes, input: &Value) {
    let Some(server) = existing_server(o, input) else {
        return;
    };
    let id = str_member(input, "BackupId").unwrap_or_default();
    let Some(i) = o.world.backup_index(id) else {
        o.error(
            ErrorKind::ResourceNotFoundException,
            rules::RESTORE_SERVER_NOT_FOUND,
        );
        return;
    };
    let backup = o.world.backups[i].clone();
    if backup.status == BackupStatus::Deleting {
        // A18: a backup being deleted may be gone already, whatever the server's state; the
        // error alone does not prove it left the listings, so the world stays as it was.
        o.pass(rules::AMBIGUITY_DELETING_BACKUP_LOOKUP);
        o.error(
            ErrorKind::ResourceNotFoundException,
            rules::AMBIGUITY_DELETING_BACKUP_LOOKUP,
        );
    }
    if !server.status.may_restore() {
        let rule = if server.status == ServerStatus::BackingUp {
            rules::SERVER_BACKING_UP_LOCKED
        } else {
            rules::RESTORE_SERVER_STATE
        };
        o.error(ErrorKind::InvalidStateException, rule);
        return;
    }
    o.pass(rules::RESTORE_SERVER_STATE);
    if backup.status != BackupStatus::Ok || backup.server != server.name {
        // Restoring needs a finished backup of this very server: no document allows
        // another, so it is refused (with any of RestoreServer's errors).
        let rule = rules::RESTORE_SERVER_BACKUP;
        o.error(ErrorKind::InvalidStateException, rule);
        o.error(ErrorKind::ValidationException, rule);
        if backup.server != server.name {
            o.error(ErrorKind::ResourceNotFoundException, rule);
        }
        return;
    }
    o.pass(rules::RESTORE_SERVER_BACKUP);
    let mut w = o.world.clone();
    let s = w.servers.get_mut(&server.name).expect("server exists");
    s.status = ServerStatus::Restoring;
    s.pending = Some(Pending::Restore);
    o.success(Expected::Done, w, rules::RESTORE_SERVER_STATE);
}

/// Every world an endpoint may reach by itself from `world` between two calls: any operation in
/// progress may finish (a backup OK or FAILED, maintenance, a restore, a deletion). The first
/// world is `world` unchanged.
pub fn spontaneous(world: &World) -> Vec<World> {
    let mut worlds = vec![world.clone()];
    for (name, server) in &world.servers {
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
                        let s = w.servers.get_mut(name).expect("server exists");
                        s.status = t;
                        s.pending = None;
                        endings.push(w);
                    }
                }
                Pending::Deletion => {
                    let mut w = w.clone();
                    w.servers.remove(name);
                    endings.push(w);
                }
            }
        }
        worlds.extend(endings);
    }
    // The unchanged world stays first.
    worlds.into_iter().collect::<WorldSet>().into_vec()
}
