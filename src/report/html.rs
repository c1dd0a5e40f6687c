//! `report.html`: the one page a person reads first, rendered with minijinja from a view built
//! here. The view does every cut and every decision (what to show, in which colour); the
//! template only lays it out, with HTML auto-escaping on for every value, because bodies,
//! messages and even rule ids come from the endpoint or from files and must be treated as
//! hostile. Nothing is marked safe: the diff's highlighting is structure (classes), not markup.
//!
//! The page fetches nothing and runs no script: its Content-Security-Policy forbids both, so a
//! browser opening it offline shows everything.
//!
//! Big runs stay quick to open: at most [`MAX_FULL_DIVERGENCES`] divergences in full (the rest
//! in a table), [`MAX_TRIAL_ROWS`] trial rows, bodies cut at [`MAX_BODY_BYTES`] and timelines
//! at about [`MAX_TIMELINE_ROWS`] steps, each cut saying what it left out.

use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;

use super::redact::Redactor;
use super::text::{self, plural, printable};
use super::{
    is_secret_header, redact, Divergence, Exchange, RunReport, TimelineEntry, TrialOutcome,
    Verdict, REDACTED,
};
use crate::model::rules::rule_by_id;

mod diff;

use diff::{diff_lines, DiffLine};

/// Divergences shown in full; the rest are listed in a table.
pub const MAX_FULL_DIVERGENCES: usize = 20;
/// Trial rows shown; the rest are counted.
pub const MAX_TRIAL_ROWS: usize = 200;
/// Bytes of each request or response body shown.
pub const MAX_BODY_BYTES: usize = 4096;
/// Timeline rows shown per divergence (the diverged step always among them).
pub const MAX_TIMELINE_ROWS: usize = 100;
/// Bytes of a one-line field (a step, an observation, a message in a table).
const MAX_LINE: usize = 1000;
/// Bytes of a divergence's message shown as its heading.
const MAX_HEADING: usize = 600;
/// Bytes of a longer text (a message, a command, the rule's text).
const MAX_TEXT: usize = 8192;
/// Headers shown per message.
const MAX_HEADERS: usize = 50;

const TEMPLATE: &str = include_str!("templates/report.html");
const MATRICES_TEMPLATE: &str = include_str!("templates/matrices.html");

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Every template is HTML, whatever its name: escaping is never left to a file extension.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("report.html", TEMPLATE)
        .expect("the report template parses");
    env.add_template("matrices.html", MATRICES_TEMPLATE)
        .expect("the matrices template parses");
    env
});

/// `report.html` for a report: one self-contained page, without secrets.
pub fn to_html(report: &RunReport) -> String {
    render(report, &[])
}

/// `report.html`, with `secrets` removed too. Every string is cut before it is redacted (see
/// [`Redactor`]), so a run with huge bodies renders as fast as a small one.
pub(super) fn render(report: &RunReport, secrets: &[String]) -> String {
    let page = Page::new(report, &Redactor::new(secrets));
    let html = ENV
        .get_template("report.html")
        .and_then(|t| t.render(&page))
        .unwrap_or_else(|e| fallback_page(&e.to_string()));
    redact(&html, secrets)
}

/// What a template error renders instead of the report: it cannot happen with the built-in
/// template (a test renders every kind of report), but a broken page must still say so.
fn fallback_page(error: &str) -> String {
    let escaped = error
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<!doctype html><meta charset=\"utf-8\"><title>report error</title><p>The HTML report could not be rendered: {escaped}. report.json has the full report.</p>")
}

#[derive(Serialize)]
struct Page {
    tool: String,
    verdict: &'static str,
    verdict_word: String,
    verdict_line: String,
    error: Option<String>,
    facts: Vec<(&'static str, String)>,
    readings: Vec<String>,
    coverage_line: String,
    /// Nothing was exercised (the run could not start): the matrix is folded away.
    collapse_coverage: bool,
    coverage_columns: Vec<Vec<CoverageRow>>,
    /// The input-feature and transition matrices.
    matrices: Vec<super::matrix::MatrixView>,
    divergence_total: usize,
    divergences: Vec<DivergenceView>,
    more_divergences: Vec<DivergenceRow>,
    trials: Vec<TrialRow>,
    trial_counts: String,
    trials_note: Option<String>,
    faults: Vec<FaultRow>,
}

#[derive(Serialize)]
struct CoverageRow {
    id: String,
    text: String,
    kind: &'static str,
    passed: u64,
    failed: u64,
    divergences: u64,
    /// `untested`, `diverged` or `ok`: the row's colour.
    state: &'static str,
    /// The first divergence shown in full that broke this rule (its section's number).
    first_divergence: Option<usize>,
}

#[derive(Serialize)]
struct DivergenceView {
    number: usize,
    rule: String,
    rule_text: String,
    trial: String,
    /// The message, cut to a heading's length.
    message: String,
    /// The message at more length, when the heading had to cut it.
    message_full: Option<String>,
    plan_name: String,
    plan_description: String,
    plan_origin: Option<String>,
    plan_line: String,
    timeline: Vec<TimelineRow>,
    allowed: Vec<String>,
    observed: String,
    diff: Vec<DiffLine>,
    diff_note: Option<String>,
    exchange: Option<ExchangeView>,
    reproduction: Option<String>,
    flaky: bool,
    replay_command: String,
    curl_command: Option<String>,
    saved_to: Option<String>,
}

#[derive(Serialize)]
struct TimelineRow {
    number: String,
    step: String,
    observed: String,
    model_change: String,
    worlds: String,
    diverged: bool,
    /// A row standing for steps left out.
    gap: Option<String>,
}

#[derive(Serialize)]
struct ExchangeView {
    request_line: String,
    request_headers: Vec<(String, String)>,
    request_body: Body,
    status: String,
    response_headers: Vec<(String, String)>,
    response_body: Body,
}

#[derive(Serialize)]
struct Body {
    text: String,
    note: Option<String>,
}

#[derive(Serialize)]
struct DivergenceRow {
    number: usize,
    rule: String,
    trial: String,
    message: String,
    steps: usize,
    replay_command: String,
}

#[derive(Serialize)]
struct TrialRow {
    name: String,
    outcome: String,
    /// `passed`, `failed`, `error` or `other`: the row's colour.
    state: &'static str,
    duration: String,
    calls: u64,
    message: String,
}

#[derive(Serialize)]
struct FaultRow {
    class: String,
    count: u64,
    message: String,
}

impl Page {
    fn new(report: &RunReport, c: &Redactor) -> Page {
        let verdict = report.verdict.as_str();
        let verdict_word = verdict.to_uppercase();
        let coverage = CoverageView::new(report, c);
        let (trials, trial_counts, trials_note) = trial_rows(report, c);
        Page {
            tool: format!(
                "{} {}",
                c.line(&report.tool.name, 100),
                c.line(&report.tool.version, 100)
            ),
            verdict,
            verdict_word,
            verdict_line: verdict_line(report, c),
            error: report.error.as_deref().map(|e| c.clip(e, MAX_TEXT)),
            facts: facts(report, c),
            readings: report
                .readings
                .iter()
                .map(|r| c.line(r, MAX_LINE))
                .collect(),
            coverage_line: coverage.line,
            collapse_coverage: coverage.exercised == 0,
            coverage_columns: coverage.columns,
            matrices: super::matrix::views(
                report.input_coverage.as_ref(),
                report.transition_coverage.as_ref(),
                c,
            ),
            divergence_total: report.divergences.len(),
            divergences: report
                .divergences
                .iter()
                .take(MAX_FULL_DIVERGENCES)
                .enumerate()
                .map(|(i, d)| DivergenceView::new(i + 1, d, c))
                .collect(),
            more_divergences: more_divergences(report, c),
            trials,
            trial_counts,
            trials_note,
            faults: report
                .faults
                .iter()
                .map(|f| FaultRow {
                    class: c.line(f.class.as_str(), 100),
                    count: f.count,
                    message: c.clip(&f.message, MAX_LINE),
                })
                .collect(),
        }
    }
}

/// The verdict in one line, beside its word.
fn verdict_line(report: &RunReport, c: &Redactor) -> String {
    let n = report.divergences.len();
    match report.verdict {
        Verdict::Pass => "every case conformed to the reference model".to_string(),
        Verdict::Fail if n == 0 => c.clip(
            report.error.as_deref().unwrap_or("no reason recorded"),
            MAX_LINE,
        ),
        Verdict::Fail => format!(
            "{} from the reference model",
            plural(n, "divergence", "divergences")
        ),
        Verdict::Error => "the endpoint could not be judged".to_string(),
    }
}

/// The facts of the run: the endpoint, the seed, the counts, what was not served or exercised.
fn facts(report: &RunReport, c: &Redactor) -> Vec<(&'static str, String)> {
    let t = &report.target;
    let mut facts = vec![
        ("endpoint", c.line(&t.endpoint, MAX_LINE)),
        ("dialect", c.line(&t.dialect, 100)),
        ("region", c.line(&t.region, 100)),
        (
            "requests",
            if t.signed { "SigV4-signed" } else { "unsigned" }.to_string(),
        ),
        (
            "fixtures",
            if t.control_plane {
                "control plane"
            } else {
                "public API only"
            }
            .to_string(),
        ),
        ("seed", report.seed.to_string()),
        ("cases", report.cases.to_string()),
        ("calls", report.calls.to_string()),
        (
            "first divergence",
            match report.calls_to_first_divergence {
                Some(c) => format!("after {}", plural(c as usize, "call", "calls")),
                None => "none seen".to_string(),
            },
        ),
        ("duration", text::duration(report.duration_ms)),
        (
            "backup limit",
            format!("{} ({})", t.limit, c.line(&t.limit_source, 200)),
        ),
        ("started", c.line(&report.started_at, 100)),
        (
            "not served",
            if report.operations_not_served.is_empty() {
                "none (every operation answered)".to_string()
            } else {
                c.line(&report.operations_not_served.join(", "), MAX_LINE)
            },
        ),
    ];
    for line in &report.not_exercised {
        facts.push(("not exercised", c.clip(line, MAX_LINE)));
    }
    facts
}

/// The coverage matrix: its line, how many rules were exercised, its rows in two columns.
struct CoverageView {
    line: String,
    exercised: usize,
    columns: Vec<Vec<CoverageRow>>,
}

impl CoverageView {
    fn new(report: &RunReport, c: &Redactor) -> CoverageView {
        let coverage = report.full_coverage();
        let exercised = coverage.iter().filter(|c| c.exercised()).count();
        let diverged_rules = coverage.iter().filter(|c| c.divergences > 0).count();
        let line = format!(
            "{exercised} of {} rules exercised · {} untested · {} with divergences",
            coverage.len(),
            coverage.len() - exercised,
            diverged_rules
        );
        let rows: Vec<CoverageRow> = coverage
            .iter()
            .map(|rule| CoverageRow {
                id: c.line(&rule.id, 200),
                text: c.line(&rule.text, MAX_LINE),
                kind: if rule.kind == "ambiguity" {
                    "ambiguity"
                } else {
                    "rule"
                },
                passed: rule.passed,
                failed: rule.failed,
                divergences: rule.divergences,
                first_divergence: report
                    .divergences
                    .iter()
                    .take(MAX_FULL_DIVERGENCES)
                    .position(|d| d.rule == rule.id)
                    .map(|i| i + 1),
                state: if rule.divergences > 0 {
                    "diverged"
                } else if !rule.exercised() {
                    "untested"
                } else {
                    "ok"
                },
            })
            .collect();
        let half = rows.len().div_ceil(2);
        let mut rows = rows.into_iter();
        let columns = vec![rows.by_ref().take(half).collect(), rows.collect()];
        CoverageView {
            line,
            exercised,
            columns,
        }
    }
}

/// The divergences past those shown in full, one table row each.
fn more_divergences(report: &RunReport, c: &Redactor) -> Vec<DivergenceRow> {
    report
        .divergences
        .iter()
        .enumerate()
        .skip(MAX_FULL_DIVERGENCES)
        .map(|(i, d)| DivergenceRow {
            number: i + 1,
            rule: c.line(&d.rule, 200),
            trial: c.line(&d.trial, 300),
            message: c.line(&d.message, 300),
            steps: d.plan.steps.len(),
            replay_command: c.line(&d.replay_command, MAX_LINE),
        })
        .collect()
}

/// The trial rows (failures and errors first, so the rows that matter are never the ones
/// cut), the counts line, and a note on the rows left out.
fn trial_rows(report: &RunReport, c: &Redactor) -> (Vec<TrialRow>, String, Option<String>) {
    let mut order: Vec<_> = report.trials.iter().collect();
    order.sort_by_key(|t| match t.outcome {
        TrialOutcome::Failed | TrialOutcome::Error => 0,
        TrialOutcome::Skipped => 1,
        TrialOutcome::Passed => 2,
    });
    let rows = order
        .iter()
        .take(MAX_TRIAL_ROWS)
        .map(|t| TrialRow {
            name: c.line(&t.name, 300),
            outcome: c.line(t.outcome.as_str(), 40),
            state: match t.outcome {
                TrialOutcome::Skipped => "other",
                other => other.as_str(),
            },
            duration: text::duration(t.duration_ms),
            calls: t.calls,
            message: t
                .message
                .as_deref()
                .map(|m| c.clip(m, MAX_LINE))
                .unwrap_or_default(),
        })
        .collect();
    let count = |o: TrialOutcome| report.trials.iter().filter(|t| t.outcome == o).count();
    let counts = format!(
        "{} · {} passed · {} failed · {} errors",
        plural(report.trials.len(), "trial", "trials"),
        count(TrialOutcome::Passed),
        count(TrialOutcome::Failed),
        count(TrialOutcome::Error)
    );
    let note = (report.trials.len() > MAX_TRIAL_ROWS).then(|| {
        format!(
            "{} more not shown here (failures and errors are listed first); junit.xml and report.json list every trial.",
            plural(report.trials.len() - MAX_TRIAL_ROWS, "trial", "trials")
        )
    });
    (rows, counts, note)
}

impl DivergenceView {
    fn new(number: usize, d: &Divergence, c: &Redactor) -> DivergenceView {
        let rule_text = if d.rule_text.is_empty() {
            rule_by_id(&d.rule)
                .map(|r| r.text.to_string())
                .unwrap_or_default()
        } else {
            c.clip(&d.rule_text, MAX_TEXT)
        };
        let steps = d.plan.steps.len();
        let plan_line = if d.original_steps > steps {
            format!(
                "{} (shrunk from {}), diverged at step {}",
                plural(steps, "step", "steps"),
                d.original_steps,
                d.step_index + 1
            )
        } else {
            format!(
                "{}, diverged at step {}",
                plural(steps, "step", "steps"),
                d.step_index + 1
            )
        };
        let (diff, diff_note) = diff_lines(d, c);
        DivergenceView {
            number,
            rule: c.line(&d.rule, 200),
            rule_text,
            trial: c.line(&d.trial, 300),
            message: c.clip(&d.message, MAX_HEADING),
            message_full: (d.message.len() > MAX_HEADING).then(|| c.clip(&d.message, MAX_TEXT)),
            plan_name: c.line(&d.plan.name, 300),
            plan_description: c.line(&d.plan.description, MAX_LINE),
            plan_origin: d.plan.origin.as_deref().map(|o| c.line(o, 300)),
            plan_line,
            timeline: timeline_rows(d, c),
            allowed: d
                .allowed
                .iter()
                .take(50)
                .map(|a| c.line(a, MAX_LINE))
                .chain(
                    (d.allowed.len() > 50).then(|| format!("… and {} more", d.allowed.len() - 50)),
                )
                .collect(),
            observed: c.line(&d.observed, MAX_LINE),
            diff,
            diff_note,
            exchange: d.exchange.as_ref().map(|x| ExchangeView::new(x, c)),
            reproduction: d.reproduction.as_ref().map(|r| {
                format!(
                    "reproduced in {} of {} runs ({})",
                    r.reproduced,
                    r.runs,
                    c.line(r.classification.as_str(), 40)
                )
            }),
            flaky: d
                .reproduction
                .as_ref()
                .is_some_and(|r| r.reproduced < r.runs),
            replay_command: c.clip(&d.replay_command, MAX_TEXT),
            curl_command: d.curl_command.as_deref().map(|curl| c.clip(curl, MAX_TEXT)),
            saved_to: d.saved_to.as_deref().map(|s| c.line(s, MAX_LINE)),
        }
    }
}

/// The timeline rows, or the plan's steps when the run recorded no timeline; a long one keeps
/// its start, the steps around the divergence and its end, with rows saying what was left out.
fn timeline_rows(d: &Divergence, c: &Redactor) -> Vec<TimelineRow> {
    let entries: Vec<TimelineEntry> = if d.timeline.is_empty() {
        d.plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| TimelineEntry {
                index: i,
                step: s.to_string(),
                observed: if i == d.step_index {
                    d.observed.clone()
                } else {
                    String::new()
                },
                model_change: String::new(),
                worlds: 0,
                diverged: i == d.step_index,
            })
            .collect()
    } else {
        d.timeline.clone()
    };
    let recorded = !d.timeline.is_empty();
    let diverged_at = entries
        .iter()
        .position(|e| e.diverged)
        .unwrap_or(d.step_index.min(entries.len().saturating_sub(1)));
    let keep = |i: usize| {
        entries.len() <= MAX_TIMELINE_ROWS
            || i < 40
            || i + 10 >= entries.len()
            || (i + 25 >= diverged_at && i <= diverged_at + 25)
    };
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (i, e) in entries.iter().enumerate() {
        if !keep(i) {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            rows.push(gap_row(skipped));
            skipped = 0;
        }
        rows.push(TimelineRow {
            number: (e.index + 1).to_string(),
            step: c.line(&e.step, MAX_LINE),
            observed: c.line(&e.observed, MAX_LINE),
            model_change: c.line(&e.model_change, MAX_LINE),
            worlds: if recorded {
                e.worlds.to_string()
            } else {
                String::new()
            },
            diverged: e.diverged,
            gap: None,
        });
    }
    if skipped > 0 {
        rows.push(gap_row(skipped));
    }
    rows
}

fn gap_row(skipped: usize) -> TimelineRow {
    TimelineRow {
        number: String::new(),
        step: String::new(),
        observed: String::new(),
        model_change: String::new(),
        worlds: String::new(),
        diverged: false,
        gap: Some(format!(
            "… {} not shown (report.json has the whole timeline)",
            plural(skipped, "step", "steps")
        )),
    }
}

impl ExchangeView {
    fn new(x: &Exchange, c: &Redactor) -> ExchangeView {
        let headers = |list: &[(String, String)]| -> Vec<(String, String)> {
            let mut out: Vec<(String, String)> = list
                .iter()
                .take(MAX_HEADERS)
                .map(|(k, v)| {
                    let value = if is_secret_header(k) {
                        REDACTED.to_string()
                    } else {
                        c.line(v, MAX_LINE)
                    };
                    (c.line(k, 200), value)
                })
                .collect();
            if list.len() > MAX_HEADERS {
                out.push((
                    "…".into(),
                    format!("{} more headers not shown", list.len() - MAX_HEADERS),
                ));
            }
            out
        };
        ExchangeView {
            request_line: format!("{} {}", c.line(&x.method, 20), c.line(&x.url, MAX_LINE)),
            request_headers: headers(&x.request_headers),
            request_body: body(&x.request_body, c),
            status: match x.status {
                Some(s) => s.to_string(),
                None => "no answer (timeout or lost connection)".into(),
            },
            response_headers: headers(&x.response_headers),
            response_body: body(&x.response_body, c),
        }
    }
}

/// A body for reading: JSON pretty-printed, cut at [`MAX_BODY_BYTES`].
fn body(raw: &str, c: &Redactor) -> Body {
    let pretty = if raw.len() <= 256 * 1024 {
        serde_json::from_str::<Value>(raw)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
    } else {
        None
    };
    let full = pretty.as_deref().unwrap_or(raw);
    let (head, rest) = c.cut(full, MAX_BODY_BYTES);
    Body {
        text: printable(&head),
        note: (rest > 0).then(|| {
            format!(
                "cut: the first {} of {} shown",
                text::bytes(head.len()),
                text::bytes(full.len())
            )
        }),
    }
}
