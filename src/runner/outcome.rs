//! What a run finds, in the words every report uses: the verdict, trials and how they ended,
//! divergences with their timelines and reproduction, faults, rule coverage and the endpoint as
//! shown. The runner produces these values and sends them in its [events](super::event); the
//! reporters (the `report` module) only read them. Their serde form is `report.json`'s (its schema
//! is `reports/report-v1.schema.json`), so a renamed field or word is a new report version.

use serde::{Deserialize, Serialize};

use crate::model::rules::{Rule, RuleKind};
use crate::plan::Plan;
use crate::wire::Exchange;

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
    /// The verdict of a run.
    Verdict {
        /// Every case conformed.
        Pass = "pass",
        /// At least one divergence from the reference model.
        Fail = "fail",
        /// The endpoint could not be judged (unreachable, every call timed out, aborted).
        Error = "error",
    }
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
    let expected = with_final_newline(expected);
    let observed = with_final_newline(observed);
    similar::TextDiff::from_lines(expected.as_str(), observed.as_str())
        .unified_diff()
        .context_radius(3)
        .header("expected (model)", "observed (endpoint)")
        .to_string()
}

fn with_final_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}
