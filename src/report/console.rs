//! The console: the line saying what a run tests (a sink of the run's events, on stderr) and
//! the one-screen summary printed at its end. Plain text, no colours, so it reads the same in a
//! terminal, a CI log and a bug report.

use std::fmt::Write;

use crate::runner::{EventSink, RunEvent, RunStart};

use super::redact::Redactor;
use super::text::{self, plural};
use super::{redact, Divergence, RunReport, Verdict, WrittenReports};

/// Divergences listed in full on the console; the rest are counted.
const MAX_CONSOLE_DIVERGENCES: usize = 10;
/// Steps of a minimal plan listed; a longer plan shows its start and the diverged step.
const MAX_CONSOLE_STEPS: usize = 12;
const LINE: usize = 200;

/// The console while a run goes: says on stderr what is tested once the endpoint is learned.
#[derive(Debug, Default)]
pub struct ConsoleReporter;

impl EventSink for ConsoleReporter {
    fn event(&mut self, event: &RunEvent<'_>) {
        if let RunEvent::RunStarted(start) = event {
            eprintln!("{}", start_line(start));
        }
    }
}

/// `testing ENDPOINT (DIALECT, control plane), seed N, M cases`.
fn start_line(start: &RunStart) -> String {
    let t = &start.target;
    format!(
        "testing {} ({}, {}), seed {}, {} cases",
        t.endpoint,
        t.dialect,
        if t.control_plane {
            "control plane"
        } else {
            "public API only"
        },
        start.seed,
        start.cases
    )
}

/// The summary of a run: verdict, endpoint, seed, counts, coverage, each divergence with its
/// minimal plan and replay command, faults, and where the reports are (when `written` is given).
///
/// Secrets shaped like credentials are removed; to remove given secret values too, pass
/// `report.redacted(secrets)`.
pub fn console_summary(report: &RunReport, written: Option<&WrittenReports>) -> String {
    let c = &Redactor::new(&[]);
    let mut out = String::new();
    verdict_line(&mut out, report, c);
    run_lines(&mut out, report, c);
    divergences(&mut out, report, c);
    if !report.faults.is_empty() {
        out.push_str("\nfaults\n");
        for f in &report.faults {
            let _ = writeln!(
                out,
                "  {} x{}: {}",
                c.line(f.class.as_str(), 60),
                f.count,
                c.line(&f.message, LINE)
            );
        }
    }
    if let Some(w) = written {
        let _ = writeln!(
            out,
            "\nreports   {} (read this first)\n          {}\n          {}",
            w.html.display(),
            w.json.display(),
            w.junit.display()
        );
    }
    redact(&out, &[])
}

/// `PASS: ...`, `FAIL: ...` or `ERROR: ...`.
fn verdict_line(out: &mut String, report: &RunReport, c: &Redactor) {
    let n = report.divergences.len();
    let why = || {
        c.line(
            report.error.as_deref().unwrap_or("no reason recorded"),
            1000,
        )
    };
    let _ = match report.verdict {
        Verdict::Pass => writeln!(out, "PASS: every case conformed to the reference model"),
        Verdict::Fail if n == 0 => writeln!(out, "FAIL: {}", why()),
        Verdict::Fail => writeln!(
            out,
            "FAIL: {} from the reference model",
            plural(n, "divergence", "divergences")
        ),
        Verdict::Error => writeln!(out, "ERROR: the endpoint could not be judged: {}", why()),
    };
}

/// What was run against what: endpoint, seed, counts, what was not served or exercised,
/// coverage and readings.
fn run_lines(out: &mut String, report: &RunReport, c: &Redactor) {
    let t = &report.target;
    let _ = writeln!(
        out,
        "endpoint  {} ({}, {}{}{})",
        c.line(&t.endpoint, LINE),
        c.line(&t.dialect, 40),
        c.line(&t.region, 40),
        if t.signed { ", SigV4" } else { "" },
        if t.control_plane {
            ", control plane"
        } else {
            ", public API only"
        }
    );
    let _ = writeln!(
        out,
        "seed      {} (run again with --seed {})",
        report.seed, report.seed
    );
    let first = match report.calls_to_first_divergence {
        Some(c) => format!(
            ", first divergence after {}",
            plural(c as usize, "call", "calls")
        ),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "ran       {}, {}{first} in {}",
        plural(report.cases as usize, "case", "cases"),
        plural(report.calls as usize, "call", "calls"),
        text::duration(report.duration_ms)
    );
    if !report.operations_not_served.is_empty() {
        let _ = writeln!(
            out,
            "not served {} (judged on the rest; --require-operations all makes this a failure)",
            c.line(&report.operations_not_served.join(", "), 1000)
        );
    }
    for line in &report.not_exercised {
        let _ = writeln!(out, "not exercised  {}", c.line(line, 1000));
    }
    coverage_line(out, report, c);
    if !report.readings.is_empty() {
        let _ = writeln!(
            out,
            "readings  {}",
            c.line(&report.readings.join("; "), 1000)
        );
    }
}

fn coverage_line(out: &mut String, report: &RunReport, c: &Redactor) {
    let coverage = report.full_coverage();
    let untested: Vec<&str> = coverage
        .iter()
        .filter(|c| !c.exercised())
        .map(|c| c.id.as_str())
        .collect();
    let _ = write!(
        out,
        "coverage  {} of {} rules exercised",
        coverage.len() - untested.len(),
        coverage.len()
    );
    if untested.is_empty() {
        out.push('\n');
    } else {
        let _ = writeln!(out, "; untested: {}", c.line(&untested.join(", "), 2000));
    }
    let matrices = (
        report.input_coverage.as_ref(),
        report.transition_coverage.as_ref(),
    );
    if let Some(line) = super::matrix::console_line(matrices.0, matrices.1) {
        let _ = writeln!(out, "{line}");
    }
}

/// The first divergences in full, the others counted.
fn divergences(out: &mut String, report: &RunReport, c: &Redactor) {
    let n = report.divergences.len();
    for (i, d) in report
        .divergences
        .iter()
        .enumerate()
        .take(MAX_CONSOLE_DIVERGENCES)
    {
        let _ = writeln!(out, "\ndivergence {} of {n}", i + 1);
        out.push_str(&divergence_block(d, c));
    }
    if n > MAX_CONSOLE_DIVERGENCES {
        let more = n - MAX_CONSOLE_DIVERGENCES;
        let _ = writeln!(
            out,
            "\n... and {} (see report.html)",
            plural(more, "more divergence", "more divergences")
        );
    }
}

/// One divergence as text: rule, message, minimal plan with the diverged step marked,
/// reproduction, replay command. Shared with junit.xml's failure text.
pub(super) fn divergence_block(d: &Divergence, c: &Redactor) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  rule      {}", c.line(&d.rule, LINE));
    let _ = writeln!(out, "  what      {}", c.line(&d.message, 500));
    let _ = writeln!(out, "  trial     {}", c.line(&d.trial, LINE));
    let steps = d.plan.steps.len();
    let shrunk = if d.original_steps > steps {
        format!(" (shrunk from {})", d.original_steps)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  plan      {}{shrunk}, diverged at step {}:",
        plural(steps, "step", "steps"),
        d.step_index + 1
    );
    let mut skipped = 0;
    for (i, step) in d.plan.steps.iter().enumerate() {
        let shown = steps <= MAX_CONSOLE_STEPS
            || i < MAX_CONSOLE_STEPS - 3
            || (i + 1 >= d.step_index && i <= d.step_index + 1);
        if !shown {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            let _ = writeln!(
                out,
                "              ... {}",
                plural(skipped, "step", "steps")
            );
            skipped = 0;
        }
        let marker = if i == d.step_index { ">" } else { " " };
        let _ = writeln!(
            out,
            "          {marker} {:>2}. {}",
            i + 1,
            c.line(&step.to_string(), LINE)
        );
    }
    if skipped > 0 {
        let _ = writeln!(
            out,
            "              ... {}",
            plural(skipped, "step", "steps")
        );
    }
    let _ = writeln!(out, "  allowed   {}", c.line(&d.allowed.join(" | "), 500));
    let _ = writeln!(out, "  observed  {}", c.line(&d.observed, 500));
    if let Some(r) = &d.reproduction {
        let _ = writeln!(
            out,
            "  repro     {} of {} runs ({})",
            r.reproduced,
            r.runs,
            c.line(r.classification.as_str(), 40)
        );
    }
    let _ = writeln!(out, "  replay    {}", c.line(&d.replay_command, 1000));
    if let Some(saved) = &d.saved_to {
        let _ = writeln!(out, "  saved     {}", c.line(saved, LINE));
    }
    out
}
