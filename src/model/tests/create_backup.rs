//! CreateBackup: the state gate, the limit and the effect of a backup.

use super::*;
use crate::model::rules;

// ------------------------------------------------------------------------------------------------
// CreateBackup: the state gate
// ------------------------------------------------------------------------------------------------

#[test]
fn create_backup_state_allowed_from_running_healthy_and_unhealthy() {
    // create-backup.state.allowed
    for status in [
        ServerStatus::Running,
        ServerStatus::Healthy,
        ServerStatus::Unhealthy,
    ] {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(&w, &create_backup("web"));
        assert_eq!(names(&ps), ["success"], "from {status}");
        assert!(exercised(
            &ps[0],
            rules::CREATE_BACKUP_STATE_ALLOWED,
            Polarity::Pass
        ));
    }
    let allowed: Vec<_> = ServerStatus::ALL
        .into_iter()
        .filter(|s| s.may_back_up())
        .collect();
    assert_eq!(allowed.len(), 3);
}

#[test]
fn create_backup_state_refused_from_the_nine_other_statuses() {
    // create-backup.state.refused
    let refused: Vec<_> = ServerStatus::ALL
        .into_iter()
        .filter(|s| !s.may_back_up() && *s != ServerStatus::BackingUp)
        .collect();
    assert_eq!(refused.len(), 9);
    for status in refused {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(&w, &create_backup("web"));
        assert_eq!(names(&ps), ["InvalidStateException"], "from {status}");
        assert_eq!(ps[0].rule, rules::CREATE_BACKUP_STATE_REFUSED);
        assert_eq!(ps[0].world, w, "a refused call changes nothing");
    }
}

#[test]
fn create_backup_state_backing_up_refuses_a_second_backup() {
    // create-backup.state.backing-up
    let (w, _) = created(&healthy_web(), "web");
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["InvalidStateException"]);
    assert_eq!(ps[0].rule, rules::CREATE_BACKUP_STATE_BACKING_UP);
    // A server the control plane put straight into BACKING_UP is refused the same way.
    let w = put(&reference(), "web", ServerStatus::BackingUp, 0, 0);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(rules_of(&ps), [rules::CREATE_BACKUP_STATE_BACKING_UP]);
}

#[test]
fn create_backup_not_found_for_unknown_and_differently_cased_names() {
    // create-backup.not-found
    let w = healthy_web();
    for name in ["ghost", "Web", "WEB", "web2"] {
        let ps = step(&w, &create_backup(name));
        assert_eq!(names(&ps), ["ResourceNotFoundException"], "{name}");
        assert_eq!(ps[0].rule, rules::CREATE_BACKUP_NOT_FOUND);
    }
    let ps = step(&w, &create_backup("web"));
    assert!(exercised(
        &ps[0],
        rules::CREATE_BACKUP_NOT_FOUND,
        Polarity::Pass
    ));
}

// ------------------------------------------------------------------------------------------------
// CreateBackup: the limit
// ------------------------------------------------------------------------------------------------

#[test]
fn create_backup_limit_refuses_the_fifty_first() {
    // create-backup.limit
    let w = put(&reference(), "web", ServerStatus::Healthy, 50, 0);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["LimitExceededException"]);
    assert_eq!(ps[0].rule, rules::CREATE_BACKUP_LIMIT);
    assert_eq!(ps[0].world, w);
}

#[test]
fn create_backup_limit_allows_the_fiftieth_then_refuses() {
    // create-backup.limit
    let w = put(&reference(), "web", ServerStatus::Healthy, 49, 0);
    let (w, _) = created(&w, "web");
    assert_eq!(w.manual_count("web"), (49, 50));
    let w = settled(&w, BackupStatus::Ok);
    assert_eq!(w.manual_count("web"), (50, 50));
    let ps = step(&w, &create_backup("web"));
    assert_eq!(rules_of(&ps), [rules::CREATE_BACKUP_LIMIT]);
}

#[test]
fn create_backup_limit_automated_not_counted() {
    // create-backup.limit.automated-not-counted
    let w = put(&reference(), "web", ServerStatus::Healthy, 49, 20);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["success"]);
    assert!(exercised(
        &ps[0],
        rules::CREATE_BACKUP_LIMIT_AUTOMATED_NOT_COUNTED,
        Polarity::Pass
    ));
    let w = put(&reference(), "web", ServerStatus::Healthy, 0, 60);
    assert_eq!(names(&step(&w, &create_backup("web"))), ["success"]);
    let w = put(&reference(), "web", ServerStatus::Healthy, 50, 20);
    assert_eq!(
        names(&step(&w, &create_backup("web"))),
        ["LimitExceededException"]
    );
}

#[test]
fn create_backup_limit_delete_frees_slot() {
    // create-backup.limit.delete-frees-slot
    let w = put(&reference(), "web", ServerStatus::Healthy, 50, 0);
    let id = ids_of(&w, "web")[0].clone();
    let ps = step(&w, &call(Operation::DeleteBackup, json!({"BackupId": id})));
    assert_eq!(names(&ps), ["success"]);
    let mut w = ps[0].world.clone();
    // While the deleted backup is DELETING it may still count (ambiguity.counted-statuses).
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["LimitExceededException", "success"]);
    assert_eq!(ps[0].rule, rules::AMBIGUITY_COUNTED_STATUSES);
    // Once it is gone (the emulator removes it at once), the slot is free.
    w.forget_deleting();
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["success"]);
    assert!(exercised(
        &ps[0],
        rules::CREATE_BACKUP_LIMIT_DELETE_FREES_SLOT,
        Polarity::Pass
    ));
}

// ------------------------------------------------------------------------------------------------
// CreateBackup: the effect
// ------------------------------------------------------------------------------------------------

#[test]
fn create_backup_effect_response_echoes_server_type_and_description() {
    // create-backup.effect.response
    let w = healthy_web();
    let ps = step(
        &w,
        &call(
            Operation::CreateBackup,
            json!({"ServerName": "web", "Description": "before upgrade"}),
        ),
    );
    let p = &ps[0];
    assert_eq!(p.rule, rules::CREATE_BACKUP_EFFECT_RESPONSE);
    let id = new_id(&w, "web");
    let good = backup_body("web", &id, "IN_PROGRESS", Some("before upgrade"));
    let after = p
        .explain(&Observation::Success(good.clone()), None)
        .unwrap();
    let b = after.backups.last().unwrap();
    assert_eq!(b.id.as_deref(), Some(id.as_str()));
    assert_eq!(b.kind, BackupType::Manual);
    assert_eq!(b.description, Some(Some("before upgrade".to_string())));

    let mut wrong_type = good.clone();
    wrong_type["Backup"]["BackupType"] = json!("AUTOMATED");
    let mut wrong_server = good.clone();
    wrong_server["Backup"]["ServerName"] = json!("db");
    for body in [wrong_type, wrong_server, json!({})] {
        let m = p.explain(&Observation::Success(body), None).unwrap_err();
        assert_eq!(
            m.rule,
            rules::CREATE_BACKUP_EFFECT_RESPONSE,
            "{}",
            m.message
        );
    }
}

#[test]
fn create_backup_effect_backup_id_is_server_name_and_timestamp() {
    // create-backup.effect.backup-id
    let w = healthy_web();
    let ps = step(&w, &create_backup("web"));
    for bad in [
        "web",
        "db-20250101000000000",
        "web-2025",
        "web-20250101000000000x",
    ] {
        let body = backup_body("web", bad, "IN_PROGRESS", None);
        let m = ps[0]
            .explain(&Observation::Success(body), None)
            .unwrap_err();
        assert_eq!(m.rule, rules::CREATE_BACKUP_EFFECT_BACKUP_ID, "{bad}");
    }
    // At most 79 characters: a 40-character server name leaves room for either format.
    let long = "a".repeat(40);
    let w40 = put(&reference(), &long, ServerStatus::Healthy, 0, 0);
    let ps40 = step(&w40, &create_backup(&long));
    let id = format!("{long}-2016-11-19T23:42:40.240Z");
    assert!(id.chars().count() <= 79);
    let body = backup_body(&long, &id, "IN_PROGRESS", None);
    assert!(ps40[0].explain(&Observation::Success(body), None).is_ok());
    // An id already given to another backup is refused.
    let (w, first) = created(&w, "web");
    let w = settled(&w, BackupStatus::Ok);
    let ps = step(&w, &create_backup("web"));
    let body = backup_body("web", &first, "IN_PROGRESS", None);
    let m = ps[0]
        .explain(&Observation::Success(body), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::CREATE_BACKUP_EFFECT_BACKUP_ID);
    let dup = Observation::CreatedEnvelope {
        id: first,
        created_at: "2025-01-01T00:00:00Z".into(),
    };
    assert_eq!(
        ps[0].explain(&dup, None).unwrap_err().rule,
        rules::CREATE_BACKUP_EFFECT_BACKUP_ID
    );
}

#[test]
fn create_backup_effect_created_at_is_epoch_seconds_near_the_call() {
    // create-backup.effect.created-at
    let w = healthy_web();
    let ps = step(&w, &create_backup("web"));
    let id = new_id(&w, "web");
    let good = backup_body("web", &id, "IN_PROGRESS", None);
    assert!(ps[0]
        .explain(&Observation::Success(good.clone()), Some(window()))
        .is_ok());
    let mut as_string = good.clone();
    as_string["Backup"]["CreatedAt"] = json!("2025-01-01T00:00:00Z");
    let mut far = good.clone();
    far["Backup"]["CreatedAt"] = json!(1_000_000_000.0);
    for body in [as_string, far] {
        let m = ps[0]
            .explain(&Observation::Success(body), Some(window()))
            .unwrap_err();
        assert_eq!(
            m.rule,
            rules::CREATE_BACKUP_EFFECT_CREATED_AT,
            "{}",
            m.message
        );
    }
    // The envelope dialect: an RFC 3339 created_at near the call.
    let env = |at: &str| Observation::CreatedEnvelope {
        id: "abc123".into(),
        created_at: at.into(),
    };
    assert!(ps[0]
        .explain(&env("2025-01-01T00:00:00Z"), Some(window()))
        .is_ok());
    for bad in ["yesterday", "2001-01-01T00:00:00Z"] {
        let m = ps[0].explain(&env(bad), Some(window())).unwrap_err();
        assert_eq!(m.rule, rules::CREATE_BACKUP_EFFECT_CREATED_AT);
    }
}

#[test]
fn create_backup_effect_backing_up_until_the_backup_ends() {
    // create-backup.effect.backing-up
    let w = put(&reference(), "web", ServerStatus::Running, 0, 0);
    let ps = step(&w, &create_backup("web"));
    assert!(exercised(
        &ps[0],
        rules::CREATE_BACKUP_EFFECT_BACKING_UP,
        Polarity::Pass
    ));
    let (after, id) = created(&w, "web");
    let s = &after.servers["web"];
    assert_eq!(s.status, ServerStatus::BackingUp);
    assert_eq!(
        s.pending,
        Some(Pending::Backup {
            previous: Some(ServerStatus::Running)
        })
    );
    let b = after.backups.last().unwrap();
    assert_eq!(
        (b.id.as_deref(), b.kind, b.status),
        (
            Some(id.as_str()),
            BackupType::Manual,
            BackupStatus::InProgress
        )
    );
    // An endpoint that still shows the server RUNNING breaks the rule.
    let ds = step(&after, &call(Operation::DescribeServers, json!({})));
    let body = json!({"Servers": [{"ServerName": "web", "Status": "RUNNING"}]});
    let m = ds[0]
        .explain(&Observation::Success(body), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::CREATE_BACKUP_EFFECT_BACKING_UP);
}

#[test]
fn backup_completion_settle_ends_backups_and_restores_the_status() {
    // backup.completion
    let w = put(&reference(), "web", ServerStatus::Unhealthy, 0, 0);
    let (w, _) = created(&w, "web");
    for (status, want) in [
        (BackupStatus::Ok, BackupStatus::Ok),
        (BackupStatus::Failed, BackupStatus::Failed),
    ] {
        let ps = step(&w, &Action::Settle(status));
        assert_eq!(rules_of(&ps), [rules::BACKUP_COMPLETION]);
        let after = &ps[0].world;
        assert_eq!(after.servers["web"].status, ServerStatus::Unhealthy);
        assert_eq!(after.servers["web"].pending, None);
        assert_eq!(after.backups.last().unwrap().status, want);
    }
    // An endpoint still BACKING_UP or IN_PROGRESS after settle breaks the rule.
    let after = settled(&w, BackupStatus::Ok);
    let ds = step(&after, &call(Operation::DescribeServers, json!({})));
    let body = json!({"Servers": [{"ServerName": "web", "Status": "BACKING_UP"}]});
    assert_eq!(
        ds[0]
            .explain(&Observation::Success(body), None)
            .unwrap_err()
            .rule,
        rules::BACKUP_COMPLETION
    );
    // Listed IN_PROGRESS after it ended: the status went backwards.
    let db = step(&after, &call(Operation::DescribeBackups, json!({})));
    let mut entry = listing_entry(&after, 0);
    entry["Status"] = json!("IN_PROGRESS");
    let body = json!({ "Backups": [entry] });
    assert_eq!(
        db[0]
            .explain(&Observation::Success(body), None)
            .unwrap_err()
            .rule,
        rules::BACKUP_STATUS_MONOTONIC
    );
    // A server put straight into BACKING_UP has no earlier status: any that can back up.
    let w = put(&reference(), "web", ServerStatus::BackingUp, 0, 0);
    let mut seen: Vec<_> = step(&w, &Action::Settle(BackupStatus::Ok))
        .iter()
        .map(|p| p.world.servers["web"].status)
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ServerStatus::Healthy,
            ServerStatus::Running,
            ServerStatus::Unhealthy
        ]
    );
}

#[test]
fn server_backing_up_locked_refuses_changes() {
    // server.backing-up.locked
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 0);
    let fixture = ids_of(&w, "web")[0].clone();
    let (w, id) = created(&w, "web");
    let refusals = [
        (
            call(Operation::UpdateServer, json!({"ServerName": "web"})),
            vec!["InvalidStateException"],
        ),
        (
            call(Operation::StartMaintenance, json!({"ServerName": "web"})),
            vec!["InvalidStateException"],
        ),
        (
            call(
                Operation::RestoreServer,
                json!({"ServerName": "web", "BackupId": fixture}),
            ),
            vec!["InvalidStateException"],
        ),
        (
            call(Operation::DeleteServer, json!({"ServerName": "web"})),
            vec!["InvalidStateException", "ValidationException"],
        ),
    ];
    for (action, want) in refusals {
        let ps = step(&w, &action);
        assert_eq!(names(&ps), want, "{action:?}");
        assert_eq!(ps[0].rule, rules::SERVER_BACKING_UP_LOCKED);
    }
    // Deleting the backup in progress is not a change of the server: accepted (A17 says what
    // becomes of BACKING_UP).
    let ps = step(&w, &call(Operation::DeleteBackup, json!({"BackupId": id})));
    assert_eq!((names(&ps), ps.len()), (vec!["success".to_string()], 2));
    assert_eq!(ps[0].world.servers["web"].status, ServerStatus::Healthy);
    assert_eq!(ps[1].world.servers["web"].status, ServerStatus::BackingUp);
    // Describing is not a change.
    let ps = step(&w, &call(Operation::DescribeServers, json!({})));
    assert_eq!(names(&ps), ["success"]);
}
