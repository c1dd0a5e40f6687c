//! The interface between the runner and its reporters, as nextest's `reporter/events.rs` is:
//! the runner says what happens, in order, as [`RunEvent`]s sent to one [`EventSink`]; the
//! sinks (the console line and progress bar, the report builder, in the `report` module) decide
//! what to show or keep. The runner formats nothing for people and writes no report file.
//!
//! Order of a run's events: `RunStarted` (only when the endpoint could be reached and learned),
//! then per trial `TrialStarted`, its steps (`StepObserved`, also for the re-runs of shrinking
//! and reproduction), `Fault`s as they are counted, `Shrinking` and `DivergenceFound` when a
//! case diverges, one `CaseFinished` per scenario file or generated case, `TrialFinished`;
//! last, always, `RunFinished`. `Sent` comes for every HTTP request once its answer is read,
//! from the first one (the capabilities probe, before `RunStarted`) on.

use std::time::Duration;

use crate::coverage::CoverageMatrix;
use crate::exit::ExitCode;
use crate::wire::Exchange;

use super::outcome::{
    Divergence, Fault, FaultClass, RuleCoverage, TargetInfo, TimelineEntry, TrialKind, TrialResult,
    Verdict,
};

/// One thing that happened in a run.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// The endpoint was reached and learned: what is tested, and how much work is planned.
    RunStarted(&'a RunStart),
    /// A trial (a scenario file, a saved regression, the generated cases' property) begins.
    TrialStarted { name: &'a str, kind: TrialKind },
    /// One HTTP request (API call or control plane, shrinking included) and its answer, as
    /// sent and read; the calls of a parallel block in the block's order, once all answered.
    Sent(&'a Exchange),
    /// A step's answer the model explained, as the timeline shows it.
    StepObserved(&'a TimelineEntry),
    /// A problem with the endpoint that is not a verdict, each time it is counted.
    Fault { class: FaultClass, message: &'a str },
    /// A generated case's plan diverged and is being shrunk.
    Shrinking { plan: &'a str },
    /// A divergence, finished: minimal plan, reproduction, where it was saved.
    DivergenceFound(&'a Divergence),
    /// One unit of the planned work is done: a scenario file (run or skipped) or a generated
    /// case. `calls` and `divergences` are the run's totals so far.
    CaseFinished { calls: u64, divergences: usize },
    /// A trial ended. A failed trial's `message` is left to the reporters (its divergence was
    /// sent just before).
    TrialFinished(&'a TrialResult),
    /// The run is over: the verdict and every count the trials did not carry.
    RunFinished(&'a RunSummary),
}

/// What a run tests, told once the endpoint has been learned.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub target: TargetInfo,
    pub seed: u64,
    /// Generated cases asked for (`--cases`).
    pub cases: u64,
    /// Units of work planned: scenario files plus generated cases (see `CaseFinished`).
    pub planned: u64,
}

/// Everything a finished run knows beyond its trials and divergences.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub verdict: Verdict,
    pub exit: ExitCode,
    /// Why the endpoint could not be judged, or why the run failed without a divergence.
    pub error: Option<String>,
    pub target: TargetInfo,
    pub seed: u64,
    /// RFC 3339 start time.
    pub started_at: String,
    pub duration: Duration,
    /// Generated cases run (not counting shrinking).
    pub cases: u64,
    /// Every HTTP request sent (API and control plane), shrinking included.
    pub calls: u64,
    pub calls_to_first_divergence: Option<u64>,
    /// Time from the start to the first divergence (before shrinking).
    pub first_divergence_after: Option<Duration>,
    /// The readings of the ambiguous rules the endpoint kept to, each once.
    pub readings: Vec<String>,
    /// Every rule of the catalogue; empty when no trial could run.
    pub coverage: Vec<RuleCoverage>,
    /// Each fault once per class and message, with its count.
    pub faults: Vec<Fault>,
    pub operations_not_served: Vec<String>,
    pub not_exercised: Vec<String>,
    /// The input-feature matrix; None when no trial could run.
    pub input_coverage: Option<CoverageMatrix>,
    /// The transition matrix; None when no trial could run.
    pub transition_coverage: Option<CoverageMatrix>,
}

/// Where a run's events go. A closure taking `&RunEvent` is a sink; several sinks are one
/// sink that passes each event on (see the `report` module's `Reporter`).
pub trait EventSink {
    fn event(&mut self, event: &RunEvent<'_>);
}

impl<F: FnMut(&RunEvent<'_>)> EventSink for F {
    fn event(&mut self, event: &RunEvent<'_>) {
        self(event)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::runner::outcome::TrialOutcome;
    use crate::runner::{run, RunConfig};

    /// The events of one scenario run against the embedded emulator serving `mutant`, each as
    /// its variant's name (`Sent` left out); and the trial that finished.
    async fn events_of(mutant: Option<&str>) -> (Vec<&'static str>, Option<TrialResult>) {
        let (names, finished, _, _) = events_and_requests_of(mutant).await;
        (names, finished)
    }

    /// [`events_of`], with the requests told by `Sent` and the calls the run counted.
    async fn events_and_requests_of(
        mutant: Option<&str>,
    ) -> (Vec<&'static str>, Option<TrialResult>, Vec<Exchange>, u64) {
        let file = Path::new("scenarios/limit/fifty-first-manual-backup-refused.json");
        let plan = crate::plan::load_plan(file).expect("the scenario loads");
        let mut config = RunConfig {
            plans: Some(vec![("scenario::limit::fifty-first".into(), plan)]),
            generated: false,
            save_regressions: false,
            reproduce_runs: 1,
            seed: Some(7),
            ..RunConfig::default()
        };
        config.emulator.mutant = mutant.map(str::to_string);
        let mut names = Vec::new();
        let mut finished = None;
        let mut sent = Vec::new();
        let mut sink = |e: &RunEvent<'_>| {
            names.push(match e {
                RunEvent::RunStarted(_) => "RunStarted",
                RunEvent::TrialStarted { .. } => "TrialStarted",
                RunEvent::Sent(ex) => {
                    sent.push((*ex).clone());
                    return;
                }
                RunEvent::StepObserved(_) => "StepObserved",
                RunEvent::Fault { .. } => "Fault",
                RunEvent::Shrinking { .. } => "Shrinking",
                RunEvent::DivergenceFound(_) => "DivergenceFound",
                RunEvent::CaseFinished { .. } => "CaseFinished",
                RunEvent::TrialFinished(t) => {
                    finished = Some((*t).clone());
                    "TrialFinished"
                }
                RunEvent::RunFinished(_) => "RunFinished",
            });
        };
        let end = run(&config, &mut sink).await.expect("the run runs");
        names.dedup();
        (names, finished, sent, end.summary.calls)
    }

    #[tokio::test]
    async fn every_request_is_told_once_in_the_order_sent() {
        let (_, _, sent, calls) = events_and_requests_of(None).await;
        assert_eq!(sent.len() as u64, calls, "one Sent per request counted");
        assert!(sent[0].url.ends_with("/_conformance/v1/capabilities"));
        assert!(sent[1].url.ends_with("/_conformance/v1/reset"));
        assert!(
            sent.iter()
                .any(|ex| ex.request_body.contains("\"ServerName\"") && ex.status == Some(200)),
            "API calls are told with their bodies and statuses"
        );
    }

    #[tokio::test]
    async fn a_divergence_is_told_before_its_trial_ends_and_the_run_ends_last() {
        let (names, trial) = events_of(Some("limit-off-by-one-high")).await;
        // The steps of the case and of its reproduction's re-run come in one stretch.
        assert_eq!(
            names,
            [
                "RunStarted",
                "TrialStarted",
                "StepObserved",
                "DivergenceFound",
                "CaseFinished",
                "TrialFinished",
                "RunFinished"
            ]
        );
        let trial = trial.expect("the trial finished");
        assert_eq!(trial.outcome, TrialOutcome::Failed);
        assert_eq!(trial.message, None, "the reporters word a failure");
    }

    #[tokio::test]
    async fn a_passing_scenario_tells_its_steps_and_no_divergence() {
        let (names, trial) = events_of(None).await;
        assert_eq!(
            names,
            [
                "RunStarted",
                "TrialStarted",
                "StepObserved",
                "CaseFinished",
                "TrialFinished",
                "RunFinished"
            ]
        );
        assert_eq!(trial.map(|t| t.outcome), Some(TrialOutcome::Passed));
    }
}
