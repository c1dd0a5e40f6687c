//! Shrinking a failing generated plan with proptest's value tree.

use proptest::strategy::ValueTree;

use crate::plan::Plan;

use super::case::{Case, CaseResult, Failure};
use super::session::Session;

impl Session {
    /// Shrinks a failing generated plan with proptest's value tree, keeping candidates that fail
    /// on the same rule. When the failure was calls sent at once that no order explains, a
    /// candidate failing on a rule that another order of them broke shows the same bug, and
    /// its (smaller) plan says better which rule it is. Each candidate runs on a freshly reset
    /// endpoint.
    pub(super) async fn shrink(
        &mut self,
        tree: &mut Box<dyn ValueTree<Value = Plan>>,
        first: Failure,
        max_iters: u32,
        original: &Plan,
    ) -> (Plan, Failure) {
        let mut same: Vec<&'static str> = first.others.clone();
        same.push(first.rule);
        let mut best = (original.clone(), first);
        let mut iters = 0;
        if let Some(bar) = &self.progress {
            bar.set_message("shrinking");
        }
        if tree.simplify() {
            loop {
                iters += 1;
                if iters > max_iters || self.stopped() {
                    break;
                }
                let mut candidate = tree.current();
                candidate.name = original.name.clone();
                candidate.origin = original.origin.clone();
                let (result, _) = Case::run(self, &candidate).await;
                match result {
                    CaseResult::Diverged(f) if same.contains(&f.rule) => {
                        if candidate.steps.len() <= best.0.steps.len() {
                            best = (candidate, *f);
                        }
                        if !tree.simplify() {
                            break;
                        }
                    }
                    _ => {
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
}
