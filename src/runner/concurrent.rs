//! The concurrency property: rounds of calls sent at once, judged by a small linearizability
//! check: the calls must be explainable by some sequential order of the same calls in the model that respects real time (a call that ended before
//! another began comes first), as Knossos checks a history. Bounded: at most [`MAX_CALLS`]
//! concurrent calls, so at most 8! orders are tried.

use std::time::Instant;

use serde_json::{json, Value};

use crate::check::{Checker, StepVerdict};
use crate::model::{Action, CallWindow, Mismatch, Observation, Operation, ServerStatus};
use crate::plan::{Plan, Step};
use crate::report::{FaultClass, TimelineEntry};
use crate::wire::{Answer, Exchange};

use super::case::{Case, CaseResult, Failure};
use super::session::Session;
use super::timeline::observed_line;

/// The trial name of the concurrency property.
pub(super) const PROPERTY: &str = "property::concurrent-calls";
/// The most calls one history may hold.
pub const MAX_CALLS: usize = 8;

/// One call of a concurrent history, as observed.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub action: Action,
    pub observed: Observation,
    /// When it was sent and answered (milliseconds, any common origin).
    pub sent_ms: i64,
    pub answered_ms: i64,
}

/// Why no order explains a history.
#[derive(Debug, Clone)]
pub struct NotLinearizable {
    /// The rule broken in the order that got furthest, and what differed there.
    pub rule: &'static str,
    pub message: String,
    /// The furthest order tried (indexes into the history) and the call where it failed.
    pub furthest: Vec<usize>,
    pub failed_at: usize,
    pub allowed: Vec<String>,
}

/// Like [`linearize`], for a history timed in microseconds since `wall0_ms` (epoch ms): the
/// model's time checks (CreatedAt near the call) see wall-clock windows.
pub fn linearize_with_clock(
    checker: &Checker,
    history: &[Recorded],
    wall0_ms: i64,
) -> Result<(Vec<usize>, Checker), NotLinearizable> {
    let wall: Vec<Recorded> = history
        .iter()
        .map(|r| Recorded {
            sent_ms: wall0_ms + r.sent_ms / 1000,
            answered_ms: wall0_ms + (r.answered_ms + 999) / 1000,
            ..r.clone()
        })
        .collect();
    // Real-time order uses the precise times; the model's windows the wall clock.
    run_search(checker, history, &wall)
}

/// Finds an order of `history` that the model explains, starting from `checker`'s worlds.
/// Returns the order and the checker after it.
pub fn linearize(
    checker: &Checker,
    history: &[Recorded],
) -> Result<(Vec<usize>, Checker), NotLinearizable> {
    assert!(
        history.len() <= MAX_CALLS,
        "a history of at most {MAX_CALLS} calls"
    );
    run_search(checker, history, history)
}

/// Runs the search; the furthest failure explains why no order fits.
fn run_search(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
) -> Result<(Vec<usize>, Checker), NotLinearizable> {
    let mut best: Option<NotLinearizable> = None;
    let mut order = Vec::new();
    let mut used = vec![false; history.len()];
    match search_timed(checker, timing, history, &mut order, &mut used, &mut best) {
        Some(found) => Ok(found),
        None => Err(best.unwrap_or(NotLinearizable {
            rule: "protocol.success",
            message: "no order explains the calls".into(),
            furthest: vec![],
            failed_at: 0,
            allowed: vec![],
        })),
    }
}

/// `timing` orders calls in real time; `history` carries the windows the model sees.
fn search_timed(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
    order: &mut Vec<usize>,
    used: &mut [bool],
    best: &mut Option<NotLinearizable>,
) -> Option<(Vec<usize>, Checker)> {
    if order.len() == history.len() {
        return Some((order.clone(), checker.clone()));
    }
    for i in 0..history.len() {
        if used[i] {
            continue;
        }
        // Real time: a call that ended before call i began must already be placed.
        let must_precede = (0..history.len())
            .any(|j| !used[j] && j != i && timing[j].answered_ms < timing[i].sent_ms);
        if must_precede {
            continue;
        }
        let mut next = checker.clone();
        let r = &history[i];
        let window = CallWindow {
            sent_ms: r.sent_ms,
            answered_ms: r.answered_ms,
        };
        match next.observe(&r.action, &r.observed, Some(window)) {
            StepVerdict::Consistent(_) => {
                used[i] = true;
                order.push(i);
                if let Some(found) = search_timed(&next, timing, history, order, used, best) {
                    return Some(found);
                }
                order.pop();
                used[i] = false;
            }
            StepVerdict::Diverged(d) => {
                if best
                    .as_ref()
                    .is_none_or(|b| b.furthest.len() < order.len() + 1)
                {
                    let mut furthest = order.clone();
                    furthest.push(i);
                    *best = Some(NotLinearizable {
                        rule: d.mismatch.rule,
                        message: d.mismatch.message,
                        failed_at: i,
                        furthest,
                        allowed: d.allowed,
                    });
                }
            }
            StepVerdict::TooManyWorlds(_) => {}
        }
    }
    None
}

/// One round's history as it is recorded: every call, its exchange, and how many of the first
/// calls were sent at once.
struct Round {
    history: Vec<Recorded>,
    exchanges: Vec<Exchange>,
    concurrent: usize,
    origin: Instant,
}

impl Round {
    /// Microseconds since the round began (see [`linearize_with_clock`]).
    fn now(&self) -> i64 {
        self.origin.elapsed().as_micros() as i64
    }

    fn record(
        &mut self,
        op: Operation,
        input: Value,
        observed: Observation,
        times: (i64, i64),
        ex: Exchange,
    ) {
        self.history.push(Recorded {
            action: Action::Call { op, input },
            observed,
            sent_ms: times.0,
            answered_ms: times.1,
        });
        self.exchanges.push(ex);
    }

    /// Why no sequential order explains the round, with its whole history as the timeline.
    fn failure(&self, e: NotLinearizable, mut timeline: Vec<TimelineEntry>) -> Failure {
        for (i, r) in self.history.iter().enumerate() {
            let step = match &r.action {
                Action::Call { op, input } => Step::call(*op, input.clone()),
                _ => Step::call(Operation::DescribeServers, json!({})),
            };
            timeline.push(TimelineEntry {
                index: i + 1,
                step: format!(
                    "[{:>8.3} ms .. {:>8.3} ms] {}{step}",
                    r.sent_ms as f64 / 1000.0,
                    r.answered_ms as f64 / 1000.0,
                    if i < self.concurrent {
                        "(concurrent) "
                    } else {
                        ""
                    }
                ),
                observed: observed_line(&r.observed),
                model_change: String::new(),
                worlds: 0,
                diverged: i == e.failed_at,
            });
        }
        let order: Vec<String> = e.furthest.iter().map(|i| (i + 1).to_string()).collect();
        Failure {
            rule: e.rule,
            message: format!(
                "no sequential order of the {} calls explains what was observed (furthest order tried: calls {}; there: {})",
                self.history.len(),
                order.join(", "),
                e.message
            ),
            step_index: e.failed_at + 1,
            allowed: e.allowed,
            observed: observed_line(&self.history[e.failed_at].observed),
            exchange: self.exchanges.get(e.failed_at).cloned(),
            timeline,
            flip: None,
        }
    }
}

/// A call of the round whose answer breaks the wire protocol.
fn protocol_failure(
    m: Mismatch,
    step_index: usize,
    ex: Exchange,
    timeline: &[TimelineEntry],
) -> CaseResult {
    CaseResult::Diverged(Box::new(Failure {
        rule: m.rule,
        message: m.message,
        step_index,
        allowed: vec![],
        observed: format!("HTTP {}", ex.status.unwrap_or(0)),
        exchange: Some(ex),
        timeline: timeline.to_vec(),
        flip: None,
    }))
}

impl Session {
    /// One round of the concurrency property: a server near the limit, K CreateBackup calls (and
    /// an UpdateServer) sent at once, then DescribeBackups and DescribeServers; the history must
    /// linearize in the model.
    pub(super) async fn concurrent_round(&mut self, round: u64) -> CaseResult {
        let steps = concurrent_round_steps(self.limit, round);
        let as_call = |s: &Step| match s {
            Step::Call {
                operation, input, ..
            } => (*operation, input.clone()),
            _ => unreachable!("only the first step is a fixture"),
        };
        let calls: Vec<(Operation, Value)> =
            steps[1..steps.len() - 2].iter().map(as_call).collect();
        let after: Vec<(Operation, Value)> = steps[steps.len() - 2..].iter().map(as_call).collect();
        if let Err(f) = self.reset().await {
            return CaseResult::Unjudged(f);
        }
        let mut case = Case::new(self);
        let r = case.fixture_step(0, &steps[0]).await;
        if !matches!(r, CaseResult::Passed) {
            return r;
        }
        let Case {
            checker, timeline, ..
        } = case;
        let mut rec = Round {
            history: Vec::new(),
            exchanges: Vec::new(),
            concurrent: calls.len(),
            origin: Instant::now(),
        };
        if let Err(stop) = self.burst(calls, &mut rec, &timeline).await {
            return stop;
        }
        // Observe the state after the burst, in order.
        for (op, input) in after {
            let sent = rec.now();
            let (answer, ex) = self.api(op, &input).await;
            let observed = match answer {
                Ok(Answer::Observed(o)) => o,
                Ok(Answer::NotServed(_)) if op != Operation::CreateBackup => {
                    return CaseResult::NotServed(op)
                }
                Ok(Answer::Protocol(m) | Answer::NotServed(m)) => {
                    return protocol_failure(m, 2, ex, &timeline)
                }
                Ok(_) => Observation::Unknown,
                Err(f) => return CaseResult::from_fault(f),
            };
            rec.record(op, input, observed, (sent, rec.now()), ex);
        }
        // The model checks CreatedAt against the wall clock: give it the round's wall-clock window.
        let wall0 = chrono::Utc::now().timestamp_millis() - rec.origin.elapsed().as_millis() as i64;
        match linearize_with_clock(&checker, &rec.history, wall0) {
            Ok(_) => CaseResult::Passed,
            Err(e) => CaseResult::Diverged(Box::new(rec.failure(e, timeline))),
        }
    }

    /// Sends `calls` at once and records their answers.
    async fn burst(
        &mut self,
        calls: Vec<(Operation, Value)>,
        rec: &mut Round,
        timeline: &[TimelineEntry],
    ) -> Result<(), CaseResult> {
        let target = &self.target;
        let origin = rec.origin;
        let futures = calls.iter().map(|(op, input)| async move {
            let sent = origin.elapsed().as_micros() as i64;
            let (t, ex) = target.call(*op, input).await;
            (t, ex, (sent, origin.elapsed().as_micros() as i64))
        });
        let results = futures::future::join_all(futures).await;
        self.calls += calls.len() as u64;
        for ((op, input), (t, ex, times)) in calls.into_iter().zip(results) {
            // No retry inside a burst: a throttled call cannot be judged.
            let observed = match self.decode(op, t) {
                Ok(Answer::Observed(o)) => o,
                Ok(Answer::NotServed(_)) if op != Operation::CreateBackup => {
                    return Err(CaseResult::NotServed(op))
                }
                Ok(Answer::Protocol(m) | Answer::NotServed(m)) => {
                    return Err(protocol_failure(m, 1, ex, timeline))
                }
                Ok(Answer::Throttled(m)) => {
                    return Err(CaseResult::Unjudged(self.fault(FaultClass::Throttled, &m)))
                }
                Ok(other) => unreachable!("the session turns {other:?} into a fault"),
                Err(f) => return Err(CaseResult::from_fault(f)),
            };
            rec.record(op, input, observed, times, ex);
        }
        Ok(())
    }
}

/// The concurrency round `round` as a plan, for the report (run sequentially it does not race).
pub(super) fn concurrent_round_plan(limit: u32, round: u64) -> Plan {
    Plan {
        description: "calls sent at once (steps 2 to the last two), then observed in order; run sequentially this plan does not race".into(),
        ..Plan::new(format!("concurrent-round-{round}"), concurrent_round_steps(limit, round))
    }
}

/// The steps of a concurrency round: the fixture, the calls sent at once, the observations after.
pub(super) fn concurrent_round_steps(limit: u32, round: u64) -> Vec<Step> {
    let manual = [0, limit.saturating_sub(2), limit.saturating_sub(1)][(round % 3) as usize];
    let k = 4 + (round % 3) as usize;
    let mut steps = vec![Step::PutServer {
        server_name: "web".into(),
        status: ServerStatus::Healthy,
        engine: "ChefAutomate".into(),
        manual_backups: manual,
        automated_backups: 0,
    }];
    let mut calls: Vec<Step> = (0..k)
        .map(|_| Step::call(Operation::CreateBackup, json!({"ServerName": "web"})))
        .collect();
    calls.insert(
        k / 2,
        Step::call(
            Operation::UpdateServer,
            json!({"ServerName": "web", "BackupRetentionCount": 5}),
        ),
    );
    steps.extend(calls);
    steps.push(Step::call(
        Operation::DescribeBackups,
        json!({"ServerName": "web"}),
    ));
    steps.push(Step::call(Operation::DescribeServers, json!({})));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{self, ErrorKind, ServerSpec, ServerStatus};
    use serde_json::json;

    fn setup() -> Checker {
        let mut c = Checker::new(50);
        let put = Action::PutServer(ServerSpec {
            name: "web".into(),
            status: ServerStatus::Healthy,
            engine: "ChefAutomate".into(),
            manual_backups: 0,
            automated_backups: 0,
        });
        c.observe(&put, &Observation::Success(json!({})), None);
        c
    }

    fn created(id: &str) -> Observation {
        Observation::Success(json!({"Backup": {"BackupId": id, "ServerName": "web",
            "BackupArn": format!("arn:aws:opsworks-cm:us-east-1:123456789012:backup/{id}"),
            "Engine": "ChefAutomate", "BackupType": "MANUAL", "Status": "IN_PROGRESS",
            "CreatedAt": 0.005}}))
    }

    fn rec(action: Action, observed: Observation, sent: i64, answered: i64) -> Recorded {
        Recorded {
            action,
            observed,
            sent_ms: sent,
            answered_ms: answered,
        }
    }

    fn listing(ids: &[&str]) -> Observation {
        let backups: Vec<_> = ids
            .iter()
            .map(|id| json!({"BackupId": id, "ServerName": "web", "BackupType": "MANUAL", "Status": "IN_PROGRESS"}))
            .collect();
        Observation::Success(json!({ "Backups": backups }))
    }

    #[test]
    fn one_success_and_refusals_in_any_answer_order_linearize() {
        let c = setup();
        let history = vec![
            rec(
                model::create_backup("web"),
                Observation::Error(ErrorKind::InvalidStateException),
                0,
                10,
            ),
            rec(
                model::create_backup("web"),
                created("web-20250101000000000"),
                0,
                10,
            ),
            rec(
                model::create_backup("web"),
                Observation::Error(ErrorKind::InvalidStateException),
                0,
                10,
            ),
        ];
        let (order, _) = linearize(&c, &history).unwrap();
        assert_eq!(order[0], 1);
    }

    #[test]
    fn two_backups_in_progress_at_once_do_not_linearize() {
        let c = setup();
        let describe = Action::Call {
            op: model::Operation::DescribeBackups,
            input: json!({}),
        };
        let history = vec![
            rec(
                model::create_backup("web"),
                created("web-20250101000000000"),
                0,
                10,
            ),
            rec(
                model::create_backup("web"),
                created("web-20250101000000001"),
                0,
                10,
            ),
            rec(
                describe,
                listing(&["web-20250101000000001", "web-20250101000000000"]),
                20,
                30,
            ),
        ];
        let e = linearize(&c, &history).unwrap_err();
        assert_eq!(e.furthest.len(), 3, "{e:?}");
    }

    #[test]
    fn real_time_order_is_respected() {
        let c = setup();
        // The refusal ended before the success began, so it came first: the server was
        // HEALTHY then and the refusal cannot be explained.
        let history = vec![
            rec(
                model::create_backup("web"),
                Observation::Error(ErrorKind::InvalidStateException),
                0,
                5,
            ),
            rec(
                model::create_backup("web"),
                created("web-20250101000000000"),
                10,
                20,
            ),
        ];
        assert!(linearize(&c, &history).is_err());
    }
}
