//! The report builder: the sink that keeps what a run's events say and assembles the one
//! [`RunReport`] every report file is written from.

use crate::runner::{EventSink, RunEvent, RunSummary};

use super::{Divergence, RunReport, TrialOutcome, TrialResult, REPORT_VERSION};

/// Keeps the trials and divergences as they come; the report is complete at `RunFinished`.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    trials: Vec<TrialResult>,
    divergences: Vec<Divergence>,
    report: Option<RunReport>,
}

impl EventSink for ReportBuilder {
    /// Keeps what `event` adds to the report.
    fn event(&mut self, event: &RunEvent<'_>) {
        match event {
            RunEvent::DivergenceFound(d) => self.divergences.push((*d).clone()),
            RunEvent::TrialFinished(t) => {
                let mut trial = (*t).clone();
                if trial.outcome == TrialOutcome::Failed && trial.message.is_none() {
                    trial.message = self
                        .divergences
                        .iter()
                        .rfind(|d| d.trial == trial.name)
                        .map(failure_message);
                }
                self.trials.push(trial);
            }
            RunEvent::RunFinished(summary) => self.report = Some(self.assemble(summary)),
            _ => {}
        }
    }
}

impl ReportBuilder {
    /// The report, once the run has finished (None before `RunFinished`).
    pub fn finish(self) -> Option<RunReport> {
        self.report
    }

    fn assemble(&mut self, s: &RunSummary) -> RunReport {
        RunReport {
            version: REPORT_VERSION,
            tool: Default::default(),
            verdict: s.verdict,
            error: s.error.clone(),
            target: s.target.clone(),
            seed: s.seed,
            started_at: s.started_at.clone(),
            duration_ms: s.duration.as_millis() as u64,
            cases: s.cases,
            calls: s.calls,
            calls_to_first_divergence: s.calls_to_first_divergence,
            readings: s.readings.clone(),
            coverage: s.coverage.clone(),
            trials: std::mem::take(&mut self.trials),
            divergences: std::mem::take(&mut self.divergences),
            faults: s.faults.clone(),
            operations_not_served: s.operations_not_served.clone(),
            not_exercised: s.not_exercised.clone(),
        }
    }
}

/// The message a CI dashboard shows for a failed trial.
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
