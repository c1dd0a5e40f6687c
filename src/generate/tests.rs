//! Tests of the generator: plans respect what exists, shrinking reaches a fixpoint, seeds
//! repeat.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::model::rules;
use crate::model::{validate::Violation, World};
use crate::plan::{parse_plan, resolve_placeholders, IdRef};

fn with_control_plane() -> GenConfig {
    GenConfig::default()
}

fn without_control_plane(servers: &[&str]) -> GenConfig {
    GenConfig {
        control_plane: false,
        servers: servers.iter().map(|s| s.to_string()).collect(),
        ..GenConfig::default()
    }
}

fn call_parts(step: &Step) -> Option<(Operation, &Value)> {
    match step {
        Step::Call {
            operation, input, ..
        } => Some((*operation, input)),
        _ => None,
    }
}

fn violations(op: Operation, input: &Value) -> Vec<Violation> {
    model::validation_errors(op, input)
}

/// The plan with each parallel block's calls in its written order (as the reader read them).
fn in_order(plan: &Plan) -> Plan {
    let steps = plan
        .steps
        .iter()
        .flat_map(|s| match s {
            Step::Parallel { calls } => calls.iter().map(ParallelCall::as_step).collect(),
            other => vec![other.clone()],
        })
        .collect();
    Plan::new(plan.name.clone(), steps)
}

/// Whether the plan calls CreateBackup on a server last put with `limit` manual backups.
fn creates_on_full_server(plan: &Plan, limit: u32) -> bool {
    let mut manual: BTreeMap<&str, u32> = BTreeMap::new();
    for step in &plan.steps {
        match step {
            Step::Reset {} => manual.clear(),
            Step::PutServer {
                server_name,
                manual_backups,
                ..
            } => {
                manual.insert(server_name, *manual_backups);
            }
            Step::Call {
                operation: Operation::CreateBackup,
                input,
                ..
            } => {
                let name = input.get("ServerName").and_then(Value::as_str);
                if name.and_then(|n| manual.get(n)) == Some(&limit) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[test]
fn the_same_seed_gives_the_same_plans() {
    for config in [with_control_plane(), without_control_plane(&["web"])] {
        let a = plans_for_seed(&config, 7, 40);
        assert_eq!(a, plans_for_seed(&config, 7, 40));
        assert_ne!(a, plans_for_seed(&config, 8, 40));
        let distinct: BTreeSet<String> = a.iter().map(Plan::to_json_pretty).collect();
        assert!(distinct.len() > 35, "plans of one seed should differ");
    }
}

#[test]
fn every_plan_round_trips_through_json() {
    let configs = [
        with_control_plane(),
        without_control_plane(&["web", "chef-prod"]),
        without_control_plane(&[]),
    ];
    for (k, (config, n)) in configs.iter().zip([200, 100, 50]).enumerate() {
        for plan in plans_for_seed(config, 100 + k as u64, n) {
            assert!(!plan.steps.is_empty());
            assert!(plan.steps.len() <= config.max_steps);
            let text = plan.to_json_pretty();
            let back = parse_plan("generated.json", &text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, plan);
        }
    }
}

/// Every server name a plan calls is an existing server, or one chosen not to be: unknown,
/// invalid or a case-changed name of a server, none of which exists at that point. Every
/// placeholder names a backup the plan can have.
fn check_references(config: &GenConfig, plan: &Plan) {
    let plan = &in_order(plan);
    let palette: Vec<String> = if config.control_plane {
        SERVER_NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        config.servers.clone()
    };
    let mut existing: BTreeMap<String, usize> = if config.control_plane {
        BTreeMap::new()
    } else {
        config.servers.iter().map(|s| (s.clone(), 0)).collect()
    };
    let mut creates = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        match step {
            Step::Reset {} => existing.clear(),
            Step::PutServer {
                server_name,
                manual_backups,
                automated_backups,
                ..
            } => {
                assert!(palette.contains(server_name));
                existing.insert(
                    server_name.clone(),
                    (manual_backups + automated_backups) as usize,
                );
            }
            Step::Settle { .. } => {}
            Step::Parallel { .. } => unreachable!("in_order took the blocks apart"),
            Step::Call {
                operation, input, ..
            } => {
                let at = || format!("step {i} ({step}) of\n{}", plan.to_json_pretty());
                if let Some(name) = input.get("ServerName").and_then(Value::as_str) {
                    let deliberate = UNKNOWN_NAMES.contains(&name)
                        || INVALID_NAMES.contains(&name)
                        || palette
                            .iter()
                            .any(|p| p.eq_ignore_ascii_case(name) && p != name);
                    if palette.iter().any(|p| p == name) {
                        assert!(
                            existing.contains_key(name),
                            "{name} does not exist: {}",
                            at()
                        );
                    } else {
                        assert!(deliberate, "{name} is not a chosen unknown name: {}", at());
                        assert!(!existing.contains_key(name), "{}", at());
                    }
                }
                if let Some(id) = input.get("BackupId").and_then(Value::as_str) {
                    match IdRef::parse(id) {
                        Some(IdRef::Created(n)) => assert!(n < creates, "{}", at()),
                        Some(IdRef::Backup { server, n }) => {
                            let count = existing.get(&server).copied().unwrap_or(0);
                            assert!(n < count, "{}", at());
                        }
                        None => assert!(!id.contains("${"), "{}", at()),
                    }
                }
                if *operation == Operation::CreateBackup {
                    creates += 1;
                }
            }
        }
    }
}

#[test]
fn plans_name_only_what_exists_unless_on_purpose() {
    let configs = [
        with_control_plane(),
        without_control_plane(&["web", "chef-prod"]),
        without_control_plane(&[]),
    ];
    for (k, (config, n)) in configs.iter().zip([300, 150, 50]).enumerate() {
        for plan in plans_for_seed(config, 200 + k as u64, n) {
            check_references(config, &plan);
        }
    }
}

#[test]
fn the_model_takes_every_generated_step() {
    let config = with_control_plane();
    for plan in plans_for_seed(&config, 300, 150) {
        let mut world = World::new(config.limit, model::Readings::REFERENCE);
        for step in &in_order(&plan).steps {
            let resolved = match step {
                Step::Call { input, .. } => Some(resolve_placeholders(input, &|_| None)),
                _ => None,
            };
            let possible = model::step(&world, &step.action(resolved));
            assert!(!possible.is_empty(), "no outcome for {step}");
            world = possible[0].world.clone();
        }
    }
}

/// `step_first` is `step`'s first possibility, from worlds under every reading (the last
/// possibility of each step keeps worlds whose choices were answered the other way around).
#[test]
fn step_first_is_the_first_possibility_under_every_reading() {
    let config = with_control_plane();
    for plan in plans_for_seed(&config, 301, 60) {
        let mut worlds = World::all_readings(config.limit);
        for step in &in_order(&plan).steps {
            let resolved = match step {
                Step::Call { input, .. } => Some(resolve_placeholders(input, &|_| None)),
                _ => None,
            };
            let action = step.action(resolved);
            let mut next = Vec::new();
            for w in &worlds {
                let all = model::step(w, &action);
                let first = model::step_first(w, &action);
                let reference = &all[0];
                assert_eq!(
                    (&first.expected, &first.world, first.rule, &first.exercised),
                    (
                        &reference.expected,
                        &reference.world,
                        reference.rule,
                        &reference.exercised
                    ),
                    "{step}"
                );
                next.push(reference.world.clone());
                if all.len() > 1 && next.len() < 8 {
                    next.push(all[all.len() - 1].world.clone());
                }
            }
            next.truncate(8);
            worlds = next;
        }
    }
}

/// The reader's world follows the model through placeholders: deleting a created backup frees
/// its slot, and restoring a fixture backup puts the server in RESTORING.
#[test]
fn the_reader_follows_backups_named_by_placeholders() {
    let config = with_control_plane();
    let create = Choice::CreateBackup(CreateInput {
        target: Target::Recent,
        description: Description::Absent,
        tags: Tags::Absent,
        malformed: None,
    });
    let mut reader = Reader::new(&config);
    let put = Choice::PutServer {
        slot: 0,
        status: ServerStatus::Healthy,
        manual: 49,
        automated: 0,
    };
    for c in [put, create, Choice::Settle(None)] {
        reader.read(&c);
    }
    assert_eq!(reader.world.manual_count("web"), (50, 50));
    reader.read(&Choice::DeleteBackup(BackupRef::Created(0)));
    assert_eq!(reader.world.manual_count("web"), (49, 49));
    reader.read(&Choice::RestoreServer(
        Target::Recent,
        BackupRef::Fixture(0, 0),
    ));
    assert_eq!(reader.world.servers["web"].status, ServerStatus::Restoring);
}

/// Counts, over many plans, the situations the generator is meant to reach often.
#[derive(Debug, Default)]
struct Hits {
    create_at_limit: usize,
    create_below_limit: usize,
    create_while_backing_up: usize,
    create_twice: usize,
    delete_then_create_at_limit: usize,
    settle_then_describe: usize,
    statuses: BTreeSet<ServerStatus>,
    description_lengths: BTreeSet<usize>,
    tag_counts: BTreeSet<usize>,
    wrong_type: usize,
    missing_member: usize,
    delete_placeholder: usize,
    operations: BTreeSet<Operation>,
}

fn count_hits(plans: &[Plan], limit: u32) -> Hits {
    let mut hits = Hits::default();
    for plan in &plans.iter().map(in_order).collect::<Vec<_>>() {
        // name -> (status, manual backups as put, deleted since)
        let mut servers: BTreeMap<String, (ServerStatus, u32, bool)> = BTreeMap::new();
        let mut previous: Option<&Step> = None;
        for step in &plan.steps {
            match step {
                Step::Reset {} => servers.clear(),
                Step::PutServer {
                    server_name,
                    status,
                    manual_backups,
                    ..
                } => {
                    hits.statuses.insert(*status);
                    servers.insert(server_name.clone(), (*status, *manual_backups, false));
                }
                Step::Settle { .. } => {
                    for s in servers.values_mut() {
                        if s.0 == ServerStatus::BackingUp {
                            s.0 = ServerStatus::Healthy;
                        }
                    }
                }
                Step::Parallel { .. } => unreachable!("in_order took the blocks apart"),
                Step::Call {
                    operation, input, ..
                } => hits.call(&mut servers, previous, *operation, input, limit),
            }
            previous = Some(step);
        }
    }
    hits
}

impl Hits {
    /// Counts one call, given the servers as put (status, manual backups, deleted since).
    fn call(
        &mut self,
        servers: &mut BTreeMap<String, (ServerStatus, u32, bool)>,
        previous: Option<&Step>,
        operation: Operation,
        input: &Value,
        limit: u32,
    ) {
        self.operations.insert(operation);
        let v = violations(operation, input);
        self.wrong_type += v.iter().any(|v| v.rule == rules::VALIDATION_TYPE) as usize;
        self.missing_member += v.iter().any(|v| v.rule == rules::VALIDATION_REQUIRED) as usize;
        let describes = matches!(
            operation,
            Operation::DescribeServers | Operation::DescribeBackups
        );
        if matches!(previous, Some(Step::Settle { .. })) && describes {
            self.settle_then_describe += 1;
        }
        let name = input.get("ServerName").and_then(Value::as_str);
        let id = input.get("BackupId").and_then(Value::as_str);
        if operation == Operation::DeleteBackup {
            if let Some(r) = id.and_then(IdRef::parse) {
                self.delete_placeholder += 1;
                if let IdRef::Backup { server, .. } = r {
                    if let Some(s) = servers.get_mut(&server) {
                        s.2 = true;
                    }
                }
            }
        }
        if operation != Operation::CreateBackup {
            return;
        }
        if let Some(d) = input.get("Description").and_then(Value::as_str) {
            self.description_lengths.insert(d.chars().count());
        }
        if let Some(t) = input.get("Tags").and_then(Value::as_array) {
            self.tag_counts.insert(t.len());
        }
        if let Some(prev) = previous.and_then(call_parts) {
            if prev.0 == Operation::CreateBackup
                && prev.1.get("ServerName").and_then(Value::as_str) == name
                && name.is_some_and(|n| servers.contains_key(n))
            {
                self.create_twice += 1;
            }
        }
        let Some(s) = name.and_then(|n| servers.get_mut(n)) else {
            return;
        };
        if s.1 == limit {
            self.create_at_limit += 1;
            self.delete_then_create_at_limit += s.2 as usize;
        }
        self.create_below_limit += (s.1 + 1 == limit) as usize;
        self.create_while_backing_up += (s.0 == ServerStatus::BackingUp) as usize;
        if v.is_empty() && s.0.may_back_up() {
            s.0 = ServerStatus::BackingUp;
        }
    }
}

#[test]
fn plans_reach_the_boundaries() {
    let config = with_control_plane();
    let plans = plans_for_seed(&config, 400, 500);
    let hits = count_hits(&plans, config.limit);
    println!("{hits:#?}");
    assert!(hits.create_at_limit >= 5, "{hits:?}");
    assert!(hits.create_below_limit >= 5, "{hits:?}");
    assert!(hits.create_while_backing_up >= 5, "{hits:?}");
    assert!(hits.create_twice >= 5, "{hits:?}");
    assert!(hits.delete_then_create_at_limit >= 1, "{hits:?}");
    assert!(hits.settle_then_describe >= 5, "{hits:?}");
    assert_eq!(hits.statuses.len(), 13, "{hits:?}");
    for n in [DESCRIPTION_MAX, DESCRIPTION_MAX + 1] {
        assert!(hits.description_lengths.contains(&n), "{hits:?}");
    }
    for n in TAG_COUNTS {
        assert!(hits.tag_counts.contains(&n), "{hits:?}");
    }
    assert!(hits.wrong_type >= 5, "{hits:?}");
    assert!(hits.missing_member >= 5, "{hits:?}");
    assert!(hits.delete_placeholder >= 5, "{hits:?}");
    assert_eq!(hits.operations.len(), Operation::ALL.len(), "{hits:?}");
}

#[test]
fn plans_call_only_the_operations_the_endpoint_serves() {
    let partial = GenConfig {
        operations: vec![
            Operation::CreateBackup,
            Operation::DescribeBackups,
            Operation::DeleteBackup,
            Operation::DescribeServers,
            Operation::UpdateServer,
        ],
        ..with_control_plane()
    };
    let create_only = GenConfig {
        operations: vec![Operation::CreateBackup],
        ..without_control_plane(&["web"])
    };
    // Parallel blocks too: no UpdateServer, StartMaintenance or DeleteServer inside them.
    let read_only = GenConfig {
        operations: vec![
            Operation::CreateBackup,
            Operation::DescribeServers,
            Operation::DescribeBackups,
        ],
        ..with_control_plane()
    };
    for config in [partial, create_only, read_only] {
        let mut seen = std::collections::BTreeSet::new();
        for plan in plans_for_seed(&config, 11, 200) {
            for (op, _) in in_order(&plan).steps.iter().filter_map(call_parts) {
                assert!(config.operations.contains(&op), "{op} in {plan:?}");
                seen.insert(op);
            }
        }
        assert_eq!(seen.len(), config.operations.len(), "{seen:?}");
    }
}

#[test]
fn without_a_control_plane_plans_change_nothing_but_their_own_backups() {
    let safe = [
        Operation::CreateBackup,
        Operation::DescribeBackups,
        Operation::DeleteBackup,
        Operation::DescribeServers,
        Operation::DescribeAccountAttributes,
    ];
    let mut named_creates = 0;
    for (servers, n) in [(&["web", "chef-prod"][..], 300), (&[][..], 100)] {
        let config = without_control_plane(servers);
        for plan in plans_for_seed(&config, 500, n) {
            assert!(!plan.needs_control_plane(), "{}", plan.to_json_pretty());
            let mut creates = 0;
            let mut paid = 0;
            for step in &plan.steps {
                let (op, input) = call_parts(step).expect("only calls");
                assert!(safe.contains(&op), "{op} in {}", plan.to_json_pretty());
                if op == Operation::DeleteBackup {
                    let id = input["BackupId"].as_str().unwrap_or_default();
                    assert!(
                        matches!(IdRef::parse(id), Some(IdRef::Created(n)) if n < creates),
                        "{id} in {}",
                        plan.to_json_pretty()
                    );
                }
                if op == Operation::CreateBackup {
                    creates += 1;
                    let name = input.get("ServerName").and_then(Value::as_str);
                    let named = name
                        .is_some_and(|n| config.servers.iter().any(|s| s.eq_ignore_ascii_case(n)));
                    if named && !model::has_definite(&violations(op, input)) {
                        paid += 1;
                    }
                }
            }
            assert!(paid <= MAX_PAID_BACKUPS, "{}", plan.to_json_pretty());
            named_creates += paid;
            if servers.is_empty() {
                assert_eq!(paid, 0);
            }
        }
    }
    assert!(
        named_creates > 50,
        "named servers should get valid CreateBackups"
    );
}

/// Shrinks as a runner does: keep a change while the case fails, undo it when it passes.
fn shrink(tree: &mut impl ValueTree<Value = Plan>, fails: impl Fn(&Plan) -> bool) -> (Plan, usize) {
    let mut last = tree.current();
    assert!(fails(&last));
    let mut runs = 0;
    if tree.simplify() {
        loop {
            let plan = tree.current();
            runs += 1;
            if fails(&plan) {
                last = plan;
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    // The tree ends at the last failing plan, as proptest expects.
    assert_eq!(tree.current(), last);
    (last, runs)
}

#[test]
fn a_failure_shrinks_to_put_server_and_create_backup() {
    let config = with_control_plane();
    let strategy = plan_strategy(&config);
    let mut runner = runner_for_seed(600);
    let fails = |p: &Plan| creates_on_full_server(p, config.limit);
    let mut shrunk = 0;
    let mut max_runs = 0;
    while shrunk < 25 {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        if !fails(&tree.current()) || tree.current().steps.len() < 6 {
            continue;
        }
        let original = tree.current();
        let (plan, runs) = shrink(&mut tree, fails);
        max_runs = max_runs.max(runs);
        let shown = || {
            format!(
                "from\n{}\nto\n{}",
                original.to_json_pretty(),
                plan.to_json_pretty()
            )
        };
        assert_eq!(plan.steps.len(), 2, "{}", shown());
        let Step::PutServer {
            server_name,
            status,
            manual_backups,
            automated_backups,
            ..
        } = &plan.steps[0]
        else {
            panic!("{}", shown());
        };
        assert_eq!(*manual_backups, config.limit);
        // Everything the failure does not need is as simple as it gets.
        assert_eq!(server_name, "web", "{}", shown());
        assert_eq!(*status, ServerStatus::Healthy, "{}", shown());
        assert_eq!(*automated_backups, 0, "{}", shown());
        assert_eq!(
            plan.steps[1],
            Step::call(Operation::CreateBackup, json!({"ServerName": "web"})),
            "{}",
            shown()
        );
        shrunk += 1;
    }
    println!("shrunk {shrunk} plans, at most {max_runs} runs each");
}

/// Whether a parallel block sends two CreateBackups to one server the plan put.
fn races_two_creates(plan: &Plan) -> bool {
    let mut put = BTreeSet::new();
    plan.steps.iter().any(|s| match s {
        Step::PutServer { server_name, .. } => {
            put.insert(server_name.clone());
            false
        }
        Step::Parallel { calls } => {
            let mut per_server: BTreeMap<&str, usize> = BTreeMap::new();
            for c in calls
                .iter()
                .filter(|c| c.operation == Operation::CreateBackup)
            {
                if let Some(n) = c.input["ServerName"].as_str().filter(|n| put.contains(*n)) {
                    *per_server.entry(n).or_default() += 1;
                }
            }
            per_server.values().any(|&n| n >= 2)
        }
        _ => false,
    })
}

#[test]
fn plans_hold_parallel_blocks_that_race_creates() {
    let config = with_control_plane();
    let plans = plans_for_seed(&config, 800, 300);
    let mut blocks = 0;
    for plan in &plans {
        for s in &plan.steps {
            if let Step::Parallel { calls } = s {
                blocks += 1;
                assert!((2..=GENERATED_BLOCK_MAX).contains(&calls.len()), "{s}");
            }
        }
    }
    let racing = plans.iter().filter(|p| races_two_creates(p)).count();
    println!("{blocks} blocks, {racing} of 300 plans race two creates");
    assert!(blocks >= 60, "{blocks} blocks");
    assert!(racing >= 30, "{racing} plans race two creates");
}

#[test]
fn a_race_shrinks_to_put_server_and_a_block_of_two_creates() {
    let config = with_control_plane();
    let strategy = plan_strategy(&config);
    let mut runner = runner_for_seed(900);
    let mut shrunk = 0;
    while shrunk < 10 {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        if !races_two_creates(&tree.current()) || tree.current().steps.len() < 4 {
            continue;
        }
        let (plan, _) = shrink(&mut tree, races_two_creates);
        let create = ParallelCall::new(Operation::CreateBackup, json!({"ServerName": "web"}));
        let expected = vec![
            Step::PutServer {
                server_name: "web".into(),
                status: ServerStatus::Healthy,
                engine: "ChefAutomate".into(),
                manual_backups: 0,
                automated_backups: 0,
            },
            Step::Parallel {
                calls: vec![create.clone(), create],
            },
        ];
        assert_eq!(plan.steps, expected, "{}", plan.to_json_pretty());
        shrunk += 1;
    }
}

#[test]
fn a_one_call_failure_shrinks_to_one_simple_call() {
    let config = with_control_plane();
    let strategy = plan_strategy(&config);
    let mut runner = runner_for_seed(700);
    let fails = |p: &Plan| {
        p.steps.iter().any(|s| {
            call_parts(s).is_some_and(|(op, input)| {
                op == Operation::CreateBackup
                    && input["Description"]
                        .as_str()
                        .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
            })
        })
    };
    let mut shrunk = 0;
    while shrunk < 10 {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        if !fails(&tree.current()) {
            continue;
        }
        let (plan, _) = shrink(&mut tree, fails);
        let expected = Step::call(
            Operation::CreateBackup,
            json!({"ServerName": UNKNOWN_NAMES[0], "Description": "d".repeat(DESCRIPTION_MAX + 1)}),
        );
        assert_eq!(plan.steps, vec![expected]);
        shrunk += 1;
    }
}
