//! How a run ends: its verdict and exit code (decided in one place, [`Run::ending`]) and its
//! summary, the last event.

use crate::exit::ExitCode;

use super::event::RunSummary;
use super::outcome::{Fault, TargetInfo, Verdict};
use super::trials::Run;

/// A run's verdict, its exit code and, for an error, why.
pub(super) struct Ending {
    pub(super) verdict: Verdict,
    pub(super) exit: ExitCode,
    pub(super) error: Option<String>,
}

impl Ending {
    fn new(verdict: Verdict, exit: ExitCode, error: Option<String>) -> Self {
        Ending {
            verdict,
            exit,
            error,
        }
    }

    /// The endpoint could not be judged (exit 3).
    pub(super) fn unjudged(why: String) -> Self {
        Ending::new(Verdict::Error, ExitCode::Unjudged, Some(why))
    }
}

impl Run<'_> {
    /// The verdict of the trials run, and the exit code that goes with it.
    pub(super) fn ending(&self) -> Ending {
        let found = &self.found;
        if found.divergences > 0 {
            Ending::new(Verdict::Fail, ExitCode::Divergence, None)
        } else if !found.bad_scenarios.is_empty() {
            let why = format!(
                "scenario files contradict the model: {}",
                found.bad_scenarios.join("; ")
            );
            Ending::new(Verdict::Error, ExitCode::Usage, Some(why))
        } else if self.session.judged == 0 {
            let why = self.session.first_fault("no call was made");
            Ending::unjudged(format!("no answer could be judged ({why})"))
        } else if self.session.interrupted() {
            Ending::unjudged("the run was interrupted (Ctrl-C)".into())
        } else if let Some(why) = self.missing_required() {
            Ending::new(Verdict::Fail, ExitCode::Divergence, Some(why))
        } else if !found.unjudged.is_empty() {
            let why = self
                .session
                .first_fault("--max-calls reached before every case ran");
            Ending::unjudged(format!(
                "{} trial(s) could not be judged ({why})",
                found.unjudged.len()
            ))
        } else {
            Ending::new(Verdict::Pass, ExitCode::Pass, None)
        }
    }

    /// With `--require-operations all`: why the operations not served fail the run.
    fn missing_required(&self) -> Option<String> {
        let names = self.session.served.not_served_names();
        (self.config.require_all_operations && !names.is_empty()).then(|| {
            format!(
                "--require-operations all: the endpoint does not serve {} (hint: serve them, or drop --require-operations to judge the endpoint on the operations it serves)",
                names.join(", ")
            )
        })
    }

    /// The endpoint as the reports show it; `limit_source` is empty when the endpoint could
    /// not be learned.
    pub(super) fn target_info(&self, limit_source: &str) -> TargetInfo {
        let session = &self.session;
        TargetInfo {
            endpoint: self.shown.clone(),
            dialect: self.config.dialect.name().into(),
            region: self.config.region.clone(),
            control_plane: session.control_plane,
            signed: session.target.signed(),
            limit: session.limit,
            limit_source: limit_source.to_string(),
        }
    }

    /// The run's summary; `limit_source` is None when the endpoint could not be discovered (no
    /// trial ran, so no coverage is reported).
    pub(super) fn summary(&self, ending: Ending, limit_source: Option<String>) -> RunSummary {
        let found = &self.found;
        let session = &self.session;
        let coverage = match limit_source {
            Some(_) => session.coverage_rows(),
            None => vec![],
        };
        let matrices = limit_source.as_ref().map(|_| session.matrices());
        RunSummary {
            verdict: ending.verdict,
            exit: ending.exit,
            error: ending.error,
            target: self.target_info(limit_source.as_deref().unwrap_or_default()),
            seed: self.seed,
            started_at: self.started_at.clone(),
            duration: self.started.elapsed(),
            cases: found.cases,
            calls: session.calls,
            calls_to_first_divergence: found.calls_to_first,
            first_divergence_after: found.first_at,
            readings: session.held.summary(),
            coverage,
            operations_not_served: session.served.not_served_names(),
            not_exercised: session.not_exercised_lines(),
            input_coverage: matrices.as_ref().map(|m| m.0.clone()),
            transition_coverage: matrices.map(|m| m.1),
            faults: session
                .faults
                .iter()
                .map(|((class, message), count)| Fault {
                    class: *class,
                    message: message.clone(),
                    count: *count,
                })
                .collect(),
        }
    }
}
