//! The conformance suite as a libtest-mimic harness: one trial per scenario file
//! (`scenario::<family>::<name>`) and one per property (`property::<name>`), run against the
//! embedded emulator unless aimed elsewhere:
//!
//!     cargo test --test conformance -- --endpoint http://127.0.0.1:4566
//!     AWS_ENDPOINT_URL_OPSWORKSCM=http://127.0.0.1:4566 cargo test --test conformance
//!
//! Our own flags (`--endpoint`, `--dialect`, `--region`, `--cases`, `--seed`, `--control-plane`,
//! `--server`) are taken out before libtest-mimic parses the rest, so every libtest flag keeps
//! working (filters, `--exact`, `--list`, `--ignored`, `--format`) and the suite shards under
//! `cargo nextest run --partition`. Listing starts nothing: an endpoint is touched only when a
//! trial runs. When the whole suite runs unfiltered, every rule id must have been exercised;
//! a rule no trial exercised fails the run with a message naming it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, ValueEnum};
use libtest_mimic::{Arguments, Failed, Trial};
use opsworkscm_conformance::cli::{DialectArg, RequireOperationsArg, SuiteArgs};
use opsworkscm_conformance::model::rules::RULES;
use opsworkscm_conformance::report::{self, TrialOutcome, Verdict};
use opsworkscm_conformance::runner::{ControlPlaneMode, EmulatorSettings, RunConfig};
use opsworkscm_conformance::target::EndpointSpec;
use opsworkscm_conformance::wire::Dialect;

/// Settings taken from our own flags and the environment.
#[derive(Debug, Clone)]
struct Suite {
    endpoint: EndpointSpec,
    endpoint_arg: String,
    region: String,
    dialect: Dialect,
    cases: u64,
    seed: u64,
    control_plane: ControlPlaneMode,
    servers: Vec<String>,
    /// `--require-operations all`.
    require_all_operations: bool,
    /// Stop a property at its first divergence (`--fail-fast`, or CI set).
    fail_fast: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Splits our flags (the `run` flags of [`SuiteArgs`], as clap declares them) from libtest's,
/// and parses ours with clap.
fn parse() -> Result<(Suite, Vec<String>), String> {
    let command = SuiteArgs::command();
    // Each long flag, and whether it takes a value (`--fail-fast` does not).
    let longs: Vec<(String, bool)> = command
        .get_arguments()
        .filter_map(|a| {
            let takes = a.get_action().takes_values();
            a.get_long().map(|l| (format!("--{l}"), takes))
        })
        .collect();
    let mut ours = Vec::new();
    let mut rest = Vec::new();
    let mut args = std::env::args();
    rest.push(args.next().unwrap_or_default());
    while let Some(a) = args.next() {
        let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
        let Some((_, takes_value)) = longs.iter().find(|(l, _)| l == name) else {
            rest.push(a);
            continue;
        };
        if *takes_value && !a.contains('=') {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            ours.push(a);
            ours.push(value);
        } else {
            ours.push(a);
        }
    }
    // clap's message starts with its own "error: ".
    let clap_error = |e: clap::Error| e.to_string().trim_start_matches("error: ").to_string();
    let matches = command.try_get_matches_from(&ours).map_err(clap_error)?;
    let flags = SuiteArgs::from_arg_matches(&matches).map_err(clap_error)?;
    let (endpoint, region) = flags.target.resolve(&env).map_err(|e| e.to_string())?;
    // The environment names a dialect and a seed only where the flags do not.
    let dialect = match env("OPSWORKSCM_CONFORMANCE_DIALECT") {
        Some(v) if matches.value_source("dialect") == Some(ValueSource::DefaultValue) => {
            DialectArg::from_str(&v, false)?
        }
        _ => flags.target.dialect,
    };
    let seed = match (flags.cases.seed, env("OPSWORKSCM_CONFORMANCE_SEED")) {
        (Some(seed), _) => seed,
        (None, Some(v)) => v.parse().map_err(|_| {
            format!("OPSWORKSCM_CONFORMANCE_SEED must be a whole number, not {v:?}")
        })?,
        (None, None) => 20_261_127,
    };
    let endpoint_arg = match &endpoint {
        EndpointSpec::Embedded => "embedded".to_string(),
        EndpointSpec::Url(u) => u.to_string(),
    };
    Ok((
        Suite {
            endpoint,
            endpoint_arg,
            region,
            dialect: dialect.into(),
            cases: flags.cases.cases,
            seed,
            control_plane: flags.target.control_plane.into(),
            servers: flags.target.servers,
            require_all_operations: flags.target.require_operations == RequireOperationsArg::All,
            fail_fast: flags.cases.fail_fast || env("CI").is_some(),
        },
        rest,
    ))
}

/// The scenario library (`OPSWORKSCM_CONFORMANCE_SCENARIOS` points the suite at another one).
fn scenarios_dir() -> PathBuf {
    env("OPSWORKSCM_CONFORMANCE_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
}

/// A property: generated sequences (parallel blocks among their steps) with their own
/// emulator settings when the endpoint is embedded.
struct Property {
    name: &'static str,
    backup_duration: Option<std::time::Duration>,
    /// The share of `--cases` it runs: 1 in `divisor` (at least one case).
    divisor: u64,
}

const PROPERTIES: &[Property] = &[
    // Generated sequences of fixture steps and calls, checked step by step.
    Property {
        name: "property::generated-sequences",
        backup_duration: None,
        divisor: 1,
    },
    // The same with backups finishing by themselves (no false divergence for any timing).
    // A quarter of the cases: every step may follow any ending of the work in progress, so a
    // case costs about eight times a synchronous one to judge.
    Property {
        name: "property::async-completion",
        backup_duration: Some(std::time::Duration::from_millis(1)),
        divisor: 4,
    },
];

/// What the trials saw, across trials: each rule's (passed, failed) counts, and the operations
/// the endpoint does not serve.
#[derive(Default)]
struct Seen {
    rules: BTreeMap<String, (u64, u64)>,
    not_served: std::collections::BTreeSet<String>,
}

type Coverage = Arc<Mutex<Seen>>;

fn run_trial(
    suite: &Suite,
    only: String,
    plan: Option<opsworkscm_conformance::plan::Plan>,
    property: Option<&Property>,
    coverage: &Coverage,
) -> Result<(), Failed> {
    let generated = property.is_some();
    let backup_duration = property.and_then(|p| p.backup_duration);
    let embedded = suite.endpoint == EndpointSpec::Embedded;
    let config = RunConfig {
        endpoint: suite.endpoint.clone(),
        endpoint_arg: suite.endpoint_arg.clone(),
        dialect: suite.dialect,
        region: suite.region.clone(),
        cases: property.map_or(suite.cases, |p| (suite.cases / p.divisor).max(1)),
        seed: Some(suite.seed),
        report_dir: None,
        scenarios_dir: Some(scenarios_dir()),
        control_plane: suite.control_plane,
        servers: suite.servers.clone(),
        require_all_operations: suite.require_all_operations,
        save_regressions: false,
        only_trials: vec![only.clone()],
        generated,
        plans: Some(plan.map(|p| vec![(only.clone(), p)]).unwrap_or_default()),
        property_name: only.clone(),
        stop_at_first: property.is_some() && suite.fail_fast,
        emulator: EmulatorSettings {
            backup_duration: if embedded { backup_duration } else { None },
            ..EmulatorSettings::default()
        },
        ..RunConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start a runtime: {e}")))?;
    let outcome = rt
        .block_on(report::run(config))
        .map_err(|e| Failed::from(format!("{e:#}")))?;
    {
        let mut cov = coverage.lock().unwrap_or_else(|p| p.into_inner());
        for r in &outcome.report.coverage {
            let e = cov.rules.entry(r.id.clone()).or_default();
            e.0 += r.passed;
            e.1 += r.failed;
        }
    }
    coverage
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .not_served
        .extend(outcome.report.operations_not_served.iter().cloned());
    if outcome.report.verdict == Verdict::Fail && outcome.report.divergences.is_empty() {
        // --require-operations all, and an operation is not served.
        return Err(Failed::from(
            outcome.report.error.clone().unwrap_or_default(),
        ));
    }
    let trial = outcome.report.trials.iter().find(|t| t.name == only);
    match trial {
        None => Err(Failed::from(format!("the trial {only} did not run"))),
        Some(t) if t.outcome == TrialOutcome::Passed => Ok(()),
        Some(t) if t.outcome == TrialOutcome::Skipped => Ok(()),
        Some(t) => Err(Failed::from(format!(
            "{}: {}",
            t.outcome,
            t.message.clone().unwrap_or_default()
        ))),
    }
}

fn main() {
    let (suite, rest) = match parse() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut args = Arguments::from_iter(rest);
    if suite.endpoint != EndpointSpec::Embedded {
        // Trials reset the endpoint: against one shared endpoint they must not overlap.
        args.test_threads = Some(1);
    }
    let coverage: Coverage = Arc::default();
    let mut trials = Vec::new();
    let files =
        opsworkscm_conformance::scenarios::scenario_files(&scenarios_dir()).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2);
        });
    for (name, loaded) in files {
        let suite = suite.clone();
        let cov = coverage.clone();
        let n = name.clone();
        trials.push(Trial::test(name, move || match loaded {
            // A broken file fails its own trial, naming the file, line and problem.
            Err(e) => Err(Failed::from(e.to_string())),
            Ok(plan) => run_trial(&suite, n, Some(plan), None, &cov),
        }));
    }
    for p in PROPERTIES {
        let suite = suite.clone();
        let cov = coverage.clone();
        trials.push(Trial::test(p.name, move || {
            run_trial(&suite, p.name.to_string(), None, Some(p), &cov)
        }));
    }
    let whole_suite = args.filter.is_none() && args.skip.is_empty() && !args.list && !args.ignored;
    let conclusion = libtest_mimic::run(&args, trials);
    if whole_suite && !conclusion.has_failed() {
        let cov = coverage.lock().unwrap_or_else(|p| p.into_inner());
        let untested: Vec<&str> = RULES
            .iter()
            .map(|r| r.id.as_str())
            .filter(|id| cov.rules.get(*id).is_none_or(|(p, f)| p + f == 0))
            .collect();
        if !untested.is_empty() && !cov.not_served.is_empty() {
            // Judged on the operations it serves: the rules of the others cannot be reached.
            let not_served: Vec<&str> = cov.not_served.iter().map(String::as_str).collect();
            eprintln!(
                "\nrule coverage: the endpoint does not serve {}; {} rule id(s) were exercised by no trial: {}",
                not_served.join(", "),
                untested.len(),
                untested.join(", ")
            );
        } else if !untested.is_empty() {
            eprintln!(
                "\nrule coverage: {} rule id(s) were exercised by no trial: {}\n(hint: add a scenario under scenarios/ that exercises each)",
                untested.len(),
                untested.join(", ")
            );
            std::process::exit(101);
        } else {
            println!("rule coverage: all {} rule ids exercised", RULES.len());
        }
    }
    conclusion.exit();
}
