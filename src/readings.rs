//! The readings an endpoint holds: the answers to the documents' open questions that are
//! properties of the endpoint, not of one call (limit scope, status after a backup, and every
//! [`Choice`]).
//!
//! A run starts with every reading possible and lets answers rule readings out; the set that
//! survives one case is where the next case starts, so it narrows over the whole run. An
//! endpoint that answers a question one way in one case and the other way later has no reading
//! left: [`flipped`] names the question and both answers, so the divergence can show both
//! cases. The report lists the readings the endpoint stayed consistent with ([`summary`]).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::rules::{self, RuleId};
use crate::model::{AfterBackup, Choice, LimitScope, Readings, World};

/// One open question whose answer is a property of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Reading {
    /// A1: the limit counts per server or per account.
    LimitScope,
    /// A5: the status a server takes after a backup.
    AfterBackup,
    /// Any of the [`Choice`]s.
    Choice(Choice),
}

impl Reading {
    /// Every reading, in the order a report lists them.
    pub fn all() -> Vec<Reading> {
        let mut out = vec![Reading::LimitScope, Reading::AfterBackup];
        out.extend(Choice::ALL.into_iter().map(Reading::Choice));
        out
    }

    /// The ambiguity's rule id.
    pub fn rule(self) -> RuleId {
        match self {
            Reading::LimitScope => rules::AMBIGUITY_LIMIT_SCOPE,
            Reading::AfterBackup => rules::AMBIGUITY_STATUS_AFTER_BACKUP,
            Reading::Choice(c) => c.rule(),
        }
    }

    /// What `readings` answer to this question, in words (None while it is open).
    pub fn answer(self, readings: &Readings) -> Option<&'static str> {
        match self {
            Reading::LimitScope => Some(match readings.limit_scope {
                LimitScope::PerServer => "the limit counts per server",
                LimitScope::PerAccount => "the limit counts per account",
            }),
            Reading::AfterBackup => Some(match readings.after_backup {
                AfterBackup::Previous => "after a backup the server returns to its earlier status",
                AfterBackup::FreshHealth => "after a backup the server takes a fresh health status",
            }),
            Reading::Choice(c) => readings.pick(c).map(|p| c.reading(p)),
        }
    }

    /// `world` with this question open again (or answered the other way, for the two readings
    /// a world always has).
    fn relaxed(self, world: &World) -> World {
        let mut w = world.clone();
        match self {
            Reading::LimitScope => {
                w.readings.limit_scope = match w.readings.limit_scope {
                    LimitScope::PerServer => LimitScope::PerAccount,
                    LimitScope::PerAccount => LimitScope::PerServer,
                }
            }
            Reading::AfterBackup => {
                w.readings.after_backup = match w.readings.after_backup {
                    AfterBackup::Previous => AfterBackup::FreshHealth,
                    AfterBackup::FreshHealth => AfterBackup::Previous,
                }
            }
            Reading::Choice(c) => {
                w.readings.picks.remove(&c);
            }
        }
        w
    }
}

/// The readings of a set of worlds, each once.
pub fn distinct(worlds: &[World]) -> Vec<Readings> {
    let set: BTreeSet<&Readings> = worlds.iter().map(|w| &w.readings).collect();
    set.into_iter().cloned().collect()
}

/// One line per question: the answer the endpoint kept to, `either` when the run could not tell,
/// or `not observed`.
pub fn summary(set: &[Readings]) -> Vec<String> {
    Reading::all()
        .into_iter()
        .filter_map(|r| {
            let answers: BTreeSet<Option<&str>> = set.iter().map(|s| r.answer(s)).collect();
            let known: Vec<&str> = answers.iter().flatten().copied().collect();
            match (known.as_slice(), answers.contains(&None)) {
                ([], _) => None,
                ([one], false) => Some(one.to_string()),
                _ => Some(format!("{} (either)", r.rule())),
            }
        })
        .collect()
}

/// An answer no world explains, but one would if the endpoint had answered an earlier question
/// the other way: the question, what the endpoint answered before, and what it answers now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flip {
    pub reading: Reading,
    pub before: String,
    pub now: String,
}

/// The relaxations of the worlds, each with the question it reopens: the worlds to try when no
/// world explains an answer.
pub fn relaxations(worlds: &[World]) -> Vec<(Reading, World)> {
    let mut out = Vec::new();
    for r in Reading::all() {
        for w in worlds {
            let answered = match r {
                Reading::Choice(c) => w.readings.pick(c).is_some(),
                _ => true,
            };
            if answered {
                out.push((r, r.relaxed(w)));
            }
        }
    }
    out
}

/// Describes a flip of `reading` from the readings in `before` to those of `after`.
pub fn flipped(reading: Reading, before: &Readings, after: &Readings) -> Flip {
    Flip {
        reading,
        before: reading.answer(before).unwrap_or("(open)").to_string(),
        now: reading.answer(after).unwrap_or("(open)").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_each_answered_question_once() {
        let mut a = Readings::all()[0].clone();
        a.picks.insert(Choice::DescribeUnknownServer, 1);
        let mut b = Readings::all()[1].clone();
        b.picks.insert(Choice::DescribeUnknownServer, 1);
        let lines = summary(&[a, b]);
        assert!(lines.contains(&"the limit counts per server".to_string()));
        assert!(lines.contains(&"ambiguity.status-after-backup (either)".to_string()));
        assert!(lines.contains(&"unknown server listing: empty list".to_string()));
        assert_eq!(lines.len(), 3, "{lines:?}");
    }
}
