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
            input_coverage: s.input_coverage.clone(),
            transition_coverage: s.transition_coverage.clone(),
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

#[cfg(test)]
mod tests {
    use crate::model::rules;
    use std::time::Duration;

    use super::*;
    use crate::exit::ExitCode;
    use crate::plan::Plan;
    use crate::report::{TrialKind, Verdict};

    fn divergence(trial: &str) -> Divergence {
        Divergence {
            rule: rules::CREATE_BACKUP_LIMIT.into(),
            rule_text: String::new(),
            trial: trial.into(),
            message: "the 51st manual backup succeeded".into(),
            plan: Plan::new("p", vec![]),
            original_steps: 0,
            step_index: 0,
            timeline: vec![],
            allowed: vec!["LimitExceededException".into()],
            observed: "success".into(),
            exchange: None,
            diff: String::new(),
            reproduction: None,
            replay_command: "opsworkscm-conformance replay p.json".into(),
            curl_command: None,
            saved_to: None,
        }
    }

    fn trial(name: &str, outcome: TrialOutcome) -> TrialResult {
        TrialResult {
            name: name.into(),
            kind: TrialKind::Scenario,
            outcome,
            duration_ms: 1,
            calls: 2,
            message: None,
        }
    }

    fn summary() -> RunSummary {
        RunSummary {
            verdict: Verdict::Fail,
            exit: ExitCode::Divergence,
            error: None,
            target: Default::default(),
            seed: 7,
            started_at: "2026-11-30T00:00:00Z".into(),
            duration: Duration::from_millis(1500),
            cases: 0,
            calls: 2,
            calls_to_first_divergence: Some(2),
            first_divergence_after: None,
            readings: vec![],
            coverage: vec![],
            faults: vec![],
            operations_not_served: vec![],
            not_exercised: vec![],
            input_coverage: None,
            transition_coverage: None,
        }
    }

    #[test]
    fn the_report_is_whole_at_run_finished_with_a_failed_trial_worded_from_its_divergence() {
        let mut b = ReportBuilder::default();
        let d = divergence("scenario::limit::a");
        let (failed, passed) = (
            trial("scenario::limit::a", TrialOutcome::Failed),
            trial("scenario::limit::b", TrialOutcome::Passed),
        );
        b.event(&RunEvent::DivergenceFound(&d));
        b.event(&RunEvent::TrialFinished(&failed));
        b.event(&RunEvent::TrialFinished(&passed));
        assert!(b.report.is_none(), "no report before the run ends");
        b.event(&RunEvent::RunFinished(&summary()));
        let report = b.finish().expect("a report at RunFinished");
        assert_eq!(report.version, REPORT_VERSION);
        assert_eq!((report.seed, report.duration_ms), (7, 1500));
        assert_eq!(report.divergences.len(), 1);
        let names: Vec<&str> = report.trials.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["scenario::limit::a", "scenario::limit::b"]);
        let message = report.trials[0].message.as_deref().unwrap_or_default();
        assert!(
            message.starts_with("[create-backup.limit] the 51st manual backup succeeded\n"),
            "{message}"
        );
        assert!(
            message.ends_with("replay: opsworkscm-conformance replay p.json"),
            "{message}"
        );
        assert_eq!(report.trials[1].message, None);
    }
}
