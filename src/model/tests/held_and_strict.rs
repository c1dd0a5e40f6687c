//! Tests of the readings an endpoint must hold for the whole run, and of the facts the documents
//! fix that the model checks strictly (the answer's ARN, server members, echoes, stable times,
//! statuses that never go backwards, settings that show).

use super::*;
use crate::model::rules;

fn created_body(w: &World, server: &str) -> (Possible, Value, String) {
    let ps = step(w, &create_backup(server));
    let id = new_id(w, server);
    (
        ps[0].clone(),
        backup_body(server, &id, "IN_PROGRESS", None),
        id,
    )
}

fn rule_of(p: &Possible, body: Value) -> RuleId {
    p.explain(&Observation::Success(body), None)
        .expect_err("the answer must not fit")
        .rule
}

#[test]
fn create_backup_effect_arn_names_the_backup() {
    // create-backup.effect.arn
    let (p, good, id) = created_body(&healthy_web(), "web");
    assert!(p.explain(&Observation::Success(good.clone()), None).is_ok());
    for arn in [
        json!(null),
        json!(format!(
            "arn:aws:opsworks-cm:us-east-1:123456789012:server/{id}"
        )),
        json!(format!("arn:aws:opsworks-cm:us-east-1:1234:backup/{id}")),
        json!("arn:aws:opsworks-cm:us-east-1:123456789012:backup/web-other"),
    ] {
        let mut body = good.clone();
        body["Backup"]["BackupArn"] = arn;
        assert_eq!(rule_of(&p, body), rules::CREATE_BACKUP_EFFECT_ARN);
    }
}

#[test]
fn create_backup_effect_server_facts_agree_with_the_server() {
    // create-backup.effect.server-facts
    let w = healthy_web();
    let (p, good, _) = created_body(&w, "web");
    let mut body = good.clone();
    body["Backup"]["Engine"] = json!("Puppet");
    assert_eq!(rule_of(&p, body), rules::CREATE_BACKUP_EFFECT_SERVER_FACTS);
    // What DescribeServers showed of the server binds the Backup's snapshot members.
    let ds = step(&w, &call(Operation::DescribeServers, json!({})));
    let shown = json!({"Servers": [{"ServerName": "web", "Status": "HEALTHY",
        "Engine": "ChefAutomate", "EngineVersion": "2", "InstanceType": "m5.large"}]});
    let w = ds[0].explain(&Observation::Success(shown), None).unwrap();
    let (p, good, _) = created_body(&w, "web");
    let mut agree = good.clone();
    agree["Backup"]["EngineVersion"] = json!("2");
    assert!(p.explain(&Observation::Success(agree), None).is_ok());
    let mut other = good;
    other["Backup"]["InstanceType"] = json!("m5.xlarge");
    assert_eq!(rule_of(&p, other), rules::CREATE_BACKUP_EFFECT_SERVER_FACTS);
}

#[test]
fn create_backup_effect_description_is_echoed_and_never_invented() {
    // create-backup.effect.description
    let w = healthy_web();
    let ps = step(
        &w,
        &call(
            Operation::CreateBackup,
            json!({"ServerName": "web", "Description": "before upgrade"}),
        ),
    );
    let id = new_id(&w, "web");
    let missing = backup_body("web", &id, "IN_PROGRESS", None);
    assert_eq!(
        rule_of(&ps[0], missing),
        rules::CREATE_BACKUP_EFFECT_DESCRIPTION
    );
    let (p, _, _) = created_body(&w, "web");
    let invented = backup_body("web", &id, "IN_PROGRESS", Some("a backup"));
    assert_eq!(
        rule_of(&p, invented),
        rules::CREATE_BACKUP_EFFECT_DESCRIPTION
    );
}

#[test]
fn backup_created_at_stable_in_later_listings() {
    // backup.created-at.stable
    let (w, id) = created(&healthy_web(), "web");
    let db = step(&w, &call(Operation::DescribeBackups, json!({})));
    let i = w.backup_index(&id).unwrap();
    let mut entry = listing_entry(&w, i);
    entry["CreatedAt"] = json!(1_735_689_600.0);
    let same = json!({ "Backups": [entry.clone()] });
    assert!(db[0].explain(&Observation::Success(same), None).is_ok());
    entry["CreatedAt"] = json!(1_735_689_601.0);
    assert_eq!(
        rule_of(&db[0], json!({ "Backups": [entry] })),
        rules::BACKUP_CREATED_AT_STABLE
    );
}

#[test]
fn backup_status_monotonic_after_an_ok_answer_and_after_gone() {
    // backup.status.monotonic
    let w = healthy_web();
    let (p, _, id) = created_body(&w, "web");
    let ok = backup_body("web", &id, "OK", None);
    let after = p.explain(&Observation::Success(ok), None).unwrap();
    let db = step(&after, &call(Operation::DescribeBackups, json!({})));
    let mut entry = listing_entry(&after, after.backup_index(&id).unwrap());
    entry["Status"] = json!("IN_PROGRESS");
    assert_eq!(
        rule_of(&db[0], json!({ "Backups": [entry] })),
        rules::BACKUP_STATUS_MONOTONIC
    );
    // A listing that no longer shows a deleted backup proves it gone: it never comes back.
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 0);
    let fixture = ids_of(&w, "web")[0].clone();
    let del = step(
        &w,
        &call(Operation::DeleteBackup, json!({"BackupId": fixture})),
    );
    let w = del[0].world.clone();
    let db = step(&w, &call(Operation::DescribeBackups, json!({})));
    let w = db[0]
        .explain(&Observation::Success(json!({"Backups": []})), None)
        .unwrap();
    assert!(w.gone.contains(&fixture));
    let db = step(&w, &call(Operation::DescribeBackups, json!({})));
    let back = json!({"Backups": [{"BackupId": fixture, "BackupType": "MANUAL",
        "ServerName": "web", "Status": "OK"}]});
    assert_eq!(rule_of(&db[0], back), rules::BACKUP_STATUS_MONOTONIC);
}

#[test]
fn update_server_observable_in_describe_servers() {
    // update-server.observable
    let w = healthy_web();
    let up = step(
        &w,
        &call(
            Operation::UpdateServer,
            json!({"ServerName": "web", "BackupRetentionCount": 3}),
        ),
    );
    assert!(exercised(
        &up[0],
        rules::UPDATE_SERVER_OBSERVABLE,
        Polarity::Pass
    ));
    let w = up[0].world.clone();
    let ds = step(&w, &call(Operation::DescribeServers, json!({})));
    let shown = |n: i64| json!({"Servers": [{"ServerName": "web", "Status": "HEALTHY", "BackupRetentionCount": n}]});
    assert!(ds[0].explain(&Observation::Success(shown(3)), None).is_ok());
    assert_eq!(rule_of(&ds[0], shown(10)), rules::UPDATE_SERVER_OBSERVABLE);
}

#[test]
fn retention_zero_is_refused_or_accepted_the_same_way_all_run() {
    // validation.backup-retention-count
    // ambiguity.retention-zero (A16)
    let w = healthy_web();
    let zero = call(
        Operation::UpdateServer,
        json!({"ServerName": "web", "BackupRetentionCount": 0}),
    );
    let ps = step(&w, &zero);
    assert_eq!(names(&ps), ["success", "ValidationException"]);
    assert_eq!(ps[1].rule, rules::VALIDATION_BACKUP_RETENTION_COUNT);
    // Once accepted, always accepted; once refused, always refused.
    assert_eq!(names(&step(&ps[0].world, &zero)), ["success"]);
    assert_eq!(names(&step(&ps[1].world, &zero)), ["ValidationException"]);
}

#[test]
fn delete_backup_in_progress_is_accepted_and_the_server_follows_one_reading() {
    // delete-backup.in-progress
    // ambiguity.delete-in-progress-backup (A17)
    let (w, id) = created(&healthy_web(), "web");
    let del = call(Operation::DeleteBackup, json!({"BackupId": id}));
    let ps = step(&w, &del);
    assert_eq!(ps.len(), 2);
    assert_eq!(names(&ps), ["success"]);
    assert_eq!(rules_of(&ps), [rules::DELETE_BACKUP_IN_PROGRESS; 2]);
    let (ended, kept) = (&ps[0].world, &ps[1].world);
    assert_eq!(ended.servers["web"].status, ServerStatus::Healthy);
    assert_eq!(kept.servers["web"].status, ServerStatus::BackingUp);
    // Kept BACKING_UP: the job still ends by itself, and the server is then free.
    let ends = spontaneous(kept);
    assert!(ends
        .iter()
        .any(|e| e.servers["web"].status == ServerStatus::Healthy));
    // The reading is held: the next such deletion follows the same one.
    let (w2, id2) = created(&settled(kept, BackupStatus::Ok), "web");
    let ps2 = step(
        &w2,
        &call(Operation::DeleteBackup, json!({"BackupId": id2})),
    );
    assert_eq!(ps2.len(), 1);
    assert_eq!(ps2[0].world.servers["web"].status, ServerStatus::BackingUp);
}

#[test]
fn delete_server_in_progress_never_succeeds() {
    // delete-server.in-progress
    let w = put(&reference(), "web", ServerStatus::UnderMaintenance, 0, 0);
    let ps = step(
        &w,
        &call(Operation::DeleteServer, json!({"ServerName": "web"})),
    );
    assert!(ps.iter().all(|p| p.expected.error().is_some()));
    // A10's two errors, then held: the endpoint that chose ValidationException keeps to it.
    let v = ps
        .iter()
        .find(|p| p.expected == Expected::Error(ErrorKind::ValidationException))
        .unwrap();
    let again = step(
        &v.world,
        &call(Operation::DeleteServer, json!({"ServerName": "web"})),
    );
    assert_eq!(names(&again), ["ValidationException"]);
}

#[test]
fn restore_server_backup_must_be_ok_and_of_that_server() {
    // restore-server.backup
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 0);
    let w = put(&w, "db", ServerStatus::Healthy, 1, 0);
    let db_backup = ids_of(&w, "db")[0].clone();
    let ps = step(
        &w,
        &call(
            Operation::RestoreServer,
            json!({"ServerName": "web", "BackupId": db_backup}),
        ),
    );
    assert!(
        ps.iter().all(|p| p.expected.error().is_some()),
        "{:?}",
        names(&ps)
    );
    assert_eq!(ps[0].rule, rules::RESTORE_SERVER_BACKUP);
    let (w, id) = created(&w, "web");
    let w = settled(&w, BackupStatus::Failed);
    let ps = step(
        &w,
        &call(
            Operation::RestoreServer,
            json!({"ServerName": "web", "BackupId": id}),
        ),
    );
    assert_eq!(names(&ps), ["InvalidStateException", "ValidationException"]);
}

#[test]
fn a_deleting_backup_not_found_by_restore_may_still_be_listed() {
    // ambiguity.deleting-backup-lookup (A18)
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 0);
    let id = ids_of(&w, "web")[0].clone();
    let w = step(&w, &call(Operation::DeleteBackup, json!({"BackupId": id})))[0]
        .world
        .clone();
    let ps = step(
        &w,
        &call(
            Operation::RestoreServer,
            json!({"ServerName": "web", "BackupId": id}),
        ),
    );
    let nf = ps
        .iter()
        .find(|p| p.expected == Expected::Error(ErrorKind::ResourceNotFoundException))
        .unwrap();
    assert_eq!(nf.rule, rules::AMBIGUITY_DELETING_BACKUP_LOOKUP);
    // The error proved nothing: a listing may still show the backup DELETING.
    let db = step(&nf.world, &call(Operation::DescribeBackups, json!({})));
    let listed = json!({"Backups": [{"BackupId": id, "BackupType": "MANUAL",
        "ServerName": "web", "Status": "DELETING"}]});
    assert!(db[0].explain(&Observation::Success(listed), None).is_ok());
}

#[test]
fn counted_statuses_are_a_policy_of_the_endpoint() {
    // ambiguity.counted-statuses (A3), held: refused at the limit with a FAILED backup, then
    // with nothing changed, never accepted.
    let w = World::new(2, Readings::REFERENCE);
    let w = put(&w, "web", ServerStatus::Healthy, 1, 0);
    let (w, _) = created(&w, "web");
    let w = settled(&w, BackupStatus::Failed);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["LimitExceededException", "success"]);
    assert_eq!(ps[0].world.readings.pick(Choice::CountsFailed), Some(1));
    let again = step(&ps[0].world, &create_backup("web"));
    assert_eq!(names(&again), ["LimitExceededException"]);
}

#[test]
fn describe_unknown_server_is_answered_one_way_all_run() {
    // ambiguity.describe-unknown-server (A13), held.
    let ghost = call(Operation::DescribeBackups, json!({"ServerName": "ghost"}));
    let ps = step(&reference(), &ghost);
    assert_eq!(names(&ps), ["ResourceNotFoundException", "success"]);
    assert_eq!(
        names(&step(&ps[0].world, &ghost)),
        ["ResourceNotFoundException"]
    );
    assert_eq!(names(&step(&ps[1].world, &ghost)), ["success"]);
    // A reset keeps what the endpoint has shown of itself.
    let reset = step(&ps[1].world, &Action::Reset);
    assert_eq!(names(&step(&reset[0].world, &ghost)), ["success"]);
}

#[test]
fn backup_id_form_is_one_per_endpoint() {
    // ambiguity.backup-id-format (A7), held.
    let w = healthy_web();
    let (p, _, _) = created_body(&w, "web");
    let iso = backup_body("web", "web-2025-01-01T00:00:00.000Z", "IN_PROGRESS", None);
    let w = p.explain(&Observation::Success(iso), None).unwrap();
    let w = settled(&w, BackupStatus::Ok);
    let (p, compact, _) = created_body(&w, "web");
    assert_eq!(rule_of(&p, compact), rules::AMBIGUITY_BACKUP_ID_FORMAT);
}

#[test]
fn listing_order_follows_created_at_for_seeded_backups() {
    // describe-backups.order: seeded backups' times are the endpoint's choice, so a server put
    // later may hold older backups, and two servers' backups may interleave.
    let w = put(&reference(), "web", ServerStatus::Healthy, 1, 0);
    let w = put(&w, "db", ServerStatus::Healthy, 1, 0);
    let (web, db) = (ids_of(&w, "web")[0].clone(), ids_of(&w, "db")[0].clone());
    let entry = |id: &str, server: &str, at: f64| {
        json!({"BackupId": id, "BackupType": "MANUAL", "ServerName": server, "Status": "OK",
            "CreatedAt": at})
    };
    let ps = step(&w, &call(Operation::DescribeBackups, json!({})));
    let web_newer = json!({"Backups": [entry(&web, "web", 200.0), entry(&db, "db", 100.0)]});
    assert!(ps[0]
        .explain(&Observation::Success(web_newer), None)
        .is_ok());
    let oldest_first = json!({"Backups": [entry(&db, "db", 100.0), entry(&web, "web", 200.0)]});
    assert_eq!(rule_of(&ps[0], oldest_first), rules::DESCRIBE_BACKUPS_ORDER);
    // A backup created through the API is newer than every backup that existed before its call.
    let (w, new) = created(&w, "web");
    let ps = step(
        &w,
        &call(Operation::DescribeBackups, json!({"ServerName": "web"})),
    );
    let mut newest = listing_entry(&w, w.backup_index(&new).unwrap());
    newest.as_object_mut().unwrap().remove("CreatedAt");
    let api_last = json!({"Backups": [entry(&web, "web", 200.0), newest]});
    assert_eq!(rule_of(&ps[0], api_last), rules::DESCRIBE_BACKUPS_ORDER);
}
