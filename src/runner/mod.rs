//! The runner: runs plans step by step against a target, checks every answer with the
//! [`Checker`](crate::check::Checker), shrinks a failing generated plan with proptest, re-runs
//! the minimal plan to measure how often it reproduces, saves it as a regression, and assembles
//! the [`RunReport`].
//!
//! Order of a run (`schedule`): saved regressions, one probe per scenario family, then the other
//! scenarios round-robin over the families with a generated case every few scenarios, then the
//! generated cases left; `--fail-fast` stops at the first divergence. With a control plane
//! every case (and every shrink candidate) starts from a reset endpoint; without one, the runner learns the state through the public
//! API, touches only what it created, and deletes the backups it created when a case ends (and
//! on Ctrl-C).
//!
//! The parts, by job: `session` (target, budget, retries, faults), `case` (one plan's run),
//! `no_control_plane`, `concurrent` and `parallel` (calls sent at once), `shrink`, `divergence`,
//! `coverage`, `trials` (scenario and generated trials, one bookkeeping), `schedule` (their order) and `ending` (verdict, exit code, report).

mod case;
pub mod concurrent;
mod config;
mod coverage;
mod discover;
mod divergence;
mod ending;
mod endpoint;
mod held;
mod no_control_plane;
pub mod outcome;
mod parallel;
mod schedule;
mod served;
mod session;
mod shrink;
mod timeline;
mod trials;

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::{Error, ExitCode};
use crate::plan;
use crate::report::{self, RunReport};
use crate::scenarios::load_scenarios;

pub use config::{ControlPlaneMode, EmulatorSettings, RunConfig};
pub use divergence::shell_quote;

use ending::{write_reports, Ending};
use session::Session;
use trials::Run;

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
    let (target, emulator, shown) = endpoint::connect(&config).await?;
    let secrets = target.secrets();
    let mut session = Session::new(target, &config, endpoint::interrupt_flag());
    let discovered = session.discover(&config).await;
    let mut run = Run {
        config: &config,
        session,
        seed,
        started,
        started_at,
        shown,
        found: Default::default(),
    };
    let (ending, limit_source) = match discovered {
        Err(fault) => (Ending::unjudged(fault.message), None),
        Ok(limit_source) => {
            run.announce(scenarios.len() as u64);
            run.trials(&scenarios).await;
            if let Some(bar) = run.session.progress.take() {
                bar.finish_and_clear();
            }
            run.session.cleanup().await;
            (run.ending(), Some(limit_source))
        }
    };
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    let first_divergence_after = run.found.first_at;
    let report = run.report(&ending, limit_source).redacted(&secrets);
    let written = write_reports(&config, &report, &secrets)?;
    Ok(RunOutcome {
        report,
        exit: ending.exit,
        written,
        first_divergence_after,
    })
}

impl Run<'_> {
    /// Says what is tested, and starts the progress bar when asked.
    fn announce(&mut self, scenarios: u64) {
        let config = self.config;
        eprintln!(
            "testing {} ({}, {}), seed {}, {} cases",
            self.shown,
            config.dialect.name(),
            if self.session.control_plane {
                "control plane"
            } else {
                "public API only"
            },
            self.seed,
            config.cases
        );
        if config.progress {
            let generated = if config.generated { config.cases } else { 0 };
            let bar = ProgressBar::new(scenarios + generated);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            self.session.progress = Some(bar);
        }
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
