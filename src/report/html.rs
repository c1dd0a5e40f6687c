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
use super::text::{self, clip, plural, printable};
use super::{
    is_secret_header, redact, Divergence, Exchange, RunReport, TimelineEntry, TrialOutcome,
    Verdict, REDACTED,
};
use crate::model::rules::rule_by_id;

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
/// Lines of a diff shown.
const MAX_DIFF_LINES: usize = 300;
/// Bytes of a diff read.
const MAX_DIFF_BYTES: usize = 64 * 1024;
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
    verdict_word: &'static str,
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
struct DiffLine {
    /// `add`, `del`, `ctx`, `hunk` or `file`.
    class: &'static str,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Segment {
    text: String,
    /// The characters that changed within a changed line.
    emph: bool,
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
        let (verdict, verdict_word) = match report.verdict {
            Verdict::Pass => ("pass", "PASS"),
            Verdict::Fail => ("fail", "FAIL"),
            Verdict::Error => ("error", "ERROR"),
        };
        let n = report.divergences.len();
        let verdict_line = match report.verdict {
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
        };
        let t = &report.target;
        let facts = vec![
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
        let mut facts = facts;
        for line in &report.not_exercised {
            facts.push(("not exercised", c.clip(line, MAX_LINE)));
        }

        let coverage = report.full_coverage();
        let exercised = coverage.iter().filter(|c| c.exercised()).count();
        let untested = coverage.len() - exercised;
        let diverged_rules = coverage.iter().filter(|c| c.divergences > 0).count();
        let coverage_line = format!(
            "{exercised} of {} rules exercised · {} untested · {} with divergences",
            coverage.len(),
            untested,
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
        let coverage_columns = vec![rows.by_ref().take(half).collect(), rows.collect()];

        let divergences = report
            .divergences
            .iter()
            .take(MAX_FULL_DIVERGENCES)
            .enumerate()
            .map(|(i, d)| DivergenceView::new(i + 1, d, c))
            .collect();
        let more_divergences = report
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
            .collect();

        // Failures and errors first, so the rows that matter are never the ones cut.
        let mut order: Vec<_> = report.trials.iter().collect();
        order.sort_by_key(|t| match t.outcome {
            TrialOutcome::Failed | TrialOutcome::Error => 0,
            TrialOutcome::Skipped => 1,
            TrialOutcome::Passed => 2,
        });
        let trials = order
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
        let trial_counts = format!(
            "{} · {} passed · {} failed · {} errors",
            plural(report.trials.len(), "trial", "trials"),
            count(TrialOutcome::Passed),
            count(TrialOutcome::Failed),
            count(TrialOutcome::Error)
        );
        let trials_note = (report.trials.len() > MAX_TRIAL_ROWS).then(|| {
            format!(
                "{} more not shown here (failures and errors are listed first); junit.xml and report.json list every trial.",
                plural(report.trials.len() - MAX_TRIAL_ROWS, "trial", "trials")
            )
        });
        let faults = report
            .faults
            .iter()
            .map(|f| FaultRow {
                class: c.line(f.class.as_str(), 100),
                count: f.count,
                message: c.clip(&f.message, MAX_LINE),
            })
            .collect();

        Page {
            tool: format!(
                "{} {}",
                c.line(&report.tool.name, 100),
                c.line(&report.tool.version, 100)
            ),
            verdict,
            verdict_word,
            verdict_line,
            error: report.error.as_deref().map(|e| c.clip(e, MAX_TEXT)),
            facts,
            readings: report
                .readings
                .iter()
                .map(|r| c.line(r, MAX_LINE))
                .collect(),
            coverage_line,
            collapse_coverage: exercised == 0,
            coverage_columns,
            matrices: super::matrix::views(
                report.input_coverage.as_ref(),
                report.transition_coverage.as_ref(),
                c,
            ),
            divergence_total: n,
            divergences,
            more_divergences,
            trials,
            trial_counts,
            trials_note,
            faults,
        }
    }
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

/// The divergence's diff as classified lines, with the changed characters of each changed line
/// marked; computed from the allowed outcomes and the observation when the run left it empty.
fn diff_lines(d: &Divergence, c: &Redactor) -> (Vec<DiffLine>, Option<String>) {
    let diff = if d.diff.trim().is_empty() {
        let allowed: Vec<String> = d.allowed.iter().map(|a| c.line(a, MAX_LINE)).collect();
        super::unified_diff(&allowed.join("\n"), &c.line(&d.observed, MAX_LINE))
    } else {
        printable(&c.cut(&d.diff, MAX_DIFF_BYTES).0)
    };
    let all: Vec<&str> = diff.lines().collect();
    let shown = &all[..all.len().min(MAX_DIFF_LINES)];
    let note = (all.len() > MAX_DIFF_LINES || diff.len() >= MAX_DIFF_BYTES).then(|| {
        format!(
            "the diff is cut at {} lines or {}; report.json has all of it",
            MAX_DIFF_LINES,
            text::bytes(MAX_DIFF_BYTES)
        )
    });
    let class_of = |line: &str| {
        if line.starts_with("+++") || line.starts_with("---") {
            "file"
        } else if line.starts_with("@@") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else {
            "ctx"
        }
    };
    let mut out: Vec<DiffLine> = Vec::with_capacity(shown.len());
    let mut i = 0;
    while i < shown.len() {
        // A run of deleted lines followed by a run of added ones: pair them up and mark the
        // characters that changed.
        let dels = shown[i..]
            .iter()
            .take_while(|l| class_of(l) == "del")
            .count();
        let adds = shown[i + dels..]
            .iter()
            .take_while(|l| class_of(l) == "add")
            .count();
        if dels > 0 && adds > 0 {
            let (old, new) = (&shown[i..i + dels], &shown[i + dels..i + dels + adds]);
            let mut del_lines = Vec::new();
            let mut add_lines = Vec::new();
            for k in 0..dels.max(adds) {
                match (old.get(k), new.get(k)) {
                    (Some(o), Some(n)) => {
                        let (a, b) = inline_changes(o, n);
                        del_lines.push(DiffLine {
                            class: "del",
                            segments: a,
                        });
                        add_lines.push(DiffLine {
                            class: "add",
                            segments: b,
                        });
                    }
                    (Some(o), None) => del_lines.push(plain("del", o)),
                    (None, Some(n)) => add_lines.push(plain("add", n)),
                    (None, None) => {}
                }
            }
            out.extend(del_lines);
            out.extend(add_lines);
            i += dels + adds;
        } else {
            out.push(plain(class_of(shown[i]), shown[i]));
            i += 1;
        }
    }
    (out, note)
}

fn plain(class: &'static str, line: &str) -> DiffLine {
    DiffLine {
        class,
        segments: vec![Segment {
            text: clip(line, MAX_LINE),
            emph: false,
        }],
    }
}

/// The segments of a deleted and an added line, the characters that differ marked, when the
/// lines are alike enough for that to help (else both lines plain).
fn inline_changes(old: &str, new: &str) -> (Vec<Segment>, Vec<Segment>) {
    use similar::{ChangeTag, TextDiff};
    if old.len() > MAX_LINE || new.len() > MAX_LINE {
        return (plain("del", old).segments, plain("add", new).segments);
    }
    // Compare without the leading '-'/'+' marker, which always differs, token by token (words,
    // numbers, single punctuation), so a changed name is marked whole, not letter by letter.
    let (o, n) = (tokens(&old[1..]), tokens(&new[1..]));
    let diff = TextDiff::from_slices(&o, &n);
    if diff.ratio() < 0.3 {
        return (plain("del", old).segments, plain("add", new).segments);
    }
    let mut del = vec![Segment {
        text: "-".into(),
        emph: false,
    }];
    let mut add = vec![Segment {
        text: "+".into(),
        emph: false,
    }];
    let push = |segs: &mut Vec<Segment>, s: &str, emph: bool| match segs.last_mut() {
        Some(last) if last.emph == emph => last.text.push_str(s),
        _ => segs.push(Segment {
            text: s.to_string(),
            emph,
        }),
    };
    for change in diff.iter_all_changes() {
        let s = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut del, s, false);
                push(&mut add, s, false);
            }
            ChangeTag::Delete => push(&mut del, s, true),
            ChangeTag::Insert => push(&mut add, s, true),
        }
    }
    (del, add)
}

/// Words (letters, digits, `_`), runs of spaces, and single other characters.
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut prev: Option<u8> = None;
    for (i, ch) in line.char_indices() {
        let k = class(ch);
        if i > start && (prev != Some(k) || k == 2) {
            out.push(&line[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_marked_whole() {
        assert_eq!(
            tokens(r#"  "Status": "IN_PROGRESS","#),
            vec![
                "  ",
                "\"",
                "Status",
                "\"",
                ":",
                " ",
                "\"",
                "IN_PROGRESS",
                "\"",
                ","
            ]
        );
        let (del, add) = inline_changes(r#"-  "Status": "IN_PROGRESS","#, r#"+  "Status": "OK","#);
        let marked = |segs: &[Segment]| -> Vec<String> {
            segs.iter()
                .filter(|s| s.emph)
                .map(|s| s.text.clone())
                .collect()
        };
        assert_eq!(marked(&del), vec!["IN_PROGRESS"]);
        assert_eq!(marked(&add), vec!["OK"]);
        // Lines with little in common are shown plain.
        let (del, _) = inline_changes("-InvalidStateException", "+ValidationException: busy");
        assert!(marked(&del).is_empty());
    }
}
