//! The trials of a run: scenario files and generated cases, each case's result recorded by one
//! [`Run::record_case`], each trial's start and end sent as events.

use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::generate::{self, GenConfig};
use crate::model::Readings;
use crate::plan::Plan;

use super::case::{Case, CaseResult, Failure};
use super::divergence::Counterexample;
use super::event::RunEvent;
use super::held;
use super::outcome::{Divergence, TrialKind, TrialOutcome, TrialResult};
use super::served;
use super::session::Session;
use super::RunConfig;

/// Cases from `cases / STEER_FROM` on are steered (see `generate::plan_strategy_steered`).
const STEER_FROM: u64 = 2;

/// One run in progress: the session, what it was asked, and what the trials found so far.
pub(super) struct Run<'c> {
    pub(super) config: &'c RunConfig,
    pub(super) session: Session<'c>,
    pub(super) seed: u64,
    pub(super) started: Instant,
    /// RFC 3339 start time.
    pub(super) started_at: String,
    /// The endpoint as the report shows it.
    pub(super) shown: String,
    pub(super) found: Findings,
}

/// What the trials found (the trials and divergences themselves are sent as events).
#[derive(Default)]
pub(super) struct Findings {
    /// Divergences found.
    pub(super) divergences: usize,
    pub(super) calls_to_first: Option<u64>,
    pub(super) first_at: Option<Duration>,
    /// Trials that could not be judged.
    pub(super) unjudged: Vec<String>,
    /// `name: why` of scenario files the model contradicts.
    pub(super) bad_scenarios: Vec<String>,
    /// Generated cases run.
    pub(super) cases: u64,
}

/// The generated cases of a run: one property trial, its cases run one at a time between
/// scenarios (see `schedule`).
pub(super) struct Generated {
    /// What plans are drawn from (redrawn when an operation is found not served); each case is
    /// steered towards what the run has not covered yet.
    gen: GenConfig,
    runner: TestRunner,
    trial: TrialResult,
    /// The next case's number.
    next: u64,
    /// No more cases: the last ran, one diverged, or the run stopped.
    done: bool,
    /// Time and calls the cases took (scenarios run in between are not counted).
    spent: (Duration, u64),
    /// The strategy cases are drawn from, rebuilt when `gen` or the bias changes.
    strategy: generate::SteeredStrategy,
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

impl Run<'_> {
    /// A trial (of `kind`) that has passed so far, told as started.
    fn new_trial(&mut self, name: &str, kind: TrialKind) -> TrialResult {
        self.session.emit(RunEvent::TrialStarted { name, kind });
        TrialResult {
            name: name.to_string(),
            kind,
            outcome: TrialOutcome::Passed,
            duration_ms: 0,
            calls: 0,
            message: None,
        }
    }

    fn wanted(&self, name: &str) -> bool {
        let only = &self.config.only_trials;
        only.is_empty() || only.iter().any(|t| t == name)
    }

    /// Whether the run goes on to the next trial.
    pub(super) fn go_on(&self) -> bool {
        let done = self.config.stop_at_first && self.found.divergences > 0;
        !self.session.stopped() && !done
    }

    /// Runs one scenario file (a saved regression among them) as its own trial.
    pub(super) async fn scenario(&mut self, name: &str, plan: &Plan) {
        if !self.wanted(name) {
            return;
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
        let mut trial = self.new_trial(name, kind);
        if plan.needs_control_plane() && !self.session.control_plane {
            trial.outcome = TrialOutcome::Skipped;
            trial.message =
                Some("needs the fixture control plane, which this endpoint does not offer".into());
        } else if let Some(op) = self.session.served.unserved_in(plan) {
            trial.outcome = TrialOutcome::Skipped;
            trial.message = Some(served::skip_reason(op));
        } else {
            let (result, readings) = Case::run(&mut self.session, plan).await;
            self.record_case(&mut trial, Source::Scenario(plan), result, readings)
                .await;
        }
        self.session.case_finished(self.found.divergences);
        self.close(trial, t0);
    }

    /// The generated cases' property trial, ready for its first case; None when the run has
    /// none.
    pub(super) fn start_generated(&mut self) -> Option<Generated> {
        let property = self.config.property_name.clone();
        if !self.config.generated || !self.wanted(&property) {
            return None;
        }
        let gen = GenConfig {
            limit: self.session.limit,
            control_plane: self.session.control_plane,
            servers: self.config.servers.clone(),
            max_steps: self.config.max_steps,
            operations: self.session.served.operations(),
        };
        Some(Generated {
            gen,
            runner: generate::runner_for_seed(self.seed),
            trial: self.new_trial(&property, TrialKind::Property),
            next: 0,
            done: false,
            spent: (Duration::ZERO, 0),
            strategy: Default::default(),
        })
    }

    /// Runs the next generated case, shrinking it if it diverges; returns whether more cases
    /// follow (false after the last case, a divergence, a stop or an error).
    pub(super) async fn generated_case(&mut self, g: &mut Generated) -> bool {
        if g.done || g.next >= self.config.cases || self.session.stopped() {
            g.done = true;
            return false;
        }
        let t0 = (Instant::now(), self.session.calls);
        let case = g.next;
        g.next += 1;
        // The second half of the cases is steered towards what is still uncovered: the first
        // half (interleaved with the scenario library) stays short, so that bugs are found in
        // few calls, and the second covers the matrices.
        let bias = if case >= self.config.cases / STEER_FROM {
            self.session.bias()
        } else {
            Default::default()
        };
        let steered = g.strategy.get(&g.gen, &bias);
        let going_on = match steered.new_tree(&mut g.runner) {
            Err(e) => {
                g.trial.outcome = TrialOutcome::Error;
                g.trial.message = Some(format!("cannot generate a plan: {e}"));
                false
            }
            Ok(mut tree) => {
                let mut plan = tree.current();
                plan.name = format!("seed-{}-case-{case}", self.seed);
                plan.origin = Some(format!("seed {}, case {case}", self.seed));
                let (result, readings) = Case::run(&mut self.session, &plan).await;
                if let CaseResult::NotServed(_) = result {
                    // An operation just found not served: draw this case again without it.
                    let operations = self.session.served.operations();
                    if operations != g.gen.operations {
                        g.gen.operations = operations;
                        g.next -= 1;
                        return true;
                    }
                }
                self.found.cases += 1;
                self.session.case_finished(self.found.divergences);
                let source = Source::Generated {
                    case,
                    plan,
                    tree: &mut tree,
                };
                self.record_case(&mut g.trial, source, result, readings)
                    .await
            }
        };
        g.spent.0 += t0.0.elapsed();
        g.spent.1 += self.session.calls - t0.1;
        g.done = !going_on;
        going_on
    }

    /// Records the property trial with the time and calls its cases took.
    pub(super) fn close_generated(&mut self, g: Generated) {
        let mut trial = g.trial;
        trial.duration_ms = g.spent.0.as_millis() as u64;
        trial.calls = g.spent.1;
        self.session.emit(RunEvent::TrialFinished(&trial));
    }

    /// Records a finished trial with its time and calls since `t0`.
    fn close(&mut self, mut trial: TrialResult, t0: (Instant, u64)) {
        trial.duration_ms = t0.0.elapsed().as_millis() as u64;
        trial.calls = self.session.calls - t0.1;
        self.session.emit(RunEvent::TrialFinished(&trial));
    }

    /// Records one case's result in its trial: the readings of a pass; the first divergence's
    /// calls and time, and the finished divergence (sent as an event); the outcome, message and
    /// unjudged trials. Returns whether the case passed.
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
                self.found.divergences += 1;
                self.session.emit(RunEvent::DivergenceFound(&d));
                // The reporters word a failed trial's message from its divergence.
                trial.outcome = TrialOutcome::Failed;
                return false;
            }
            CaseResult::NotServed(op) if matches!(source, Source::Scenario(_)) => {
                (TrialOutcome::Skipped, served::skip_reason(op))
            }
            CaseResult::NotServed(op) => {
                // Generated plans leave out what is known not to be served: never silent.
                let message = format!(
                    "a generated case called {op}, which this endpoint does not serve (a bug of the harness's generator; please report it with the seed)"
                );
                self.found.unjudged.push(trial.name.clone());
                (TrialOutcome::Error, message)
            }
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
