//! Steering a case towards what the run has not covered yet: the runner hands each case a
//! [`Bias`] (the input features and transition cells still uncovered) and the case's plan gets
//! a few calls that send uncovered features, and walks that put a server in an uncovered state
//! and call uncovered pairs of operations on it. The generator stays stateless per case: the
//! same plan, bias and draw give the same steps.
//!
//! Only with a control plane: without one, the generator keeps to its own calls on the servers
//! the user named (a steered call could create a billed backup).

use std::collections::BTreeSet;

use crate::coverage::features::{self, Kind};
use crate::coverage::{Bias, Cell, Column, Feature};
use crate::model::service::Shape;

use super::*;

/// Uncovered features a case sends at most.
const STEERED_FEATURES: usize = 3;
/// Walks a case makes at most.
const WALKS: usize = 2;
/// Calls of one walk at most.
const WALK_CALLS: usize = 8;
/// The server steered calls name (walks put it in the state they want).
const STEERED_SERVER: &str = SERVER_NAMES[2];

/// The random choices of steering, from one drawn number (splitmix64).
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// `plan` with steps towards what `bias` says is uncovered, chosen by `draw`.
pub(super) fn steer(mut plan: Plan, bias: &Bias, draw: u64, config: &GenConfig) -> Plan {
    if !config.control_plane {
        return plan;
    }
    let mut draw = Draw(draw);
    let mut wanted: Vec<&Feature> = bias
        .features
        .iter()
        .filter(|f| config.operations.contains(&f.op))
        .collect();
    for _ in 0..STEERED_FEATURES {
        if wanted.is_empty() {
            break;
        }
        let f = wanted.swap_remove(draw.below(wanted.len()));
        plan.steps
            .push(Step::call(f.op, feature_input(f, SERVER_NAMES[0])));
    }
    let cells: BTreeSet<Cell> = bias
        .cells
        .iter()
        .filter(|c| config.operations.contains(&c.first) && config.operations.contains(&c.second))
        .copied()
        .collect();
    let listed: Vec<&Cell> = cells.iter().collect();
    for _ in 0..WALKS.min(listed.len()) {
        let start = *listed[draw.below(listed.len())];
        plan.steps.extend(walk(start, &cells, config, &mut draw));
    }
    plan
}

/// A call of `op` that names `server` (and its `n`-th backup where a backup is named).
fn call_input(op: Operation, server: &str, n: usize) -> Value {
    match op {
        Operation::DescribeAccountAttributes => json!({}),
        Operation::DeleteBackup => json!({"BackupId": backup_ref(server, n)}),
        Operation::RestoreServer => {
            json!({"ServerName": server, "BackupId": backup_ref(server, n)})
        }
        _ => json!({"ServerName": server}),
    }
}

/// A valid value for a member, which the features' values are made from.
fn valid_value(member: &str, server: &str) -> String {
    match member {
        "ServerName" => server.to_string(),
        "BackupId" => UNKNOWN_BACKUP_IDS[0].to_string(),
        "PreferredBackupWindow" | "PreferredMaintenanceWindow" => "08:00".to_string(),
        "Tags[].Key" => "env".to_string(),
        "Tags[].Value" => "prod".to_string(),
        _ => "nightly".to_string(),
    }
}

/// A call's input that sends feature `f` (the other members as a plain call on `server`).
pub(super) fn feature_input(f: &Feature, server: &str) -> Value {
    let mut input = call_input(f.op, server, 0);
    let max = |member: &str| match features::member_shape(f.op, member) {
        Some(Shape::String { max, .. } | Shape::List { max, .. }) => *max,
        _ => None,
    };
    if let Kind::Filters(filters) = f.kind {
        let mut m = Map::new();
        if filters.backup_id {
            m.insert("BackupId".into(), json!(backup_ref(server, 0)));
        }
        if filters.server_name {
            m.insert("ServerName".into(), json!(server));
        }
        if filters.max_results {
            m.insert("MaxResults".into(), json!(1));
        }
        if filters.next_token {
            m.insert("NextToken".into(), json!("conformance-token"));
        }
        return Value::Object(m);
    }
    if let Some(n) = features::list_len(f.kind, max(f.member)) {
        input[f.member] = Value::Array((0..n).map(|i| tag(format!("k{i}"), "v")).collect());
        return input;
    }
    let base = valid_value(f.member, server);
    let Some(value) = features::string_sample(f.kind, max(f.member), &base) else {
        return input;
    };
    match f.member.split_once("[].") {
        Some((list, "Key")) => input[list] = json!([{"Key": value, "Value": "prod"}]),
        Some((list, _)) => input[list] = json!([{"Key": "env", "Value": value}]),
        None => input[f.member] = value,
    }
    input
}

/// A walk towards `start`: a put-server in a state of `start`'s column, `start.first` (on a
/// server that does not exist, so the state stays), then `start.second` and the calls whose
/// pairs in that state are still uncovered, each on the server.
fn walk(start: Cell, uncovered: &BTreeSet<Cell>, config: &GenConfig, draw: &mut Draw) -> Vec<Step> {
    let limit = config.limit;
    let status = match start.column {
        Column::Status(s) => s,
        _ => ServerStatus::ALL[draw.below(ServerStatus::ALL.len())],
    };
    let at_limit = match start.column {
        Column::AtLimit => true,
        Column::BelowLimit => false,
        _ => draw.below(3) == 0,
    };
    let manual = if at_limit || limit <= 1 {
        limit
    } else {
        1 + draw.below(limit as usize - 1) as u32
    };
    let automated = u32::from(start.column == Column::Automated || draw.below(2) == 0);
    let mut columns = vec![Column::Any, Column::Status(status)];
    columns.push(if at_limit {
        Column::AtLimit
    } else {
        Column::BelowLimit
    });
    if manual > 0 {
        columns.push(Column::Manual);
    }
    if automated > 0 {
        columns.push(Column::Automated);
    }
    let mut steps = vec![
        Step::PutServer {
            server_name: STEERED_SERVER.to_string(),
            status,
            engine: "ChefAutomate".to_string(),
            manual_backups: manual,
            automated_backups: automated,
        },
        Step::call(start.first, call_input(start.first, UNKNOWN_NAMES[0], 0)),
    ];
    let backups = (manual + automated).max(1) as usize;
    let mut next = start.second;
    for n in 0..WALK_CALLS {
        steps.push(Step::call(
            next,
            call_input(next, STEERED_SERVER, n % backups),
        ));
        let previous = next;
        let gain = |op: Operation| {
            columns
                .iter()
                .filter(|&&column| {
                    uncovered.contains(&Cell {
                        first: previous,
                        second: op,
                        column,
                    })
                })
                .count()
        };
        let best = config
            .operations
            .iter()
            .map(|&op| gain(op))
            .max()
            .unwrap_or(0);
        if best == 0 {
            break;
        }
        let ties: Vec<Operation> = config
            .operations
            .iter()
            .copied()
            .filter(|&op| gain(op) == best)
            .collect();
        next = ties[draw.below(ties.len())];
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{features, Filters};

    /// The plans drawn for `bias` from seed 5.
    fn steered_plans(bias: &Bias, n: usize) -> Vec<Plan> {
        let strategy = plan_strategy_steered(&GenConfig::default(), bias);
        let mut runner = runner_for_seed(5);
        (0..n)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    }

    fn calls(plan: &Plan) -> Vec<(Operation, Value)> {
        plan.steps
            .iter()
            .filter_map(|s| match s {
                Step::Call {
                    operation, input, ..
                } => Some((*operation, input.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_bias_steers_every_case_to_an_uncovered_feature() {
        // A feature the unsteered generator never sends: a BackupId of exactly 79 characters.
        let wanted = Feature {
            op: Operation::DeleteBackup,
            member: "BackupId",
            kind: Kind::Max,
        };
        let sends = |plan: &Plan| {
            calls(plan)
                .iter()
                .any(|(op, input)| features::observe(*op, input).contains(&wanted))
        };
        let plain = plans_for_seed(&GenConfig::default(), 5, 30);
        assert!(!plain.iter().any(sends), "the unsteered generator sends it");
        let bias = Bias {
            features: vec![wanted.clone()],
            cells: vec![],
        };
        assert!(steered_plans(&bias, 30).iter().all(sends));
        // Nothing left to cover: the plain generator's plans.
        let steps = |plans: Vec<Plan>| plans.into_iter().map(|p| p.steps).collect::<Vec<_>>();
        assert_eq!(steps(steered_plans(&Bias::default(), 30)), steps(plain));
    }

    #[test]
    fn the_bias_steers_to_an_uncovered_pair_in_its_state() {
        let cell = Cell {
            first: Operation::UpdateServer,
            second: Operation::RestoreServer,
            column: Column::Status(ServerStatus::Terminated),
        };
        let bias = Bias {
            features: vec![],
            cells: vec![cell],
        };
        for plan in steered_plans(&bias, 10) {
            // A put-server in TERMINATED, then the pair, the second call on that server.
            let at = plan.steps.iter().rposition(|s| {
                matches!(
                    s,
                    Step::PutServer {
                        status: ServerStatus::Terminated,
                        ..
                    }
                )
            });
            let at = at.expect("a put-server in the uncovered status");
            let after: Vec<(Operation, &Value)> = plan.steps[at + 1..]
                .iter()
                .filter_map(|s| match s {
                    Step::Call {
                        operation, input, ..
                    } => Some((*operation, input)),
                    _ => None,
                })
                .collect();
            assert_eq!(after[0].0, Operation::UpdateServer, "{plan:#?}");
            assert_eq!(after[1].0, Operation::RestoreServer);
            assert_eq!(after[1].1["ServerName"], STEERED_SERVER);
        }
    }

    #[test]
    fn every_filter_combination_can_be_sent() {
        for f in features::allowed(&Operation::ALL) {
            let Kind::Filters(Filters { .. }) = f.kind else {
                continue;
            };
            let input = feature_input(&f, "web");
            assert!(
                features::observe(f.op, &input).contains(&f),
                "{f:?}: {input}"
            );
        }
    }
}
