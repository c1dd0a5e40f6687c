//! The trials of a run: scenario files and generated cases, each case's result recorded by one
//! [`Run::record_case`].

use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};

use crate::generate::{self, GenConfig};
use crate::model::Readings;
use crate::plan::Plan;
use crate::report::{Divergence, TrialKind, TrialOutcome, TrialResult};

use super::case::{Case, CaseResult, Failure};
use super::divergence::Counterexample;
use super::held;
use super::served;
use super::session::Session;
use super::RunConfig;

/// One run in progress: the session, what it was asked, and what the trials found so far.
pub(super) struct Run<'c> {
    pub(super) config: &'c RunConfig,
    pub(super) session: Session,
    pub(super) seed: u64,
    pub(super) started: Instant,
    /// RFC 3339 start time.
    pub(super) started_at: String,
    /// The endpoint as the report shows it.
    pub(super) shown: String,
    pub(super) found: Findings,
}

/// What the trials found.
#[derive(Default)]
pub(super) struct Findings {
    pub(super) trials: Vec<TrialResult>,
    pub(super) divergences: Vec<Divergence>,
    pub(super) calls_to_first: Option<u64>,
    pub(super) first_at: Option<Duration>,
    /// Trials that could not be judged.
    pub(super) unjudged: Vec<String>,
    /// `name: why` of scenario files the model contradicts.
    pub(super) bad_scenarios: Vec<String>,
    /// Generated cases run.
    pub(super) cases: u64,
}

/// Where a case came from: how its divergence is finished and how its stop is told.
enum Source<'a> {
    Scenario(&'a Plan),
    Generated {
        case: u64,
        plan: Plan,
        tree: &'a mut Box<dyn ValueTree<Value = Plan>>,
    },
}

/// A trial (of `kind`) that has passed so far.
fn new_trial(name: &str, kind: TrialKind) -> TrialResult {
    TrialResult {
        name: name.to_string(),
        kind,
        outcome: TrialOutcome::Passed,
        duration_ms: 0,
        calls: 0,
        message: None,
    }
}

impl Run<'_> {
    fn wanted(&self, name: &str) -> bool {
        let only = &self.config.only_trials;
        only.is_empty() || only.iter().any(|t| t == name)
    }

    /// Whether the run goes on to the next trial.
    fn go_on(&self) -> bool {
        let done = self.config.stop_at_first && !self.found.divergences.is_empty();
        !self.session.stopped() && !done
    }

    /// Runs every scenario file (saved regressions included), one trial each.
    pub(super) async fn scenarios(&mut self, scenarios: &[(String, Plan)]) {
        for (name, plan) in scenarios {
            if !self.wanted(name) {
                continue;
            }
            // Counts written as `${limit}` follow the limit this endpoint advertises.
            let plan = &plan
                .for_limit(self.session.limit)
                .unwrap_or_else(|_| plan.clone());
            let kind = if name.starts_with("scenario::regressions::") {
                TrialKind::Regression
            } else {
                TrialKind::Scenario
            };
            let t0 = (Instant::now(), self.session.calls);
            let mut trial = new_trial(name, kind);
            if plan.needs_control_plane() && !self.session.control_plane {
                trial.outcome = TrialOutcome::Skipped;
                trial.message = Some(
                    "needs the fixture control plane, which this endpoint does not offer".into(),
                );
            } else if let Some(op) = self.session.served.unserved_in(plan) {
                trial.outcome = TrialOutcome::Skipped;
                trial.message = Some(served::skip_reason(op));
            } else {
                let (result, readings) = Case::run(&mut self.session, plan).await;
                self.record_case(&mut trial, Source::Scenario(plan), result, readings)
                    .await;
            }
            self.session.tick(self.found.divergences.len());
            self.close(trial, t0);
            if !self.go_on() {
                break;
            }
        }
    }

    /// Runs the generated cases as one property trial, shrinking the first divergence.
    pub(super) async fn generated(&mut self) {
        let property = self.config.property_name.clone();
        if !self.config.generated || !self.wanted(&property) || !self.go_on() {
            return;
        }
        let t0 = (Instant::now(), self.session.calls);
        let mut gen = GenConfig {
            limit: self.session.limit,
            control_plane: self.session.control_plane,
            servers: self.config.servers.clone(),
            max_steps: self.config.max_steps,
            operations: self.session.served.operations(),
        };
        let mut strategy = generate::plan_strategy(&gen);
        let mut runner = generate::runner_for_seed(self.seed);
        let mut trial = new_trial(&property, TrialKind::Property);
        let mut case = 0;
        while case < self.config.cases {
            if self.session.stopped() {
                break;
            }
            let mut tree = match strategy.new_tree(&mut runner) {
                Ok(t) => t,
                Err(e) => {
                    trial.outcome = TrialOutcome::Error;
                    trial.message = Some(format!("cannot generate a plan: {e}"));
                    break;
                }
            };
            let mut plan = tree.current();
            plan.name = format!("seed-{}-case-{case}", self.seed);
            plan.origin = Some(format!("seed {}, case {case}", self.seed));
            let (result, readings) = Case::run(&mut self.session, &plan).await;
            if let CaseResult::NotServed(_) = result {
                // An operation just found not served: draw this case again without it.
                let operations = self.session.served.operations();
                if operations != gen.operations {
                    gen.operations = operations;
                    strategy = generate::plan_strategy(&gen);
                    continue;
                }
            }
            case += 1;
            self.found.cases += 1;
            self.session.tick(self.found.divergences.len());
            let source = Source::Generated {
                case: case - 1,
                plan,
                tree: &mut tree,
            };
            if !self.record_case(&mut trial, source, result, readings).await {
                break;
            }
        }
        self.close(trial, t0);
    }

    /// Records a finished trial with its time and calls since `t0`.
    fn close(&mut self, mut trial: TrialResult, t0: (Instant, u64)) {
        trial.duration_ms = t0.0.elapsed().as_millis() as u64;
        trial.calls = self.session.calls - t0.1;
        self.found.trials.push(trial);
    }

    /// Records one case's result in its trial: the readings of a pass; the first divergence's
    /// calls and time, and the finished divergence; the outcome, message and unjudged trials.
    /// Returns whether the case passed.
    async fn record_case(
        &mut self,
        trial: &mut TrialResult,
        source: Source<'_>,
        result: CaseResult,
        readings: Vec<Readings>,
    ) -> bool {
        let (outcome, message) = match result {
            CaseResult::Passed => {
                // The readings narrow over the whole run: the next case starts from these.
                let plan = match &source {
                    Source::Scenario(plan) => *plan,
                    Source::Generated { plan, .. } => plan,
                };
                self.session.held.narrow(&trial.name, plan, readings);
                return true;
            }
            CaseResult::Diverged(f) => {
                self.found.calls_to_first.get_or_insert(self.session.calls);
                self.found.first_at.get_or_insert(self.started.elapsed());
                let d = self.finish(&trial.name, source, *f).await;
                let message = failure_message(&d);
                self.found.divergences.push(d);
                (TrialOutcome::Failed, message)
            }
            CaseResult::NotServed(op) => (TrialOutcome::Skipped, served::skip_reason(op)),
            CaseResult::BadScenario(msg) if matches!(source, Source::Scenario(_)) => {
                self.found
                    .bad_scenarios
                    .push(format!("{}: {msg}", trial.name));
                (TrialOutcome::Error, msg)
            }
            other => {
                let message = match (other, &source) {
                    (CaseResult::Unjudged(f), Source::Generated { case, .. }) => {
                        format!("case {case}: {}: {}", f.class, f.message)
                    }
                    (CaseResult::Unjudged(f), _) => format!("{}: {}", f.class, f.message),
                    (CaseResult::BadScenario(msg), _) => msg,
                    (_, source) => self.stop_message(source),
                };
                self.found.unjudged.push(trial.name.clone());
                (TrialOutcome::Error, message)
            }
        };
        trial.outcome = outcome;
        trial.message = Some(message);
        false
    }

    /// Why a case stopped before its end (`--max-calls` or Ctrl-C).
    fn stop_message(&self, source: &Source<'_>) -> String {
        let why = self.session.stop_reason();
        match source {
            Source::Scenario(_) => format!("not run to the end ({why})"),
            Source::Generated { .. } => format!(
                "stopped after {} of {} cases ({why})",
                self.found.cases, self.config.cases
            ),
        }
    }

    /// The divergence a case found, finished: shrunk (a generated case), reproduced, saved.
    async fn finish(&mut self, trial: &str, source: Source<'_>, failure: Failure) -> Divergence {
        let found = match source {
            Source::Scenario(plan) => Counterexample {
                original_steps: plan.steps.len(),
                plan: plan.clone(),
                failure,
                shrunk: false,
            },
            Source::Generated { plan, tree, .. } => {
                let max = self.config.max_shrink_iters;
                let (minimal, failure) = self.session.shrink(tree, failure, max, &plan).await;
                Counterexample {
                    original_steps: plan.steps.len(),
                    plan: minimal,
                    failure,
                    shrunk: true,
                }
            }
        };
        let found = self.with_witness(found);
        self.finish_divergence(trial, found).await
    }

    /// A counterexample that flips a reading an earlier case settled: shown and saved with that
    /// case's steps first, so it replays from scratch (alone, the failing case may pass).
    fn with_witness(&self, mut c: Counterexample) -> Counterexample {
        let Some(flip) = c.failure.flip.clone() else {
            return c;
        };
        let Some(w) = self.session.held.witness(flip.reading) else {
            return c;
        };
        let (plan, offset) = held::with_witness(w, &c.plan, self.session.control_plane);
        c.failure.message = format!(
            "{} (case {} answered this question: {})",
            c.failure.message, w.trial, flip.before
        );
        c.failure.step_index += offset;
        for entry in &mut c.failure.timeline {
            entry.index += offset;
        }
        c.failure.timeline.insert(0, held::witness_entry(w, &flip));
        c.original_steps += offset;
        c.plan = plan;
        c
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
