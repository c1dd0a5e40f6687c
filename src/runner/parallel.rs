//! A plan's parallel block: its calls sent at once, judged together by the linearizability
//! search of [`concurrent`](super::concurrent) against the case's worlds. One order found is
//! then followed call by call, so the timeline, the coverage and the ids learned are those of
//! an order the model explains; the case goes on from the worlds of every such order.

use std::time::Instant;

use serde_json::Value;

use crate::check::{Checker, StepInfo, StepVerdict};
use crate::model::{Action, CallWindow, Operation};
use crate::plan::{self, ParallelCall};

use super::case::{shown_step, Case, CaseResult, Failure, Sent};
use super::concurrent::{
    linearize_with_clock, on_wall_clock, Linearized, NotLinearizable, Recorded,
};
use super::outcome::TimelineEntry;
use super::timeline::observed_line;

/// The calls of a block as sent and answered.
struct Block {
    /// Each call as sent (placeholders resolved), in the block's order.
    sent: Vec<Sent>,
    history: Vec<Recorded>,
    /// Epoch milliseconds when the block was sent.
    wall0: i64,
}

impl Case<'_, '_> {
    /// Sends a parallel block's calls at once and judges their answers together.
    pub(super) async fn parallel_step(
        &mut self,
        index: usize,
        calls: &[ParallelCall],
    ) -> CaseResult {
        let budget = self.session.max_calls;
        if budget.is_some_and(|m| self.session.calls + calls.len() as u64 > m) {
            return CaseResult::Budget;
        }
        let block = match self.send_block(index, calls).await {
            Ok(block) => block,
            Err(stop) => return stop,
        };
        match linearize_with_clock(&self.checker, &block.history, block.wall0) {
            Ok(Linearized {
                order,
                after,
                steps,
            }) => match self.follow(calls, &block, &order, steps) {
                // The endpoint may have run the calls in any order that explains them.
                CaseResult::Passed => {
                    self.checker = after;
                    CaseResult::Passed
                }
                other => other,
            },
            Err(e) => CaseResult::Diverged(Box::new(self.not_linearizable(index, &block, e))),
        }
    }

    /// Sends the calls at once; a call whose answer cannot be judged ends the case.
    async fn send_block(
        &mut self,
        index: usize,
        calls: &[ParallelCall],
    ) -> Result<Block, CaseResult> {
        let resolved: Vec<(Operation, Value)> = calls
            .iter()
            .map(|c| {
                let input = plan::resolve_placeholders(&c.input, &|r| self.ids.lookup(r));
                (c.operation, input)
            })
            .collect();
        let origin = Instant::now();
        let wall0 = chrono::Utc::now().timestamp_millis();
        let answers = self.session.send_at_once(&resolved, origin).await;
        let mut block = Block {
            sent: Vec::new(),
            history: Vec::new(),
            wall0,
        };
        let n = calls.len();
        for (k, ((op, input), (answer, exchange, times))) in
            resolved.into_iter().zip(answers).enumerate()
        {
            let sent = Sent {
                index,
                shown: format!(
                    "(at once, {} of {n}) {}",
                    k + 1,
                    shown_step(&calls[k].as_step(), op, &input)
                ),
                exchange,
            };
            let observed = self.observation(&sent, op, &input, answer)?;
            block.history.push(Recorded {
                action: Action::Call { op, input },
                observed,
                sent_ms: times.0,
                answered_ms: times.1,
            });
            block.sent.push(sent);
        }
        Ok(block)
    }

    /// Follows the order the search found, judging each call as a sequential step would be
    /// (the search's own verdict on each call in that order, when it passes them on in `steps`).
    fn follow(
        &mut self,
        calls: &[ParallelCall],
        block: &Block,
        order: &[usize],
        steps: Vec<(StepInfo, Checker)>,
    ) -> CaseResult {
        let wall = on_wall_clock(&block.history, block.wall0);
        let mut known = steps.into_iter();
        for &i in order {
            let action = &wall[i].action;
            let window = Some(CallWindow {
                sent_ms: wall[i].sent_ms,
                answered_ms: wall[i].answered_ms,
            });
            let step = calls[i].as_step();
            let (sent, observed) = (&block.sent[i], &wall[i].observed);
            let r = match known.next() {
                Some((info, after)) => self.judge_by(sent, &step, action, observed, |c, _| {
                    *c = after;
                    StepVerdict::Consistent(info)
                }),
                None => self.judge(sent, &step, action, observed, window),
            };
            if !matches!(r, CaseResult::Passed) {
                return r;
            }
        }
        CaseResult::Passed
    }

    /// Why no order of the block explains its answers, with every call of the block (times in
    /// milliseconds since the block was sent) on the timeline.
    fn not_linearizable(&self, index: usize, block: &Block, e: NotLinearizable) -> Failure {
        let mut timeline = self.timeline.clone();
        for (i, (r, sent)) in block.history.iter().zip(&block.sent).enumerate() {
            timeline.push(TimelineEntry {
                index,
                step: format!(
                    "[{:>8.3} ms .. {:>8.3} ms] {}",
                    r.sent_ms as f64 / 1000.0,
                    r.answered_ms as f64 / 1000.0,
                    sent.shown
                ),
                observed: observed_line(&r.observed),
                model_change: String::new(),
                worlds: 0,
                diverged: i == e.failed_at,
            });
        }
        let order: Vec<String> = e.furthest.iter().map(|i| (i + 1).to_string()).collect();
        let which = if e.answer_order {
            "in the order they were answered"
        } else {
            "furthest order tried"
        };
        Failure {
            rule: e.rule,
            message: format!(
                "no order of the {} calls sent at once explains what was observed ({which}: calls {}; there: {})",
                block.history.len(),
                order.join(", "),
                e.message
            ),
            step_index: index,
            allowed: e.allowed,
            observed: observed_line(&block.history[e.failed_at].observed),
            exchange: Some(block.sent[e.failed_at].exchange.clone()),
            timeline,
            flip: None,
            others: e.others.into_vec(),
        }
    }
}
