//! The other operations that change the state CreateBackup depends on: DeleteBackup (A17,
//! A18), UpdateServer (A11, A16), StartMaintenance, DeleteServer (A10) and RestoreServer.

use std::sync::Arc;

use serde_json::Value;

use super::*;

pub(super) fn delete_backup(o: &mut Outcomes, input: &Value) {
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
    // `backup` is the backup at `i` of the backups the change starts from.
    o.shared
        .make(&mut w, Change::StartDelete { index: i }, |w| {
            Arc::make_mut(&mut w.backups)[i].status = BackupStatus::Deleting;
            if backup.kind == BackupType::Manual {
                if let Some(s) = w.server_mut(&backup.server) {
                    s.freed_slots += 1;
                }
            }
        });
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
        if let Some(s) = ended.server_mut(&backup.server) {
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

/// A server a call names: its name (as the input spells it) and its status.
struct Named<'a> {
    name: &'a str,
    status: ServerStatus,
}

/// Looks the named server up, answering ResourceNotFoundException when it is unknown.
fn existing_server<'a>(o: &mut Outcomes, input: &'a Value) -> Option<Named<'a>> {
    let name = str_member(input, "ServerName").unwrap_or_default();
    match o.world.servers.get(name).map(|s| s.status) {
        Some(status) => {
            o.pass(rules::UPDATE_SERVER_NOT_FOUND);
            Some(Named { name, status })
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

pub(super) fn update_server(o: &mut Outcomes, input: &Value) {
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
    let s = w.server_mut(server.name).expect("server exists");
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
        Expected::Server(server.name.to_string()),
        w,
        rules::UPDATE_SERVER_EFFECT,
    );
}

pub(super) fn start_maintenance(o: &mut Outcomes, input: &Value) {
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
    let s = w.server_mut(server.name).expect("server exists");
    s.status = ServerStatus::UnderMaintenance;
    s.pending = Some(Pending::Maintenance);
    o.success(
        Expected::Server(server.name.to_string()),
        w,
        rules::START_MAINTENANCE_STATE,
    );
}

pub(super) fn delete_server(o: &mut Outcomes, input: &Value) {
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
    let s = w.server_mut(server.name).expect("server exists");
    s.status = ServerStatus::Deleting;
    s.pending = Some(Pending::Deletion);
    o.success(Expected::Done, w, rules::DELETE_SERVER_EFFECT);
}

pub(super) fn restore_server(o: &mut Outcomes, input: &Value) {
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
    let s = w.server_mut(server.name).expect("server exists");
    s.status = ServerStatus::Restoring;
    s.pending = Some(Pending::Restore);
    o.success(Expected::Done, w, rules::RESTORE_SERVER_STATE);
}
