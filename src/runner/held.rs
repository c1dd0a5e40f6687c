//! The readings an endpoint has kept to over the run so far, and the cases that showed them.
//!
//! Every case starts from the readings the earlier cases left ([`HeldReadings::set`]); a case
//! that passes narrows them. The first case that settles a question is its witness: when a
//! later answer fits only the other answer to that question (a flip), the divergence is shown
//! and saved as the witness's steps followed by the failing case's, so it replays from scratch.

use crate::model::Readings;
use crate::plan::{Plan, Step};
use crate::readings::{self, Flip, Reading};

use super::outcome::TimelineEntry;

/// The case that first answered one question.
#[derive(Debug, Clone)]
pub(super) struct Witness {
    pub(super) reading: Reading,
    pub(super) trial: String,
    pub(super) plan: Plan,
}

/// The readings still possible, and who narrowed them.
#[derive(Debug, Clone)]
pub(super) struct HeldReadings {
    pub(super) set: Vec<Readings>,
    witnesses: Vec<Witness>,
}

impl Default for HeldReadings {
    fn default() -> Self {
        HeldReadings {
            set: Readings::all(),
            witnesses: Vec::new(),
        }
    }
}

impl HeldReadings {
    /// After a case that passed with `surviving` readings: they become the run's, and every
    /// question they settle for the first time remembers `trial` and `plan` as its witness.
    pub(super) fn narrow(&mut self, trial: &str, plan: &Plan, surviving: Vec<Readings>) {
        if surviving.is_empty() {
            return;
        }
        for reading in Reading::all() {
            let answers = |set: &[Readings]| -> Vec<Option<&'static str>> {
                let mut a: Vec<_> = set.iter().map(|r| reading.answer(r)).collect();
                a.sort();
                a.dedup();
                a
            };
            let narrowed = answers(&surviving) != answers(&self.set);
            if narrowed && !self.witnesses.iter().any(|w| w.reading == reading) {
                self.witnesses.push(Witness {
                    reading,
                    trial: trial.to_string(),
                    plan: plan.clone(),
                });
            }
        }
        self.set = surviving;
    }

    /// The report's line: what the endpoint kept to over the whole run, each reading once
    /// (several questions of one ambiguity left open read the same: `... (either)`).
    pub(super) fn summary(&self) -> Vec<String> {
        let mut lines = readings::summary(&self.set);
        let mut seen = std::collections::BTreeSet::new();
        lines.retain(|line| seen.insert(line.clone()));
        lines
    }

    /// The case that settled `reading`, if a case did.
    pub(super) fn witness(&self, reading: Reading) -> Option<&Witness> {
        self.witnesses.iter().find(|w| w.reading == reading)
    }
}

/// The witness's steps, then the failing plan's: one plan that shows the flip from scratch.
/// Returns the plan and how many steps come before the failing plan's. With a control plane
/// (`reset`), each case starts from a reset, as in the run.
pub(super) fn with_witness(w: &Witness, failing: &Plan, reset: bool) -> (Plan, usize) {
    let resets = |steps: &mut Vec<Step>| {
        if reset {
            steps.push(Step::Reset {});
        }
    };
    let mut steps = Vec::new();
    resets(&mut steps);
    steps.extend(w.plan.steps.iter().cloned());
    resets(&mut steps);
    let offset = steps.len();
    steps.extend(failing.steps.iter().cloned());
    let plan = Plan {
        description: format!(
            "Two cases: {} answered one way, then the failing case answered the other way: {}",
            w.trial, failing.description
        ),
        steps,
        template: None,
        ..failing.clone()
    };
    (plan, offset)
}

/// The timeline line that stands for the witness case.
pub(super) fn witness_entry(w: &Witness, flip: &Flip) -> TimelineEntry {
    TimelineEntry {
        index: 0,
        step: format!("(earlier case {}, {} steps)", w.trial, w.plan.steps.len()),
        observed: flip.before.clone(),
        model_change: format!("settled {}", w.reading.rule()),
        worlds: 0,
        diverged: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reading_left_open_is_listed_once() {
        let lines = HeldReadings::default().summary();
        assert!(lines.iter().any(|l| l.ends_with("(either)")), "{lines:?}");
        let mut once = lines.clone();
        once.sort();
        once.dedup();
        assert_eq!(once.len(), lines.len(), "{lines:?}");
    }
}
