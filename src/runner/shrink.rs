//! Shrinking a failing generated plan with proptest's value tree.

use proptest::strategy::ValueTree;

use crate::model::rules::RuleId;
use crate::plan::{Plan, Step};

use super::case::{Case, CaseResult, Failure};
use super::event::RunEvent;
use super::session::Session;

impl Session<'_> {
    /// Shrinks a failing generated plan with proptest's value tree, keeping candidates that fail
    /// on the same rule. When the failure was calls sent at once that no order explains, a
    /// candidate failing on a rule that another order of them broke shows the same bug, and
    /// its (smaller) plan says better which rule it is. Each candidate runs on a freshly reset
    /// endpoint. A failure in calls sent at once may need luck to show again (a race whose window
    /// the scheduler missed), so there a candidate is tried [`RACE_TRIES`] times before it is
    /// taken to pass: on a loaded machine one miss would otherwise keep steps the bug does not
    /// need.
    pub(super) async fn shrink(
        &mut self,
        tree: &mut Box<dyn ValueTree<Value = Plan>>,
        first: Failure,
        max_iters: u32,
        original: &Plan,
    ) -> (Plan, Failure) {
        let tries = match original.steps.get(first.step_index) {
            Some(Step::Parallel { .. }) => RACE_TRIES,
            _ => 1,
        };
        let mut same: Vec<RuleId> = first.others.clone();
        same.push(first.rule);
        let mut best = (original.clone(), first);
        let mut iters = 0;
        self.emit(RunEvent::Shrinking {
            plan: &original.name,
        });
        if tree.simplify() {
            loop {
                iters += 1;
                if iters > max_iters || self.stopped() {
                    break;
                }
                let mut candidate = tree.current();
                candidate.name = original.name.clone();
                candidate.origin = original.origin.clone();
                match self.fails_again(&candidate, &same, tries).await {
                    Some(f) => {
                        if candidate.steps.len() <= best.0.steps.len() {
                            best = (candidate, f);
                        }
                        if !tree.simplify() {
                            break;
                        }
                    }
                    None => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        // Drop steps after the divergence: they never ran.
        let (mut plan, failure) = best;
        plan.steps.truncate(failure.step_index + 1);
        (plan, failure)
    }

    /// The candidate's failure on one of the `same` rules, in at most `tries` runs.
    async fn fails_again(
        &mut self,
        candidate: &Plan,
        same: &[RuleId],
        tries: u32,
    ) -> Option<Failure> {
        for _ in 0..tries {
            if self.stopped() {
                break;
            }
            if let (CaseResult::Diverged(f), _) = Case::run(self, candidate).await {
                if same.contains(&f.rule) {
                    return Some(*f);
                }
            }
        }
        None
    }
}

/// Runs of a shrinking candidate before a failure in a parallel block is taken to be gone.
const RACE_TRIES: u32 = 3;
