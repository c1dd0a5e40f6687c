//! `junit.xml`: one test suite, `opsworkscm-conformance`, with one test case per trial, for CI
//! dashboards. A failed trial carries its divergences (rule, minimal plan, replay command); a
//! trial that could not judge the endpoint is an error. A run that ended in `error` before any
//! trial did gets one `run::endpoint` error case, so a dashboard never shows it green.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::redact::Redactor;
use super::{redact, Divergence, RunReport, TrialOutcome, TrialResult, Verdict};

/// The test suite's name.
pub const SUITE: &str = "opsworkscm-conformance";

/// Bytes of a failure's text body (its divergences), so one runaway trial cannot swamp a CI
/// dashboard.
const MAX_DESCRIPTION: usize = 64 * 1024;

/// `junit.xml` for a report, without secrets.
pub fn to_junit(report: &RunReport) -> String {
    render(report, &[])
}

/// `junit.xml`, with `secrets` removed too.
pub(super) fn render(report: &RunReport, secrets: &[String]) -> String {
    let c = &Redactor::new(secrets);
    let mut suite = TestSuite::new(SUITE);
    suite.set_time(Duration::from_millis(report.duration_ms));
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
        suite.set_timestamp(t);
    }
    suite.add_properties([
        Property::new("verdict", report.verdict.as_str()),
        Property::new("endpoint", c.line(&report.target.endpoint, 1000)),
        Property::new("dialect", c.line(&report.target.dialect, 100)),
        Property::new("seed", report.seed.to_string()),
        Property::new("cases", report.cases.to_string()),
        Property::new("calls", report.calls.to_string()),
    ]);
    for trial in &report.trials {
        suite.add_test_case(test_case(report, trial, c));
    }
    if report.verdict == Verdict::Error
        && !report
            .trials
            .iter()
            .any(|t| t.outcome == TrialOutcome::Error)
    {
        let why = report
            .error
            .as_deref()
            .unwrap_or("the endpoint could not be judged");
        let mut case = TestCase::new("endpoint", error_status(why, c));
        case.set_classname("run");
        suite.add_test_case(case);
    }
    let mut junit = Report::new(SUITE);
    junit.set_time(Duration::from_millis(report.duration_ms));
    junit.add_test_suite(suite);
    let xml = junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit.xml could not be rendered: {e} -->\n"));
    redact(&xml, secrets)
}

/// One trial's test case: its class (the part of its name before `::`), its time, and its
/// status with the divergences of a failure.
fn test_case(report: &RunReport, trial: &TrialResult, c: &Redactor) -> TestCase {
    let (classname, name) = match trial.name.split_once("::") {
        Some((class, rest)) if !class.is_empty() && !rest.is_empty() => (class, rest),
        _ => (trial.kind.as_str(), trial.name.as_str()),
    };
    let divergences: Vec<&Divergence> = report
        .divergences
        .iter()
        .filter(|d| d.trial == trial.name)
        .collect();
    let status = match trial.outcome {
        TrialOutcome::Passed => TestCaseStatus::success(),
        TrialOutcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            if let Some(m) = &trial.message {
                s.set_message(c.line(m, 1000));
            }
            s
        }
        TrialOutcome::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = trial
                .message
                .clone()
                .or_else(|| divergences.first().map(|d| d.message.clone()))
                .unwrap_or_else(|| "the trial failed".into());
            s.set_message(c.line(&message, 1000));
            if let Some(d) = divergences.first() {
                s.set_type(c.line(&d.rule, 200));
            }
            s.set_description(c.clip(&describe(&divergences, &message, c), MAX_DESCRIPTION));
            s
        }
        TrialOutcome::Error => error_status(
            trial
                .message
                .as_deref()
                .unwrap_or("the trial could not judge the endpoint"),
            c,
        ),
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(classname);
    case.set_time(Duration::from_millis(trial.duration_ms));
    case
}

/// An error (not a failure): the message, whole in the description.
fn error_status(message: &str, c: &Redactor) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
    s.set_message(c.line(message, 1000));
    s.set_description(c.clip(message, MAX_DESCRIPTION));
    s
}

/// The text of a failure: each divergence with its rule, minimal plan and replay command.
fn describe(divergences: &[&Divergence], message: &str, c: &Redactor) -> String {
    if divergences.is_empty() {
        return message.to_string();
    }
    let mut out = String::new();
    for d in divergences {
        out.push_str(&super::console::divergence_block(d, c));
        out.push('\n');
    }
    out
}
