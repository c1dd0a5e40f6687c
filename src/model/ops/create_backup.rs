//! CreateBackup: the state gate, the limit (with A1, A3 and A4's readings), and the effect
//! (the new backup IN_PROGRESS and the server BACKING_UP, or A6's backup done at once).

use std::sync::Arc;

use serde_json::Value;

use super::*;

pub(super) fn create_backup<'a>(o: &mut Outcomes<'a>, input: &'a Value) {
    let name = str_member(input, "ServerName").unwrap_or_default();
    // The servers as they were, shared (not the one server copied with its facts).
    let servers = o.world.servers.clone();
    let Some(server) = servers.get(name) else {
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
        create_backup_counted(o, server, low.max(certain), input);
        return;
    }
    // A3: which statuses count decides the answer; each way of answering is its own branch,
    // and the endpoint keeps to the one it shows.
    for (count, picks) in o.world.count_forks(name) {
        if o.done() {
            return;
        }
        let mut branch = o.branch(&picks);
        create_backup_counted(&mut branch, server, count, input);
        // A deletion may end at any time (settle covers backups in progress only), so the
        // DELETING backups counted here may already be gone and free their slots.
        let deleting = o.world.deleting_counted(name, &picks);
        if count >= o.world.limit && count - deleting < o.world.limit {
            create_backup_counted(&mut branch, server, count - deleting, input);
        }
        o.out.append(&mut branch.out);
    }
}

/// CreateBackup once the count toward the limit is known.
fn create_backup_counted<'a>(o: &mut Outcomes<'a>, server: &Server, count: u32, input: &'a Value) {
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
    start_backup(o, server, input);
}

/// CreateBackup let through: the new backup IN_PROGRESS, the server BACKING_UP; or (A6) the
/// backup already done.
fn start_backup<'a>(o: &mut Outcomes<'a>, server: &Server, input: &'a Value) {
    // The server was found by the name the input gives.
    let name = str_member(input, "ServerName").unwrap_or_default();
    let mut w = o.world.clone();
    let description = str_member(input, "Description");
    let started = Change::StartBackup {
        server: name,
        description,
    };
    o.shared.make(&mut w, started, |w| {
        let seq = w.next_seq;
        w.next_seq += 1;
        Arc::make_mut(&mut w.backups).push(Backup {
            id: None,
            server: name.to_string(),
            kind: BackupType::Manual,
            status: BackupStatus::InProgress,
            description: Some(description.map(str::to_string)),
            seq,
            created_at_ms: None,
        });
        let s = w.server_mut(name).expect("server exists");
        s.pending = Some(Pending::Backup {
            previous: Some(s.status),
        });
        s.status = ServerStatus::BackingUp;
    });
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
            description: description.map(str::to_string),
            finished: false,
        },
        w.clone(),
        rules::CREATE_BACKUP_EFFECT_RESPONSE,
    );
    if o.done() {
        return;
    }
    // A6: the answer may say the backup is done already (OK); then it is over, and the
    // server has left BACKING_UP as after any backup.
    for to in end_targets(Some(previous), readings) {
        let mut done = w.clone();
        let finished = Change::FinishBackup {
            server: name,
            status: BackupStatus::Ok,
            to,
        };
        o.shared.make(&mut done, finished, |w| {
            w.finish_backup(name, BackupStatus::Ok, to)
        });
        let expected = Expected::CreatedBackup {
            server: name.to_string(),
            description: description.map(str::to_string),
            finished: true,
        };
        o.success(expected, done, rules::AMBIGUITY_CREATED_STATUS);
    }
}

/// The statuses a server may take when its backup ends by itself (A5): the one before the
/// backup, or a fresh health status; any that can back up when the earlier one is unknown.
pub(super) fn end_targets(previous: Option<ServerStatus>, after: AfterBackup) -> Vec<ServerStatus> {
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
