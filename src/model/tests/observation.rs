//! Observation: DescribeBackups, DescribeServers, DescribeAccountAttributes.

use super::*;
use crate::model::rules;

// ------------------------------------------------------------------------------------------------
// Observation: DescribeBackups, DescribeServers, DescribeAccountAttributes
// ------------------------------------------------------------------------------------------------

/// web with 2 manual + 1 automated fixture backups and one created (settled OK); db with 1 manual.
fn two_servers() -> World {
    let w = put(&reference(), "web", ServerStatus::Healthy, 2, 1);
    let (w, _) = created(&w, "web");
    let w = settled(&w, BackupStatus::Ok);
    put(&w, "db", ServerStatus::Running, 1, 0)
}

#[test]
fn describe_backups_listing_every_backup_with_type_and_status() {
    // describe-backups.listing
    let w = two_servers();
    let ps = step(&w, &call(Operation::DescribeBackups, json!({})));
    assert_eq!(ps[0].rule, rules::DESCRIBE_BACKUPS_LISTING);
    let Expected::Backups { listed, maybe_gone } = &ps[0].expected else {
        panic!("{:?}", ps[0].expected)
    };
    assert_eq!(listed.len(), 5);
    assert!(maybe_gone.is_empty());
    let entries: Vec<Value> = listed.iter().map(|&i| listing_entry(&w, i)).collect();
    let ok = json!({ "Backups": entries });
    assert!(ps[0].explain(&Observation::Success(ok), None).is_ok());
    // One missing.
    let short = json!({ "Backups": entries[1..] });
    let m = ps[0]
        .explain(&Observation::Success(short), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_LISTING, "{}", m.message);
    // One that was never created.
    let mut extra = entries.clone();
    extra.push(
        json!({"BackupId": "web-19990101000000000", "BackupType": "MANUAL",
        "ServerName": "web", "Status": "OK"}),
    );
    let m = ps[0]
        .explain(&Observation::Success(json!({ "Backups": extra })), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_LISTING, "{}", m.message);
    // A wrong type.
    let mut wrong = entries.clone();
    let i = listed
        .iter()
        .position(|&i| w.backups[i].kind == BackupType::Automated)
        .unwrap();
    wrong[i]["BackupType"] = json!("MANUAL");
    let m = ps[0]
        .explain(&Observation::Success(json!({ "Backups": wrong })), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_LISTING);
}

#[test]
fn describe_backups_listing_binds_ids_the_harness_has_not_seen() {
    // describe-backups.listing: fixture ids are learned from a listing.
    let ps = step(
        &reference(),
        &Action::PutServer(spec("web", ServerStatus::Healthy, 2, 0)),
    );
    let w = ps[0].world.clone();
    assert!(w.backups.iter().all(|b| b.id.is_none()));
    let ps = step(&w, &call(Operation::DescribeBackups, json!({})));
    let body = json!({"Backups": [
        {"BackupId": "web-20250101000000001", "BackupType": "MANUAL", "ServerName": "web", "Status": "OK"},
        {"BackupId": "web-20250101000000000", "BackupType": "MANUAL", "ServerName": "web", "Status": "OK"},
    ]});
    let after = ps[0].explain(&Observation::Success(body), None).unwrap();
    assert!(after.backups.iter().all(|b| b.id.is_some()));
}

#[test]
fn describe_backups_listing_refuses_a_backup_listed_twice() {
    // describe-backups.listing: each backup appears once; a repeated entry (known id or not)
    // is a listing no endpoint may give.
    let w = two_servers();
    let ps = step(&w, &call(Operation::DescribeBackups, json!({})));
    let Expected::Backups { listed, .. } = &ps[0].expected else {
        panic!()
    };
    let mut entries: Vec<Value> = listed.iter().map(|&i| listing_entry(&w, i)).collect();
    entries.insert(1, entries[0].clone());
    let m = ps[0]
        .explain(&Observation::Success(json!({ "Backups": entries })), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_LISTING, "{}", m.message);
    // Not yet bound: two entries with one id would give two backups the same id.
    let raw = step(
        &reference(),
        &Action::PutServer(spec("web", ServerStatus::Healthy, 2, 0)),
    )[0]
    .world
    .clone();
    let ps = step(&raw, &call(Operation::DescribeBackups, json!({})));
    let e = json!({"BackupId": "web-20250101000000000", "BackupType": "MANUAL",
        "ServerName": "web", "Status": "OK"});
    let m = ps[0]
        .explain(&Observation::Success(json!({"Backups": [e, e]})), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_LISTING, "{}", m.message);
}

#[test]
fn describe_backups_order_newest_first() {
    // describe-backups.order
    let w = put(&reference(), "web", ServerStatus::Healthy, 0, 0);
    let (w, older) = created(&w, "web");
    let w = settled(&w, BackupStatus::Ok);
    let (w, newer) = created(&w, "web");
    let ps = step(
        &w,
        &call(Operation::DescribeBackups, json!({"ServerName": "web"})),
    );
    assert!(exercised(
        &ps[0],
        rules::DESCRIBE_BACKUPS_ORDER,
        Polarity::Pass
    ));
    let entry = |id: &str| {
        let i = w.backup_index(id).unwrap();
        listing_entry(&w, i)
    };
    let newest_first = json!({"Backups": [entry(&newer), entry(&older)]});
    assert!(ps[0]
        .explain(&Observation::Success(newest_first), None)
        .is_ok());
    let oldest_first = json!({"Backups": [entry(&older), entry(&newer)]});
    let m = ps[0]
        .explain(&Observation::Success(oldest_first), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_ORDER);
}

#[test]
fn describe_backups_filter_by_server_and_by_id() {
    // describe-backups.filter
    let w = two_servers();
    let ps = step(
        &w,
        &call(Operation::DescribeBackups, json!({"ServerName": "db"})),
    );
    let Expected::Backups { listed, .. } = &ps[0].expected else {
        panic!()
    };
    assert_eq!(listed.len(), 1);
    assert_eq!(w.backups[listed[0]].server, "db");
    // Listing web's backup under db breaks the filter.
    let web0 = w.backup_index(&ids_of(&w, "web")[0]).unwrap();
    let body = json!({"Backups": [listing_entry(&w, listed[0]), listing_entry(&w, web0)]});
    let m = ps[0]
        .explain(&Observation::Success(body), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_BACKUPS_FILTER);
    // By BackupId: exactly that backup.
    let id = ids_of(&w, "web")[1].clone();
    let ps = step(
        &w,
        &call(Operation::DescribeBackups, json!({ "BackupId": id })),
    );
    assert_eq!(ps[0].rule, rules::DESCRIBE_BACKUPS_FILTER);
    let Expected::Backups { listed, .. } = &ps[0].expected else {
        panic!()
    };
    assert_eq!(listed, &[w.backup_index(&id).unwrap()]);
}

#[test]
fn describe_backups_not_found_for_an_unknown_id() {
    // describe-backups.not-found
    let w = two_servers();
    let ps = step(
        &w,
        &call(
            Operation::DescribeBackups,
            json!({"BackupId": "web-19990101000000000"}),
        ),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException"]);
    assert_eq!(ps[0].rule, rules::DESCRIBE_BACKUPS_NOT_FOUND);
    // While some ids are not yet seen, the id may be one of them.
    let raw = step(
        &reference(),
        &Action::PutServer(spec("web", ServerStatus::Healthy, 1, 0)),
    )[0]
    .world
    .clone();
    let ps = step(
        &raw,
        &call(
            Operation::DescribeBackups,
            json!({"BackupId": "web-19990101000000000"}),
        ),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException", "success"]);
}

#[test]
fn describe_backups_filter_by_an_id_not_yet_seen_lists_only_that_backup() {
    // describe-backups.filter: before the harness has learned the fixture ids, the id asked
    // for may be one of them; the answer must then list that backup under that id, not another.
    let raw = step(
        &reference(),
        &Action::PutServer(spec("web", ServerStatus::Healthy, 2, 1)),
    )[0]
    .world
    .clone();
    let asked = "web-20250101000000001";
    let ps = step(
        &raw,
        &call(Operation::DescribeBackups, json!({ "BackupId": asked })),
    );
    assert_eq!(ps[0].rule, rules::DESCRIBE_BACKUPS_NOT_FOUND);
    let entry = |id: &str, kind: &str| json!({"Backups": [{"BackupId": id, "BackupType": kind, "ServerName": "web", "Status": "OK"}]});
    let fits = |body: Value| {
        ps.iter()
            .filter_map(|p| p.explain(&Observation::Success(body.clone()), None).ok())
            .collect::<Vec<World>>()
    };
    for kind in ["MANUAL", "AUTOMATED"] {
        let worlds = fits(entry(asked, kind));
        assert!(!worlds.is_empty(), "{kind}");
        assert!(worlds.iter().all(|w| w.backup_index(asked).is_some()));
    }
    assert!(fits(entry("web-20250101000000002", "MANUAL")).is_empty());
    let two = json!({"Backups": [
        {"BackupId": asked, "BackupType": "MANUAL", "ServerName": "web", "Status": "OK"},
        {"BackupId": "web-20250101000000002", "BackupType": "MANUAL", "ServerName": "web", "Status": "OK"}]});
    assert!(fits(two).is_empty());
}

#[test]
fn describe_servers_listing_with_status() {
    // describe-servers.listing
    let w = two_servers();
    let ps = step(&w, &call(Operation::DescribeServers, json!({})));
    assert_eq!(ps[0].rule, rules::DESCRIBE_SERVERS_LISTING);
    assert_eq!(
        ps[0].expected,
        Expected::Servers(vec!["db".into(), "web".into()])
    );
    let ok = json!({"Servers": [
        {"ServerName": "web", "Status": "HEALTHY"}, {"ServerName": "db", "Status": "RUNNING"}]});
    assert!(ps[0].explain(&Observation::Success(ok), None).is_ok());
    for bad in [
        json!({"Servers": [{"ServerName": "web", "Status": "HEALTHY"}]}),
        json!({"Servers": [{"ServerName": "web", "Status": "HEALTHY"},
            {"ServerName": "db", "Status": "UNHEALTHY"}]}),
        json!({"Servers": [{"ServerName": "web", "Status": "HEALTHY"},
            {"ServerName": "db", "Status": "RUNNING"}, {"ServerName": "x", "Status": "RUNNING"}]}),
        json!({}),
    ] {
        let m = ps[0].explain(&Observation::Success(bad), None).unwrap_err();
        assert_eq!(m.rule, rules::DESCRIBE_SERVERS_LISTING, "{}", m.message);
    }
    let ps = step(
        &w,
        &call(Operation::DescribeServers, json!({"ServerName": "db"})),
    );
    assert_eq!(ps[0].expected, Expected::Servers(vec!["db".into()]));
}

#[test]
fn describe_servers_listing_refuses_a_server_listed_twice() {
    // describe-servers.listing
    let w = two_servers();
    let ps = step(&w, &call(Operation::DescribeServers, json!({})));
    let body = json!({"Servers": [
        {"ServerName": "web", "Status": "HEALTHY"}, {"ServerName": "db", "Status": "RUNNING"},
        {"ServerName": "web", "Status": "HEALTHY"}]});
    let m = ps[0]
        .explain(&Observation::Success(body), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::DESCRIBE_SERVERS_LISTING, "{}", m.message);
}

#[test]
fn describe_servers_not_found_for_an_unknown_name() {
    // describe-servers.not-found
    let ps = step(
        &healthy_web(),
        &call(Operation::DescribeServers, json!({"ServerName": "Web"})),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException"]);
    assert_eq!(ps[0].rule, rules::DESCRIBE_SERVERS_NOT_FOUND);
}

#[test]
fn account_attributes_manual_backup_limit_used_and_maximum() {
    // account-attributes.manual-backup-limit
    let w = put(&reference(), "web", ServerStatus::Healthy, 3, 4);
    let w = put(&w, "db", ServerStatus::Healthy, 2, 0);
    let (w, _) = created(&w, "db");
    let ps = step(&w, &call(Operation::DescribeAccountAttributes, json!({})));
    assert_eq!(ps[0].rule, rules::ACCOUNT_ATTRIBUTES_MANUAL_BACKUP_LIMIT);
    assert_eq!(
        ps[0].expected,
        Expected::AccountAttributes {
            used: (5, 6),
            maximum: 50
        }
    );
    let attrs = |used: u64, max: u64| json!({"Attributes": [{"Name": "ManualBackupLimit", "Used": used, "Maximum": max}]});
    for used in [5, 6] {
        assert!(ps[0]
            .explain(&Observation::Success(attrs(used, 50)), None)
            .is_ok());
    }
    for (used, max) in [(7, 50), (4, 50), (6, 10)] {
        let m = ps[0]
            .explain(&Observation::Success(attrs(used, max)), None)
            .unwrap_err();
        assert_eq!(m.rule, rules::ACCOUNT_ATTRIBUTES_MANUAL_BACKUP_LIMIT);
    }
}

#[test]
fn a_created_backup_bound_directly_is_the_world_its_answer_gives() {
    // What the dry run of a scenario file relies on: `created_as` gives the world `explain`
    // gives for a well-formed answer with that id, in every outcome, finished or not (A6),
    // and refuses what `explain` refuses (A7: a second id form).
    let w = put(&reference(), "web", ServerStatus::Healthy, 2, 1);
    let input = json!({"ServerName": "web", "Description": "nightly"});
    let ps = step(&w, &call(Operation::CreateBackup, input));
    let mut seen = 0;
    for p in &ps {
        let Expected::CreatedBackup { finished, .. } = &p.expected else {
            continue;
        };
        seen += 1;
        let id = new_id(&w, "web");
        let status = if *finished { "OK" } else { "IN_PROGRESS" };
        let mut body = backup_body("web", &id, status, Some("nightly"));
        body["Backup"]
            .as_object_mut()
            .expect("an object")
            .remove("CreatedAt");
        let answered = p.explain(&Observation::Success(body), None);
        assert_eq!(
            p.created_as(&id).ok(),
            answered.ok(),
            "{}",
            p.expected.summary()
        );
        let after = p.created_as(&id).expect("binds");
        let next = step(&after, &create_backup("web"));
        let other_form = "web-2025-01-01T00:00:00.000Z";
        let creating = next
            .iter()
            .filter(|q| matches!(q.expected, Expected::CreatedBackup { .. }));
        for q in creating {
            let refused = q
                .created_as(other_form)
                .expect_err("one id form per endpoint");
            assert_eq!(refused.rule, rules::AMBIGUITY_BACKUP_ID_FORMAT);
            assert!(q.created_as(&new_id(&after, "web")).is_ok());
        }
    }
    assert!(seen >= 2, "in progress and finished: {:?}", names(&ps));
}

/// The listing the wire layer reads for `body` (an answer that fits the service model).
fn read_listing(body: &Value) -> Observation {
    let text = body.to_string();
    match crate::wire::decode_response(
        crate::wire::Dialect::AwsJson,
        Operation::DescribeBackups,
        200,
        None,
        text.as_bytes(),
    ) {
        crate::wire::Answer::Observed(o @ Observation::Listing(_)) => o,
        other => panic!("{text} was not read as a listing: {other:?}"),
    }
}

#[test]
fn a_listing_read_without_a_json_value_is_judged_as_its_value() {
    // describe-backups.listing, .order, backup.created-at-stable: the same verdicts and worlds.
    let w = two_servers();
    let ps = step(&w, &call(Operation::DescribeBackups, json!({})));
    let Expected::Backups { listed, .. } = &ps[0].expected else {
        panic!("{:?}", ps[0].expected)
    };
    let entries: Vec<Value> = listed.iter().map(|&i| listing_entry(&w, i)).collect();
    let mut bodies = vec![
        json!({ "Backups": entries }),
        json!({}),
        json!({"Backups": null}),
    ];
    let mut change = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut e = entries.clone();
        f(&mut e);
        bodies.push(json!({ "Backups": e }));
    };
    change(&|e| {
        e.remove(0);
    });
    change(&|e| e.swap(0, 1));
    change(&|e| e.push(e[0].clone()));
    change(&|e| e[0]["Status"] = json!("FAILED"));
    change(&|e| e[0]["BackupType"] = json!("AUTOMATED"));
    change(&|e| e[1]["ServerName"] = json!("db"));
    change(&|e| e[0]["Description"] = json!("not \"it\"\n".repeat(9)));
    change(&|e| e[0]["BackupId"] = json!("web-19990101000000000"));
    change(&|e| e[0]["CreatedAt"] = json!(1));
    change(&|e| e[1]["CreatedAt"] = json!(4e9));
    change(&|e| e[0] = Value::Null);
    for body in bodies {
        let listing = read_listing(&body);
        for p in &ps {
            let as_value = p.explain(&Observation::Success(body.clone()), None);
            assert_eq!(p.explain(&listing, None), as_value, "{body}");
        }
    }
}
