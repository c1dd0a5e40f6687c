//! Unit and property tests of the model.
//!
//! Every rule id of [`RULES`] has at least one unit test named after it, with the exact id in the
//! body; `every_rule_id_has_a_unit_test` fails naming any id these files forget. One file per
//! family of rules (`create_backup`, `validation`, `observation`, `other_operations`,
//! `protocol`, `held_and_strict`); `ambiguities` shows that each reading is a possibility. The
//! property tests (`properties`) run random action sequences, answering each call as the bundled
//! emulator would (the reference reading, ids bound from a synthetic answer, deleted backups gone
//! at once), and check invariants of the relation. Here: the helpers they share and the
//! catalogue's own tests.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::rules::{RuleId, RuleKind, RULES};
use super::service::{ServiceModel, Shape};
use super::*;
use crate::wire::{self, Answer, Dialect};

mod ambiguities;
mod create_backup;
mod held_and_strict;
mod observation;
mod other_operations;
mod properties;
mod protocol;
mod validation;

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

fn rules_of(ps: &[Possible]) -> Vec<RuleId> {
    ps.iter().map(|p| p.rule).collect()
}

fn exercised(p: &Possible, rule: RuleId, polarity: Polarity) -> bool {
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
// The catalogue itself
// ------------------------------------------------------------------------------------------------

#[test]
fn every_rule_id_has_a_unit_test() {
    let text = [
        include_str!("mod.rs"),
        include_str!("ambiguities.rs"),
        include_str!("create_backup.rs"),
        include_str!("held_and_strict.rs"),
        include_str!("observation.rs"),
        include_str!("other_operations.rs"),
        include_str!("properties.rs"),
        include_str!("protocol.rs"),
        include_str!("validation.rs"),
    ]
    .concat();
    let missing: Vec<RuleId> = RULES
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
