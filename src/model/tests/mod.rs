//! Unit and property tests of the model.
//!
//! Every rule id of [`RULES`] has at least one unit test named after it, with the exact id in the
//! body; `every_rule_id_has_a_unit_test` fails naming any id this file forgets. Ambiguity tests
//! show that each reading is a possibility. The property tests at the end run random action
//! sequences, answering each call as the bundled emulator would (the reference reading, ids bound
//! from a synthetic answer, deleted backups gone at once), and check invariants of the relation.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::rules::{rule_by_id, RuleKind, RULES};
use super::service::{ServiceModel, Shape};
use super::*;
use crate::wire::{self, Answer, Dialect};

mod held_and_strict;

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

fn reference() -> World {
    World::new(DEFAULT_LIMIT, Readings::REFERENCE)
}

fn spec(name: &str, status: ServerStatus, manual: u32, automated: u32) -> ServerSpec {
    ServerSpec {
        name: name.into(),
        status,
        engine: "ChefAutomate".into(),
        manual_backups: manual,
        automated_backups: automated,
    }
}

/// `world` after the control plane put a server, with the fixture backups bound to ids as the
/// harness learns them.
fn put(world: &World, name: &str, status: ServerStatus, manual: u32, automated: u32) -> World {
    let ps = step(
        world,
        &Action::PutServer(spec(name, status, manual, automated)),
    );
    assert_eq!(ps.len(), 1, "put-server has one outcome");
    let mut w = ps[0].world.clone();
    bind_fixture_ids(&mut w);
    w
}

/// Gives every unbound backup an id `<server>-fixture<seq>-<k>` (unique: fixture backups made
/// together share a seq, and k counts within it).
fn bind_fixture_ids(w: &mut World) {
    let mut counts: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for b in std::sync::Arc::make_mut(&mut w.backups).iter_mut() {
        let k = counts.entry((b.server.clone(), b.seq)).or_default();
        if b.id.is_none() {
            b.id = Some(format!("{}-fixture{}-{}", b.server, b.seq, k));
        }
        *k += 1;
    }
}

fn call(op: Operation, input: Value) -> Action {
    Action::Call { op, input }
}

/// `"success"` or the error name of each possibility, in order, each name once (a success may
/// come as several possibilities, e.g. CreateBackup answered IN_PROGRESS or already OK).
fn names(ps: &[Possible]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in ps {
        let name = match &p.expected {
            Expected::Error(k) => k.name().to_string(),
            _ => "success".to_string(),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn rules_of(ps: &[Possible]) -> Vec<&'static str> {
    ps.iter().map(|p| p.rule).collect()
}

fn exercised(p: &Possible, rule: &str, polarity: Polarity) -> bool {
    p.exercised
        .iter()
        .any(|(r, pol)| *r == rule && *pol == polarity)
}

/// The id the emulator would give the next backup of `server` in `w` (17 digits, unique per world).
fn new_id(w: &World, server: &str) -> String {
    format!("{server}-20250101{:09}", w.next_seq)
}

/// A CreateBackup answer as the service sends it.
fn backup_body(server: &str, id: &str, status: &str, description: Option<&str>) -> Value {
    let mut b = json!({
        "BackupId": id,
        "BackupArn": format!("arn:aws:opsworks-cm:us-east-1:123456789012:backup/{id}"),
        "BackupType": "MANUAL",
        "ServerName": server,
        "Status": status,
        "CreatedAt": 1_735_689_600.0,
        "Engine": "ChefAutomate",
    });
    if let Some(d) = description {
        b["Description"] = json!(d);
    }
    json!({ "Backup": b })
}

/// CreateBackup from `w`, answered as the emulator would; the reference reading must succeed.
fn created(w: &World, server: &str) -> (World, String) {
    let ps = step(w, &create_backup(server));
    assert!(
        matches!(ps[0].expected, Expected::CreatedBackup { .. }),
        "CreateBackup {server}: {:?}",
        names(&ps)
    );
    let id = new_id(w, server);
    let body = backup_body(server, &id, "IN_PROGRESS", None);
    let after = ps[0]
        .explain(&Observation::Success(body), None)
        .expect("the emulator's answer fits");
    (after, id)
}

fn settled(w: &World, status: BackupStatus) -> World {
    let ps = step(w, &Action::Settle(status));
    ps[0].world.clone()
}

fn ids_of(w: &World, server: &str) -> Vec<String> {
    w.backups
        .iter()
        .filter(|b| b.server == server)
        .filter_map(|b| b.id.clone())
        .collect()
}

fn listing_entry(w: &World, i: usize) -> Value {
    let b = &w.backups[i];
    json!({
        "BackupId": b.id.clone().unwrap(),
        "BackupType": b.kind.as_str(),
        "ServerName": b.server,
        "Status": b.status.as_str(),
    })
}

fn tags(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect(),
    )
}

fn tag(key: &str, value: &str) -> Value {
    json!({"ServerName": "web", "Tags": [{"Key": key, "Value": value}]})
}

fn healthy_web() -> World {
    put(&reference(), "web", ServerStatus::Healthy, 0, 0)
}

fn create_with(input: Value) -> Vec<Possible> {
    step(&healthy_web(), &call(Operation::CreateBackup, input))
}

fn window() -> CallWindow {
    let t = 1_735_689_600_000;
    CallWindow {
        sent_ms: t,
        answered_ms: t + 100,
    }
}

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
            "create-backup.state.allowed",
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
        assert_eq!(ps[0].rule, "create-backup.state.refused");
        assert_eq!(ps[0].world, w, "a refused call changes nothing");
    }
}

#[test]
fn create_backup_state_backing_up_refuses_a_second_backup() {
    // create-backup.state.backing-up
    let (w, _) = created(&healthy_web(), "web");
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["InvalidStateException"]);
    assert_eq!(ps[0].rule, "create-backup.state.backing-up");
    // A server the control plane put straight into BACKING_UP is refused the same way.
    let w = put(&reference(), "web", ServerStatus::BackingUp, 0, 0);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(rules_of(&ps), ["create-backup.state.backing-up"]);
}

#[test]
fn create_backup_not_found_for_unknown_and_differently_cased_names() {
    // create-backup.not-found
    let w = healthy_web();
    for name in ["ghost", "Web", "WEB", "web2"] {
        let ps = step(&w, &create_backup(name));
        assert_eq!(names(&ps), ["ResourceNotFoundException"], "{name}");
        assert_eq!(ps[0].rule, "create-backup.not-found");
    }
    let ps = step(&w, &create_backup("web"));
    assert!(exercised(&ps[0], "create-backup.not-found", Polarity::Pass));
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
    assert_eq!(ps[0].rule, "create-backup.limit");
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
    assert_eq!(rules_of(&ps), ["create-backup.limit"]);
}

#[test]
fn create_backup_limit_automated_not_counted() {
    // create-backup.limit.automated-not-counted
    let w = put(&reference(), "web", ServerStatus::Healthy, 49, 20);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["success"]);
    assert!(exercised(
        &ps[0],
        "create-backup.limit.automated-not-counted",
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
    assert_eq!(ps[0].rule, "ambiguity.counted-statuses");
    // Once it is gone (the emulator removes it at once), the slot is free.
    w.forget_deleting();
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["success"]);
    assert!(exercised(
        &ps[0],
        "create-backup.limit.delete-frees-slot",
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
    assert_eq!(p.rule, "create-backup.effect.response");
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
        assert_eq!(m.rule, "create-backup.effect.response", "{}", m.message);
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
        assert_eq!(m.rule, "create-backup.effect.backup-id", "{bad}");
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
    assert_eq!(m.rule, "create-backup.effect.backup-id");
    let dup = Observation::CreatedEnvelope {
        id: first,
        created_at: "2025-01-01T00:00:00Z".into(),
    };
    assert_eq!(
        ps[0].explain(&dup, None).unwrap_err().rule,
        "create-backup.effect.backup-id"
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
        assert_eq!(m.rule, "create-backup.effect.created-at", "{}", m.message);
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
        assert_eq!(m.rule, "create-backup.effect.created-at");
    }
}

#[test]
fn create_backup_effect_backing_up_until_the_backup_ends() {
    // create-backup.effect.backing-up
    let w = put(&reference(), "web", ServerStatus::Running, 0, 0);
    let ps = step(&w, &create_backup("web"));
    assert!(exercised(
        &ps[0],
        "create-backup.effect.backing-up",
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
    assert_eq!(m.rule, "create-backup.effect.backing-up");
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
        assert_eq!(rules_of(&ps), ["backup.completion"]);
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
        "backup.completion"
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
        "backup.status.monotonic"
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
        assert_eq!(ps[0].rule, "server.backing-up.locked");
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

// ------------------------------------------------------------------------------------------------
// Validation
// ------------------------------------------------------------------------------------------------

#[test]
fn validation_required_members_missing() {
    // validation.required
    for (op, input) in [
        (Operation::CreateBackup, json!({})),
        (Operation::CreateBackup, json!({"ServerName": null})),
        (
            Operation::CreateBackup,
            json!({"ServerName": "web", "Tags": [{"Key": "k"}]}),
        ),
        (Operation::DeleteBackup, json!({})),
        (Operation::RestoreServer, json!({"ServerName": "web"})),
        (Operation::UpdateServer, json!({"BackupRetentionCount": 3})),
    ] {
        let ps = step(&healthy_web(), &call(op, input.clone()));
        assert_eq!(names(&ps), ["ValidationException"], "{op} {input}");
        assert_eq!(ps[0].rule, "validation.required");
    }
}

#[test]
fn validation_type_wrong_json_types() {
    // validation.type (and ambiguity.type-error-kind: SerializationException is legal too)
    for input in [
        json!({"ServerName": 5}),
        json!({"ServerName": ["web"]}),
        json!({"ServerName": "web", "Description": 7}),
        json!({"ServerName": "web", "Tags": {"k": "v"}}),
        json!({"ServerName": "web", "Tags": [{"Key": 1, "Value": "v"}]}),
        json!("web"),
        json!([]),
    ] {
        let ps = create_with(input.clone());
        assert_eq!(
            names(&ps),
            ["ValidationException", "SerializationException"],
            "{input}"
        );
        assert_eq!(
            rules_of(&ps),
            ["validation.type", "ambiguity.type-error-kind"]
        );
    }
    let ps = step(
        &healthy_web(),
        &call(
            Operation::UpdateServer,
            json!({"ServerName": "web", "DisableAutomatedBackup": "yes"}),
        ),
    );
    assert_eq!(ps[0].rule, "validation.type");
}

#[test]
fn validation_server_name_length_forty_and_forty_one() {
    // validation.server-name.length
    let ps = create_with(json!({"ServerName": "a".repeat(40)}));
    assert_eq!(names(&ps), ["ResourceNotFoundException"]);
    assert!(exercised(
        &ps[0],
        "validation.server-name.length",
        Polarity::Pass
    ));
    let ps = create_with(json!({"ServerName": "a".repeat(41)}));
    assert_eq!(names(&ps), ["ValidationException"]);
    assert_eq!(ps[0].rule, "validation.server-name.length");
    let ps = create_with(json!({"ServerName": ""}));
    assert_eq!(ps[0].rule, "validation.server-name.length");
}

#[test]
fn validation_server_name_pattern_whole_string() {
    // validation.server-name.pattern
    for bad in ["123", "-", "_", "ü", "-1_"] {
        let ps = create_with(json!({ "ServerName": bad }));
        assert_eq!(names(&ps), ["ValidationException"], "{bad}");
        assert_eq!(ps[0].rule, "validation.server-name.pattern");
    }
    // Matching only inside the string: refused or, unanchored, accepted (then not found).
    for inside in ["web_1", "1web", "web.db", "web server"] {
        let ps = create_with(json!({ "ServerName": inside }));
        assert_eq!(
            names(&ps),
            ["ValidationException", "ResourceNotFoundException"],
            "{inside}"
        );
        assert_eq!(ps[0].rule, "validation.server-name.pattern");
    }
}

#[test]
fn validation_description_length_ten_thousand() {
    // validation.description.length
    let ps = create_with(json!({"ServerName": "web", "Description": "x".repeat(10000)}));
    assert_eq!(names(&ps), ["success"]);
    // Lengths count Unicode scalar values, not bytes.
    let ps = create_with(json!({"ServerName": "web", "Description": "é".repeat(10000)}));
    assert_eq!(names(&ps), ["success"]);
    let ps = create_with(json!({"ServerName": "web", "Description": "x".repeat(10001)}));
    assert_eq!(names(&ps), ["ValidationException"]);
    assert_eq!(ps[0].rule, "validation.description.length");
    // Validation comes before not-found.
    let ps = step(
        &reference(),
        &call(
            Operation::CreateBackup,
            json!({"ServerName": "ghost", "Description": "x".repeat(10001)}),
        ),
    );
    assert_eq!(rules_of(&ps), ["validation.description.length"]);
}

#[test]
fn validation_tags_count_fifty_and_two_hundred() {
    // validation.tags.count (51..=200: ambiguity.tag-limits)
    let n = |count: usize| create_with(json!({"ServerName": "web", "Tags": tags(count)}));
    assert_eq!(names(&n(0)), ["success"]);
    assert_eq!(names(&n(50)), ["success"]);
    for count in [51, 200] {
        let ps = n(count);
        assert_eq!(names(&ps), ["ValidationException", "success"], "{count}");
        assert_eq!(ps[0].rule, "validation.tags.count");
        assert!(exercised(&ps[1], "ambiguity.tag-limits", Polarity::Pass));
    }
    let ps = n(201);
    assert_eq!(names(&ps), ["ValidationException"]);
    assert_eq!(ps[0].rule, "validation.tags.count");
}

#[test]
fn validation_tag_key_length_127_128_129() {
    // validation.tag-key.length
    assert_eq!(names(&create_with(tag(&"k".repeat(127), "v"))), ["success"]);
    let ps = create_with(tag(&"k".repeat(128), "v"));
    assert_eq!(names(&ps), ["ValidationException", "success"]);
    assert_eq!(ps[0].rule, "validation.tag-key.length");
    for bad in ["k".repeat(129), String::new()] {
        let ps = create_with(tag(&bad, "v"));
        assert_eq!(names(&ps), ["ValidationException"]);
        assert_eq!(ps[0].rule, "validation.tag-key.length");
    }
}

#[test]
fn validation_tag_key_pattern_bad_characters() {
    // validation.tag-key.pattern
    for bad in ["a*b", "a#b", "<k>", "k!"] {
        let ps = create_with(tag(bad, "v"));
        assert_eq!(names(&ps), ["ValidationException"], "{bad}");
        assert_eq!(ps[0].rule, "validation.tag-key.pattern");
    }
    for good in ["Stage", "a b", "a+-=._:/b", "clé"] {
        assert_eq!(names(&create_with(tag(good, "v"))), ["success"], "{good}");
    }
}

#[test]
fn validation_tag_value_length_255_256_257() {
    // validation.tag-value.length
    assert_eq!(names(&create_with(tag("k", &"v".repeat(255)))), ["success"]);
    assert_eq!(names(&create_with(tag("k", ""))), ["success"]);
    let ps = create_with(tag("k", &"v".repeat(256)));
    assert_eq!(names(&ps), ["ValidationException", "success"]);
    assert_eq!(ps[0].rule, "validation.tag-value.length");
    let ps = create_with(tag("k", &"v".repeat(257)));
    assert_eq!(names(&ps), ["ValidationException"]);
    assert_eq!(ps[0].rule, "validation.tag-value.length");
}

#[test]
fn validation_tag_value_pattern_bad_characters() {
    // validation.tag-value.pattern
    for bad in ["a!", "<script>", "50%"] {
        let ps = create_with(tag("k", bad));
        assert_eq!(names(&ps), ["ValidationException"], "{bad}");
        assert_eq!(ps[0].rule, "validation.tag-value.pattern");
    }
    let ps = create_with(tag("k", "a@b"));
    assert_eq!(names(&ps), ["ValidationException", "success"]);
}

#[test]
fn validation_backup_id_length_seventy_nine() {
    // validation.backup-id.length
    let del = |id: String| {
        step(
            &healthy_web(),
            &call(Operation::DeleteBackup, json!({ "BackupId": id })),
        )
    };
    assert_eq!(names(&del("a".repeat(79))), ["ResourceNotFoundException"]);
    let ps = del("a".repeat(80));
    assert_eq!(names(&ps), ["ValidationException"]);
    assert_eq!(ps[0].rule, "validation.backup-id.length");
}

#[test]
fn validation_backup_id_pattern() {
    // validation.backup-id.pattern
    let del = |id: &str| {
        step(
            &healthy_web(),
            &call(Operation::DeleteBackup, json!({ "BackupId": id })),
        )
    };
    for bad in ["!!", "", "_1", "123"] {
        let ps = del(bad);
        assert_eq!(names(&ps), ["ValidationException"], "{bad}");
    }
    assert_eq!(del("!!")[0].rule, "validation.backup-id.pattern");
    // Both documented id formats fit the pattern.
    for good in ["web-20161119234240240", "web-2016-11-19T23:42:40.240Z"] {
        assert_eq!(names(&del(good)), ["ResourceNotFoundException"], "{good}");
    }
    let ps = del("9abc");
    assert_eq!(
        names(&ps),
        ["ValidationException", "ResourceNotFoundException"]
    );
    assert_eq!(ps[0].rule, "validation.backup-id.pattern");
}

#[test]
fn validation_max_results_range_at_least_one() {
    // validation.max-results.range
    for op in [Operation::DescribeBackups, Operation::DescribeServers] {
        let ps = step(&healthy_web(), &call(op, json!({"MaxResults": 0})));
        assert_eq!(names(&ps), ["ValidationException"], "{op}");
        assert_eq!(ps[0].rule, "validation.max-results.range");
        let ps = step(&healthy_web(), &call(op, json!({"MaxResults": 1})));
        assert_eq!(names(&ps), ["success"], "{op}");
    }
}

#[test]
fn validation_time_window_pattern() {
    // validation.time-window.pattern
    for bad in ["25:00", "8:00", "Mon:8:00", "Monday:08:00", "08:60"] {
        let ps = step(
            &healthy_web(),
            &call(
                Operation::UpdateServer,
                json!({"ServerName": "web", "PreferredBackupWindow": bad}),
            ),
        );
        assert_eq!(names(&ps), ["ValidationException"], "{bad}");
        assert_eq!(ps[0].rule, "validation.time-window.pattern");
    }
    for good in ["08:00", "Mon:23:59", "Sun:00:00"] {
        let ps = step(
            &healthy_web(),
            &call(
                Operation::UpdateServer,
                json!({"ServerName": "web", "PreferredMaintenanceWindow": good}),
            ),
        );
        assert_eq!(names(&ps), ["success"], "{good}");
    }
}

#[test]
fn validation_string_length_of_other_members() {
    // validation.string.length
    let ps = step(
        &healthy_web(),
        &call(
            Operation::DescribeBackups,
            json!({"NextToken": "t".repeat(10001)}),
        ),
    );
    assert_eq!(names(&ps), ["ValidationException"]);
    assert_eq!(ps[0].rule, "validation.string.length");
    // NextToken is accepted (and ignored) within its length.
    let ps = step(
        &healthy_web(),
        &call(
            Operation::DescribeBackups,
            json!({"NextToken": "t".repeat(10000)}),
        ),
    );
    assert_eq!(names(&ps), ["success"]);
}

#[test]
fn validation_enum_has_no_input_member_in_the_covered_operations() {
    // No input member of the nine operations the model covers is an enum, so an enum value is
    // never checked (it would count under validation.type); this test fails the day one is, so
    // that enum inputs get tests and a scenario.
    fn walk(model: &ServiceModel, shape: &str, seen: &mut Vec<String>, found: &mut Vec<String>) {
        if seen.iter().any(|s| s == shape) {
            return;
        }
        seen.push(shape.to_string());
        match model.shape(shape) {
            Shape::Structure { members, .. } => {
                for (_, m) in members {
                    walk(model, m, seen, found);
                }
            }
            Shape::List { member, .. } => walk(model, member, seen, found),
            Shape::String {
                enumeration: Some(_),
                ..
            } => found.push(shape.to_string()),
            _ => {}
        }
    }
    let model = ServiceModel::get();
    let mut found = Vec::new();
    for op in Operation::ALL {
        if let Some(input) = model.operation(op.name()).and_then(|o| o.input.clone()) {
            walk(model, &input, &mut Vec::new(), &mut found);
        }
    }
    assert!(found.is_empty(), "enum input members: {found:?}");
    // The output side does have enums (BackupStatus), checked by response.shape.
    assert!(model
        .enum_values("BackupStatus")
        .contains(&"OK".to_string()));
}

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
    assert_eq!(ps[0].rule, "describe-backups.listing");
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
    assert_eq!(m.rule, "describe-backups.listing", "{}", m.message);
    // One that was never created.
    let mut extra = entries.clone();
    extra.push(
        json!({"BackupId": "web-19990101000000000", "BackupType": "MANUAL",
        "ServerName": "web", "Status": "OK"}),
    );
    let m = ps[0]
        .explain(&Observation::Success(json!({ "Backups": extra })), None)
        .unwrap_err();
    assert_eq!(m.rule, "describe-backups.listing", "{}", m.message);
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
    assert_eq!(m.rule, "describe-backups.listing");
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
    assert_eq!(m.rule, "describe-backups.listing", "{}", m.message);
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
    assert_eq!(m.rule, "describe-backups.listing", "{}", m.message);
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
    assert!(exercised(&ps[0], "describe-backups.order", Polarity::Pass));
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
    assert_eq!(m.rule, "describe-backups.order");
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
    assert_eq!(m.rule, "describe-backups.filter");
    // By BackupId: exactly that backup.
    let id = ids_of(&w, "web")[1].clone();
    let ps = step(
        &w,
        &call(Operation::DescribeBackups, json!({ "BackupId": id })),
    );
    assert_eq!(ps[0].rule, "describe-backups.filter");
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
    assert_eq!(ps[0].rule, "describe-backups.not-found");
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
    assert_eq!(ps[0].rule, "describe-backups.not-found");
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
    assert_eq!(ps[0].rule, "describe-servers.listing");
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
        assert_eq!(m.rule, "describe-servers.listing", "{}", m.message);
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
    assert_eq!(m.rule, "describe-servers.listing", "{}", m.message);
}

#[test]
fn describe_servers_not_found_for_an_unknown_name() {
    // describe-servers.not-found
    let ps = step(
        &healthy_web(),
        &call(Operation::DescribeServers, json!({"ServerName": "Web"})),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException"]);
    assert_eq!(ps[0].rule, "describe-servers.not-found");
}

#[test]
fn account_attributes_manual_backup_limit_used_and_maximum() {
    // account-attributes.manual-backup-limit
    let w = put(&reference(), "web", ServerStatus::Healthy, 3, 4);
    let w = put(&w, "db", ServerStatus::Healthy, 2, 0);
    let (w, _) = created(&w, "db");
    let ps = step(&w, &call(Operation::DescribeAccountAttributes, json!({})));
    assert_eq!(ps[0].rule, "account-attributes.manual-backup-limit");
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
        assert_eq!(m.rule, "account-attributes.manual-backup-limit");
    }
}

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
        assert_eq!(ps[0].rule, "delete-backup.effect");
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
    assert_eq!(m.rule, "delete-backup.effect");
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
    assert_eq!(ps[0].rule, "delete-backup.not-found");
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
        ["delete-backup.already-deleting", "delete-backup.not-found"]
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
    assert_eq!(ps[0].rule, "update-server.effect");
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
        assert_eq!(ps[0].rule, "update-server.not-found");
    }
    let ps = step(
        &healthy_web(),
        &call(
            Operation::RestoreServer,
            json!({"ServerName": "ghost", "BackupId": "web-19990101000000000"}),
        ),
    );
    assert_eq!(rules_of(&ps), ["update-server.not-found"]);
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
            assert_eq!(ps[0].rule, "start-maintenance.state");
            let after = &ps[0].world;
            assert_eq!(after.servers["web"].status, ServerStatus::UnderMaintenance);
            // Then no backup until the maintenance ends.
            assert_eq!(
                rules_of(&step(after, &create_backup("web"))),
                ["create-backup.state.refused"]
            );
        } else {
            assert_eq!(names(&ps), ["InvalidStateException"], "{status}");
            let want = if status == ServerStatus::BackingUp {
                "server.backing-up.locked"
            } else {
                "start-maintenance.state"
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
    assert_eq!(ps[0].rule, "delete-server.effect");
    let w = &ps[0].world;
    assert_eq!(w.servers["web"].status, ServerStatus::Deleting);
    assert_eq!(
        rules_of(&step(w, &create_backup("web"))),
        ["create-backup.state.refused"]
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
    assert_eq!(ps[0].rule, "delete-server.already-deleting");
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
            assert_eq!(ps[0].rule, "restore-server.state");
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
    assert_eq!(ps[0].rule, "restore-server.not-found");
}

// ------------------------------------------------------------------------------------------------
// Response shape, protocol, control plane
// ------------------------------------------------------------------------------------------------

#[test]
fn response_shape_of_a_create_backup_answer() {
    // response.shape
    let good = backup_body("web", "web-20250101000000000", "IN_PROGRESS", Some("d"));
    assert!(wire::shape::check_output(Operation::CreateBackup, &good).is_empty());
    let mut bad_enum = good.clone();
    bad_enum["Backup"]["Status"] = json!("DONE");
    let mut string_time = good.clone();
    string_time["Backup"]["CreatedAt"] = json!("2025-01-01T00:00:00Z");
    let mut unknown = good.clone();
    unknown["Backup"]["Colour"] = json!("blue");
    for body in [bad_enum, string_time, unknown] {
        assert!(
            !wire::shape::check_output(Operation::CreateBackup, &body).is_empty(),
            "{body}"
        );
    }
}

#[test]
fn protocol_error_bodies_name_a_documented_error_with_http_400() {
    // protocol.error
    let decode = |status: u16, header: Option<&str>, body: &str| {
        wire::decode_response(
            Dialect::AwsJson,
            Operation::CreateBackup,
            status,
            header,
            body.as_bytes(),
        )
    };
    assert_eq!(
        decode(
            400,
            None,
            r#"{"__type": "LimitExceededException", "message": "m"}"#
        ),
        Answer::Observed(Observation::Error(ErrorKind::LimitExceededException))
    );
    for (status, header, body) in [
        (400, None, r#"{"message": "no type"}"#),
        (400, None, r#"{"__type": "TeapotException"}"#),
        (404, None, r#"{"__type": "ResourceNotFoundException"}"#),
        (
            400,
            Some("InvalidStateException"),
            r#"{"__type": "LimitExceededException"}"#,
        ),
        (200, None, r#"{"__type": "ValidationException"}"#),
    ] {
        match decode(status, header, body) {
            Answer::Protocol(m) => assert_eq!(m.rule, "protocol.error", "{body}"),
            other => panic!("{status} {body}: {other:?}"),
        }
    }
}

#[test]
fn protocol_success_is_a_json_object() {
    // protocol.success
    let decode = |body: &str| {
        wire::decode_response(
            Dialect::AwsJson,
            Operation::DescribeServers,
            200,
            None,
            body.as_bytes(),
        )
    };
    assert_eq!(
        decode(r#"{"Servers": []}"#),
        Answer::Observed(Observation::Success(json!({"Servers": []})))
    );
    for body in ["not json", "[1, 2]"] {
        match decode(body) {
            Answer::Protocol(m) => assert_eq!(m.rule, "protocol.success"),
            other => panic!("{body}: {other:?}"),
        }
    }
    // An envelope CreateBackup answer where the model expects a listing.
    let ps = step(&healthy_web(), &call(Operation::DescribeServers, json!({})));
    let env = Observation::CreatedEnvelope {
        id: "abc123".into(),
        created_at: "2025-01-01T00:00:00Z".into(),
    };
    assert_eq!(
        ps[0].explain(&env, None).unwrap_err().rule,
        "protocol.success"
    );
}

#[test]
fn control_plane_contract_reset_put_and_settle() {
    // control-plane.contract
    let w = put(&reference(), "web", ServerStatus::Healthy, 2, 3);
    assert_eq!(w.backups.len(), 5);
    assert!(w.backups.iter().all(|b| b.status == BackupStatus::Ok));
    // Put replaces the server and its backups.
    let ps = step(
        &w,
        &Action::PutServer(spec("web", ServerStatus::Running, 1, 0)),
    );
    assert_eq!(rules_of(&ps), ["control-plane.contract"]);
    assert_eq!(ps[0].world.backups.len(), 1);
    assert_eq!(ps[0].world.servers["web"].status, ServerStatus::Running);
    // Reset removes everything but keeps the limit and readings.
    let ps = step(&w, &Action::Reset);
    assert_eq!(rules_of(&ps), ["control-plane.contract"]);
    assert_eq!(ps[0].expected, Expected::Done);
    assert_eq!(ps[0].world, reference());
}

// ------------------------------------------------------------------------------------------------
// Ambiguities: every reading is a possibility
// ------------------------------------------------------------------------------------------------

#[test]
fn ambiguity_limit_scope_per_server_or_per_account() {
    // ambiguity.limit-scope (A1): web 30 + db 20 manual backups; web's 31st is fine per server,
    // the account's 51st per account.
    let mut outcomes = BTreeMap::new();
    for w in World::all_readings(DEFAULT_LIMIT) {
        let w = put(&w, "web", ServerStatus::Healthy, 30, 0);
        let w = put(&w, "db", ServerStatus::Healthy, 20, 0);
        let ps = step(&w, &create_backup("web"));
        outcomes.insert(w.readings.limit_scope, names(&ps));
    }
    assert_eq!(outcomes[&LimitScope::PerServer], ["success"]);
    assert_eq!(
        outcomes[&LimitScope::PerAccount],
        ["LimitExceededException"]
    );
    assert_eq!(Readings::REFERENCE.limit_scope, LimitScope::PerServer);
}

#[test]
fn ambiguity_limit_value_follows_the_advertised_limit() {
    // ambiguity.limit-value (A2): 50 by the API, 10 by the user guide; the world carries the
    // endpoint's advertised limit.
    for limit in [10, 50] {
        let w = World::new(limit, Readings::REFERENCE);
        let below = put(&w, "web", ServerStatus::Healthy, limit - 1, 0);
        assert_eq!(names(&step(&below, &create_backup("web"))), ["success"]);
        let at = put(&w, "web", ServerStatus::Healthy, limit, 0);
        assert_eq!(
            names(&step(&at, &create_backup("web"))),
            ["LimitExceededException"]
        );
        let ps = step(&at, &call(Operation::DescribeAccountAttributes, json!({})));
        assert_eq!(
            ps[0].expected,
            Expected::AccountAttributes {
                used: (limit, limit),
                maximum: limit
            }
        );
    }
    assert_eq!(DEFAULT_LIMIT, 50);
}

#[test]
fn ambiguity_counted_statuses_failed_backup_at_the_limit() {
    // ambiguity.counted-statuses (A3): 49 OK + 1 FAILED: refused or accepted.
    let w = put(&reference(), "web", ServerStatus::Healthy, 49, 0);
    let (w, _) = created(&w, "web");
    let w = settled(&w, BackupStatus::Failed);
    assert_eq!(w.manual_count("web"), (49, 50));
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["LimitExceededException", "success"]);
    assert_eq!(ps[0].rule, "ambiguity.counted-statuses");
    // Both answers fit their possibility.
    assert!(ps[0]
        .explain(&Observation::Error(ErrorKind::LimitExceededException), None)
        .is_ok());
    let body = backup_body("web", &new_id(&w, "web"), "IN_PROGRESS", None);
    assert!(ps[1].explain(&Observation::Success(body), None).is_ok());
}

#[test]
fn ambiguity_error_precedence_state_or_limit() {
    // ambiguity.error-precedence (A4): BACKING_UP at the limit: InvalidState or LimitExceeded.
    let w = put(&reference(), "web", ServerStatus::BackingUp, 50, 0);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(
        names(&ps),
        ["InvalidStateException", "LimitExceededException"]
    );
    assert_eq!(
        rules_of(&ps),
        [
            "create-backup.state.backing-up",
            "ambiguity.error-precedence"
        ]
    );
    // A refused status at the limit too.
    let w = put(&reference(), "web", ServerStatus::ConnectionLost, 50, 0);
    assert_eq!(
        rules_of(&step(&w, &create_backup("web"))),
        ["create-backup.state.refused", "ambiguity.error-precedence"]
    );
    // Validation before not-found: only ValidationException.
    let ps = step(
        &reference(),
        &call(
            Operation::CreateBackup,
            json!({"ServerName": "ghost", "Description": "x".repeat(10001)}),
        ),
    );
    assert_eq!(names(&ps), ["ValidationException"]);
}

#[test]
fn ambiguity_status_after_backup_previous_or_fresh_health() {
    // ambiguity.status-after-backup (A5)
    let statuses = |after_backup: AfterBackup| {
        let w = World::new(
            DEFAULT_LIMIT,
            Readings {
                limit_scope: LimitScope::PerServer,
                after_backup,
                picks: Default::default(),
            },
        );
        let w = put(&w, "web", ServerStatus::Running, 0, 0);
        let (w, _) = created(&w, "web");
        let ends = spontaneous(&w);
        assert_eq!(ends[0], w);
        let mut seen: Vec<_> = ends[1..]
            .iter()
            .map(|e| (e.servers["web"].status, e.backups.last().unwrap().status))
            .collect();
        seen.sort();
        seen
    };
    assert_eq!(
        statuses(AfterBackup::Previous),
        [
            (ServerStatus::Running, BackupStatus::Ok),
            (ServerStatus::Running, BackupStatus::Failed)
        ]
    );
    assert_eq!(
        statuses(AfterBackup::FreshHealth),
        [
            (ServerStatus::Healthy, BackupStatus::Ok),
            (ServerStatus::Healthy, BackupStatus::Failed),
            (ServerStatus::Unhealthy, BackupStatus::Ok),
            (ServerStatus::Unhealthy, BackupStatus::Failed)
        ]
    );
}

#[test]
fn ambiguity_created_status_in_progress_or_ok() {
    // ambiguity.created-status (A6)
    let w = healthy_web();
    let ps = step(&w, &create_backup("web"));
    let id = new_id(&w, "web");
    for status in ["IN_PROGRESS", "OK"] {
        let body = backup_body("web", &id, status, None);
        assert!(
            ps[0].explain(&Observation::Success(body), None).is_ok(),
            "{status}"
        );
    }
    for status in ["FAILED", "DELETING", "DONE"] {
        let body = backup_body("web", &id, status, None);
        let m = ps[0]
            .explain(&Observation::Success(body), None)
            .unwrap_err();
        assert_eq!(m.rule, "ambiguity.created-status", "{status}");
    }
}

#[test]
fn ambiguity_backup_id_format_both_documented_forms() {
    // ambiguity.backup-id-format (A7)
    let w = healthy_web();
    let ps = step(&w, &create_backup("web"));
    for id in ["web-20161119234240240", "web-2016-11-19T23:42:40.240Z"] {
        let body = backup_body("web", id, "IN_PROGRESS", None);
        let after = ps[0].explain(&Observation::Success(body), None).unwrap();
        assert_eq!(after.backups.last().unwrap().id.as_deref(), Some(id));
    }
    let body = backup_body("web", "web-2016/11/19", "IN_PROGRESS", None);
    let m = ps[0]
        .explain(&Observation::Success(body), None)
        .unwrap_err();
    assert_eq!(m.rule, "create-backup.effect.backup-id");
}

#[test]
fn ambiguity_tag_limits_each_reading_allowed() {
    // ambiguity.tag-limits (A8): key 128, value 256, 51 tags, @, untrimmed whitespace.
    for input in [
        tag(&"k".repeat(128), "v"),
        tag("k", &"v".repeat(256)),
        json!({"ServerName": "web", "Tags": tags(51)}),
        tag("a@b", "v"),
        tag("   ", "v"),
        tag(&format!(" {} ", "k".repeat(128)), "v"),
    ] {
        let ps = create_with(input.clone());
        assert_eq!(
            names(&ps),
            ["ValidationException", "success"],
            "{}",
            &input.to_string()[..60.min(input.to_string().len())]
        );
        assert!(exercised(&ps[1], "ambiguity.tag-limits", Polarity::Pass));
    }
}

#[test]
fn ambiguity_pattern_anchoring_inside_match() {
    // ambiguity.pattern-anchoring (A9)
    let ps = create_with(json!({"ServerName": "web_1"}));
    assert_eq!(
        names(&ps),
        ["ValidationException", "ResourceNotFoundException"]
    );
    assert!(exercised(
        &ps[1],
        "ambiguity.pattern-anchoring",
        Polarity::Pass
    ));
    // An existing server whose name only matches inside (the control plane takes any name).
    let w = put(&reference(), "1web", ServerStatus::Healthy, 0, 0);
    let ps = step(&w, &create_backup("1web"));
    assert_eq!(names(&ps), ["ValidationException", "success"]);
}

#[test]
fn ambiguity_delete_server_in_progress_invalid_state_or_validation() {
    // ambiguity.delete-server-in-progress (A10)
    for status in [
        ServerStatus::Creating,
        ServerStatus::Modifying,
        ServerStatus::Restoring,
        ServerStatus::Setup,
        ServerStatus::UnderMaintenance,
    ] {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(
            &w,
            &call(Operation::DeleteServer, json!({"ServerName": "web"})),
        );
        assert_eq!(
            names(&ps),
            ["InvalidStateException", "ValidationException"],
            "{status}"
        );
        assert_eq!(ps[0].rule, "delete-server.in-progress");
    }
    let w = put(&reference(), "web", ServerStatus::BackingUp, 0, 0);
    let ps = step(
        &w,
        &call(Operation::DeleteServer, json!({"ServerName": "web"})),
    );
    assert_eq!(
        rules_of(&ps),
        [
            "server.backing-up.locked",
            "ambiguity.delete-server-in-progress"
        ]
    );
}

#[test]
fn ambiguity_unnamed_states_update_server_outside_backing_up() {
    // ambiguity.unnamed-states (A11)
    for status in ServerStatus::ALL {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(
            &w,
            &call(Operation::UpdateServer, json!({"ServerName": "web"})),
        );
        let want: &[&str] = match status {
            ServerStatus::BackingUp => &["InvalidStateException"],
            s if s.may_back_up() => &["success"],
            _ => &["InvalidStateException", "success"],
        };
        assert_eq!(names(&ps), want, "{status}");
        if want.len() == 2 {
            assert_eq!(ps[0].rule, "ambiguity.unnamed-states");
        }
    }
}

#[test]
fn ambiguity_error_type_form_plain_or_namespaced() {
    // ambiguity.error-type-form (A12)
    for raw in [
        "InvalidStateException",
        "com.amazonaws.opsworkscm#InvalidStateException",
        "InvalidStateException:http://internal.amazon.com/coral/com.amazonaws.opsworkscm/",
    ] {
        assert_eq!(wire::error_name(raw), "InvalidStateException");
        let body = json!({"__type": raw, "message": "m"}).to_string();
        assert_eq!(
            wire::decode_response(
                Dialect::AwsJson,
                Operation::CreateBackup,
                400,
                None,
                body.as_bytes()
            ),
            Answer::Observed(Observation::Error(ErrorKind::InvalidStateException)),
            "{raw}"
        );
    }
}

#[test]
fn ambiguity_describe_unknown_server_not_found_or_empty() {
    // ambiguity.describe-unknown-server (A13)
    let ps = step(
        &healthy_web(),
        &call(Operation::DescribeBackups, json!({"ServerName": "ghost"})),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException", "success"]);
    assert_eq!(
        rules_of(&ps),
        [
            "ambiguity.describe-unknown-server",
            "ambiguity.describe-unknown-server"
        ]
    );
    assert!(ps[1]
        .explain(&Observation::Success(json!({"Backups": []})), None)
        .is_ok());
}

#[test]
fn ambiguity_tag_reserved_prefix_aws_colon() {
    // ambiguity.tag-reserved-prefix (A14)
    for key in ["aws:stage", "AWS:stage", "aws:"] {
        let ps = create_with(tag(key, "v"));
        assert_eq!(names(&ps), ["ValidationException", "success"], "{key}");
        assert_eq!(ps[0].rule, "validation.tag-key.pattern");
        assert!(exercised(
            &ps[1],
            "ambiguity.tag-reserved-prefix",
            Polarity::Pass
        ));
    }
    assert_eq!(names(&create_with(tag("awsstage", "v"))), ["success"]);
}

#[test]
fn ambiguity_type_error_kind_validation_or_serialization() {
    // ambiguity.type-error-kind (A15)
    let ps = create_with(json!({"ServerName": "web", "Description": false}));
    assert_eq!(
        names(&ps),
        ["ValidationException", "SerializationException"]
    );
    assert_eq!(ps[1].rule, "ambiguity.type-error-kind");
    assert!(ps[1]
        .explain(&Observation::Error(ErrorKind::SerializationException), None)
        .is_ok());
}

// ------------------------------------------------------------------------------------------------
// The catalogue itself
// ------------------------------------------------------------------------------------------------

#[test]
fn every_rule_id_has_a_unit_test() {
    let text = [include_str!("mod.rs"), include_str!("held_and_strict.rs")].concat();
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !text.contains(&format!("// {id}")))
        .collect();
    assert!(
        missing.is_empty(),
        "rule ids without a unit test in src/model/tests/ (add a test with `// <id>` in it): {missing:?}"
    );
    assert!(RULES.iter().any(|r| r.kind == RuleKind::Ambiguity));
}

// ------------------------------------------------------------------------------------------------
// Property tests
// ------------------------------------------------------------------------------------------------

/// Server names the generator uses: two that get created, a differently cased one and one that
/// never exists.
const NAMES: [&str; 4] = ["web", "db", "Web", "ghost"];

#[derive(Debug, Clone)]
enum Act {
    Put {
        server: usize,
        status: ServerStatus,
        manual: u32,
        automated: u32,
    },
    Create {
        server: usize,
    },
    /// CreateBackup with an invalid input.
    Invalid(usize),
    Settle(BackupStatus),
    /// DeleteBackup of the n-th bound id (an unknown id when there is none).
    Delete(usize),
    Update {
        server: usize,
    },
    Maintenance {
        server: usize,
    },
    DeleteServer {
        server: usize,
    },
    Restore {
        server: usize,
        backup: usize,
    },
    DescribeBackups {
        server: Option<usize>,
    },
    DescribeServers,
    AccountAttributes,
}

fn invalid_input(k: usize) -> Value {
    match k % 6 {
        0 => json!({}),
        1 => json!({"ServerName": ""}),
        2 => json!({"ServerName": "a".repeat(41)}),
        3 => json!({"ServerName": "web", "Description": "x".repeat(10001)}),
        4 => json!({"ServerName": 7}),
        _ => json!({"ServerName": "web_1"}),
    }
}

fn status_strategy() -> impl Strategy<Value = ServerStatus> {
    prop::sample::select(ServerStatus::ALL.to_vec())
}

fn act_strategy() -> impl Strategy<Value = Act> {
    let server = 0..NAMES.len();
    let created = 0..2usize;
    prop_oneof![
        2 => (created.clone(), status_strategy(), 0u32..=6, 0u32..=3).prop_map(
            |(server, status, manual, automated)| Act::Put { server, status, manual, automated }
        ),
        1 => (created.clone(), prop::sample::select(vec![ServerStatus::Healthy, ServerStatus::Running, ServerStatus::Unhealthy]), 0u32..=6)
            .prop_map(|(server, status, manual)| Act::Put { server, status, manual, automated: 0 }),
        5 => server.clone().prop_map(|server| Act::Create { server }),
        1 => (0..6usize).prop_map(Act::Invalid),
        2 => prop::sample::select(vec![BackupStatus::Ok, BackupStatus::Failed]).prop_map(Act::Settle),
        2 => (0..16usize).prop_map(Act::Delete),
        1 => server.clone().prop_map(|server| Act::Update { server }),
        1 => server.clone().prop_map(|server| Act::Maintenance { server }),
        1 => server.clone().prop_map(|server| Act::DeleteServer { server }),
        1 => (server.clone(), 0..16usize).prop_map(|(server, backup)| Act::Restore { server, backup }),
        1 => prop::option::of(server).prop_map(|server| Act::DescribeBackups { server }),
        1 => Just(Act::DescribeServers),
        1 => Just(Act::AccountAttributes),
    ]
}

fn nth_id(w: &World, n: usize) -> String {
    let ids: Vec<&String> = w.backups.iter().filter_map(|b| b.id.as_ref()).collect();
    if ids.is_empty() {
        "web-19990101000000000".to_string()
    } else {
        ids[n % ids.len()].clone()
    }
}

fn to_action(act: &Act, w: &World) -> Action {
    let name = |i: usize| NAMES[i].to_string();
    match act {
        Act::Put {
            server,
            status,
            manual,
            automated,
        } => Action::PutServer(spec(
            NAMES[*server],
            *status,
            (*manual).min(w.limit),
            *automated,
        )),
        Act::Create { server } => create_backup(NAMES[*server]),
        Act::Invalid(k) => call(Operation::CreateBackup, invalid_input(*k)),
        Act::Settle(s) => Action::Settle(*s),
        Act::Delete(n) => call(Operation::DeleteBackup, json!({"BackupId": nth_id(w, *n)})),
        Act::Update { server } => call(
            Operation::UpdateServer,
            json!({"ServerName": name(*server), "BackupRetentionCount": 2}),
        ),
        Act::Maintenance { server } => call(
            Operation::StartMaintenance,
            json!({"ServerName": name(*server)}),
        ),
        Act::DeleteServer { server } => call(
            Operation::DeleteServer,
            json!({"ServerName": name(*server)}),
        ),
        Act::Restore { server, backup } => call(
            Operation::RestoreServer,
            json!({"ServerName": name(*server), "BackupId": nth_id(w, *backup)}),
        ),
        Act::DescribeBackups { server: Some(s) } => {
            call(Operation::DescribeBackups, json!({"ServerName": name(*s)}))
        }
        Act::DescribeBackups { server: None } => call(Operation::DescribeBackups, json!({})),
        Act::DescribeServers => call(Operation::DescribeServers, json!({})),
        Act::AccountAttributes => call(Operation::DescribeAccountAttributes, json!({})),
    }
}

/// The world a possibility leads to once the endpoint's answer is seen, as the emulator answers:
/// CreateBackup's id bound from a synthetic answer, fixture ids learned, DELETING backups gone.
fn answered(before: &World, p: &Possible, emulator: bool) -> World {
    let mut w = match &p.expected {
        Expected::CreatedBackup {
            server,
            description,
            finished,
        } => {
            let id = new_id(before, server);
            let status = if *finished { "OK" } else { "IN_PROGRESS" };
            let body = backup_body(server, &id, status, description.as_deref());
            p.explain(&Observation::Success(body), None)
                .expect("the emulator's answer fits its own possibility")
        }
        _ => p.world.clone(),
    };
    bind_fixture_ids(&mut w);
    if emulator {
        w.forget_deleting();
    }
    w
}

fn initial(limit: u32, reading: usize) -> World {
    let readings = Readings::all()[reading % 4].clone();
    World::new(limit, readings)
}

/// Servers that reached BACKING_UP through CreateBackup: BACKING_UP exactly while an
/// IN_PROGRESS backup of theirs exists. Servers the control plane put straight into BACKING_UP
/// (`Pending::Backup { previous: None }`) have no backup in progress and are left out.
fn check_backing_up_invariant(w: &World) -> Result<(), TestCaseError> {
    for (name, s) in &w.servers {
        if s.pending == Some(Pending::Backup { previous: None }) {
            prop_assert_eq!(s.status, ServerStatus::BackingUp);
            continue;
        }
        let in_progress = w
            .backups
            .iter()
            .filter(|b| &b.server == name && b.status == BackupStatus::InProgress)
            .count();
        prop_assert!(
            in_progress <= 1,
            "{} has {} backups in progress",
            name,
            in_progress
        );
        // A17: a server whose backup in progress was deleted may stay BACKING_UP until the job
        // ends, with no IN_PROGRESS backup left.
        let kept = w.readings.pick(Choice::DeleteInProgressKeepsBackingUp) == Some(1)
            && matches!(s.pending, Some(Pending::Backup { .. }));
        prop_assert_eq!(
            s.status == ServerStatus::BackingUp,
            in_progress == 1 || kept,
            "server {} is {} with {} backups in progress",
            name,
            s.status,
            in_progress
        );
    }
    for b in w
        .backups
        .iter()
        .filter(|b| b.status == BackupStatus::InProgress)
    {
        prop_assert!(
            w.servers
                .get(&b.server)
                .is_some_and(|s| s.status == ServerStatus::BackingUp),
            "an IN_PROGRESS backup of {} without a BACKING_UP server",
            b.server
        );
    }
    Ok(())
}

/// (c): an error leaves the world unchanged. The one exception is documented: DeleteBackup of a
/// backup already DELETING may answer ResourceNotFoundException because the deletion completed,
/// and then the world is the one without that backup.
fn check_errors_change_nothing(
    w: &World,
    a: &Action,
    ps: &[Possible],
) -> Result<(), TestCaseError> {
    for p in ps.iter().filter(|p| p.expected.error().is_some()) {
        // An error may settle one of the endpoint's choices (a reading), nothing else.
        let mut unchosen = p.world.clone();
        unchosen.readings = w.readings.clone();
        if unchosen == *w {
            continue;
        }
        // A backup being deleted may turn out gone (DeleteBackup again, or RestoreServer from it).
        let completed_deletion = match a {
            Action::Call {
                op: Operation::DeleteBackup | Operation::RestoreServer,
                input,
            } => {
                let id = input["BackupId"].as_str().unwrap_or_default();
                let mut gone = w.clone();
                let found = gone.backup_index(id);
                if let Some(i) = found {
                    std::sync::Arc::make_mut(&mut gone.backups).remove(i);
                    std::sync::Arc::make_mut(&mut gone.gone).insert(id.to_string());
                }
                p.expected == Expected::Error(ErrorKind::ResourceNotFoundException)
                    && found.is_some_and(|i| w.backups[i].status == BackupStatus::Deleting)
                    && unchosen == gone
            }
            _ => false,
        };
        prop_assert!(
            completed_deletion,
            "{:?} ({}) changed the world for {:?}",
            p.expected,
            p.rule,
            a
        );
    }
    Ok(())
}

fn check_rule_ids(ps: &[Possible]) -> Result<(), TestCaseError> {
    for p in ps {
        prop_assert!(rule_by_id(p.rule).is_some(), "unknown rule id {}", p.rule);
        for (r, _) in &p.exercised {
            prop_assert!(rule_by_id(r).is_some(), "unknown exercised rule id {}", r);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Following the reference reading (the emulator's), with ids bound as the emulator binds
    /// them: (a) the limit, (b) BACKING_UP iff a backup is in progress, (c) errors change
    /// nothing, (d) spontaneous keeps the world first.
    #[test]
    fn reference_runs_keep_the_invariants(
        limit in 1u32..=5,
        reading in 0usize..4,
        acts in prop::collection::vec(act_strategy(), 1..30),
    ) {
        let mut w = initial(limit, reading);
        for act in &acts {
            let a = to_action(act, &w);
            prop_assert_eq!(&spontaneous(&w)[0], &w, "(d) spontaneous(w)[0] == w");
            let ps = step(&w, &a);
            prop_assert!(!ps.is_empty(), "no outcome for {:?}", a);
            check_rule_ids(&ps)?;
            check_errors_change_nothing(&w, &a, &ps)?;
            let next = answered(&w, &ps[0], true);
            if let (Action::Call { op: Operation::CreateBackup, input }, Expected::CreatedBackup { server, .. }) = (&a, &ps[0].expected) {
                // (a) through CreateBackup the count never passes the limit.
                prop_assert_eq!(input["ServerName"].as_str(), Some(server.as_str()));
                let (_, high) = next.manual_count(server);
                prop_assert!(high <= limit, "{} has {} manual backups, limit {}", server, high, limit);
            }
            // (a) per server: the fixture puts at most `limit`, CreateBackup never passes it.
            for name in next.servers.keys() {
                let n = next.backups.iter().filter(|b| &b.server == name && b.kind == BackupType::Manual).count() as u32;
                prop_assert!(n <= limit, "{} has {} manual backups, limit {}", name, n, limit);
            }
            check_backing_up_invariant(&next)?;
            w = next;
        }
    }

    /// Any reading, any spontaneous ending between calls: (b), (c) and (d) still hold.
    #[test]
    fn every_reading_keeps_the_invariants(
        limit in 1u32..=5,
        reading in 0usize..4,
        acts in prop::collection::vec((act_strategy(), any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..30),
    ) {
        let mut w = initial(limit, reading);
        for (act, pick, ending) in &acts {
            let ends = spontaneous(&w);
            prop_assert_eq!(&ends[0], &w, "(d) spontaneous(w)[0] == w");
            for e in &ends {
                check_backing_up_invariant(e)?;
            }
            let w0 = ends[ending.index(ends.len())].clone();
            let a = to_action(act, &w0);
            let ps = step(&w0, &a);
            prop_assert!(!ps.is_empty(), "no outcome for {:?}", a);
            check_rule_ids(&ps)?;
            check_errors_change_nothing(&w0, &a, &ps)?;
            let p = &ps[pick.index(ps.len())];
            let next = answered(&w0, p, false);
            check_backing_up_invariant(&next)?;
            w = next;
        }
    }
}
