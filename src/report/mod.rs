//! Reports of a run, all written from one [`RunReport`]: `report.json` (versioned, with a JSON
//! Schema in `reports/report-v1.schema.json`), `report.html` (one self-contained page a person
//! reads first) and `junit.xml` (one test case per scenario and property, for CI dashboards).
//!
//! Every reporter reads the runner's one event stream ([`crate::runner::RunEvent`]): the
//! console line, the progress bar and the [`ReportBuilder`] that assembles the report (see
//! `reporter`, which runs the suite with them).
//!
//! Secrets never reach a report: every file is passed through [`redact`] before it is written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::rules::RULES;
pub use crate::runner::outcome::{
    unified_diff, Divergence, Fault, FaultClass, Reproduction, ReproductionClass, RuleCoverage,
    TargetInfo, TimelineEntry, TrialKind, TrialOutcome, TrialResult, Verdict,
};
pub use crate::wire::Exchange;

mod builder;
mod console;
mod html;
mod junit;
mod matrix;
mod progress;
mod redact;
mod reporter;
mod text;

pub use crate::coverage::{CoverageMatrix, MatrixCell, MatrixRow};
pub use builder::ReportBuilder;
pub use console::{console_summary, ConsoleReporter};
pub use html::to_html;
pub use junit::to_junit;
pub use progress::Progress;
pub use redact::{is_secret_header, redact, REDACTED};
pub use reporter::{replay, run, Reporter, RunOutcome};

/// The version of `report.json`'s schema.
pub const REPORT_VERSION: u32 = 1;

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
