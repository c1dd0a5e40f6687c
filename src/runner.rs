//! The runner: runs plans step by step against a target, checks every answer with the
//! [`Checker`], shrinks a failing generated plan with proptest, re-runs the minimal plan to
//! measure how often it reproduces, saves it as a regression, and assembles the [`RunReport`].
//!
//! Order of a run: scenario files (saved regressions among them) first, then generated cases.
//! With a control plane every case (and every shrink candidate) starts from a reset endpoint;
//! without one, the runner learns the state through the public API, touches only what it
//! created, and deletes the backups it created when a case ends (and on Ctrl-C).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use proptest::strategy::{Strategy, ValueTree};
use serde_json::{json, Value};

use crate::check::{observation_name, Checker, StepVerdict};
use crate::concurrency;
use crate::emulator::{self, EmulatorConfig, RunningEmulator};
use crate::exit::{Error, ExitCode};
use crate::generate::{self, GenConfig};
use crate::model::rules::{rule_by_id, RuleKind, RULES};
use crate::model::{
    self, Action, BackupStatus, BackupType, CallWindow, Observation, Operation, Polarity,
    ServerStatus, World, DEFAULT_LIMIT,
};
use crate::plan::{self, IdRef, Plan, Step};
use crate::report::{
    self, Divergence, Exchange, Fault, Reproduction, RuleCoverage, RunReport, TargetInfo,
    TimelineEntry, TrialResult, Verdict,
};
use crate::target::{self, ClientSettings, EndpointSpec, Target, Transport};
use crate::wire::{self, Answer, Dialect};

/// Whether to use the fixture control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlPlaneMode {
    /// Use it when the endpoint offers it.
    Auto,
    /// Test through the public API only.
    Off,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub endpoint: EndpointSpec,
    /// The endpoint as the user gave it (for replay commands).
    pub endpoint_arg: String,
    pub dialect: Dialect,
    pub region: String,
    pub cases: u64,
    pub seed: Option<u64>,
    pub report_dir: Option<PathBuf>,
    pub scenarios_dir: Option<PathBuf>,
    pub control_plane: ControlPlaneMode,
    pub servers: Vec<String>,
    pub max_calls: Option<u64>,
    pub profile: Option<String>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Save shrunk counterexamples under `<scenarios>/regressions/`.
    pub save_regressions: bool,
    /// The bundled emulator's settings when the endpoint is `embedded`.
    pub emulator: EmulatorSettings,
    pub client: ClientSettings,
    /// How long to poll for asynchronous work to settle without a control plane.
    pub settle_wait: Duration,
    /// Steps at most in a generated plan.
    pub max_steps: usize,
    /// Shrink candidates tried at most.
    pub max_shrink_iters: u32,
    /// Re-runs of a minimal counterexample to measure its reproduction rate.
    pub reproduce_runs: u32,
    /// Only these trials (names); empty means all.
    pub only_trials: Vec<String>,
    /// Generated cases run (false to run scenarios only).
    pub generated: bool,
    /// Plans to run instead of reading `scenarios_dir` (named trials).
    pub plans: Option<Vec<(String, Plan)>>,
    /// Rounds of the concurrency property (calls sent at once must linearize); 0 to skip.
    pub concurrency_rounds: u64,
    /// The trial name of the generated cases.
    pub property_name: String,
    /// Stop at the first divergence (self-tests: one is enough to kill a mutant).
    pub stop_at_first: bool,
    /// Credentials to sign with instead of the standard sources (for tests and embedding).
    pub credentials: Option<aws_credential_types::Credentials>,
}

/// The embedded emulator's settings (for `selftest` and tests).
#[derive(Debug, Clone, Default)]
pub struct EmulatorSettings {
    pub mutant: Option<String>,
    /// Legal readings to serve (`--reading`).
    pub readings: crate::emulator::ReadingSet,
    pub backup_duration: Option<Duration>,
    pub verify_sigv4: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            endpoint: EndpointSpec::Embedded,
            endpoint_arg: "embedded".into(),
            dialect: Dialect::AwsJson,
            region: "us-east-1".into(),
            cases: 256,
            seed: None,
            report_dir: Some(PathBuf::from("reports")),
            scenarios_dir: Some(PathBuf::from("scenarios")),
            control_plane: ControlPlaneMode::Auto,
            servers: Vec::new(),
            max_calls: None,
            profile: None,
            progress: false,
            save_regressions: true,
            emulator: EmulatorSettings::default(),
            client: ClientSettings::default(),
            settle_wait: Duration::from_secs(30),
            max_steps: 24,
            max_shrink_iters: 1024,
            reproduce_runs: 5,
            only_trials: Vec::new(),
            generated: true,
            plans: None,
            concurrency_rounds: 12,
            property_name: "property::generated-sequences".into(),
            stop_at_first: false,
            credentials: None,
        }
    }
}

/// The result of a run.
pub struct RunOutcome {
    pub report: RunReport,
    pub exit: ExitCode,
    pub written: Option<report::WrittenReports>,
    /// Time from the start of the run to the first divergence (before shrinking).
    pub first_divergence_after: Option<Duration>,
}

/// Why a case could not be judged.
#[derive(Debug, Clone)]
struct FaultInfo {
    class: &'static str,
    message: String,
}

/// A divergence found in one run of a plan.
#[derive(Debug, Clone)]
struct Failure {
    rule: &'static str,
    message: String,
    step_index: usize,
    allowed: Vec<String>,
    observed: String,
    exchange: Option<Exchange>,
    timeline: Vec<TimelineEntry>,
}

/// How one run of a plan ended.
#[derive(Debug, Clone)]
enum CaseResult {
    Passed,
    Diverged(Box<Failure>),
    Unjudged(FaultInfo),
    /// A scenario whose `expect` the model does not allow (a broken scenario file).
    BadScenario(String),
    /// `--max-calls` was reached.
    Budget,
    Interrupted,
}

/// Per-run mutable state: the target, counters, coverage.
struct Session {
    target: Target,
    control_plane: bool,
    limit: u32,
    calls: u64,
    max_calls: Option<u64>,
    coverage: BTreeMap<&'static str, (u64, u64, u64)>,
    faults: BTreeMap<(String, String), u64>,
    settle_wait: Duration,
    interrupted: Arc<AtomicBool>,
    /// Backups created without a control plane that still need deleting.
    to_clean: Vec<String>,
    /// API answers that could be judged (not timeouts, not faults).
    judged: u64,
    /// The control plane says asynchronous work ends only through settle.
    settle_only: bool,
    progress: Option<ProgressBar>,
}

/// Ids learned while running one plan.
#[derive(Default)]
struct Ids {
    by_server: BTreeMap<String, Vec<String>>,
    created: Vec<String>,
}

impl Ids {
    fn learn(&mut self, server: &str, id: &str) {
        let list = self.by_server.entry(server.to_string()).or_default();
        if !list.iter().any(|x| x == id) {
            list.push(id.to_string());
        }
    }

    fn lookup(&self, r: &IdRef) -> Option<String> {
        match r {
            IdRef::Backup { server, n } => self.by_server.get(server)?.get(*n).cloned(),
            IdRef::Created(n) => self.created.get(*n).cloned(),
        }
    }
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
                readings: config.emulator.readings,
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

/// Every `*.json` under `dir` (recursively), sorted, each with its trial name and the plan or
/// the error that names its file, line and problem.
#[allow(clippy::type_complexity)]
pub fn scenario_files(
    dir: &Path,
) -> Result<Vec<(String, Result<Plan, plan::PlanFileError>)>, Error> {
    if !dir.exists() {
        return Ok(vec![]);
    }
    let mut files = Vec::new();
    collect_json(dir, &mut files)
        .map_err(|e| Error::Scenario(format!("cannot read {}: {e}", dir.display())))?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|f| (scenario_trial_name(dir, &f), plan::load_plan(&f)))
        .collect())
}

/// Reads every `*.json` under `dir` (recursively), sorted; trial names follow the path:
/// `scenario::limit::fifty-first-manual-backup-refused`. Any broken file is a usage error.
pub fn load_scenarios(dir: Option<&Path>) -> Result<Vec<(String, Plan)>, Error> {
    let Some(dir) = dir else { return Ok(vec![]) };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, result) in scenario_files(dir)? {
        match result {
            Ok(p) => out.push((name, p)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Scenario(format!(
            "broken scenario files:\n  {}\n(hint: fix them, or point --scenarios at another directory)",
            errors.join("\n  ")
        )));
    }
    Ok(out)
}

/// `scenario::<dirs>::<stem>` for a file under `root`.
pub fn scenario_trial_name(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("scenario::{}", parts.join("::"))
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// One line of what a representative world changed: `web: HEALTHY -> BACKING_UP; web manual 0 -> 1`.
fn describe_change(before: &World, after: &World) -> String {
    let mut parts = Vec::new();
    for (name, s) in &after.servers {
        match before.servers.get(name) {
            None => parts.push(format!("+server {name} {}", s.status)),
            Some(b) if b.status != s.status => {
                parts.push(format!("{name}: {} -> {}", b.status, s.status))
            }
            _ => {}
        }
    }
    for name in before.servers.keys() {
        if !after.servers.contains_key(name) {
            parts.push(format!("-server {name}"));
        }
    }
    let count = |w: &World, server: &str, kind: BackupType| {
        w.backups
            .iter()
            .filter(|b| b.server == server && b.kind == kind && b.status != BackupStatus::Deleting)
            .count()
    };
    let mut names: Vec<&String> = after.servers.keys().chain(before.servers.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        for kind in [BackupType::Manual, BackupType::Automated] {
            let (b, a) = (count(before, name, kind), count(after, name, kind));
            if a != b {
                parts.push(format!(
                    "{name} {} backups {b} -> {a}",
                    kind.as_str().to_lowercase()
                ));
            }
        }
    }
    let status_changes = after
        .backups
        .iter()
        .filter(|a| {
            a.id.is_some()
                && before
                    .backups
                    .iter()
                    .any(|b| b.id == a.id && b.status != a.status)
        })
        .map(|a| format!("{} {}", a.id.as_deref().unwrap_or("?"), a.status.as_str()))
        .collect::<Vec<_>>();
    parts.extend(status_changes);
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

/// One short line for an answer, for timelines (read, not serialized, so it stays cheap).
fn observed_line(o: &Observation) -> String {
    match o {
        Observation::Success(v) => {
            if let Some(b) = v.get("Backup") {
                format!(
                    "success: Backup {} {} {}",
                    b["BackupId"].as_str().unwrap_or("(no BackupId)"),
                    b["BackupType"].as_str().unwrap_or("?"),
                    b["Status"].as_str().unwrap_or("?")
                )
            } else if let Some(list) = v.get("Backups").and_then(Value::as_array) {
                let items: Vec<String> = list
                    .iter()
                    .take(4)
                    .map(|b| {
                        format!(
                            "{} {}",
                            b["BackupId"].as_str().unwrap_or("?"),
                            b["Status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                let more = if list.len() > 4 {
                    format!(", ... {} more", list.len() - 4)
                } else {
                    String::new()
                };
                format!(
                    "success: {} backups [{}{more}]",
                    list.len(),
                    items.join(", ")
                )
            } else if let Some(list) = v.get("Servers").and_then(Value::as_array) {
                let items: Vec<String> = list
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {}",
                            s["ServerName"].as_str().unwrap_or("?"),
                            s["Status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                format!("success: {} servers [{}]", list.len(), items.join(", "))
            } else if let Some(s) = v.get("Server") {
                format!(
                    "success: Server {} {}",
                    s["ServerName"].as_str().unwrap_or("?"),
                    s["Status"].as_str().unwrap_or("?")
                )
            } else {
                "success".into()
            }
        }
        Observation::CreatedEnvelope { id, created_at } => {
            format!("success (envelope): id {id}, created_at {created_at}")
        }
        other => observation_name(other),
    }
}

impl Session {
    fn stopped(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst) || self.max_calls.is_some_and(|m| self.calls >= m)
    }

    fn tick(&self, divergences: usize) {
        if let Some(bar) = &self.progress {
            bar.inc(1);
            bar.set_message(format!("{} calls, {divergences} divergences", self.calls));
        }
    }

    fn fault(&mut self, class: &'static str, message: &str) -> FaultInfo {
        *self
            .faults
            .entry((class.to_string(), message.to_string()))
            .or_default() += 1;
        FaultInfo {
            class,
            message: message.to_string(),
        }
    }

    /// The first fault recorded, as `class: message`, or `otherwise`.
    fn first_fault(&self, otherwise: &str) -> String {
        self.faults
            .keys()
            .next()
            .map(|(c, m)| format!("{c}: {m}"))
            .unwrap_or_else(|| otherwise.to_string())
    }

    fn exercised(&mut self, rule: &'static str, polarity: Polarity) {
        let e = self.coverage.entry(rule).or_default();
        match polarity {
            Polarity::Pass => e.0 += 1,
            Polarity::Fail => e.1 += 1,
        }
    }

    /// Rules judged from an answer's form rather than its outcome (the wire layer's checks and
    /// the readings that only the content of an answer shows).
    fn wire_coverage(&mut self, op: Operation, observation: &Observation) {
        let aws_json = self.target.dialect == Dialect::AwsJson;
        match observation {
            Observation::Success(_) | Observation::CreatedEnvelope { .. } => {
                self.exercised("protocol.success", Polarity::Pass);
                if aws_json {
                    self.exercised("response.shape", Polarity::Pass);
                }
                if op == Operation::CreateBackup {
                    for rule in [
                        "ambiguity.created-status",
                        "ambiguity.backup-id-format",
                        "ambiguity.limit-scope",
                        "ambiguity.limit-value",
                    ] {
                        self.exercised(rule, Polarity::Pass);
                    }
                }
            }
            Observation::Error(kind) => {
                self.exercised("protocol.error", Polarity::Pass);
                if aws_json {
                    self.exercised("ambiguity.error-type-form", Polarity::Pass);
                }
                if *kind == model::ErrorKind::LimitExceededException {
                    self.exercised("ambiguity.limit-scope", Polarity::Fail);
                    self.exercised("ambiguity.limit-value", Polarity::Fail);
                }
            }
            Observation::Unknown => {}
        }
    }

    fn new_checker(&self) -> Checker {
        let checker = Checker::new(self.limit);
        if self.control_plane && self.settle_only {
            checker.settle_only()
        } else {
            checker
        }
    }

    fn coverage_rows(&self) -> Vec<RuleCoverage> {
        RULES
            .iter()
            .map(|r| {
                let (p, f, d) = self.coverage.get(r.id).copied().unwrap_or_default();
                RuleCoverage {
                    id: r.id.into(),
                    kind: match r.kind {
                        RuleKind::Rule => "rule".into(),
                        RuleKind::Ambiguity => "ambiguity".into(),
                    },
                    text: r.text.into(),
                    passed: p,
                    failed: f,
                    divergences: d,
                }
            })
            .collect()
    }

    /// Finds the control plane and the limit; without one, learns the limit from
    /// DescribeAccountAttributes. Returns where the limit came from.
    async fn discover(&mut self, config: &RunConfig) -> Result<String, FaultInfo> {
        if config.control_plane == ControlPlaneMode::Auto && !target::is_aws_host(&self.target.base)
        {
            self.calls += 1;
            let (t, _) = self
                .target
                .control(reqwest::Method::GET, "/_conformance/v1/capabilities", None)
                .await;
            match t {
                Transport::Answered {
                    status: 200, body, ..
                } => {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        if v["version"].as_u64() == Some(1) {
                            self.control_plane = true;
                            self.settle_only = v["settleOnly"].as_bool() == Some(true);
                            if let Some(limit) = v["maxManualBackups"].as_u64() {
                                self.limit = limit.clamp(1, 10_000) as u32;
                                return Ok("control plane capabilities (maxManualBackups)".into());
                            }
                            return Ok("default (the control plane does not advertise one)".into());
                        }
                    }
                }
                Transport::Unreachable(m) => {
                    let hint = if matches!(config.endpoint, EndpointSpec::Embedded) {
                        String::new()
                    } else {
                        " (hint: start `opsworkscm-conformance emulate`, or use --endpoint embedded)".into()
                    };
                    return Err(self.fault(
                        "unreachable",
                        &format!("cannot connect to {}: {m}{hint}", self.target.base),
                    ));
                }
                _ => {}
            }
        }
        // No control plane: the account attribute, if the endpoint has it.
        let (answer, _) = self
            .api(Operation::DescribeAccountAttributes, &json!({}))
            .await;
        match answer {
            Ok(Answer::Observed(Observation::Success(v))) => {
                let max = v["Attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["Name"] == "ManualBackupLimit")
                    .and_then(|a| a["Maximum"].as_u64());
                if let Some(m) = max {
                    self.limit = m.clamp(1, 10_000) as u32;
                    return Ok("DescribeAccountAttributes (ManualBackupLimit Maximum)".into());
                }
                Ok("default 50 (DescribeAccountAttributes has no ManualBackupLimit)".into())
            }
            Err(f) if f.class == "unreachable" => Err(f),
            _ => Ok("default 50".into()),
        }
    }

    /// Sends one API call, retrying throttling with backoff (never a verdict).
    async fn api(&mut self, op: Operation, input: &Value) -> (Result<Answer, FaultInfo>, Exchange) {
        let mut delay = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            if self.max_calls.is_some_and(|m| self.calls >= m) {
                return (
                    Err(FaultInfo {
                        class: "budget",
                        message: "--max-calls reached".into(),
                    }),
                    Exchange::default(),
                );
            }
            self.calls += 1;
            let (t, ex) = self.target.call(op, input).await;
            let answer = match t {
                Transport::Answered {
                    status,
                    headers,
                    body,
                } => {
                    let error_type = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
                        .map(|(_, v)| v.as_str());
                    wire::decode_response(self.target.dialect, op, status, error_type, &body)
                }
                Transport::Unreachable(m) => {
                    let hint = " (hint: is the endpoint running? start `opsworkscm-conformance emulate`, or use --endpoint embedded)";
                    return (
                        Err(self.fault(
                            "unreachable",
                            &format!("cannot connect to {}: {m}{hint}", self.target.base),
                        )),
                        ex,
                    );
                }
                Transport::NoAnswer(m) => {
                    Answer::Observed(Observation::Unknown).tap_fault(self, "no-answer", &m)
                }
                Transport::TooLarge(n) => {
                    return (
                        Err(self.fault(
                            "too-large",
                            &format!("the answer to {op} is larger than {n} bytes"),
                        )),
                        ex,
                    );
                }
            };
            match answer {
                Answer::Throttled(m) if attempt < 4 => {
                    self.fault("throttled", &m);
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Answer::Throttled(m) => {
                    return (
                        Err(self.fault(
                            "throttled",
                            &format!("still throttled after {attempt} retries: {m}"),
                        )),
                        ex,
                    )
                }
                Answer::Unavailable(m) => return (Err(self.fault("unavailable", &m)), ex),
                Answer::AuthRefused(m) => {
                    let hint = if self.target.signed() {
                        "check the credentials (AWS_ACCESS_KEY_ID, --profile) and --region"
                    } else {
                        "no credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile"
                    };
                    return (
                        Err(self.fault(
                            "auth",
                            &format!("the endpoint refused the request: {m} (hint: {hint})"),
                        )),
                        ex,
                    );
                }
                other => {
                    if !matches!(other, Answer::Observed(Observation::Unknown)) {
                        self.judged += 1;
                    }
                    return (Ok(other), ex);
                }
            }
        }
    }

    /// Resets the endpoint through the control plane.
    async fn reset(&mut self) -> Result<(), FaultInfo> {
        self.calls += 1;
        let (t, _) = self
            .target
            .control(
                reqwest::Method::POST,
                "/_conformance/v1/reset",
                Some(&json!({})),
            )
            .await;
        self.control_ok(t, "reset").map(|_| ())
    }

    /// Runs one plan from a fresh state; returns its result and the readings still possible.
    async fn run_plan(&mut self, plan: &Plan, check_expect: bool) -> (CaseResult, Vec<String>) {
        let mut checker = self.new_checker();
        let mut ids = Ids::default();
        let mut timeline = Vec::new();
        if self.control_plane {
            if let Err(f) = self.reset().await {
                return (CaseResult::Unjudged(f), vec![]);
            }
        } else {
            match self.discover_state().await {
                Ok(worlds) => checker = Checker::from_worlds(worlds),
                Err(CaseResult::Passed) => {}
                Err(other) => return (other, vec![]),
            }
        }
        let mut created_here: Vec<String> = Vec::new();
        let result = self
            .run_steps(
                plan,
                check_expect,
                &mut checker,
                &mut ids,
                &mut timeline,
                &mut created_here,
            )
            .await;
        let result = match result {
            // Without a control plane, wait (bounded) for the backups this plan made to finish,
            // judging every listing on the way: the endpoint must finish them by itself.
            CaseResult::Passed if !self.control_plane && !created_here.is_empty() => {
                self.await_settled(
                    plan.steps.len(),
                    &mut checker,
                    &mut ids,
                    &mut timeline,
                    &created_here,
                )
                .await
            }
            other => other,
        };
        if !self.control_plane {
            self.to_clean.extend(created_here);
            self.cleanup().await;
        }
        let readings = checker.readings();
        (result, readings)
    }

    async fn run_steps(
        &mut self,
        plan: &Plan,
        check_expect: bool,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
        created_here: &mut Vec<String>,
    ) -> CaseResult {
        for (index, step) in plan.steps.iter().enumerate() {
            if self.interrupted.load(Ordering::SeqCst) {
                return CaseResult::Interrupted;
            }
            if self.max_calls.is_some_and(|m| self.calls >= m) {
                return CaseResult::Budget;
            }
            match step {
                Step::Call {
                    operation,
                    input,
                    expect,
                } => {
                    let resolved = plan::resolve_placeholders(input, &|r| ids.lookup(r));
                    let action = Action::Call {
                        op: *operation,
                        input: resolved.clone(),
                    };
                    if let (true, Some(expect)) = (check_expect, expect) {
                        let allowed = checker.documented_names(&action);
                        for want in expect.outcomes() {
                            if !allowed.contains(want) {
                                return CaseResult::BadScenario(format!(
                                    "step {} ({step}) expects {want}, but the model allows only {}",
                                    index + 1,
                                    allowed.into_iter().collect::<Vec<_>>().join(", ")
                                ));
                            }
                        }
                    }
                    let r = self
                        .call_step(
                            index,
                            step,
                            *operation,
                            &resolved,
                            checker,
                            ids,
                            timeline,
                            created_here,
                        )
                        .await;
                    if !matches!(r, CaseResult::Passed) {
                        return r;
                    }
                }
                _ => {
                    let r = self.fixture_step(index, step, checker, ids, timeline).await;
                    if !matches!(r, CaseResult::Passed) {
                        return r;
                    }
                }
            }
        }
        CaseResult::Passed
    }

    fn control_ok(&mut self, t: Transport, what: &str) -> Result<Value, FaultInfo> {
        match t {
            Transport::Answered {
                status: 200, body, ..
            } => Ok(serde_json::from_slice(&body).unwrap_or(json!({}))),
            Transport::Answered { status, body, .. } => Err(self.fault(
                "control-plane",
                &format!(
                    "control plane {what} answered HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            )),
            Transport::Unreachable(m) => {
                Err(self.fault("unreachable", &format!("control plane {what}: {m}")))
            }
            Transport::NoAnswer(m) => {
                Err(self.fault("no-answer", &format!("control plane {what}: {m}")))
            }
            Transport::TooLarge(n) => Err(self.fault(
                "too-large",
                &format!("control plane {what}: larger than {n} bytes"),
            )),
        }
    }

    async fn fixture_step(
        &mut self,
        index: usize,
        step: &Step,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
    ) -> CaseResult {
        if !self.control_plane {
            return CaseResult::BadScenario(format!(
                "step {} ({step}) needs the control plane",
                index + 1
            ));
        }
        let (method, path, body) = match step {
            Step::Reset {} => (
                reqwest::Method::POST,
                "/_conformance/v1/reset".to_string(),
                json!({}),
            ),
            Step::PutServer {
                server_name,
                status,
                engine,
                manual_backups,
                automated_backups,
            } => (
                reqwest::Method::PUT,
                format!("/_conformance/v1/servers/{server_name}"),
                json!({"Status": status, "Engine": engine, "ManualBackups": manual_backups, "AutomatedBackups": automated_backups}),
            ),
            Step::Settle { backup_status } => (
                reqwest::Method::POST,
                "/_conformance/v1/settle".to_string(),
                json!({"BackupStatus": backup_status.unwrap_or(BackupStatus::Ok)}),
            ),
            Step::Call { .. } => unreachable!("calls are not fixtures"),
        };
        self.calls += 1;
        let before = checker.representative().clone();
        let (t, _) = self.target.control(method, &path, Some(&body)).await;
        if let Err(f) = self.control_ok(t, &step.to_string()) {
            return CaseResult::Unjudged(f);
        }
        let action = step.action(None);
        match checker.observe(&action, &Observation::Success(json!({})), None) {
            StepVerdict::Consistent(info) => {
                for (rule, pol) in &info.exercised {
                    self.exercised(rule, *pol);
                }
                self.exercised("control-plane.contract", Polarity::Pass);
                if matches!(step, Step::Settle { .. }) {
                    self.exercised("ambiguity.status-after-backup", Polarity::Pass);
                }
                timeline.push(TimelineEntry {
                    index,
                    step: step.to_string(),
                    observed: "200".into(),
                    model_change: describe_change(&before, checker.representative()),
                    worlds: info.worlds,
                    diverged: false,
                });
            }
            StepVerdict::Diverged(d) => {
                return CaseResult::Diverged(Box::new(Failure {
                    rule: d.mismatch.rule,
                    message: d.mismatch.message,
                    step_index: index,
                    allowed: d.allowed,
                    observed: "200".into(),
                    exchange: None,
                    timeline: timeline.clone(),
                }))
            }
            StepVerdict::TooManyWorlds(n) => {
                return CaseResult::Unjudged(self.fault(
                    "too-many-worlds",
                    &format!("{n} possible worlds; the plan is too ambiguous to judge"),
                ))
            }
        }
        // Learn the ids of fixture backups through the public API (an observation like any other).
        if let Step::PutServer {
            server_name,
            manual_backups,
            automated_backups,
            ..
        } = step
        {
            if manual_backups + automated_backups > 0 {
                let probe = Step::call(
                    Operation::DescribeBackups,
                    json!({"ServerName": server_name}),
                );
                let r = self
                    .call_step(
                        index,
                        &probe,
                        Operation::DescribeBackups,
                        &json!({"ServerName": server_name}),
                        checker,
                        ids,
                        timeline,
                        &mut Vec::new(),
                    )
                    .await;
                if let Some(last) = timeline.last_mut() {
                    last.step = format!("(harness) {}", last.step);
                }
                return r;
            }
        }
        CaseResult::Passed
    }

    #[allow(clippy::too_many_arguments)]
    async fn call_step(
        &mut self,
        index: usize,
        step: &Step,
        op: Operation,
        input: &Value,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
        created_here: &mut Vec<String>,
    ) -> CaseResult {
        let action = Action::Call {
            op,
            input: input.clone(),
        };
        let before = checker.representative().clone();
        let sent_ms = chrono::Utc::now().timestamp_millis();
        let (answer, exchange) = self.api(op, input).await;
        let answered_ms = chrono::Utc::now().timestamp_millis();
        let window = Some(CallWindow {
            sent_ms,
            answered_ms,
        });
        let shown_step = match step {
            Step::Call { expect, .. } => Step::Call {
                operation: op,
                input: input.clone(),
                expect: expect.clone(),
            }
            .to_string(),
            other => other.to_string(),
        };
        let answer = match answer {
            Ok(a) => a,
            Err(f) if f.class == "budget" => return CaseResult::Budget,
            Err(f) => return CaseResult::Unjudged(f),
        };
        let diverge = |rule: &'static str,
                       message: String,
                       allowed: Vec<String>,
                       observed: String,
                       timeline: &Vec<TimelineEntry>| {
            let mut tl = timeline.clone();
            tl.push(TimelineEntry {
                index,
                step: shown_step.clone(),
                observed: observed.clone(),
                model_change: "(diverged)".into(),
                worlds: 0,
                diverged: true,
            });
            CaseResult::Diverged(Box::new(Failure {
                rule,
                message,
                step_index: index,
                allowed,
                observed,
                exchange: Some(exchange.clone()),
                timeline: tl,
            }))
        };
        let observation = match answer {
            Answer::Observed(o) => o,
            Answer::Protocol(m) => {
                let allowed: Vec<String> = checker.allowed_names(&action).into_iter().collect();
                let observed = format!(
                    "HTTP {} {}",
                    exchange.status.unwrap_or(0),
                    abbreviate(&exchange.response_body, 200)
                );
                return diverge(m.rule, m.message, allowed, observed, timeline);
            }
            Answer::Throttled(_) | Answer::Unavailable(_) | Answer::AuthRefused(_) => {
                unreachable!("handled in api()")
            }
        };
        // The shape of an aws-json success, member by member, against the service model.
        if let (Dialect::AwsJson, Observation::Success(body)) = (self.target.dialect, &observation)
        {
            let problems = wire::shape::check_output(op, body);
            if !problems.is_empty() {
                let allowed: Vec<String> = checker.allowed_names(&action).into_iter().collect();
                return diverge(
                    "response.shape",
                    format!(
                        "the answer does not fit the service model: {}",
                        problems.join("; ")
                    ),
                    allowed,
                    observed_line(&observation),
                    timeline,
                );
            }
        }
        match checker.observe(&action, &observation, window) {
            StepVerdict::Consistent(info) => {
                for (rule, pol) in &info.exercised {
                    self.exercised(rule, *pol);
                }
                self.wire_coverage(op, &observation);
                // Learn ids the endpoint chose.
                match (&observation, op) {
                    (Observation::Success(body), Operation::CreateBackup) => {
                        if let (Some(id), Some(server)) = (
                            body["Backup"]["BackupId"].as_str(),
                            input["ServerName"].as_str(),
                        ) {
                            ids.learn(server, id);
                            ids.created.push(id.to_string());
                            created_here.push(id.to_string());
                        }
                    }
                    (Observation::CreatedEnvelope { id, .. }, _) => {
                        if let Some(server) = input["ServerName"].as_str() {
                            ids.learn(server, id);
                        }
                        ids.created.push(id.clone());
                        created_here.push(id.clone());
                    }
                    (Observation::Success(body), Operation::DescribeBackups) => {
                        for b in body["Backups"].as_array().into_iter().flatten() {
                            if let (Some(id), Some(server)) =
                                (b["BackupId"].as_str(), b["ServerName"].as_str())
                            {
                                ids.learn(server, id);
                            }
                        }
                    }
                    _ => {}
                }
                timeline.push(TimelineEntry {
                    index,
                    step: shown_step,
                    observed: observed_line(&observation),
                    model_change: describe_change(&before, checker.representative()),
                    worlds: info.worlds,
                    diverged: false,
                });
                CaseResult::Passed
            }
            StepVerdict::Diverged(d) => diverge(
                d.mismatch.rule,
                d.mismatch.message,
                d.allowed,
                observed_line(&observation),
                timeline,
            ),
            StepVerdict::TooManyWorlds(n) => CaseResult::Unjudged(self.fault(
                "too-many-worlds",
                &format!(
                    "{n} possible worlds after {shown_step}; the plan is too ambiguous to judge"
                ),
            )),
        }
    }

    /// Without a control plane: polls DescribeBackups (every answer judged) until none of
    /// `created` is IN_PROGRESS, for at most `--settle-wait`.
    async fn await_settled(
        &mut self,
        index: usize,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
        created: &[String],
    ) -> CaseResult {
        let deadline = Instant::now() + self.settle_wait;
        let probe = Step::call(Operation::DescribeBackups, json!({}));
        loop {
            let before = timeline.len();
            let r = self
                .call_step(
                    index,
                    &probe,
                    Operation::DescribeBackups,
                    &json!({}),
                    checker,
                    ids,
                    timeline,
                    &mut Vec::new(),
                )
                .await;
            if !matches!(r, CaseResult::Passed) {
                return r;
            }
            if let Some(entry) = timeline.get_mut(before) {
                entry.step = format!("(harness, waiting for backups to finish) {}", entry.step);
            }
            let pending = checker.representative().backups.iter().any(|b| {
                b.status == BackupStatus::InProgress
                    && b.id.as_ref().is_some_and(|id| created.contains(id))
            });
            if pending && Instant::now() >= deadline && !self.stopped() {
                // Reported once; later cases do not wait for an endpoint that never finishes.
                let waited = self.settle_wait;
                self.fault(
                    "not-settled",
                    &format!(
                        "backups the run created were still IN_PROGRESS after {} (hint: raise --settle-wait; the cleanup deletes what it can)",
                        humantime::format_duration(waited)
                    ),
                );
                self.settle_wait = Duration::ZERO;
            }
            if !pending || Instant::now() >= deadline || self.stopped() {
                return CaseResult::Passed;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Without a control plane: learns every server and backup through the public API.
    async fn discover_state(&mut self) -> Result<Vec<World>, CaseResult> {
        let (servers, servers_ex) = self.api(Operation::DescribeServers, &json!({})).await;
        let (backups, backups_ex) = self.api(Operation::DescribeBackups, &json!({})).await;
        for (answer, ex, op) in [
            (&servers, &servers_ex, "DescribeServers"),
            (&backups, &backups_ex, "DescribeBackups"),
        ] {
            if let Ok(Answer::Protocol(m)) = answer {
                // A broken answer is a divergence even while learning the state.
                return Err(CaseResult::Diverged(Box::new(Failure {
                    rule: m.rule,
                    message: format!("{op} (learning the endpoint's state): {}", m.message),
                    step_index: 0,
                    allowed: vec!["success".into()],
                    observed: format!(
                        "HTTP {} {}",
                        ex.status.unwrap_or(0),
                        abbreviate(&ex.response_body, 200)
                    ),
                    exchange: Some(ex.clone()),
                    timeline: vec![],
                })));
            }
        }
        let (servers, backups) = match (servers, backups) {
            (
                Ok(Answer::Observed(Observation::Success(s))),
                Ok(Answer::Observed(Observation::Success(b))),
            ) => (s, b),
            (Err(f), _) | (_, Err(f)) => {
                return Err(if f.class == "budget" {
                    CaseResult::Budget
                } else {
                    CaseResult::Unjudged(f)
                })
            }
            (s, b) => {
                let name = |a: &Result<Answer, FaultInfo>| match a {
                    Ok(Answer::Observed(o)) => observation_name(o),
                    _ => "no usable answer".into(),
                };
                let (s, b) = (name(&s), name(&b));
                return Err(CaseResult::Unjudged(self.fault(
                    "discovery",
                    &format!("cannot learn the endpoint's state: DescribeServers gave {s}, DescribeBackups gave {b}"),
                )));
            }
        };
        let mut worlds = World::all_readings(self.limit);
        for w in &mut worlds {
            for s in servers["Servers"].as_array().into_iter().flatten() {
                let (Some(name), Some(status)) = (
                    s["ServerName"].as_str(),
                    s["Status"].as_str().and_then(ServerStatus::parse),
                ) else {
                    continue;
                };
                w.put_server(
                    &model::ServerSpec {
                        name: name.into(),
                        status,
                        engine: s["Engine"].as_str().unwrap_or("").into(),
                        manual_backups: 0,
                        automated_backups: 0,
                    },
                    None,
                );
            }
            let listed: Vec<&Value> = backups["Backups"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            for (i, b) in listed.iter().rev().enumerate() {
                let kind = if b["BackupType"] == "AUTOMATED" {
                    BackupType::Automated
                } else {
                    BackupType::Manual
                };
                let status = b["Status"]
                    .as_str()
                    .and_then(BackupStatus::parse)
                    .unwrap_or(BackupStatus::Ok);
                std::sync::Arc::make_mut(&mut w.backups).push(model::Backup {
                    id: b["BackupId"].as_str().map(str::to_string),
                    server: b["ServerName"].as_str().unwrap_or("").into(),
                    kind,
                    status,
                    description: None,
                    seq: i as u64,
                    created_at_ms: None,
                });
                if status == BackupStatus::InProgress {
                    if let Some(s) = w.servers.get_mut(b["ServerName"].as_str().unwrap_or("")) {
                        if s.status == ServerStatus::BackingUp {
                            s.pending = Some(model::Pending::Backup { previous: None });
                        }
                    }
                }
            }
            w.next_seq = listed.len() as u64 + 1;
        }
        Ok(worlds)
    }

    /// Without a control plane: waits (bounded) for the backups this run created to finish, then
    /// deletes them. Best effort; what cannot be deleted is reported as a fault.
    async fn cleanup(&mut self) {
        if self.control_plane || self.to_clean.is_empty() {
            return;
        }
        let deadline = Instant::now() + self.settle_wait;
        let budget = self.max_calls.take();
        let mut pending = std::mem::take(&mut self.to_clean);
        while !pending.is_empty() {
            let mut left = Vec::new();
            for id in pending {
                self.calls += 1;
                let (t, _) = self
                    .target
                    .call(Operation::DeleteBackup, &json!({"BackupId": id}))
                    .await;
                match t {
                    Transport::Answered { status: 200, .. } => {}
                    Transport::Answered { body, .. }
                        if String::from_utf8_lossy(&body).contains("ResourceNotFound") => {}
                    _ => left.push(id),
                }
            }
            if left.is_empty()
                || Instant::now() >= deadline
                || self.interrupted.load(Ordering::SeqCst) && Instant::now() >= deadline
            {
                if !left.is_empty() {
                    let ids = left.join(", ");
                    self.fault(
                        "cleanup",
                        &format!("could not delete backups the run created: {ids}"),
                    );
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            pending = left;
        }
        self.max_calls = budget;
    }

    /// One round of the concurrency property: a server near the limit, K CreateBackup calls (and
    /// an UpdateServer) sent at once, then DescribeBackups and DescribeServers; the history must
    /// linearize in the model.
    async fn concurrent_round(&mut self, round: u64) -> CaseResult {
        let steps = concurrent_round_steps(self.limit, round);
        let as_call = |s: &Step| match s {
            Step::Call {
                operation, input, ..
            } => (*operation, input.clone()),
            _ => unreachable!("only the first step is a fixture"),
        };
        let calls: Vec<(Operation, Value)> =
            steps[1..steps.len() - 2].iter().map(as_call).collect();
        let after: Vec<(Operation, Value)> = steps[steps.len() - 2..].iter().map(as_call).collect();
        if let Err(f) = self.reset().await {
            return CaseResult::Unjudged(f);
        }
        let mut checker = self.new_checker();
        let mut ids = Ids::default();
        let mut timeline = Vec::new();
        let r = self
            .fixture_step(0, &steps[0], &mut checker, &mut ids, &mut timeline)
            .await;
        if !matches!(r, CaseResult::Passed) {
            return r;
        }
        let origin = Instant::now();
        let target = &self.target;
        let futures = calls.iter().map(|(op, input)| async move {
            let sent = origin.elapsed().as_micros() as i64;
            let (t, ex) = target.call(*op, input).await;
            let answered = origin.elapsed().as_micros() as i64;
            (t, ex, sent, answered)
        });
        let results = futures::future::join_all(futures).await;
        self.calls += calls.len() as u64;
        let mut history = Vec::new();
        let mut exchanges = Vec::new();
        for ((op, input), (t, ex, sent, answered)) in calls.iter().zip(results) {
            let observed = match t {
                Transport::Answered {
                    status,
                    headers,
                    body,
                } => {
                    let et = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
                        .map(|(_, v)| v.as_str());
                    match wire::decode_response(self.target.dialect, *op, status, et, &body) {
                        Answer::Observed(o) => o,
                        Answer::Protocol(m) => {
                            return CaseResult::Diverged(Box::new(Failure {
                                rule: m.rule,
                                message: m.message,
                                step_index: 1,
                                allowed: vec![],
                                observed: format!("HTTP {status}"),
                                exchange: Some(ex),
                                timeline,
                            }))
                        }
                        Answer::Throttled(m) => {
                            return CaseResult::Unjudged(self.fault("throttled", &m))
                        }
                        Answer::Unavailable(m) | Answer::AuthRefused(m) => {
                            return CaseResult::Unjudged(self.fault("unavailable", &m))
                        }
                    }
                }
                Transport::NoAnswer(_) => Observation::Unknown,
                Transport::Unreachable(m) => {
                    return CaseResult::Unjudged(self.fault("unreachable", &m))
                }
                Transport::TooLarge(n) => {
                    return CaseResult::Unjudged(
                        self.fault("too-large", &format!("larger than {n} bytes")),
                    )
                }
            };
            if !matches!(observed, Observation::Unknown) {
                self.judged += 1;
            }
            // Times in microseconds since the round began (see linearize_with_clock).
            history.push(concurrency::Recorded {
                action: Action::Call {
                    op: *op,
                    input: input.clone(),
                },
                observed,
                sent_ms: sent,
                answered_ms: answered,
            });
            exchanges.push(ex);
        }
        // Observe the state after the burst, in order.
        for (op, input) in after {
            let sent = origin.elapsed().as_micros() as i64;
            let (answer, ex) = self.api(op, &input).await;
            let answered = origin.elapsed().as_micros() as i64;
            let observed = match answer {
                Ok(Answer::Observed(o)) => o,
                Ok(Answer::Protocol(m)) => {
                    return CaseResult::Diverged(Box::new(Failure {
                        rule: m.rule,
                        message: m.message,
                        step_index: 2,
                        allowed: vec![],
                        observed: format!("HTTP {}", ex.status.unwrap_or(0)),
                        exchange: Some(ex),
                        timeline,
                    }))
                }
                Ok(_) => Observation::Unknown,
                Err(f) => return CaseResult::Unjudged(f),
            };
            history.push(concurrency::Recorded {
                action: Action::Call { op, input },
                observed,
                sent_ms: sent,
                answered_ms: answered,
            });
            exchanges.push(ex);
        }
        // The model checks CreatedAt against the wall clock: give it the round's wall-clock window.
        let wall0 = chrono::Utc::now().timestamp_millis() - origin.elapsed().as_millis() as i64;
        let checked = concurrency::linearize_with_clock(&checker, &history, wall0);
        match checked {
            Ok(_) => CaseResult::Passed,
            Err(e) => {
                for (i, r) in history.iter().enumerate() {
                    let step = Step::call(
                        match &r.action {
                            Action::Call { op, .. } => *op,
                            _ => Operation::DescribeServers,
                        },
                        match &r.action {
                            Action::Call { input, .. } => input.clone(),
                            _ => json!({}),
                        },
                    );
                    timeline.push(TimelineEntry {
                        index: i + 1,
                        step: format!(
                            "[{:>8.3} ms .. {:>8.3} ms] {}{step}",
                            r.sent_ms as f64 / 1000.0,
                            r.answered_ms as f64 / 1000.0,
                            if i < calls.len() { "(concurrent) " } else { "" }
                        ),
                        observed: observed_line(&r.observed),
                        model_change: String::new(),
                        worlds: 0,
                        diverged: i == e.failed_at,
                    });
                }
                let order: Vec<String> = e.furthest.iter().map(|i| (i + 1).to_string()).collect();
                CaseResult::Diverged(Box::new(Failure {
                    rule: e.rule,
                    message: format!(
                        "no sequential order of the {} calls explains what was observed (furthest order tried: calls {}; there: {})",
                        history.len(),
                        order.join(", "),
                        e.message
                    ),
                    step_index: e.failed_at + 1,
                    allowed: e.allowed,
                    observed: observed_line(&history[e.failed_at].observed),
                    exchange: exchanges.get(e.failed_at).cloned(),
                    timeline,
                }))
            }
        }
    }

    /// Shrinks a failing generated plan with proptest's value tree, keeping candidates that fail
    /// on the same rule. Each candidate runs on a freshly reset endpoint.
    async fn shrink(
        &mut self,
        tree: &mut Box<dyn ValueTree<Value = Plan>>,
        first: Failure,
        config: &RunConfig,
        original: &Plan,
    ) -> (Plan, Failure) {
        let rule = first.rule;
        let mut best = (original.clone(), first);
        let mut iters = 0;
        if let Some(bar) = &self.progress {
            bar.set_message("shrinking");
        }
        if tree.simplify() {
            loop {
                iters += 1;
                if iters > config.max_shrink_iters || self.stopped() {
                    break;
                }
                let mut candidate = tree.current();
                candidate.name = original.name.clone();
                candidate.origin = original.origin.clone();
                let (result, _) = self.run_plan(&candidate, false).await;
                match result {
                    CaseResult::Diverged(f) if f.rule == rule => {
                        if candidate.steps.len() <= best.0.steps.len() {
                            best = (candidate, *f);
                        }
                        if !tree.simplify() {
                            break;
                        }
                    }
                    _ => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        // Drop steps after the divergence: they never ran.
        let (mut plan, failure) = best;
        plan.steps.truncate(failure.step_index + 1);
        (plan, failure)
    }

    /// Re-runs the minimal plan, saves it, and builds the report's divergence.
    #[allow(clippy::too_many_arguments)]
    async fn finish_divergence(
        &mut self,
        config: &RunConfig,
        trial: &str,
        mut plan: Plan,
        original_steps: usize,
        failure: Failure,
        save: bool,
        concurrent_round: Option<u64>,
    ) -> Divergence {
        *self.coverage.entry(failure.rule).or_default() = {
            let (p, f, d) = self.coverage.get(failure.rule).copied().unwrap_or_default();
            (p, f, d + 1)
        };
        let mut reproduced = 0;
        let runs = if self.stopped() {
            0
        } else {
            config.reproduce_runs
        };
        for _ in 0..runs {
            let r = match concurrent_round {
                // A race is re-run as the same round, not as a sequential plan.
                Some(round) => self.concurrent_round(round).await,
                None => self.run_plan(&plan, false).await.0,
            };
            if matches!(r, CaseResult::Diverged(f) if f.rule == failure.rule) {
                reproduced += 1;
            }
        }
        let rule = rule_by_id(failure.rule);
        if save {
            plan.name = format!(
                "{}-{:08x}",
                failure.rule.replace('.', "-"),
                fnv(&plan.to_json_pretty())
            );
            plan.description = format!(
                "Shrunk counterexample for {}: \"{}\"",
                failure.rule,
                rule.map(|r| r.text).unwrap_or("")
            );
            plan.rules = vec![failure.rule.to_string()];
        }
        let saved_to = if save && config.save_regressions {
            config
                .scenarios_dir
                .as_ref()
                .and_then(|dir| save_plan(&dir.join("regressions"), &plan))
        } else {
            None
        }
        .or_else(|| {
            config
                .report_dir
                .as_ref()
                .and_then(|dir| save_plan(&dir.join("plans"), &plan))
        });
        let replay_command = format!(
            "opsworkscm-conformance replay {} --endpoint {} --dialect {}{}",
            saved_to.as_deref().unwrap_or("PLAN.json"),
            shell_quote(&config.endpoint_arg),
            config.dialect.name(),
            mutant_flag(config)
        );
        let curl_command = failure
            .exchange
            .as_ref()
            .filter(|e| e.method == "POST")
            .map(|e| {
                let mut cmd = format!("curl -sS -i -X POST {}", shell_quote(&e.url));
                for (k, v) in &e.request_headers {
                    if k.eq_ignore_ascii_case("content-type")
                        || k.eq_ignore_ascii_case("x-amz-target")
                        || k.eq_ignore_ascii_case("accept")
                    {
                        cmd.push_str(&format!(" -H {}", shell_quote(&format!("{k}: {v}"))));
                    }
                }
                cmd.push_str(&format!(" --data {}", shell_quote(&e.request_body)));
                cmd
            });
        let expected_text = format!(
            "allowed outcomes:\n{}\n",
            failure
                .allowed
                .iter()
                .map(|a| format!("  {a}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let observed_text = format!(
            "observed:\n  {}\n{}",
            failure.observed,
            failure
                .exchange
                .as_ref()
                .map(|e| pretty_body(&e.response_body))
                .unwrap_or_default()
        );
        let diff = report::unified_diff(&expected_text, &observed_text);
        Divergence {
            rule: failure.rule.to_string(),
            rule_text: rule.map(|r| r.text.to_string()).unwrap_or_default(),
            trial: trial.to_string(),
            message: failure.message,
            plan,
            original_steps,
            step_index: failure.step_index,
            timeline: failure.timeline,
            allowed: failure.allowed,
            observed: failure.observed,
            exchange: failure.exchange,
            diff,
            reproduction: (runs > 0).then(|| Reproduction {
                runs,
                reproduced,
                classification: if reproduced == runs {
                    "deterministic"
                } else {
                    "flaky"
                }
                .into(),
            }),
            replay_command,
            curl_command,
            saved_to,
        }
    }
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

/// ` --mutant NAME` when the embedded emulator serves a mutant, so replay commands reproduce.
fn mutant_flag(config: &RunConfig) -> String {
    match (&config.endpoint, &config.emulator.mutant) {
        (EndpointSpec::Embedded, Some(m)) => format!(" --mutant {m}"),
        _ => String::new(),
    }
}

/// The steps of a concurrency round: the fixture, the calls sent at once, the observations after.
fn concurrent_round_steps(limit: u32, round: u64) -> Vec<Step> {
    let manual = [0, limit.saturating_sub(2), limit.saturating_sub(1)][(round % 3) as usize];
    let k = 4 + (round % 3) as usize;
    let mut steps = vec![Step::PutServer {
        server_name: "web".into(),
        status: ServerStatus::Healthy,
        engine: "ChefAutomate".into(),
        manual_backups: manual,
        automated_backups: 0,
    }];
    let mut calls: Vec<Step> = (0..k)
        .map(|_| Step::call(Operation::CreateBackup, json!({"ServerName": "web"})))
        .collect();
    calls.insert(
        k / 2,
        Step::call(
            Operation::UpdateServer,
            json!({"ServerName": "web", "BackupRetentionCount": 5}),
        ),
    );
    steps.extend(calls);
    steps.push(Step::call(
        Operation::DescribeBackups,
        json!({"ServerName": "web"}),
    ));
    steps.push(Step::call(Operation::DescribeServers, json!({})));
    steps
}

/// A tiny extension to count a fault while passing an answer through.
trait TapFault {
    fn tap_fault(self, session: &mut Session, class: &'static str, message: &str) -> Self;
}

impl TapFault for Answer {
    fn tap_fault(self, session: &mut Session, class: &'static str, message: &str) -> Self {
        session.fault(class, message);
        self
    }
}

fn pretty_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let s = serde_json::to_string_pretty(&v).unwrap_or_default();
            abbreviate(&s, 4000)
        }
        Err(_) => abbreviate(body, 4000),
    }
}

fn abbreviate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!(
            "{}... ({} characters)",
            s.chars().take(max).collect::<String>(),
            s.chars().count()
        )
    } else {
        s.to_string()
    }
}

fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h
}

fn save_plan(dir: &Path, plan: &Plan) -> Option<String> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("{}.json", plan.name));
    std::fs::write(&path, plan.to_json_pretty() + "\n").ok()?;
    Some(path.display().to_string())
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("http://127.0.0.1:4566/"),
            "http://127.0.0.1:4566/"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("{\"a\": 1}"), "'{\"a\": 1}'");
    }

    #[test]
    fn trial_names_follow_the_path() {
        let root = Path::new("scenarios");
        assert_eq!(
            scenario_trial_name(root, Path::new("scenarios/limit/fifty-first.json")),
            "scenario::limit::fifty-first"
        );
    }
}
