use std::collections::BTreeSet;

use serde_json::json;

use super::*;
use crate::model::{Action, Readings, ServerSpec, ServerStatus, DEFAULT_LIMIT};

fn world_with(
    name: &str,
    status: ServerStatus,
    manual_backups: u32,
    automated_backups: u32,
) -> World {
    let mut w = World::new(DEFAULT_LIMIT, Readings::REFERENCE);
    let engine = "ChefAutomate".to_string();
    let name = name.to_string();
    w.put_server(
        &ServerSpec {
            name,
            status,
            engine,
            manual_backups,
            automated_backups,
        },
        None,
    );
    w
}

fn scope(control_plane: bool) -> Scope {
    Scope {
        operations: Operation::ALL.to_vec(),
        control_plane,
    }
}

/// The features a tally counted at least once.
fn hit_features(tally: &Tally) -> BTreeSet<Feature> {
    features::allowed(&Operation::ALL)
        .into_iter()
        .filter(|f| tally.feature_count(f) > 0)
        .collect()
}

fn feature(op: Operation, member: &'static str, kind: Kind) -> Feature {
    Feature { op, member, kind }
}

#[test]
fn a_hand_made_plan_hits_exactly_its_features() {
    let w = world_with("web", ServerStatus::Healthy, 0, 0);
    let mut tally = Tally::default();
    tally.start_case();
    let tags = json!([{"Key": "k".repeat(128), "Value": " v"}, {"Key": "\u{e9}", "Value": "vv"}]);
    let create = json!({"ServerName": "", "Description": 7, "Tags": tags});
    tally.call(Operation::CreateBackup, &create, &w);
    let listing = json!({"ServerName": "web", "MaxResults": 1});
    tally.call(Operation::DescribeBackups, &listing, &w);
    tally.call(
        Operation::DeleteBackup,
        &json!({"BackupId": "a".repeat(80)}),
        &w,
    );
    let f = |member, kind| feature(Operation::CreateBackup, member, kind);
    let expected = BTreeSet::from([
        f("ServerName", Kind::Empty),
        f("Description", Kind::WrongType),
        f("Tags[].Key", Kind::Max),
        f("Tags[].Key", Kind::Length1),
        f("Tags[].Key", Kind::NonAscii),
        f("Tags[].Value", Kind::LeadingSpace),
        feature(Operation::DeleteBackup, "BackupId", Kind::MaxPlus1),
        feature(
            Operation::DescribeBackups,
            features::FILTERS_MEMBER,
            Kind::Filters(Filters {
                backup_id: false,
                server_name: true,
                max_results: true,
                next_token: false,
            }),
        ),
    ]);
    assert_eq!(hit_features(&tally), expected);
    // Two tags: neither 0, 1, the max (200) nor 201 items.
    assert_eq!(
        tally.feature_count(&f("Tags", Kind::Items1)),
        0,
        "two tags are not one"
    );
}

#[test]
fn lengths_and_maxima_come_from_the_service_model() {
    let allowed = features::allowed(&Operation::ALL);
    for f in &allowed {
        if matches!(
            f.kind,
            Kind::Max | Kind::MaxPlus1 | Kind::ItemsMax | Kind::ItemsMaxPlus1
        ) {
            let max = match features::member_shape(f.op, f.member) {
                Some(crate::model::service::Shape::String { max, .. })
                | Some(crate::model::service::Shape::List { max, .. }) => *max,
                _ => None,
            };
            assert!(max.is_some(), "{f:?} is counted but the model gives no max");
        }
    }
    // ServerName's max is 40 in the model: 40 characters are the max, 41 one more.
    let mut tally = Tally::default();
    let w = world_with("web", ServerStatus::Healthy, 0, 0);
    tally.call(
        Operation::DeleteServer,
        &json!({"ServerName": "a".repeat(40)}),
        &w,
    );
    tally.call(
        Operation::DeleteServer,
        &json!({"ServerName": "a".repeat(41)}),
        &w,
    );
    let f = |kind| feature(Operation::DeleteServer, "ServerName", kind);
    assert_eq!(
        hit_features(&tally),
        BTreeSet::from([f(Kind::Max), f(Kind::MaxPlus1)])
    );
    // 16 DescribeBackups filter combinations: the model has BackupId, ServerName, MaxResults
    // and NextToken.
    let filters = allowed
        .iter()
        .filter(|f| matches!(f.kind, Kind::Filters(_)));
    assert_eq!(filters.count(), 16);
}

#[test]
fn pairs_count_with_the_state_the_second_call_meets() {
    let w = world_with("web", ServerStatus::Healthy, DEFAULT_LIMIT, 1);
    let mut tally = Tally::default();
    tally.start_case();
    tally.call(
        Operation::DescribeServers,
        &json!({"ServerName": "web"}),
        &w,
    );
    tally.call(Operation::CreateBackup, &json!({"ServerName": "web"}), &w);
    tally.start_case();
    tally.call(Operation::DescribeAccountAttributes, &json!({}), &w);
    let hit: BTreeSet<Cell> = transitions::allowed(&Operation::ALL, true)
        .into_iter()
        .filter(|c| tally.cell_count(c) > 0)
        .collect();
    let cell = |column| Cell {
        first: Operation::DescribeServers,
        second: Operation::CreateBackup,
        column,
    };
    let expected: BTreeSet<Cell> = [
        Column::Any,
        Column::Status(ServerStatus::Healthy),
        Column::AtLimit,
        Column::Manual,
        Column::Automated,
    ]
    .into_iter()
    .map(cell)
    .collect();
    assert_eq!(hit, expected, "a new case's first call follows nothing");
}

#[test]
fn the_transition_denominator_is_what_the_model_lets_a_run_reach() {
    let ops = Operation::ALL;
    // 81 pairs; 72 whose second call names a server, each with 17 state columns.
    assert_eq!(transitions::allowed(&ops, true).len(), 81 + 72 * 17);
    assert_eq!(transitions::allowed(&ops, false).len(), 81);
    assert!(!transitions::names_server(
        Operation::DescribeAccountAttributes
    ));
    // After any first call the model refuses (an unknown server), every context is still
    // there for the second call: the control plane's state stays as it was put.
    for status in ServerStatus::ALL {
        for (manual, automated) in [(1, 0), (DEFAULT_LIMIT, 1)] {
            let w = world_with("web", status, manual, automated);
            let before = transitions::context(&w, &json!({"ServerName": "web"}));
            for op in ops {
                let input = json!({"ServerName": "ghost", "BackupId": "ghost-20160101000000000"});
                let action = Action::Call { op, input };
                for possible in crate::model::step(&w, &action) {
                    let after =
                        transitions::context(&possible.world, &json!({"ServerName": "web"}));
                    assert_eq!(after, before, "{op} on an unknown server changed {status}");
                }
            }
        }
    }
}

#[test]
fn the_bias_lists_only_what_is_uncovered_and_the_matrices_count_it() {
    let w = world_with("web", ServerStatus::Healthy, 0, 0);
    let mut tally = Tally::default();
    let empty = feature(Operation::DeleteServer, "ServerName", Kind::Empty);
    assert!(tally.bias(&scope(true)).features.contains(&empty));
    tally.call(Operation::DeleteServer, &json!({"ServerName": ""}), &w);
    let bias = tally.bias(&scope(true));
    assert!(!bias.features.contains(&empty));
    let m = tally.feature_matrix(&scope(true));
    assert_eq!(m.covered, 1);
    assert_eq!(m.allowed, features::allowed(&Operation::ALL).len() as u64);
    assert_eq!(m.allowed - m.covered, bias.features.len() as u64);
    let t = tally.transition_matrix(&scope(true));
    assert_eq!((t.covered, t.allowed), (0, 81 + 72 * 17));
    // The bias kept from the first draw lost what the call covered, as one counted afresh.
    tally.call(Operation::DeleteServer, &json!({"ServerName": "web"}), &w);
    let bias = tally.bias(&scope(true));
    assert_eq!(
        bias,
        Tally {
            bias: None,
            ..tally.clone()
        }
        .bias(&scope(true))
    );
    let cells = transitions::allowed(&Operation::ALL, true).len();
    let covered = tally.transition_matrix(&scope(true)).covered as usize;
    assert!(covered > 0);
    assert_eq!(bias.cells.len(), cells - covered);
}
