//! Calls sent at once (a plan's parallel block), judged by a small linearizability check: the
//! calls must be explainable by some sequential order of the same calls in the model that
//! respects real time (a call that ended before another began comes first), as Knossos checks a
//! history. Bounded: at most [`MAX_CALLS`] concurrent calls, so at most 8! orders are tried.

use std::time::Instant;

use serde_json::Value;

use crate::check::{Checker, StepVerdict};
use crate::model::{Action, CallWindow, Observation, Operation};
use crate::wire::{Answer, Exchange};

use super::session::{FaultInfo, Session};

/// The most calls one history may hold.
pub const MAX_CALLS: usize = crate::plan::MAX_PARALLEL;

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
    // Real-time order uses the precise times; the model's windows the wall clock.
    run_search(checker, history, &on_wall_clock(history, wall0_ms))
}

/// A history timed in microseconds since `wall0_ms` (epoch ms), in wall-clock milliseconds
/// (widened to whole milliseconds).
pub fn on_wall_clock(history: &[Recorded], wall0_ms: i64) -> Vec<Recorded> {
    history
        .iter()
        .map(|r| Recorded {
            sent_ms: wall0_ms + r.sent_ms / 1000,
            answered_ms: wall0_ms + (r.answered_ms + 999) / 1000,
            ..r.clone()
        })
        .collect()
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

impl Session {
    /// Sends `calls` at once; each answer with its exchange and when it was sent and answered
    /// (microseconds since `origin`). No retry: a throttled call cannot be judged in a race.
    pub(super) async fn send_at_once(
        &mut self,
        calls: &[(Operation, Value)],
        origin: Instant,
    ) -> Vec<(Result<Answer, FaultInfo>, Exchange, (i64, i64))> {
        let target = &self.target;
        let futures = calls.iter().map(|(op, input)| async move {
            let sent = origin.elapsed().as_micros() as i64;
            let (t, ex) = target.call(*op, input).await;
            (t, ex, (sent, origin.elapsed().as_micros() as i64))
        });
        let results = futures::future::join_all(futures).await;
        self.calls += calls.len() as u64;
        calls
            .iter()
            .zip(results)
            .map(|((op, _), (t, ex, times))| (self.decode(*op, t), ex, times))
            .collect()
    }
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
