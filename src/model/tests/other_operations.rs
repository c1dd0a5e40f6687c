//! DeleteBackup and the other operations tied to the same state.

use super::*;
use crate::model::rules;

// ------------------------------------------------------------------------------------------------
// DeleteBackup
// ------------------------------------------------------------------------------------------------

#[test]
fn delete_backup_effect_on_manual_and_automated() {
    // delete-backup.effect
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 1);
    for id in ids_of(&w, "web") {
        let ps = step(
            &w,
            &call(Operation::DeleteBackup, json!({ "BackupId": id })),
        );
        assert_eq!(names(&ps), ["success"]);
        assert_eq!(ps[0].rule, rules::DELETE_BACKUP_EFFECT);
        let i = ps[0].world.backup_index(&id).unwrap();
        assert_eq!(ps[0].world.backups[i].status, BackupStatus::Deleting);
    }
    // A FAILED backup can be deleted too.
    let (w, id) = created(&w, "web");
    let w = settled(&w, BackupStatus::Failed);
    let ps = step(
        &w,
        &call(Operation::DeleteBackup, json!({ "BackupId": id })),
    );
    assert_eq!(names(&ps), ["success"]);
    // A deleted backup may be listed DELETING or be gone; listing it OK breaks the rule.
    let after = ps[0].world.clone();
    let db = step(&after, &call(Operation::DescribeBackups, json!({})));
    let i = after.backup_index(&id).unwrap();
    let others: Vec<Value> = match &db[0].expected {
        Expected::Backups { listed, maybe_gone } => {
            assert_eq!(maybe_gone, &[i]);
            listed.iter().map(|&j| listing_entry(&after, j)).collect()
        }
        e => panic!("{e:?}"),
    };
    let gone = db[0]
        .explain(&Observation::Success(json!({ "Backups": others })), None)
        .unwrap();
    assert!(
        gone.backup_index(&id).is_none(),
        "not listed: gone for good"
    );
    let mut with_ok = others.clone();
    let mut entry = listing_entry(&after, i);
    entry["Status"] = json!("OK");
    with_ok.insert(0, entry);
    let m = db[0]
        .explain(&Observation::Success(json!({ "Backups": with_ok })), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DELETE_BACKUP_EFFECT);
}

#[test]
fn delete_backup_not_found_for_an_unknown_id() {
    // delete-backup.not-found
    let ps = step(
        &healthy_web(),
        &call(
            Operation::DeleteBackup,
            json!({"BackupId": "web-19990101000000000"}),
        ),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException"]);
    assert_eq!(ps[0].rule, rules::DELETE_BACKUP_NOT_FOUND);
}

#[test]
fn delete_backup_already_deleting() {
    // delete-backup.already-deleting
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 0);
    let id = ids_of(&w, "web")[0].clone();
    let del = call(Operation::DeleteBackup, json!({ "BackupId": id }));
    let w = step(&w, &del)[0].world.clone();
    let ps = step(&w, &del);
    assert_eq!(
        names(&ps),
        ["InvalidStateException", "ResourceNotFoundException"]
    );
    assert_eq!(
        rules_of(&ps),
        [
            rules::DELETE_BACKUP_ALREADY_DELETING,
            rules::DELETE_BACKUP_NOT_FOUND
        ]
    );
    assert_eq!(ps[0].world, w);
    assert!(
        ps[1].world.backup_index(&id).is_none(),
        "not found: the deletion completed"
    );
}

// ------------------------------------------------------------------------------------------------
// Other operations tied to the same state
// ------------------------------------------------------------------------------------------------

#[test]
fn update_server_effect_changes_settings() {
    // update-server.effect
    let input = json!({"ServerName": "web", "DisableAutomatedBackup": true,
        "BackupRetentionCount": 3, "PreferredBackupWindow": "Mon:08:00"});
    let ps = step(&healthy_web(), &call(Operation::UpdateServer, input));
    assert_eq!(names(&ps), ["success"]);
    assert_eq!(ps[0].rule, rules::UPDATE_SERVER_EFFECT);
    assert_eq!(ps[0].expected, Expected::Server("web".into()));
    let s = &ps[0].world.servers["web"];
    assert!(s.disable_automated_backup);
    assert_eq!(s.backup_retention_count, 3);
    assert_eq!(s.preferred_backup_window.as_deref(), Some("Mon:08:00"));
    assert_eq!(s.status, ServerStatus::Healthy, "synchronous");
}

#[test]
fn update_server_not_found_for_every_server_operation() {
    // update-server.not-found
    for op in [
        Operation::UpdateServer,
        Operation::StartMaintenance,
        Operation::DeleteServer,
    ] {
        let ps = step(&healthy_web(), &call(op, json!({"ServerName": "ghost"})));
        assert_eq!(names(&ps), ["ResourceNotFoundException"], "{op}");
        assert_eq!(ps[0].rule, rules::UPDATE_SERVER_NOT_FOUND);
    }
    let ps = step(
        &healthy_web(),
        &call(
            Operation::RestoreServer,
            json!({"ServerName": "ghost", "BackupId": "web-19990101000000000"}),
        ),
    );
    assert_eq!(rules_of(&ps), [rules::UPDATE_SERVER_NOT_FOUND]);
}

#[test]
fn start_maintenance_state_only_healthy_or_unhealthy() {
    // start-maintenance.state
    for status in ServerStatus::ALL {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(
            &w,
            &call(Operation::StartMaintenance, json!({"ServerName": "web"})),
        );
        if matches!(status, ServerStatus::Healthy | ServerStatus::Unhealthy) {
            assert_eq!(names(&ps), ["success"], "{status}");
            assert_eq!(ps[0].rule, rules::START_MAINTENANCE_STATE);
            let after = &ps[0].world;
            assert_eq!(after.servers["web"].status, ServerStatus::UnderMaintenance);
            // Then no backup until the maintenance ends.
            assert_eq!(
                rules_of(&step(after, &create_backup("web"))),
                [rules::CREATE_BACKUP_STATE_REFUSED]
            );
        } else {
            assert_eq!(names(&ps), ["InvalidStateException"], "{status}");
            let want = if status == ServerStatus::BackingUp {
                rules::SERVER_BACKING_UP_LOCKED
            } else {
                rules::START_MAINTENANCE_STATE
            };
            assert_eq!(ps[0].rule, want);
        }
    }
}

#[test]
fn delete_server_effect_deleting_then_gone() {
    // delete-server.effect
    let ps = step(
        &healthy_web(),
        &call(Operation::DeleteServer, json!({"ServerName": "web"})),
    );
    assert_eq!(names(&ps), ["success"]);
    assert_eq!(ps[0].rule, rules::DELETE_SERVER_EFFECT);
    let w = &ps[0].world;
    assert_eq!(w.servers["web"].status, ServerStatus::Deleting);
    assert_eq!(
        rules_of(&step(w, &create_backup("web"))),
        [rules::CREATE_BACKUP_STATE_REFUSED]
    );
    let ends = spontaneous(w);
    assert_eq!(ends.len(), 2);
    assert!(!ends[1].servers.contains_key("web"), "deleted: not listed");
}

#[test]
fn delete_server_already_deleting() {
    // delete-server.already-deleting
    let w = put(&reference(), "web", ServerStatus::Deleting, 0, 0);
    let ps = step(
        &w,
        &call(Operation::DeleteServer, json!({"ServerName": "web"})),
    );
    assert_eq!(names(&ps), ["InvalidStateException"]);
    assert_eq!(ps[0].rule, rules::DELETE_SERVER_ALREADY_DELETING);
}

#[test]
fn restore_server_state_from_the_five_documented_statuses() {
    // restore-server.state
    for status in ServerStatus::ALL {
        let w = put(&reference(), "web", status, 1, 0);
        let id = ids_of(&w, "web")[0].clone();
        let ps = step(
            &w,
            &call(
                Operation::RestoreServer,
                json!({"ServerName": "web", "BackupId": id}),
            ),
        );
        let allowed = matches!(
            status,
            ServerStatus::ConnectionLost
                | ServerStatus::Healthy
                | ServerStatus::Running
                | ServerStatus::Unhealthy
                | ServerStatus::Terminated
        );
        if allowed {
            assert_eq!(names(&ps), ["success"], "{status}");
            assert_eq!(ps[0].rule, rules::RESTORE_SERVER_STATE);
            assert_eq!(ps[0].world.servers["web"].status, ServerStatus::Restoring);
        } else {
            assert_eq!(names(&ps), ["InvalidStateException"], "{status}");
        }
    }
}

#[test]
fn restore_server_not_found_for_an_unknown_backup() {
    // restore-server.not-found
    let ps = step(
        &healthy_web(),
        &call(
            Operation::RestoreServer,
            json!({"ServerName": "web", "BackupId": "web-19990101000000000"}),
        ),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException"]);
    assert_eq!(ps[0].rule, rules::RESTORE_SERVER_NOT_FOUND);
}
