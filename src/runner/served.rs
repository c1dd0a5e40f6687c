//! Endpoints that serve only part of the API: which operations answered "not served"
//! (`UnknownOperationException`, an envelope 404 without a documented code) or were left out of
//! the control plane's `"operations"` list, and the state-less start of an endpoint whose state
//! cannot be observed (the seed page's CreateBackup-only stub).
//!
//! An operation other than CreateBackup that is not served is recorded once: the generator stops
//! using it, a scenario that calls it is skipped, and the verdict is judged on the rest
//! (`--require-operations all` makes it a failure). CreateBackup is the operation under test:
//! an answer saying it is not served is a divergence.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::check::MAX_WORLDS;
use crate::model::{self, Operation, Readings, ServerStatus, World};
use crate::plan::{Plan, Step};
use crate::wire::{self, Answer, Dialect};

use super::case::CaseResult;
use super::outcome::FaultClass;
use super::session::Session;

/// Which operations the endpoint was found (or said) not to serve.
#[derive(Debug, Clone, Default)]
pub(super) struct Served {
    not_served: BTreeSet<Operation>,
    /// Backups the run created and could not delete (DeleteBackup not served).
    left_behind: usize,
}

impl Served {
    /// Whether `op` may be called (not known to be unserved).
    pub(super) fn serves(&self, op: Operation) -> bool {
        !self.not_served.contains(&op)
    }

    /// Records that `op` answered "not served"; returns whether that is news.
    pub(super) fn learn(&mut self, op: Operation) -> bool {
        self.not_served.insert(op)
    }

    /// The capabilities' `"operations"` list, when present: every operation it leaves out is
    /// not served. Unknown names are ignored (an endpoint may serve more than this harness
    /// calls). Returns the names that were not operations, for a note.
    pub(super) fn declare(&mut self, operations: &Value) -> Vec<String> {
        let Some(list) = operations.as_array() else {
            return vec![];
        };
        let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        for op in Operation::ALL {
            if !names.contains(&op.name()) {
                self.not_served.insert(op);
            }
        }
        names
            .into_iter()
            .filter(|n| Operation::from_name(n).is_none())
            .map(str::to_string)
            .collect()
    }

    /// The operations served, in catalogue order (what the generator may call).
    pub(super) fn operations(&self) -> Vec<Operation> {
        Operation::ALL
            .into_iter()
            .filter(|op| self.serves(*op))
            .collect()
    }

    /// The names of the operations not served, in catalogue order (for the report).
    pub(super) fn not_served_names(&self) -> Vec<String> {
        Operation::ALL
            .into_iter()
            .filter(|op| !self.serves(*op))
            .map(|op| op.name().to_string())
            .collect()
    }

    /// The first operation `plan` calls that is not served, if any.
    pub(super) fn unserved_in(&self, plan: &Plan) -> Option<Operation> {
        plan.steps.iter().find_map(|s| match s {
            Step::Call { operation, .. } if !self.serves(*operation) => Some(*operation),
            _ => None,
        })
    }
}

/// Why a trial that needs `op` is skipped.
pub(super) fn skip_reason(op: Operation) -> String {
    format!("calls {op}, which this endpoint does not serve (UnknownOperationException or not in its capabilities' \"operations\")")
}

/// Every world the documents allow for `servers` when nothing can be observed of the state:
/// each server in each status with 0 to `limit` manual backups, under each reading in
/// `readings`. The answers narrow them.
pub(super) fn stateless_worlds(
    limit: u32,
    readings: &[Readings],
    servers: &[String],
) -> Vec<World> {
    let mut worlds = World::with_readings(limit, readings);
    for name in servers {
        let mut next = Vec::with_capacity(worlds.len() * ServerStatus::ALL.len());
        for w in &worlds {
            for status in ServerStatus::ALL {
                for manual in 0..=limit {
                    let mut w = w.clone();
                    w.put_server(
                        &model::ServerSpec {
                            name: name.clone(),
                            status,
                            engine: String::new(),
                            manual_backups: manual,
                            automated_backups: 0,
                        },
                        None,
                    );
                    next.push(w);
                }
            }
        }
        worlds = next;
    }
    worlds
}

/// Whether a raw answer says "not served" (for calls outside a case, such as the cleanup).
pub(super) fn not_served(dialect: Dialect, op: Operation, status: u16, body: &[u8]) -> bool {
    matches!(
        wire::decode_response(dialect, op, status, None, body),
        Answer::NotServed(_)
    )
}

/// The readings `set` allows, keeping only the answers every one of them agrees on: fewer
/// readings (at most one per limit scope and status-after-backup), each allowing at least what
/// one of `set` allows, so the worlds built on them stay few and still cover the endpoint.
pub(super) fn settled_only(set: &[Readings]) -> Vec<Readings> {
    let agreed = |choice: model::Choice| {
        let mut picks = set.iter().map(|r| r.pick(choice));
        let first = picks.next().flatten()?;
        picks.all(|p| p == Some(first)).then_some(first)
    };
    let mut out: Vec<Readings> = Vec::new();
    for r in set {
        let mut merged = Readings {
            picks: Default::default(),
            ..r.clone()
        };
        for choice in model::Choice::ALL {
            if let Some(p) = agreed(choice) {
                merged.picks.insert(choice, p);
            }
        }
        if !out.contains(&merged) {
            out.push(merged);
        }
    }
    out
}

/// How many worlds [`stateless_worlds`] makes, if it fits in `usize`.
pub(super) fn stateless_world_count(limit: u32, readings: usize, servers: usize) -> Option<usize> {
    let per_server = ServerStatus::ALL.len().checked_mul(limit as usize + 1)?;
    per_server
        .checked_pow(servers as u32)?
        .checked_mul(readings)
}

impl Session<'_> {
    /// Whether the state can be learned through the public API (DescribeServers and
    /// DescribeBackups both served, as far as the run knows).
    pub(super) fn observable(&self) -> bool {
        self.served.serves(Operation::DescribeServers)
            && self.served.serves(Operation::DescribeBackups)
    }

    /// The start of a case when the state cannot be observed: every world the documents allow
    /// for the named servers. Too many to judge (several servers) is a fault, with a hint.
    pub(super) fn unobserved_state(&mut self) -> Result<Vec<World>, CaseResult> {
        let servers = self.named_servers.clone();
        let readings = settled_only(&self.held.set);
        let count = stateless_world_count(self.limit, readings.len(), servers.len());
        if count.is_none_or(|n| n > MAX_WORLDS) {
            let m = format!(
                "the endpoint's state cannot be observed (DescribeServers or DescribeBackups is not served) and {} named servers, each in any of {} statuses with 0 to {} manual backups, make more than {MAX_WORLDS} possible worlds (hint: name one server at a time with --server)",
                servers.len(),
                ServerStatus::ALL.len(),
                self.limit
            );
            return Err(CaseResult::Unjudged(self.fault(FaultClass::Discovery, &m)));
        };
        self.not_exercised(format!(
            "the state cannot be observed (DescribeServers or DescribeBackups is not served): each case starts from every status and 0 to {} manual backups of {}, and only CreateBackup's answers narrow them",
            self.limit,
            if servers.is_empty() { "no server".to_string() } else { servers.join(", ") },
        ));
        self.not_exercised(
            "without a listing, the BACKING_UP lock and the limit are judged only within a case: a backup may finish at any time, and a FAILED one may not count (A3), so a success after a refusal is judged only when no backup of the case was in progress"
                .into(),
        );
        Ok(stateless_worlds(self.limit, &readings, &servers))
    }

    /// The backups waiting for deletion stay on the endpoint: DeleteBackup is not served.
    pub(super) fn left_behind(&mut self) {
        self.served.left_behind += self.to_clean.len();
        self.to_clean.clear();
    }

    /// What the run could not exercise: the notes made on the way and the backups left behind
    /// (the operations not served have their own list).
    pub(super) fn not_exercised_lines(&self) -> Vec<String> {
        let mut lines = self.not_exercised.clone();
        if self.served.left_behind > 0 {
            lines.push(format!(
                "cleanup: DeleteBackup is not served, so the {} backup(s) the run created were left on the endpoint",
                self.served.left_behind
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DEFAULT_LIMIT;
    use serde_json::json;

    #[test]
    fn the_capabilities_list_leaves_the_rest_unserved() {
        let mut served = Served::default();
        let odd = served.declare(&json!(["CreateBackup", "DescribeBackups", "TagResource"]));
        assert_eq!(odd, vec!["TagResource".to_string()]);
        assert!(served.serves(Operation::CreateBackup));
        assert!(served.serves(Operation::DescribeBackups));
        assert!(!served.serves(Operation::DeleteServer));
        let mut want = vec![Operation::CreateBackup, Operation::DescribeBackups];
        want.sort_by_key(|op| Operation::ALL.iter().position(|o| o == op));
        assert_eq!(served.operations(), want);
        assert_eq!(served.not_served_names().len(), Operation::ALL.len() - 2);
    }

    #[test]
    fn no_list_means_every_operation() {
        let mut served = Served::default();
        assert!(served.declare(&Value::Null).is_empty());
        assert_eq!(served.operations(), Operation::ALL.to_vec());
        assert!(served.learn(Operation::RestoreServer));
        assert!(!served.learn(Operation::RestoreServer));
        assert_eq!(served.not_served_names(), vec!["RestoreServer".to_string()]);
    }

    #[test]
    fn readings_keep_only_what_all_agree_on() {
        let base = Readings::all();
        let mut set = Vec::new();
        for r in &base {
            for pick in [0, 1] {
                let mut r = r.clone();
                r.picks.insert(model::Choice::CountsFailed, pick);
                r.picks.insert(model::Choice::TypeErrorKind, 0);
                set.push(r);
            }
        }
        let merged = settled_only(&set);
        assert_eq!(merged.len(), base.len());
        for r in &merged {
            assert_eq!(r.pick(model::Choice::CountsFailed), None);
            assert_eq!(r.pick(model::Choice::TypeErrorKind), Some(0));
        }
    }

    #[test]
    fn one_unobserved_server_fits_the_checker_and_two_do_not() {
        let readings = Readings::all();
        let one = stateless_worlds(DEFAULT_LIMIT, &readings, &["web".into()]);
        assert_eq!(one.len(), readings.len() * 13 * 51);
        assert_eq!(
            stateless_world_count(DEFAULT_LIMIT, readings.len(), 1),
            Some(one.len())
        );
        assert!(one.len() <= MAX_WORLDS);
        let two = stateless_world_count(DEFAULT_LIMIT, readings.len(), 2).unwrap();
        assert!(two > MAX_WORLDS, "{two}");
        // Every status and every count from 0 to the limit is there.
        for status in ServerStatus::ALL {
            for n in [0, DEFAULT_LIMIT] {
                assert!(one
                    .iter()
                    .any(|w| w.servers["web"].status == status && w.manual_count("web") == (n, n)));
            }
        }
    }
}
