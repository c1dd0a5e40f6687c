//! The runner: runs plans step by step against a target, checks every answer with the
//! [`Checker`], shrinks a failing generated plan with proptest, re-runs the minimal plan to
//! measure how often it reproduces, saves it as a regression, and assembles the [`RunReport`].
//!
//! Order of a run: scenario files (saved regressions among them) first, then generated cases.
//! With a control plane every case (and every shrink candidate) starts from a reset endpoint;
//! without one, the runner learns the state through the public API, touches only what it
//! created, and deletes the backups it created when a case ends (and on Ctrl-C).

mod case;
pub mod concurrent;
mod config;
mod coverage;
mod divergence;
mod no_control_plane;
mod session;
mod shrink;

pub use config::{ControlPlaneMode, EmulatorSettings, RunConfig};
pub use divergence::shell_quote;

use case::{observed_line, CaseResult, Failure, Ids};
use concurrent::concurrent_round_steps;
use divergence::{abbreviate, mutant_flag};
use session::{FaultInfo, Session};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use proptest::strategy::{Strategy, ValueTree};

use crate::emulator::{self, EmulatorConfig, RunningEmulator};
use crate::exit::{Error, ExitCode};
use crate::generate::{self, GenConfig};
use crate::model::rules::RULES;
use crate::model::DEFAULT_LIMIT;
use crate::plan::{self, Plan};
use crate::report::{self, Divergence, Fault, RunReport, TargetInfo, TrialResult, Verdict};
use crate::target::{self, EndpointSpec, Target};

use crate::scenarios::load_scenarios;

/// The result of a run.
pub struct RunOutcome {
    pub report: RunReport,
    pub exit: ExitCode,
    pub written: Option<report::WrittenReports>,
    /// Time from the start of the run to the first divergence (before shrinking).
    pub first_divergence_after: Option<Duration>,
}

/// Runs the suite as configured.
pub async fn run(config: RunConfig) -> Result<RunOutcome, Error> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let seed = config.seed.unwrap_or_else(rand::random::<u64>);
    // Scenario files are read before anything is sent: a broken file is a usage error.
    let scenarios = match &config.plans {
        Some(plans) => plans.clone(),
        None => load_scenarios(config.scenarios_dir.as_deref())?,
    };
    let (target, emulator, endpoint_shown) = connect(&config).await?;
    let secrets = target.secrets();
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
            }
        });
    }
    let mut session = Session {
        target,
        control_plane: false,
        limit: DEFAULT_LIMIT,
        calls: 0,
        max_calls: config.max_calls,
        coverage: RULES.iter().map(|r| (r.id, (0, 0, 0))).collect(),
        faults: BTreeMap::new(),
        settle_wait: config.settle_wait,
        interrupted,
        to_clean: Vec::new(),
        judged: 0,
        settle_only: false,
        progress: None,
    };
    let discovery = session.discover(&config).await;
    let limit_source = match discovery {
        Ok(source) => source,
        Err(fault) => {
            if let Some(e) = emulator {
                e.shutdown().await;
            }
            let report = RunReport {
                version: report::REPORT_VERSION,
                tool: Default::default(),
                verdict: Verdict::Error,
                error: Some(fault.message.clone()),
                target: target_info(&config, &session, &endpoint_shown, String::new()),
                seed,
                started_at,
                duration_ms: started.elapsed().as_millis() as u64,
                cases: 0,
                calls: session.calls,
                calls_to_first_divergence: None,
                readings: vec![],
                coverage: vec![],
                trials: vec![],
                divergences: vec![],
                faults: vec![Fault {
                    class: fault.class.into(),
                    message: fault.message,
                    count: 1,
                }],
            };
            let report = report.redacted(&secrets);
            let written = write_reports(&config, &report, &secrets)?;
            return Ok(RunOutcome {
                report,
                exit: ExitCode::Unjudged,
                written,
                first_divergence_after: None,
            });
        }
    };
    eprintln!(
        "testing {} ({}, {}), seed {seed}, {} cases",
        endpoint_shown,
        config.dialect.name(),
        if session.control_plane {
            "control plane"
        } else {
            "public API only"
        },
        config.cases
    );
    if config.progress {
        let bar = ProgressBar::new(
            scenarios.len() as u64 + if config.generated { config.cases } else { 0 },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        session.progress = Some(bar);
    }

    let mut trials = Vec::new();
    let mut divergences = Vec::new();
    let mut calls_to_first: Option<u64> = None;
    let mut first_at: Option<Duration> = None;
    let mut unjudged: Vec<String> = Vec::new();
    let mut bad_scenarios: Vec<String> = Vec::new();
    let mut readings_seen: Vec<String> = Vec::new();
    let wanted =
        |name: &str| config.only_trials.is_empty() || config.only_trials.iter().any(|t| t == name);

    // Scenario files, saved regressions included.
    for (name, plan) in &scenarios {
        if !wanted(name) {
            continue;
        }
        let t0 = Instant::now();
        let calls0 = session.calls;
        let (result, readings) = if plan.needs_control_plane() && !session.control_plane {
            (None, vec![])
        } else {
            let (r, readings) = session.run_plan(plan, true).await;
            (Some(r), readings)
        };
        let mut trial = TrialResult {
            name: name.clone(),
            kind: if name.starts_with("scenario::regressions::") {
                "regression"
            } else {
                "scenario"
            }
            .into(),
            outcome: "passed".into(),
            duration_ms: t0.elapsed().as_millis() as u64,
            calls: session.calls - calls0,
            message: None,
        };
        match result {
            None => {
                trial.outcome = "skipped".into();
                trial.message = Some(
                    "needs the fixture control plane, which this endpoint does not offer".into(),
                );
            }
            Some(CaseResult::Passed) => {
                for r in readings {
                    if !readings_seen.contains(&r) {
                        readings_seen.push(r);
                    }
                }
            }
            Some(CaseResult::Diverged(f)) => {
                calls_to_first.get_or_insert(session.calls);
                first_at.get_or_insert(started.elapsed());
                let d = session
                    .finish_divergence(
                        &config,
                        name,
                        plan.clone(),
                        plan.steps.len(),
                        *f,
                        false,
                        None,
                    )
                    .await;
                trial.outcome = "failed".into();
                trial.message = Some(failure_message(&d));
                divergences.push(d);
            }
            Some(CaseResult::Unjudged(fault)) => {
                trial.outcome = "error".into();
                trial.message = Some(format!("{}: {}", fault.class, fault.message));
                unjudged.push(name.clone());
            }
            Some(CaseResult::BadScenario(msg)) => {
                trial.outcome = "error".into();
                trial.message = Some(msg.clone());
                bad_scenarios.push(format!("{name}: {msg}"));
            }
            Some(CaseResult::Budget) | Some(CaseResult::Interrupted) => {
                trial.outcome = "error".into();
                trial.message =
                    Some("not run to the end (--max-calls reached or interrupted)".into());
                unjudged.push(name.clone());
            }
        }
        session.tick(divergences.len());
        trials.push(trial);
        if session.stopped() || (config.stop_at_first && !divergences.is_empty()) {
            break;
        }
    }

    // Generated cases.
    let mut cases_run = 0u64;
    let property = config.property_name.clone();
    let go_on = |d: &[Divergence]| !config.stop_at_first || d.is_empty();
    if config.generated && !session.stopped() && wanted(&property) && go_on(&divergences) {
        let t0 = Instant::now();
        let calls0 = session.calls;
        let gen = GenConfig {
            limit: session.limit,
            control_plane: session.control_plane,
            servers: config.servers.clone(),
            max_steps: config.max_steps,
        };
        let strategy = generate::plan_strategy(&gen);
        let mut runner = generate::runner_for_seed(seed);
        let mut trial = property_trial(&property);
        for case in 0..config.cases {
            if session.stopped() {
                break;
            }
            let mut tree = match strategy.new_tree(&mut runner) {
                Ok(t) => t,
                Err(e) => {
                    trial.outcome = "error".into();
                    trial.message = Some(format!("cannot generate a plan: {e}"));
                    break;
                }
            };
            let mut plan = tree.current();
            plan.name = format!("seed-{seed}-case-{case}");
            plan.origin = Some(format!("seed {seed}, case {case}"));
            let (result, readings) = session.run_plan(&plan, false).await;
            cases_run += 1;
            session.tick(divergences.len());
            match result {
                CaseResult::Passed => {
                    for r in readings {
                        if !readings_seen.contains(&r) {
                            readings_seen.push(r);
                        }
                    }
                }
                CaseResult::Diverged(f) => {
                    calls_to_first.get_or_insert(session.calls);
                    first_at.get_or_insert(started.elapsed());
                    let original = plan.steps.len();
                    let (minimal, failure) = session.shrink(&mut tree, *f, &config, &plan).await;
                    let d = session
                        .finish_divergence(
                            &config, &property, minimal, original, failure, true, None,
                        )
                        .await;
                    trial.outcome = "failed".into();
                    trial.message = Some(failure_message(&d));
                    divergences.push(d);
                    break;
                }
                CaseResult::Unjudged(fault) => {
                    trial.outcome = "error".into();
                    trial.message =
                        Some(format!("case {case}: {}: {}", fault.class, fault.message));
                    unjudged.push(format!("{property} case {case}"));
                    break;
                }
                CaseResult::BadScenario(msg) => {
                    trial.outcome = "error".into();
                    trial.message = Some(msg);
                    break;
                }
                CaseResult::Budget | CaseResult::Interrupted => {
                    trial.outcome = "error".into();
                    trial.message = Some(format!(
                        "stopped after {cases_run} of {} cases ({})",
                        config.cases,
                        if session.interrupted.load(Ordering::SeqCst) {
                            "interrupted"
                        } else {
                            "--max-calls reached"
                        }
                    ));
                    unjudged.push(property.clone());
                    break;
                }
            }
        }
        trial.duration_ms = t0.elapsed().as_millis() as u64;
        trial.calls = session.calls - calls0;
        trials.push(trial);
    }
    let concurrent = "property::concurrent-calls".to_string();
    if config.concurrency_rounds > 0
        && go_on(&divergences)
        && session.control_plane
        && !session.stopped()
        && wanted(&concurrent)
    {
        let t0 = Instant::now();
        let calls0 = session.calls;
        let mut trial = property_trial(&concurrent);
        for round in 0..config.concurrency_rounds {
            if session.stopped() {
                break;
            }
            match session.concurrent_round(round).await {
                CaseResult::Passed => {}
                CaseResult::Diverged(f) => {
                    calls_to_first.get_or_insert(session.calls);
                    first_at.get_or_insert(started.elapsed());
                    let plan = Plan {
                        description: "calls sent at once (steps 2 to the last two), then observed in order; run sequentially this plan does not race".into(),
                        ..Plan::new(format!("concurrent-round-{round}"), concurrent_round_steps(session.limit, round))
                    };
                    let steps = plan.steps.len();
                    let mut d = session
                        .finish_divergence(
                            &config,
                            &concurrent,
                            plan,
                            steps,
                            *f,
                            false,
                            Some(round),
                        )
                        .await;
                    d.replay_command = format!(
                        "opsworkscm-conformance run --endpoint {} --dialect {} --seed {seed}{} (the concurrency property's round {round}; a race may need several runs)",
                        shell_quote(&config.endpoint_arg),
                        config.dialect.name(),
                        mutant_flag(&config)
                    );
                    trial.outcome = "failed".into();
                    trial.message = Some(failure_message(&d));
                    divergences.push(d);
                    break;
                }
                CaseResult::Unjudged(fault) => {
                    trial.outcome = "error".into();
                    trial.message = Some(format!("{}: {}", fault.class, fault.message));
                    unjudged.push(concurrent.clone());
                    break;
                }
                other => {
                    trial.outcome = "error".into();
                    trial.message = Some(format!("round {round} did not finish: {other:?}"));
                    unjudged.push(concurrent.clone());
                    break;
                }
            }
        }
        trial.duration_ms = t0.elapsed().as_millis() as u64;
        trial.calls = session.calls - calls0;
        trials.push(trial);
    }
    if let Some(bar) = session.progress.take() {
        bar.finish_and_clear();
    }
    session.cleanup().await;
    if let Some(e) = emulator {
        e.shutdown().await;
    }

    let interrupted = session.interrupted.load(Ordering::SeqCst);
    let (verdict, exit, error) = if !divergences.is_empty() {
        (Verdict::Fail, ExitCode::Divergence, None)
    } else if !bad_scenarios.is_empty() {
        (
            Verdict::Error,
            ExitCode::Usage,
            Some(format!(
                "scenario files contradict the model: {}",
                bad_scenarios.join("; ")
            )),
        )
    } else if session.judged == 0 {
        let why = session.first_fault("no call was made");
        (
            Verdict::Error,
            ExitCode::Unjudged,
            Some(format!("no answer could be judged ({why})")),
        )
    } else if interrupted {
        (
            Verdict::Error,
            ExitCode::Unjudged,
            Some("the run was interrupted (Ctrl-C)".into()),
        )
    } else if !unjudged.is_empty() {
        let why = session.first_fault("--max-calls reached before every case ran");
        (
            Verdict::Error,
            ExitCode::Unjudged,
            Some(format!(
                "{} trial(s) could not be judged ({why})",
                unjudged.len()
            )),
        )
    } else {
        (Verdict::Pass, ExitCode::Pass, None)
    };
    let report = RunReport {
        version: report::REPORT_VERSION,
        tool: Default::default(),
        verdict,
        error,
        target: target_info(&config, &session, &endpoint_shown, limit_source),
        seed,
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        cases: cases_run,
        calls: session.calls,
        calls_to_first_divergence: calls_to_first,
        readings: readings_seen,
        coverage: session.coverage_rows(),
        trials,
        divergences,
        faults: session
            .faults
            .iter()
            .map(|((class, message), count)| Fault {
                class: class.clone(),
                message: message.clone(),
                count: *count,
            })
            .collect(),
    };
    let report = report.redacted(&secrets);
    let written = write_reports(&config, &report, &secrets)?;
    Ok(RunOutcome {
        report,
        exit,
        written,
        first_divergence_after: first_at,
    })
}

fn write_reports(
    config: &RunConfig,
    report: &RunReport,
    secrets: &[String],
) -> Result<Option<report::WrittenReports>, Error> {
    match &config.report_dir {
        None => Ok(None),
        Some(dir) => report::write_all(report, dir, secrets)
            .map(Some)
            .map_err(|e| {
                Error::Config(target::ConfigError {
                    message: format!("cannot write the reports: {e}"),
                    hint: format!(
                        "check that {} is writable, or pass --report-dir DIR",
                        dir.display()
                    ),
                })
            }),
    }
}

fn target_info(
    config: &RunConfig,
    session: &Session,
    shown: &str,
    limit_source: String,
) -> TargetInfo {
    TargetInfo {
        endpoint: shown.to_string(),
        dialect: config.dialect.name().into(),
        region: config.region.clone(),
        control_plane: session.control_plane,
        signed: session.target.signed(),
        limit: session.limit,
        limit_source,
    }
}

fn failure_message(d: &Divergence) -> String {
    let steps: Vec<String> = d
        .plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("  {}. {s}", i + 1))
        .collect();
    format!(
        "[{}] {}\nallowed: {}\nobserved: {}\nminimal plan ({} steps, diverged at step {}):\n{}\nreplay: {}",
        d.rule,
        d.message,
        d.allowed.join(" | "),
        d.observed,
        d.plan.steps.len(),
        d.step_index + 1,
        steps.join("\n"),
        d.replay_command
    )
}

/// Connects to the configured endpoint, starting the embedded emulator when asked.
async fn connect(config: &RunConfig) -> Result<(Target, Option<RunningEmulator>, String), Error> {
    let credentials = match &config.credentials {
        Some(c) => Some(c.clone()),
        None => target::load_credentials(config.profile.as_deref()).await,
    };
    let (base, emulator, shown) = match &config.endpoint {
        EndpointSpec::Embedded => {
            let e = emulator::start(EmulatorConfig {
                listen: "127.0.0.1:0".parse().expect("a loopback address"),
                dialect: config.dialect,
                mutant: config.emulator.mutant.clone(),
                verify_sigv4: config.emulator.verify_sigv4,
                backup_duration: config.emulator.backup_duration,
                limit: DEFAULT_LIMIT,
                region: config.region.clone(),
            })
            .await
            .map_err(|e| Error::Unjudged(format!("cannot start the embedded emulator: {e:#}")))?;
            let url = url::Url::parse(&e.url).map_err(|e| Error::Other(e.into()))?;
            let shown = format!("embedded ({})", e.url);
            (url, Some(e), shown)
        }
        EndpointSpec::Url(u) => (u.clone(), None, u.to_string()),
    };
    let target = Target::new(
        base,
        config.dialect,
        config.region.clone(),
        credentials,
        config.client.clone(),
    )?;
    Ok((target, emulator, shown))
}

/// A property trial that has passed so far.
fn property_trial(name: &str) -> TrialResult {
    TrialResult {
        name: name.to_string(),
        kind: "property".into(),
        outcome: "passed".into(),
        duration_ms: 0,
        calls: 0,
        message: None,
    }
}

/// Runs one plan file (`replay`): the same checks as `run`, one trial, no generation.
pub async fn replay(mut config: RunConfig, file: &Path) -> Result<RunOutcome, Error> {
    let plan = plan::load_plan(file).map_err(|e| Error::Scenario(e.to_string()))?;
    let name = format!("replay::{}", plan.name);
    config.plans = Some(vec![(name, plan)]);
    config.generated = false;
    config.save_regressions = false;
    run(config).await
}
