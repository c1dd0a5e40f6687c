//! Reports of a run, all written from one [`RunReport`]: `report.json` (versioned, with a JSON
//! Schema in `reports/report-v1.schema.json`), `report.html` (one self-contained page a person
//! reads first) and `junit.xml` (one test case per scenario and property, for CI dashboards).
//!
//! Secrets never reach a report: every file is passed through [`redact`] before it is written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::rules::{Rule, RuleKind, RULES};
use crate::plan::Plan;
pub use crate::wire::Exchange;

mod console;
mod html;
mod junit;
mod matrix;
mod redact;
mod text;

pub use console::console_summary;
pub use html::to_html;
pub use junit::to_junit;
pub use matrix::{CoverageMatrix, MatrixCell, MatrixRow};
pub use redact::{is_secret_header, redact, REDACTED};

/// The version of `report.json`'s schema.
pub const REPORT_VERSION: u32 = 1;

/// The verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every case conformed.
    Pass,
    /// At least one divergence from the reference model.
    Fail,
    /// The endpoint could not be judged (unreachable, every call timed out, aborted).
    Error,
}

/// Declares a closed set of words: a serde enum with the same words in `as_str`, `Display` and
/// `FromStr`.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $word)] $variant,)+
        }

        impl $name {
            /// The word as the report writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(word: &str) -> Result<Self, String> {
                match word {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        "{other:?} is not one of: {}",
                        [$($word),+].join(", ")
                    )),
                }
            }
        }
    };
}

words! {
    /// What a trial is.
    TrialKind {
        /// A scenario file of the library.
        Scenario = "scenario",
        /// A saved counterexample (under `regressions/`), replayed.
        Regression = "regression",
        /// A property: generated cases, or the concurrency rounds.
        Property = "property",
    }
}

words! {
    /// How a trial ended.
    TrialOutcome {
        Passed = "passed",
        /// A divergence was found.
        Failed = "failed",
        /// Not run: the endpoint lacks what it needs (the fixture control plane).
        Skipped = "skipped",
        /// The trial could not judge the endpoint.
        Error = "error",
    }
}

words! {
    /// How often a counterexample reproduced when run again.
    ReproductionClass {
        /// Every run reproduced it.
        Deterministic = "deterministic",
        /// Some runs did not.
        Flaky = "flaky",
    }
}

words! {
    /// The kind of a fault: a problem with the endpoint that is not a conformance verdict.
    FaultClass {
        /// `--max-calls` was reached.
        Budget = "budget",
        /// The endpoint refused the credentials or the signature.
        Auth = "auth",
        /// The endpoint cannot be reached.
        Unreachable = "unreachable",
        /// 5xx or an error page: the endpoint could not answer.
        Unavailable = "unavailable",
        /// Throttled (retried with backoff first).
        Throttled = "throttled",
        /// No answer in time, or the connection was lost: indeterminate.
        NoAnswer = "no-answer",
        /// An answer larger than the body-size cap.
        TooLarge = "too-large",
        /// The fixture control plane refused or failed a request.
        ControlPlane = "control-plane",
        /// The model allows too many worlds to judge the plan.
        TooManyWorlds = "too-many-worlds",
        /// The endpoint's state could not be learned through the public API.
        Discovery = "discovery",
        /// Backups the run created never finished within `--settle-wait`.
        NotSettled = "not-settled",
        /// Backups the run created could not be deleted.
        Cleanup = "cleanup",
    }
}

/// The endpoint as the report shows it (credentials removed).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct TargetInfo {
    /// The endpoint URL with any user:password removed, or `embedded (http://127.0.0.1:PORT)`.
    pub endpoint: String,
    pub dialect: String,
    pub region: String,
    /// Whether the fixture control plane was used.
    pub control_plane: bool,
    /// Whether requests were signed with SigV4.
    pub signed: bool,
    /// The manual-backup limit the run assumed, and where it came from.
    pub limit: u32,
    pub limit_source: String,
}

/// Counts of how often a rule was exercised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleCoverage {
    pub id: String,
    /// `rule` or `ambiguity`.
    pub kind: String,
    pub text: String,
    /// Inputs that satisfied the rule (the call was allowed by it).
    pub passed: u64,
    /// Inputs that broke the rule (the rule refused the call).
    pub failed: u64,
    /// Divergences attributed to the rule.
    pub divergences: u64,
}

/// One trial: a scenario file, a property, or a replayed regression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    /// e.g. `scenario::limit::fifty-first-manual-backup-refused`, `property::generated-sequences`.
    pub name: String,
    pub kind: TrialKind,
    pub outcome: TrialOutcome,
    pub duration_ms: u64,
    /// Calls sent by this trial.
    pub calls: u64,
    /// For a failure or an error: the message a CI dashboard shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One step of a minimal plan as it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub index: usize,
    /// The step in one line (placeholders resolved).
    pub step: String,
    /// What the endpoint answered, in one line.
    pub observed: String,
    /// How the model's state changed, in one line (e.g. `web: HEALTHY -> BACKING_UP; manual 49 -> 50`).
    pub model_change: String,
    /// How many worlds the model still allowed after this step.
    pub worlds: usize,
    /// Whether this is the step that diverged.
    pub diverged: bool,
}

/// How often a counterexample reproduced when run again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reproduction {
    pub runs: u32,
    pub reproduced: u32,
    pub classification: ReproductionClass,
}

/// One divergence from the reference model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Divergence {
    /// The broken rule's id and its documented text.
    pub rule: String,
    pub rule_text: String,
    /// The trial that found it.
    pub trial: String,
    /// What differs, in one sentence.
    pub message: String,
    /// The minimal (shrunk) plan.
    pub plan: Plan,
    /// Length of the plan before shrinking.
    pub original_steps: usize,
    /// Index (from 0) of the step that diverged in `plan.steps`.
    pub step_index: usize,
    pub timeline: Vec<TimelineEntry>,
    /// The outcomes the model allowed at that step (one line each).
    pub allowed: Vec<String>,
    /// What was observed, in one line.
    pub observed: String,
    /// The failing exchange (status, headers, body).
    pub exchange: Option<Exchange>,
    /// A unified diff of expected against observed.
    pub diff: String,
    pub reproduction: Option<Reproduction>,
    /// The command that replays the minimal plan.
    pub replay_command: String,
    /// A curl command that sends the failing call.
    pub curl_command: Option<String>,
    /// Where the shrunk plan was saved, if it was.
    pub saved_to: Option<String>,
}

/// A problem with the endpoint that is not a conformance verdict (throttling, 5xx, timeouts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    pub class: FaultClass,
    pub message: String,
    pub count: u64,
}

/// Tool name and version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Everything a run found; the single source for every report file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub version: u32,
    pub tool: ToolInfo,
    pub verdict: Verdict,
    /// Why the endpoint could not be judged (verdict `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub target: TargetInfo,
    pub seed: u64,
    /// RFC 3339 start time.
    pub started_at: String,
    pub duration_ms: u64,
    /// Generated cases run (not counting shrinking).
    pub cases: u64,
    /// Every HTTP request sent to the endpoint (API and control plane), shrinking included.
    pub calls: u64,
    /// Requests sent up to and including the one where the first divergence was seen.
    pub calls_to_first_divergence: Option<u64>,
    /// The readings of the ambiguous rules the endpoint was found consistent with.
    pub readings: Vec<String>,
    pub coverage: Vec<RuleCoverage>,
    pub trials: Vec<TrialResult>,
    pub divergences: Vec<Divergence>,
    pub faults: Vec<Fault>,
    /// API operations the endpoint does not serve (UnknownOperationException, an envelope 404
    /// without a documented code, or left out of its capabilities' `"operations"`): the verdict
    /// is judged on the rest.
    #[serde(default)]
    pub operations_not_served: Vec<String>,
    /// What the run could not exercise on this endpoint, one line each (operations not served,
    /// a state that cannot be observed, backups left behind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_exercised: Vec<String>,
    /// Input features sent (see [`crate::coverage::features`]); absent when no trial ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_coverage: Option<CoverageMatrix>,
    /// Pairs of calls in succession, by state (see [`crate::coverage::transitions`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_coverage: Option<CoverageMatrix>,
}

impl RunReport {
    /// A copy with every secret removed from every string (see [`redact`]), and the whole value
    /// of every `Authorization` and `X-Amz-Security-Token` header replaced. Rendering works on
    /// this copy, so no escaping (HTML's, XML's, JSON's) can hide a secret from redaction.
    ///
    /// A given secret that equals a fixed word of the format (an enum value such as `HEALTHY`)
    /// would break the shape; then only the credential patterns are removed.
    pub fn redacted(&self, secrets: &[String]) -> RunReport {
        let attempt = |secrets: &[String]| {
            let mut value = serde_json::to_value(self).expect("a report serializes");
            redact::redact_value(&mut value, secrets);
            serde_json::from_value::<RunReport>(value).ok()
        };
        attempt(secrets)
            .or_else(|| attempt(&[]))
            .unwrap_or_else(|| self.clone())
    }

    /// The coverage of every rule in the catalogue, in the catalogue's order: the report's
    /// counts, and zeros for a rule the run never counted. Entries for ids the catalogue does not
    /// know are kept at the end.
    pub fn full_coverage(&self) -> Vec<RuleCoverage> {
        let mut out: Vec<RuleCoverage> = RULES
            .iter()
            .map(|rule| {
                self.coverage
                    .iter()
                    .find(|c| c.id == rule.id)
                    .cloned()
                    .unwrap_or_else(|| RuleCoverage::unexercised(rule))
            })
            .collect();
        out.extend(
            self.coverage
                .iter()
                .filter(|c| RULES.iter().all(|r| r.id != c.id))
                .cloned(),
        );
        out
    }
}

impl RuleCoverage {
    /// A rule of the catalogue that nothing reached (yet).
    pub fn unexercised(rule: &Rule) -> RuleCoverage {
        RuleCoverage {
            id: rule.id.to_string(),
            kind: match rule.kind {
                RuleKind::Rule => "rule",
                RuleKind::Ambiguity => "ambiguity",
            }
            .to_string(),
            text: rule.text.to_string(),
            passed: 0,
            failed: 0,
            divergences: 0,
        }
    }

    /// Whether any input reached the rule (or a divergence was attributed to it).
    pub fn exercised(&self) -> bool {
        self.passed + self.failed + self.divergences > 0
    }
}

/// A unified diff of what the model expected against what was observed, for
/// [`Divergence::diff`]; the HTML report highlights it line by line.
pub fn unified_diff(expected: &str, observed: &str) -> String {
    let expected = text::with_final_newline(expected);
    let observed = text::with_final_newline(observed);
    similar::TextDiff::from_lines(expected.as_str(), observed.as_str())
        .unified_diff()
        .context_radius(3)
        .header("expected (model)", "observed (endpoint)")
        .to_string()
}

/// `report.json`: exactly the serde form of the report, pretty-printed, without secrets.
pub fn to_json(report: &RunReport) -> String {
    json_text(report, &[])
}

fn json_text(report: &RunReport, secrets: &[String]) -> String {
    let mut value = serde_json::to_value(report).expect("a report serializes");
    redact::redact_value(&mut value, secrets);
    serde_json::to_string_pretty(&value).expect("a JSON value serializes")
}

/// The files [`write_all`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReports {
    pub dir: PathBuf,
    pub json: PathBuf,
    pub html: PathBuf,
    pub junit: PathBuf,
}

/// Why the reports could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create the report directory {}: {source}\n(hint: pass --report-dir DIR with a directory you can write to)", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}\n(hint: pass --report-dir DIR with a directory you can write to)", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `report.json`, `report.html` and `junit.xml` into `dir` (created if missing). Every
/// string is redacted before it is rendered (so no escaping can hide a secret), and each file's
/// text passes through [`redact`] with `secrets` once more before it is written. Each file is written whole or not at all (a temporary
/// file renamed into place), so a reader never sees half a report.
pub fn write_all(
    report: &RunReport,
    dir: &Path,
    secrets: &[String],
) -> Result<WrittenReports, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let written = WrittenReports {
        dir: dir.to_path_buf(),
        json: dir.join("report.json"),
        html: dir.join("report.html"),
        junit: dir.join("junit.xml"),
    };
    for (path, text) in [
        (&written.json, json_text(report, secrets)),
        (&written.html, html::render(report, secrets)),
        (&written.junit, junit::render(report, secrets)),
    ] {
        write_atomically(path, &redact(&text, secrets))?;
    }
    Ok(written)
}

fn write_atomically(path: &Path, text: &str) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}
