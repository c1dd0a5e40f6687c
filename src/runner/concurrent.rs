//! Calls sent at once (a plan's parallel block), judged by a small linearizability check: the
//! calls must be explainable by some sequential order of the same calls in the model that
//! respects real time (a call that ended before another began comes first), as Knossos checks a
//! history. Bounded: at most [`MAX_CALLS`] concurrent calls, so at most 2^8 sets of calls are
//! visited, and each call is judged once per distinct set of worlds met.

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
    /// The worlds of each way in ([`Memo`] classes, each once, in the order met), united when
    /// the set is expanded.
    ways: Vec<usize>,
    /// The set placed before the last call, and that call (none for the empty set).
    via: Option<(usize, usize)>,
}

/// What placing one call in one set of worlds gave.
enum Placed {
    /// The call fits: what it exercised, and the worlds after it (a [`Memo`] class).
    Fits(StepInfo, usize),
    Diverged(Divergence),
    TooManyWorlds,
}

/// Each distinct set of worlds the search meets (a class), and what placing each call there
/// gave. Calls often commute (refusals and reads change no world), so many orders meet the
/// same worlds: each call is judged once per distinct set, not once per order, and calls that
/// are the same (the same action, answer and window, as racing refusals often are) are judged
/// once for all. Judging is a function of the worlds and the call alone, so a verdict reused
/// is the verdict the call would get again.
struct Memo<'h> {
    history: &'h [Recorded],
    /// For each call, the first call of the history that is the same.
    first_same: Vec<usize>,
    classes: Vec<Checker>,
    /// Per class, per call (as its first same call): the placement, once judged.
    placed: Vec<Vec<Option<Placed>>>,
}

impl<'h> Memo<'h> {
    /// Starts with `checker`'s worlds as class 0.
    fn new(checker: &Checker, history: &'h [Recorded]) -> Memo<'h> {
        let same = |a: &Recorded, b: &Recorded| {
            (a.sent_ms, a.answered_ms) == (b.sent_ms, b.answered_ms)
                && a.action == b.action
                && a.observed == b.observed
        };
        let first_same = history
            .iter()
            .enumerate()
            .map(|(i, r)| (0..i).find(|&j| same(&history[j], r)).unwrap_or(i))
            .collect();
        let mut memo = Memo {
            history,
            first_same,
            classes: Vec::new(),
            placed: Vec::new(),
        };
        memo.intern(checker.clone());
        memo
    }

    /// The class of `checker`'s worlds (a new one when no class has them).
    fn intern(&mut self, checker: Checker) -> usize {
        if let Some(k) = self
            .classes
            .iter()
            .position(|c| c.worlds() == checker.worlds())
        {
            return k;
        }
        self.classes.push(checker);
        self.placed
            .push((0..self.history.len()).map(|_| None).collect());
        self.classes.len() - 1
    }

    fn checker(&self, class: usize) -> &Checker {
        &self.classes[class]
    }

    /// The class of the union of `ways` (classes, each once): the first way's worlds first,
    /// as [`Checker::union`] keeps them.
    fn united(&mut self, ways: &[usize]) -> usize {
        match ways {
            [one] => *one,
            _ => {
                let parts = ways.iter().map(|&k| self.classes[k].clone()).collect();
                self.intern(Checker::union(parts))
            }
        }
    }

    /// Call `i` judged next in the worlds of `class` (no reading-flip search: many orders are
    /// tried).
    fn place(&mut self, class: usize, i: usize) -> &Placed {
        let i = self.first_same[i];
        if self.placed[class][i].is_none() {
            let mut next = self.classes[class].clone();
            let placed = match place(&mut next, &self.history[i]) {
                StepVerdict::Consistent(info) => Placed::Fits(info, self.intern(next)),
                StepVerdict::Diverged(d) => Placed::Diverged(d),
                StepVerdict::TooManyWorlds(_) => Placed::TooManyWorlds,
            };
            self.placed[class][i] = Some(placed);
        }
        self.placed[class][i].as_ref().expect("judged above")
    }
}

/// The search over sets of placed calls (as Porcupine and Knossos memoise): the worlds after a
/// set are the union over every order of it that respects real time, so each set is explored
/// once, at most 2^8 of them; a call is judged once per distinct set of worlds ([`Memo`]).
/// `timing` orders calls in real time; `history` carries the windows the model sees.
fn run_search(
    checker: &Checker,
    timing: &[Recorded],
    history: &[Recorded],
) -> Result<Linearized, NotLinearizable> {
    let n = history.len();
    assert!(n <= MAX_CALLS, "a history of at most {MAX_CALLS} calls");
    let full = (1usize << n) - 1;
    let mut memo = Memo::new(checker, history);
    let mut reached: Vec<Option<Reached>> = (0..=full).map(|_| None).collect();
    reached[0] = Some(Reached {
        ways: vec![0],
        via: None,
    });
    let mut failures = Failures::default();
    // A set's successors are numerically larger, so every way into a set is known before it
    // is expanded.
    for placed in 0..full {
        let Some(from) = &reached[placed] else {
            continue;
        };
        let united = memo.united(&from.ways);
        for i in (0..n).filter(|i| may_come_next(placed, *i, timing)) {
            match memo.place(united, i) {
                Placed::Fits(_, to) => match &mut reached[placed | (1 << i)] {
                    Some(there) if there.ways.contains(to) => {}
                    Some(there) => there.ways.push(*to),
                    slot => {
                        *slot = Some(Reached {
                            ways: vec![*to],
                            via: Some((placed, i)),
                        })
                    }
                },
                Placed::Diverged(d) => failures.note(d, placed, i, || path(&reached, placed)),
                Placed::TooManyWorlds => {}
            }
        }
    }
    conclude(&mut memo, timing, reached, failures)
}

/// The search's answer once every set is expanded: an order that explains the history and
/// the worlds after it, or why none does.
fn conclude(
    memo: &mut Memo,
    timing: &[Recorded],
    reached: Vec<Option<Reached>>,
    failures: Failures,
) -> Result<Linearized, NotLinearizable> {
    let full = reached.len() - 1;
    let alive: Vec<bool> = reached.iter().map(Option::is_some).collect();
    match &reached[full] {
        Some(end) => {
            let mut order = Vec::new();
            let steps = match sequential(memo, timing, &alive, 0, &mut order) {
                Some(mut steps) => {
                    steps.reverse();
                    steps
                }
                None => {
                    // Cannot happen (each world of the end came by one order); the recorded
                    // way still names an order to show.
                    order = path(&reached, full);
                    Vec::new()
                }
            };
            let after = memo.united(&end.ways);
            Ok(Linearized {
                order,
                after: std::mem::replace(&mut memo.classes[after], Checker::from_worlds(vec![])),
                steps,
            })
        }
        None => {
            let mut e =
                in_answer_order(memo, timing)
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
    fn note(&mut self, d: &Divergence, placed: usize, i: usize, way: impl FnOnce() -> Vec<usize>) {
        if !self.broken.contains(&d.mismatch.rule) {
            self.broken.push(d.mismatch.rule);
        }
        let depth = placed.count_ones() as usize + 1;
        if self.best.as_ref().is_none_or(|b| b.furthest.len() < depth) {
            let mut furthest = way();
            furthest.push(i);
            self.best = Some(NotLinearizable {
                rule: d.mismatch.rule,
                message: d.mismatch.message.clone(),
                failed_at: i,
                furthest,
                allowed: d.allowed.clone(),
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
fn in_answer_order(memo: &mut Memo, timing: &[Recorded]) -> Option<NotLinearizable> {
    let mut order: Vec<usize> = (0..timing.len()).collect();
    order.sort_by_key(|&i| (timing[i].answered_ms, timing[i].sent_ms, i));
    let mut at = 0;
    for (k, &i) in order.iter().enumerate() {
        match memo.place(at, i) {
            Placed::Fits(_, to) => at = *to,
            Placed::Diverged(d) => {
                return Some(NotLinearizable {
                    rule: d.mismatch.rule,
                    message: d.mismatch.message.clone(),
                    furthest: order[..=k].to_vec(),
                    failed_at: i,
                    allowed: d.allowed.clone(),
                    answer_order: true,
                    others: Box::default(),
                })
            }
            Placed::TooManyWorlds => return None,
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

/// One order that explains the calls one after another from the search's first worlds alone
/// (class 0), the way [`follow`](super::parallel) will judge them, going on from class `at`
/// (where the calls of `order` led). The union of a set's ways may hold worlds that no single
/// way into it has, so the way recorded in the search is not always such an order; one exists
/// (each world of the end came by one order), and only sets the search reached (`alive`) are
/// tried. Placements come from the search's memo. Returns each call's step there, last call
/// first.
fn sequential(
    memo: &mut Memo,
    timing: &[Recorded],
    alive: &[bool],
    at: usize,
    order: &mut Vec<usize>,
) -> Option<Vec<(StepInfo, Checker)>> {
    let n = timing.len();
    if order.len() == n {
        return Some(Vec::with_capacity(n));
    }
    let placed: usize = order.iter().map(|i| 1 << i).sum();
    for i in (0..n).filter(|i| may_come_next(placed, *i, timing) && alive[placed | (1 << i)]) {
        if let Placed::Fits(info, to) = memo.place(at, i) {
            let (info, to) = (info.clone(), *to);
            order.push(i);
            if let Some(mut later) = sequential(memo, timing, alive, to, order) {
                later.push((info, memo.checker(to).clone()));
                return Some(later);
            }
            order.pop();
        }
    }
    None
}

/// One order that reaches the set `set`, first call first.
fn path(reached: &[Option<Reached>], set: usize) -> Vec<usize> {
    let mut order = Vec::new();
    let mut left = set;
    while let Some((before, call)) = reached[left].as_ref().and_then(|r| r.via) {
        order.push(call);
        left = before;
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
    use crate::model::{self, ErrorKind, ServerSpec, ServerStatus, World};
    use serde_json::json;
    use std::collections::BTreeSet;

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

    /// Every order of `history` that respects real time, as Knossos enumerates them.
    fn real_time_orders(history: &[Recorded]) -> Vec<Vec<usize>> {
        fn extend(history: &[Recorded], order: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            let placed: usize = order.iter().map(|i| 1 << i).sum();
            if order.len() == history.len() {
                out.push(order.clone());
            }
            for i in (0..history.len()).filter(|i| may_come_next(placed, *i, history)) {
                order.push(i);
                extend(history, order, out);
                order.pop();
            }
        }
        let mut out = Vec::new();
        extend(history, &mut Vec::new(), &mut out);
        out
    }

    /// The worlds after judging `history` in `order` one call after another, if every call fits.
    fn judged_in(checker: &Checker, history: &[Recorded], order: &[usize]) -> Option<Checker> {
        let mut c = checker.clone();
        order
            .iter()
            .all(|&i| matches!(place(&mut c, &history[i]), StepVerdict::Consistent(_)))
            .then_some(c)
    }

    /// A call of a small race on "web", with one of the answers an endpoint may give.
    fn random_call(rng: &mut fastrand::Rng) -> (Action, Observation) {
        let ids = ["web-20250101000000000", "web-20250101000000001"];
        let describe = Action::Call {
            op: model::Operation::DescribeBackups,
            input: json!({}),
        };
        let delete = Action::Call {
            op: model::Operation::DeleteServer,
            input: json!({"ServerName": "web"}),
        };
        let refused = |k| (model::create_backup("web"), Observation::Error(k));
        match rng.usize(0..9) {
            0 | 1 => (model::create_backup("web"), created(ids[rng.usize(0..2)])),
            2 | 3 => refused(ErrorKind::InvalidStateException),
            4 => refused(ErrorKind::LimitExceededException),
            5 => refused(ErrorKind::ResourceNotFoundException),
            6 => (describe, listing(&ids[..rng.usize(0..3)])),
            7 => (delete, Observation::Success(json!({}))),
            _ => (delete, Observation::Error(ErrorKind::InvalidStateException)),
        }
    }

    /// The search against brute force over every order that respects real time: it explains a
    /// history exactly when some order does, its order is one of them, its steps follow that
    /// order, and it keeps the worlds of every order that explains the history.
    #[test]
    fn the_search_agrees_with_trying_every_order() {
        let mut rng = fastrand::Rng::with_seed(13);
        let (mut explained, mut refused) = (0, 0);
        for round in 0..400 {
            let checker = if round % 2 == 0 {
                setup()
            } else {
                setup().settle_only()
            };
            let history: Vec<Recorded> = (0..rng.usize(2..=4))
                .map(|_| {
                    let (action, observed) = random_call(&mut rng);
                    // Few windows, so that calls are often the same or ordered in real time.
                    let sent = 6 * rng.i64(0..3);
                    rec(action, observed, sent, sent + 4 * rng.i64(1..3))
                })
                .collect();
            let ends: Vec<Checker> = real_time_orders(&history)
                .iter()
                .filter_map(|o| judged_in(&checker, &history, o))
                .collect();
            let found = run_search(&checker, &history, &history);
            let Ok(l) = found else {
                assert!(
                    ends.is_empty(),
                    "round {round}: an order explains {history:?}"
                );
                refused += 1;
                continue;
            };
            explained += 1;
            assert!(
                !ends.is_empty(),
                "round {round}: no order explains {history:?}"
            );
            assert!(
                real_time_orders(&history).contains(&l.order),
                "round {round}"
            );
            let mut c = checker.clone();
            assert_eq!(l.steps.len(), history.len(), "round {round}");
            for (&i, (info, after)) in l.order.iter().zip(&l.steps) {
                let StepVerdict::Consistent(now) = place(&mut c, &history[i]) else {
                    panic!("round {round}: call {i} of {:?} does not fit", l.order);
                };
                assert_eq!(now.worlds, info.worlds, "round {round}");
                assert_eq!(c.worlds(), after.worlds(), "round {round}");
            }
            let every: BTreeSet<&World> = ends.iter().flat_map(|c| c.worlds()).collect();
            let kept: BTreeSet<&World> = l.after.worlds().iter().collect();
            assert!(
                kept == every,
                "round {round}: {} worlds kept, {} expected, after {history:?}",
                kept.len(),
                every.len()
            );
        }
        // Both kinds of history were tried.
        assert!(
            explained > 50 && refused > 50,
            "{explained} explained, {refused} refused"
        );
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
