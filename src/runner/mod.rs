//! The runner: runs plans step by step against a target, checks every answer with the
//! [`Checker`](crate::check::Checker), shrinks a failing generated plan with proptest, re-runs
//! the minimal plan to measure how often it reproduces, saves it as a regression, and decides
//! the verdict and exit code.
//!
//! Order of a run (`schedule`): saved regressions, one probe per scenario family, then the other
//! scenarios round-robin over the families with a generated case every few scenarios, then the
//! generated cases left; `--fail-fast` stops at the first divergence. With a control plane
//! every case (and every shrink candidate) starts from a reset endpoint; without one, the runner
//! learns the state through the public API, touches only what it created, and deletes the
//! backups it created when a case ends (and on Ctrl-C).
//!
//! The runner formats nothing for people and writes no report: it sends [`RunEvent`]s to an
//! [`EventSink`] (see `event`), and the `report` module turns them into the console's lines, the
//! progress bar and the report files.
//!
//! The parts, by job: `session` (target, budget, retries, faults, events), `case` (one plan's
//! run), `no_control_plane`, `concurrent` and `parallel` (calls sent at once), `shrink`,
//! `divergence`, `coverage`, `trials` (scenario and generated trials, one bookkeeping),
//! `schedule` (their order), `ending` (verdict, exit code, summary); `outcome` and `event` are
//! the words and events the reporters read.

mod case;
pub mod concurrent;
mod config;
mod coverage;
mod discover;
mod divergence;
mod ending;
mod endpoint;
pub mod event;
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
use std::time::Instant;

use crate::exit::Error;
use crate::plan;
use crate::scenarios::load_scenarios;

pub use config::{ControlPlaneMode, EmulatorSettings, RunConfig};
pub use divergence::shell_quote;
pub use event::{EventSink, RunEvent, RunStart, RunSummary};

use ending::Ending;
use session::Session;
use trials::Run;

/// How a run ended, for its caller: the summary (sent as `RunFinished` too) and the secrets
/// every report must leave out.
pub struct RunEnd {
    pub summary: RunSummary,
    pub secrets: Vec<String>,
}

/// Runs the suite as configured, sending what happens to `events`.
pub async fn run(config: &RunConfig, events: &mut (dyn EventSink + Send)) -> Result<RunEnd, Error> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let seed = config.seed.unwrap_or_else(|| fastrand::u64(..));
    // Scenario files are read before anything is sent: a broken file is a usage error.
    let scenarios = match &config.plans {
        Some(plans) => plans.clone(),
        None => load_scenarios(config.scenarios_dir.as_deref())?,
    };
    let (target, emulator, shown) = endpoint::connect(config).await?;
    let secrets = target.secrets();
    let mut session = Session::new(target, config, endpoint::interrupt_flag(), events);
    let discovered = session.discover(config).await;
    let mut run = Run {
        config,
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
            run.announce(scenarios.len() as u64, &limit_source);
            run.trials(&scenarios).await;
            run.session.cleanup().await;
            (run.ending(), Some(limit_source))
        }
    };
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    let summary = run.summary(ending, limit_source);
    run.session.emit(RunEvent::RunFinished(&summary));
    Ok(RunEnd { summary, secrets })
}

impl Run<'_> {
    /// Tells what is tested and how much work is planned.
    fn announce(&mut self, scenarios: u64, limit_source: &str) {
        let config = self.config;
        let generated = if config.generated { config.cases } else { 0 };
        let start = RunStart {
            target: self.target_info(limit_source),
            seed: self.seed,
            cases: config.cases,
            planned: scenarios + generated,
        };
        self.session.emit(RunEvent::RunStarted(&start));
    }
}

/// The configuration of `replay`: one plan file, the same checks as `run`, one trial, no
/// generation.
pub fn replay_config(mut config: RunConfig, file: &Path) -> Result<RunConfig, Error> {
    let plan = plan::load_plan(file).map_err(|e| Error::Scenario(e.to_string()))?;
    let name = format!("replay::{}", plan.name);
    config.plans = Some(vec![(name, plan)]);
    config.generated = false;
    config.save_regressions = false;
    Ok(config)
}
