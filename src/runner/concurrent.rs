//! Calls sent at once (a plan's parallel block), judged by a small linearizability check: the
//! calls must be explainable by some sequential order of the same calls in the model that
//! respects real time (a call that ended before another began comes first), as Knossos checks a
//! history. Bounded: at most [`MAX_CALLS`] concurrent calls, so at most 8! orders are tried.

use std::time::Instant;

use serde_json::Value;

use crate::check::{Checker, Divergence, StepInfo, StepVerdict};
use crate::model::{Action, CallWindow, Observation, Operation};
use crate::wire::{Answer, Exchange};

use super::event::RunEvent;
use super::session::{FaultInfo, Session};
use crate::model::rules::{self, RuleId};

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
    /// The rule broken in the order the endpoint answered the calls in (the likeliest order a
    /// serial endpoint took them in, so the likeliest rule), and what differed there.
    pub rule: RuleId,
    pub message: String,
    /// The furthest order tried (indexes into the history) and the call where it failed.
    pub furthest: Vec<usize>,
    pub failed_at: usize,
    pub allowed: Vec<String>,
    /// Whether `furthest` is the order the endpoint answered in (else the order that got
    /// furthest).
    pub answer_order: bool,
    /// Every rule some order of the calls breaks (`rule` among them): with no order that
    /// explains the calls, each is a fair blame, and a smaller plan may settle which.
    pub others: Box<[RuleId]>,
}

/// An order that explains a history, and where it leads.
#[derive(Debug)]
pub struct Linearized {
    /// One order that explains the calls one after another from the checker alone.
    pub order: Vec<usize>,
    /// The worlds of *every* order that explains the calls.
    pub after: Checker,
    /// Each call of `order` as judged there: what it exercised and the checker after it (empty
    /// when no such order was found, which cannot happen; see [`sequential`]).
    pub steps: Vec<(StepInfo, Checker)>,
}

/// Like [`linearize`], for a history timed in microseconds since `wall0_ms` (epoch ms): the
/// model's time checks (CreatedAt near the call) see wall-clock windows.
pub fn linearize_with_clock(
    checker: &Checker,
    history: &[Recorded],
    wall0_ms: i64,
) -> Result<Linearized, NotLinearizable> {
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
/// Returns one such order and the checker after the block: the worlds of *every* order that
/// explains it, since the endpoint may have run the calls in any of them.
pub fn linearize(
    checker: &Checker,
    history: &[Recorded],
) -> Result<(Vec<usize>, Checker), NotLinearizable> {
    run_search(checker, history, history).map(|l| (l.order, l.after))
}

/// The worlds reached by placing a set of calls in some order, and one way there.
struct Reached {
    /// One checker per way in, united when the set is expanded.
    ways: Vec<Checker>,
    /// The set placed before the last call, and that call (none for the empty set).
    via: Option<(usize, usize)>,
}

/// The search over sets of placed calls (as Porcupine and Knossos memoise): the worlds after a
/// set are the union over every order of it that respects real time, so each set is explored
/// once, at most 2^8 of them. `timing` orders calls in real time; `history` carries the
/// windows the model sees.
fn run_search(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
) -> Result<Linearized, NotLinearizable> {
    let n = history.len();
    assert!(n <= MAX_CALLS, "a history of at most {MAX_CALLS} calls");
    let full = (1usize << n) - 1;
    let mut reached: Vec<Option<Reached>> = (0..=full).map(|_| None).collect();
    reached[0] = Some(Reached {
        ways: vec![checker.clone()],
        via: None,
    });
    let mut failures = Failures::default();
    // A set's successors are numerically larger, so every way into a set is known before it
    // is expanded.
    for placed in 0..full {
        let Some(mut from) = reached[placed].take() else {
            continue;
        };
        let united = Checker::union(std::mem::take(&mut from.ways));
        for i in (0..n).filter(|i| may_come_next(placed, *i, timing)) {
            let mut next = united.clone();
            match place(&mut next, &history[i]) {
                StepVerdict::Consistent(_) => match &mut reached[placed | (1 << i)] {
                    Some(there) => there.ways.push(next),
                    slot => {
                        *slot = Some(Reached {
                            ways: vec![next],
                            via: Some((placed, i)),
                        })
                    }
                },
                StepVerdict::Diverged(d) => {
                    failures.note(d, placed, i, || path(&reached, &from, placed));
                }
                StepVerdict::TooManyWorlds(_) => {}
            }
        }
        reached[placed] = Some(from);
    }
    conclude(checker, timing, history, reached, failures)
}

/// The search's answer once every set is expanded: an order that explains the history and
/// the worlds after it, or why none does.
fn conclude(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
    mut reached: Vec<Option<Reached>>,
    failures: Failures,
) -> Result<Linearized, NotLinearizable> {
    let full = reached.len() - 1;
    let alive: Vec<bool> = reached.iter().map(Option::is_some).collect();
    match reached[full].take() {
        Some(end) => {
            let mut order = Vec::new();
            let steps = match sequential(checker, timing, history, &alive, &mut order) {
                Some(mut steps) => {
                    steps.reverse();
                    steps
                }
                None => {
                    // Cannot happen (each world of the end came by one order); the recorded
                    // way still names an order to show.
                    order = path(&reached, &end, full);
                    Vec::new()
                }
            };
            Ok(Linearized {
                order,
                after: Checker::union(end.ways),
                steps,
            })
        }
        None => {
            let mut e = in_answer_order(checker, timing, history)
                .or(failures.best)
                .unwrap_or(NotLinearizable {
                    rule: rules::PROTOCOL_SUCCESS,
                    message: "no order explains the calls".into(),
                    furthest: vec![],
                    failed_at: 0,
                    allowed: vec![],
                    answer_order: false,
                    others: Box::default(),
                });
            e.others = failures.broken.into_boxed_slice();
            Err(e)
        }
    }
}

/// The failures met in the search: the one that got furthest, and every rule broken.
#[derive(Default)]
struct Failures {
    best: Option<NotLinearizable>,
    broken: Vec<RuleId>,
}

impl Failures {
    /// Notes that placing call `i` after the set `placed` diverged; `way` is the order that
    /// reached `placed`, asked for only when this failure got further than any before.
    fn note(&mut self, d: Divergence, placed: usize, i: usize, way: impl FnOnce() -> Vec<usize>) {
        if !self.broken.contains(&d.mismatch.rule) {
            self.broken.push(d.mismatch.rule);
        }
        let depth = placed.count_ones() as usize + 1;
        if self.best.as_ref().is_none_or(|b| b.furthest.len() < depth) {
            let mut furthest = way();
            furthest.push(i);
            self.best = Some(NotLinearizable {
                rule: d.mismatch.rule,
                message: d.mismatch.message,
                failed_at: i,
                furthest,
                allowed: d.allowed,
                answer_order: false,
                others: Box::default(),
            });
        }
    }
}

/// Where the order the calls were answered in (ties by the order sent) stops being explained:
/// the rule to blame when no order explains the calls. Deepest-failure attribution would often
/// blame the lock for a bug elsewhere (UpdateServer answered HEALTHY but not applied reads as
/// "UpdateServer while BACKING_UP" in the order that puts the CreateBackup first).
fn in_answer_order(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
) -> Option<NotLinearizable> {
    let mut order: Vec<usize> = (0..history.len()).collect();
    order.sort_by_key(|&i| (timing[i].answered_ms, timing[i].sent_ms, i));
    let mut c = checker.clone();
    for (k, &i) in order.iter().enumerate() {
        match place(&mut c, &history[i]) {
            StepVerdict::Consistent(_) => {}
            StepVerdict::Diverged(d) => {
                return Some(NotLinearizable {
                    rule: d.mismatch.rule,
                    message: d.mismatch.message,
                    furthest: order[..=k].to_vec(),
                    failed_at: i,
                    allowed: d.allowed,
                    answer_order: true,
                    others: Box::default(),
                })
            }
            StepVerdict::TooManyWorlds(_) => return None,
        }
    }
    None
}

/// Whether call `i` may come next after the set `placed`: it is not placed yet, and every call
/// that ended before it began (real time) is.
fn may_come_next(placed: usize, i: usize, timing: &[Recorded]) -> bool {
    placed & (1 << i) == 0
        && !(0..timing.len())
            .any(|j| placed & (1 << j) == 0 && j != i && timing[j].answered_ms < timing[i].sent_ms)
}

/// Judges call `r` next in `checker`'s worlds (no reading-flip search: many orders are tried).
fn place(checker: &mut Checker, r: &Recorded) -> StepVerdict {
    let window = CallWindow {
        sent_ms: r.sent_ms,
        answered_ms: r.answered_ms,
    };
    checker.observe_with(&r.action, &r.observed, Some(window), false)
}

/// One order that explains the calls one after another from `checker` alone, the way
/// [`follow`](super::parallel) will judge them. The union of a set's ways may hold worlds
/// that no single way into it has, so the way recorded in the search is not always such an
/// order; one exists (each world of the end came by one order), and only sets the search
/// reached (`alive`) are tried. Returns each call's step there, last call first.
fn sequential(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
    alive: &[bool],
    order: &mut Vec<usize>,
) -> Option<Vec<(StepInfo, Checker)>> {
    let n = history.len();
    if order.len() == n {
        return Some(Vec::with_capacity(n));
    }
    let placed: usize = order.iter().map(|i| 1 << i).sum();
    for i in (0..n).filter(|i| may_come_next(placed, *i, timing) && alive[placed | (1 << i)]) {
        let mut next = checker.clone();
        if let StepVerdict::Consistent(info) = place(&mut next, &history[i]) {
            order.push(i);
            if let Some(mut later) = sequential(&next, timing, history, alive, order) {
                later.push((info, next));
                return Some(later);
            }
            order.pop();
        }
    }
    None
}

/// One order that reaches `at` (the set `set`), first call first.
fn path(reached: &[Option<Reached>], at: &Reached, set: usize) -> Vec<usize> {
    let mut order = Vec::new();
    let mut via = at.via;
    let mut left = set;
    while let Some((before, call)) = via {
        order.push(call);
        left = before;
        via = reached[left].as_ref().and_then(|r| r.via);
    }
    debug_assert_eq!(left, 0);
    order.reverse();
    order
}

impl Session<'_> {
    /// Sends `calls` at once; each answer with its exchange and when it was sent and answered
    /// (microseconds since `origin`). No retry: a throttled call cannot be judged in a race.
    pub(super) async fn send_at_once(
        &mut self,
        calls: &[(Operation, Value)],
        origin: Instant,
    ) -> Vec<(Result<Answer, FaultInfo>, Exchange, (i64, i64))> {
        // Every call counts as sent from before the first is encoded: its window is wider than
        // the wire's, never narrower (a narrower one could forbid an order that happened).
        let sent = origin.elapsed().as_micros() as i64;
        let results: Vec<_> = self
            .target
            .call_at_once(calls)
            .await
            .into_iter()
            .map(|(t, ex, ended)| {
                let answered = ended.saturating_duration_since(origin).as_micros() as i64;
                (t, ex, (sent, answered))
            })
            .collect();
        self.calls += calls.len() as u64;
        for (_, ex, _) in &results {
            self.emit(RunEvent::Sent(ex));
        }
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
        assert_eq!(e.others.to_vec(), [e.rule], "{e:?}");
    }

    /// A backup and the server's deletion both accepted at once: each order breaks another
    /// rule, and every one is named (a smaller plan may settle which one the bug is).
    #[test]
    fn with_no_order_that_explains_a_block_the_rule_of_every_order_is_named() {
        // Backups end only at settle, so the backup holds the lock.
        let c = setup().settle_only();
        let delete = Action::Call {
            op: model::Operation::DeleteServer,
            input: json!({"ServerName": "web"}),
        };
        let history = vec![
            rec(
                model::create_backup("web"),
                created("web-20250101000000000"),
                0,
                10,
            ),
            rec(delete, Observation::Success(json!({})), 0, 10),
        ];
        let e = linearize(&c, &history).unwrap_err();
        // The backup first: the deletion breaks the lock; the deletion first: the backup of a
        // DELETING server breaks the state gate.
        assert_eq!(
            e.others.to_vec(),
            [
                rules::SERVER_BACKING_UP_LOCKED,
                rules::CREATE_BACKUP_STATE_REFUSED
            ],
            "{e:?}"
        );
        assert!(e.others.contains(&e.rule), "{e:?}");
    }

    /// Found by the 2,000-sequence test: two servers backed up at once, then listed. The
    /// endpoint may have run either call first, so either listing order is right.
    #[test]
    fn after_a_block_every_order_that_explains_it_is_kept() {
        let mut c = setup();
        let put = Action::PutServer(ServerSpec {
            name: "db".into(),
            status: ServerStatus::Healthy,
            engine: "ChefAutomate".into(),
            manual_backups: 0,
            automated_backups: 0,
        });
        c.observe(&put, &Observation::Success(json!({})), None);
        let created_on = |server: &str, id: &str| {
            Observation::Success(json!({"Backup": {"BackupId": id, "ServerName": server,
                "BackupArn": format!("arn:aws:opsworks-cm:us-east-1:123456789012:backup/{id}"),
                "Engine": "ChefAutomate", "BackupType": "MANUAL", "Status": "IN_PROGRESS",
                "CreatedAt": 0.005}}))
        };
        let history = vec![
            rec(
                model::create_backup("db"),
                created_on("db", "db-20250101000000000"),
                0,
                10,
            ),
            rec(
                model::create_backup("web"),
                created_on("web", "web-20250101000000000"),
                0,
                10,
            ),
        ];
        let describe = Action::Call {
            op: model::Operation::DescribeBackups,
            input: json!({}),
        };
        let entry = |server: &str, id: &str| {
            json!({"BackupId": id, "ServerName": server, "BackupType": "MANUAL",
                "Status": "IN_PROGRESS", "CreatedAt": 0.005})
        };
        for listed in [["db", "web"], ["web", "db"]] {
            let (_, mut after) = linearize(&c, &history).unwrap();
            let backups: Vec<_> = listed
                .iter()
                .map(|s| entry(s, &format!("{s}-20250101000000000")))
                .collect();
            let seen = Observation::Success(json!({ "Backups": backups }));
            let verdict = after.observe(&describe, &seen, None);
            assert!(
                matches!(verdict, StepVerdict::Consistent(_)),
                "listing {listed:?} refused: {verdict:?}"
            );
        }
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
