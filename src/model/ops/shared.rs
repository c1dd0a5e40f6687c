//! State changes made once for all the worlds that start from one state. A checker keeps
//! worlds that differ only in a reading and share their servers and backups; a call changes
//! that state the same way in each of them (a new backup, a finished one), so the change is
//! made for the first and the others take its result. Only changes that read nothing but the
//! servers, the backups, the sequence number and what their [`Change`] key names are shared.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Backup, BackupStatus, Server, ServerStatus, World};

/// A state change, named by everything it reads besides the world's servers, backups and
/// sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Change<'a> {
    /// CreateBackup let through on `server`: the backup IN_PROGRESS, the server BACKING_UP.
    StartBackup {
        server: &'a str,
        description: Option<&'a str>,
    },
    /// DeleteBackup let through on the backup at `index` (in the shared backups): it goes
    /// DELETING, and a manual one frees a slot of its server.
    StartDelete { index: usize },
    /// The backups of `server` in progress end with `status`, the server goes `to`.
    FinishBackup {
        server: &'a str,
        status: BackupStatus,
        to: ServerStatus,
    },
}

/// One change made: the state it started from (held, so that its addresses stay unique) and
/// the state it made.
#[derive(Debug)]
struct Made<'a> {
    change: Change<'a>,
    from: (Arc<BTreeMap<String, Server>>, Arc<Vec<Backup>>, u64),
    to: (Arc<BTreeMap<String, Server>>, Arc<Vec<Backup>>, u64),
}

/// The changes made so far in one step (dropped with it); their keys borrow from the step's
/// input and worlds.
#[derive(Debug, Default)]
pub(super) struct SharedChanges<'a> {
    made: Vec<Made<'a>>,
}

impl<'a> SharedChanges<'a> {
    /// Makes `change` to `w` with `apply` (which must read only `w`'s servers, backups and
    /// sequence number, and what `change` names), or gives `w` the result of the same change
    /// made to a world that shared `w`'s state.
    pub(super) fn make(
        &mut self,
        w: &mut World,
        change: Change<'a>,
        apply: impl FnOnce(&mut World),
    ) {
        let known = self.made.iter().find(|m| {
            Arc::ptr_eq(&m.from.0, &w.servers)
                && Arc::ptr_eq(&m.from.1, &w.backups)
                && m.from.2 == w.next_seq
                && m.change == change
        });
        if let Some(m) = known {
            w.servers = m.to.0.clone();
            w.backups = m.to.1.clone();
            w.next_seq = m.to.2;
            return;
        }
        let from = (w.servers.clone(), w.backups.clone(), w.next_seq);
        apply(w);
        let to = (w.servers.clone(), w.backups.clone(), w.next_seq);
        self.made.push(Made { change, from, to });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{step, step_all, Action, Operation, Readings, ServerSpec};
    use super::*;

    /// `action` from one state under every reading: step_all's possibilities, after checking
    /// that they are step's, world by world.
    fn together(action: &Action) -> Vec<super::super::Possible> {
        let spec = ServerSpec {
            name: "web".into(),
            status: ServerStatus::Healthy,
            engine: "ChefAutomate".into(),
            manual_backups: 2,
            automated_backups: 1,
        };
        let mut base = World::new(50, Readings::REFERENCE);
        base.put_server(&spec, None);
        // Ids as a listing would have bound them: `MANUAL-0`, ...
        for (n, b) in Arc::make_mut(&mut base.backups).iter_mut().enumerate() {
            b.id = Some(format!("{}-{n}", b.kind.as_str()));
        }
        let worlds: Vec<World> = Readings::all()
            .into_iter()
            .map(|readings| World {
                readings,
                ..base.clone()
            })
            .collect();
        together_from(&worlds, action)
    }

    /// `action` from `worlds`: step_all's possibilities, after checking that they are step's.
    fn together_from(worlds: &[World], action: &Action) -> Vec<super::super::Possible> {
        let together = step_all(worlds, action);
        let apart: Vec<_> = worlds.iter().flat_map(|w| step(w, action)).collect();
        assert_eq!(together.len(), apart.len());
        for (t, a) in together.iter().zip(&apart) {
            assert_eq!(
                (&t.expected, &t.world, t.rule),
                (&a.expected, &a.world, a.rule)
            );
        }
        together
    }

    #[test]
    fn worlds_that_differ_in_a_reading_get_the_same_outcomes_and_share_the_new_state() {
        let together = together(&Action::Call {
            op: Operation::CreateBackup,
            input: json!({"ServerName": "web", "Description": "nightly"}),
        });
        let readings = Readings::all().len();
        // Every world's outcome "backup started" holds one shared copy of the new state.
        let started: Vec<&World> = together
            .iter()
            .filter(|p| {
                matches!(
                    p.expected,
                    super::super::Expected::CreatedBackup {
                        finished: false,
                        ..
                    }
                )
            })
            .map(|p| &p.world)
            .collect();
        assert_eq!(started.len(), readings);
        for w in &started {
            assert!(Arc::ptr_eq(&w.backups, &started[0].backups));
            assert!(Arc::ptr_eq(&w.servers, &started[0].servers));
        }
    }

    #[test]
    fn a_deletion_is_made_once_for_the_worlds_that_share_the_backups() {
        // The fixture's manual backups are OK; the first is at 0 or 1 (the automated one aside).
        let i = (0..2)
            .find(|n| {
                let id = format!("MANUAL-{n}");
                together(&Action::Call {
                    op: Operation::DeleteBackup,
                    input: json!({ "BackupId": id }),
                })
                .iter()
                .any(|p| p.expected == super::super::Expected::Done)
            })
            .expect("a manual backup at 0 or 1");
        let together = together(&Action::Call {
            op: Operation::DeleteBackup,
            input: json!({ "BackupId": format!("MANUAL-{i}") }),
        });
        let deleting: Vec<&World> = together
            .iter()
            .map(|p| &p.world)
            .filter(|w| w.backups[i].status == BackupStatus::Deleting)
            .collect();
        assert_eq!(deleting.len(), Readings::all().len());
        for w in &deleting {
            assert!(Arc::ptr_eq(&w.backups, &deleting[0].backups));
            assert!(Arc::ptr_eq(&w.servers, &deleting[0].servers));
            assert_eq!(w.servers["web"].freed_slots, 1);
        }
    }

    #[test]
    fn a_settle_ends_a_backup_once_for_the_worlds_that_share_it() {
        let started: Vec<World> = together(&Action::Call {
            op: Operation::CreateBackup,
            input: json!({"ServerName": "web"}),
        })
        .into_iter()
        .filter(|p| {
            matches!(
                p.expected,
                super::super::Expected::CreatedBackup {
                    finished: false,
                    ..
                }
            )
        })
        .map(|p| p.world)
        .collect();
        let settled = together_from(&started, &Action::Settle(BackupStatus::Failed));
        let previous: Vec<&World> = settled
            .iter()
            .map(|p| &p.world)
            .filter(|w| w.servers["web"].status == ServerStatus::Healthy)
            .collect();
        // Under each reading the server may go back to HEALTHY (its status before): one shared
        // state for the two readings that keep the earlier status, and fresh health too.
        assert!(previous.len() >= 2);
        for w in &previous {
            assert!(Arc::ptr_eq(&w.backups, &previous[0].backups));
            assert_eq!(w.backups.last().unwrap().status, BackupStatus::Failed);
        }
    }
}
