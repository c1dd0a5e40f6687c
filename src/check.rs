//! The checker: folds each observation over the set of worlds the model still allows.
//!
//! Like Knossos, it keeps every configuration that can explain what was seen. Before each step
//! the endpoint may have done things by itself (an asynchronous backup finishing), so every
//! world is first expanded by [`model::spontaneous`]. An observation keeps the worlds of the
//! possibilities it fits; an unknown outcome (a timeout) keeps them all, and the unchanged world
//! too. When no world is left, the step diverged: the report shows the outcomes the model
//! allowed, what was observed, and the rule broken.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::rules::{self, RuleId};
use crate::model::{
    self, Action, CallWindow, ExplainMemo, Mismatch, Observation, Polarity, Possible, Readings,
    World, WorldSet,
};
use crate::readings::{self, Flip};

/// Beyond this many worlds the search is cut off and the endpoint reported as not judged.
pub const MAX_WORLDS: usize = 50_000;

/// The outcome of checking one step.
#[derive(Debug, Clone)]
pub enum StepVerdict {
    /// Some world explains the observation.
    Consistent(StepInfo),
    /// No world explains it.
    Diverged(Divergence),
    /// Too many worlds to keep: the checker cannot judge (never a pass).
    TooManyWorlds(usize),
}

/// What a consistent step exercised.
#[derive(Debug, Clone, Default)]
pub struct StepInfo {
    pub exercised: Vec<(RuleId, Polarity)>,
    pub worlds: usize,
}

/// A step no world explains.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The rule broken and what differs.
    pub mismatch: Mismatch,
    /// Each outcome the model allowed at this step, one line each.
    pub allowed: Vec<String>,
    /// When the answer fits a reading the endpoint ruled out earlier: which, and both answers.
    pub flip: Option<Flip>,
}

/// The set of worlds the model still allows.
#[derive(Debug, Clone)]
pub struct Checker {
    worlds: Vec<World>,
    /// Whether the endpoint may finish asynchronous work by itself between calls (false when
    /// its control plane says `settleOnly`).
    spontaneous: bool,
}

impl Checker {
    /// Starts with one empty world per reading of the endpoint-wide ambiguities.
    pub fn new(limit: u32) -> Checker {
        Checker {
            worlds: World::all_readings(limit),
            spontaneous: true,
        }
    }

    /// Starts with one empty world per reading the endpoint has kept to so far in the run.
    pub fn with_readings(limit: u32, readings: &[Readings]) -> Checker {
        Checker {
            worlds: World::with_readings(limit, readings),
            spontaneous: true,
        }
    }

    /// The readings the endpoint is still consistent with (where the next case starts).
    pub fn surviving_readings(&self) -> Vec<Readings> {
        readings::distinct(&self.worlds)
    }

    /// For an endpoint whose asynchronous work ends only through the control plane's settle.
    pub fn settle_only(mut self) -> Checker {
        self.spontaneous = false;
        self
    }

    /// Starts from given worlds (e.g. discovered from an endpoint without a control plane).
    pub fn from_worlds(worlds: Vec<World>) -> Checker {
        Checker {
            worlds,
            spontaneous: true,
        }
    }

    /// The worlds of all of `parts` (alternative histories that explain the same
    /// observations, e.g. other orders of calls sent at once), each world once; the first
    /// part's settings. `parts` must not be empty.
    pub fn union(mut parts: Vec<Checker>) -> Checker {
        // Calls that commute leave the same worlds whatever their order: compared first (worlds
        // share their backups, so equal ones compare fast), hashed only when they differ.
        let first = parts.remove(0);
        parts.retain(|p| p.worlds != first.worlds);
        if parts.is_empty() {
            return first;
        }
        let spontaneous = first.spontaneous;
        // The first way's worlds stay first (the representative world comes from them).
        let worlds = std::iter::once(first)
            .chain(parts)
            .flat_map(|c| c.worlds)
            .collect::<WorldSet>()
            .into_vec();
        Checker {
            worlds,
            spontaneous,
        }
    }

    pub fn worlds(&self) -> &[World] {
        &self.worlds
    }

    /// A representative world (the reference reading's, when it is still possible).
    pub fn representative(&self) -> &World {
        &self.worlds[0]
    }

    /// The worlds after what the endpoint may have done by itself (the worlds themselves,
    /// not copied, when nothing can happen by itself).
    fn expanded(&self) -> Cow<'_, [World]> {
        if !self.spontaneous {
            // Only backups in progress wait for settle. A deletion may end at any time; the
            // model keeps a DELETING backup as maybe gone (see `World::manual_count`).
            return Cow::Borrowed(&self.worlds);
        }
        Cow::Owned(self.expanded_any_timing())
    }

    /// The worlds after anything the documents allow to happen by itself, whatever the
    /// endpoint's control plane says (scenario files are judged against the documents).
    fn expanded_any_timing(&self) -> Vec<World> {
        let mut out = WorldSet::new();
        for w in &self.worlds {
            out.extend(model::spontaneous(w));
        }
        out.into_vec()
    }

    /// Every possibility of `action` from every world the model allows now.
    pub fn possibilities(&self, action: &Action) -> Vec<Possible> {
        model::step_all(&self.expanded(), action)
    }

    /// Whether the model allows an outcome named `name` (`success` or an error name) next.
    pub fn allows(&self, action: &Action, name: &str) -> bool {
        self.possibilities(action)
            .iter()
            .any(|p| outcome_name(&p.expected) == name)
    }

    /// The outcomes the documents allow next, whatever the endpoint's timing, as names.
    pub fn documented_names(&self, action: &Action) -> BTreeSet<String> {
        model::step_all(&self.expanded_any_timing(), action)
            .iter()
            .map(|p| outcome_name(&p.expected).to_string())
            .collect()
    }

    /// The outcomes allowed next, as names (`success`, `LimitExceededException`, ...).
    pub fn allowed_names(&self, action: &Action) -> BTreeSet<String> {
        self.possibilities(action)
            .iter()
            .map(|p| outcome_name(&p.expected).to_string())
            .collect()
    }

    /// Checks one observation and narrows the worlds.
    pub fn observe(
        &mut self,
        action: &Action,
        observed: &Observation,
        window: Option<CallWindow>,
    ) -> StepVerdict {
        self.observe_with(action, observed, window, true)
    }

    /// As [`observe`](Self::observe); a divergence says whether the endpoint answered
    /// otherwise before only when `look_for_flip` (a search trying many orders skips it).
    pub fn observe_with(
        &mut self,
        action: &Action,
        observed: &Observation,
        window: Option<CallWindow>,
        look_for_flip: bool,
    ) -> StepVerdict {
        let before = self.expanded();
        let possible = model::step_all(&before, action);
        let unknown = *observed == Observation::Unknown;
        let mut next =
            WorldSet::with_capacity(possible.len() + if unknown { before.len() } else { 0 });
        let mut exercised: BTreeMap<RuleId, Polarity> = BTreeMap::new();
        let mut mismatches: Vec<(bool, Mismatch)> = Vec::new();
        if unknown {
            // The call may not have reached the endpoint at all.
            for w in before.iter() {
                next.insert_ref(w);
            }
        }
        let mut memo = ExplainMemo::default();
        for p in &possible {
            match p.explain_in(observed, window, &mut memo) {
                Ok(after) => {
                    for (rule, pol) in &p.exercised {
                        exercised.entry(*rule).or_insert(*pol);
                    }
                    next.insert(after);
                    if next.len() > MAX_WORLDS {
                        return StepVerdict::TooManyWorlds(next.len());
                    }
                }
                Err(m) => {
                    let same_kind = same_kind(p, observed);
                    if !mismatches.iter().any(|(_, x)| *x == m) {
                        mismatches.push((same_kind, m));
                    }
                }
            }
        }
        if next.is_empty() {
            // The most telling mismatch: one from a possibility of the same kind as what was
            // observed (a success checked member by member), else the reference reading's.
            let mismatch = mismatches
                .iter()
                .find(|(same, _)| *same)
                .or(mismatches.first())
                .map(|(_, m)| m.clone())
                .unwrap_or(Mismatch {
                    rule: rules::PROTOCOL_SUCCESS,
                    message: "no world explains the observation".into(),
                });
            let flip = look_for_flip
                .then(|| flip(&before, action, observed, window))
                .flatten();
            let mismatch = match &flip {
                Some(f) => Mismatch {
                    rule: f.reading.rule(),
                    message: format!(
                        "{} (the endpoint answered this before: {}; now: {}; a reading is a property of the endpoint)",
                        mismatch.message, f.before, f.now
                    ),
                },
                None => mismatch,
            };
            return StepVerdict::Diverged(Divergence {
                mismatch,
                allowed: summaries(&possible),
                flip,
            });
        }
        let worlds = next.len();
        self.worlds = next.into_vec();
        StepVerdict::Consistent(StepInfo {
            exercised: exercised.into_iter().collect(),
            worlds,
        })
    }

    /// The readings of the endpoint-wide ambiguities still possible, one line each.
    pub fn readings(&self) -> Vec<String> {
        readings::summary(&self.surviving_readings())
    }

    /// The limit-scope and after-backup readings still possible (the older summary).
    pub fn scope_readings(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .worlds
            .iter()
            .map(|w| {
                format!(
                    "limit {}, after a backup {}",
                    match w.readings.limit_scope {
                        model::LimitScope::PerServer => "per server",
                        model::LimitScope::PerAccount => "per account",
                    },
                    match w.readings.after_backup {
                        model::AfterBackup::Previous => "the earlier status",
                        model::AfterBackup::FreshHealth => "a fresh health status",
                    }
                )
            })
            .collect();
        set.into_iter().collect()
    }
}

/// Whether the answer fits a world in which one question the endpoint answered earlier is
/// answered the other way: then the endpoint changed its reading.
fn flip(
    before: &[World],
    action: &Action,
    observed: &Observation,
    window: Option<CallWindow>,
) -> Option<Flip> {
    for (reading, relaxed) in readings::relaxations(before) {
        for p in model::step(&relaxed, action) {
            if let Ok(after) = p.explain(observed, window) {
                let was = before
                    .iter()
                    .find(|w| reading.answer(&w.readings) != reading.answer(&after.readings))
                    .unwrap_or(&before[0]);
                return Some(readings::flipped(reading, &was.readings, &after.readings));
            }
        }
    }
    None
}

/// Each outcome of `possible` in one line, each line once, in the order first met.
fn summaries(possible: &[Possible]) -> Vec<String> {
    let mut allowed: Vec<String> = Vec::new();
    for p in possible {
        let line = p.expected.summary();
        if !allowed.contains(&line) {
            allowed.push(line);
        }
    }
    allowed
}

fn same_kind(p: &Possible, observed: &Observation) -> bool {
    matches!(
        (&p.expected, observed),
        (model::Expected::Error(_), Observation::Error(_))
    ) || (p.expected.error().is_none() && !matches!(observed, Observation::Error(_)))
}

/// `success` or the error's name.
pub fn outcome_name(e: &model::Expected) -> &str {
    match e {
        model::Expected::Error(k) => k.name(),
        _ => "success",
    }
}

/// `success` or the error's name, for an observation.
pub fn observation_name(o: &Observation) -> String {
    match o {
        Observation::Success(_) | Observation::Listing(_) | Observation::CreatedEnvelope { .. } => {
            "success".into()
        }
        Observation::Error(k) => k.name().to_string(),
        Observation::Unknown => "unknown (no answer)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorKind, ServerSpec, ServerStatus};
    use serde_json::json;

    fn put(name: &str, status: ServerStatus, manual: u32) -> Action {
        Action::PutServer(ServerSpec {
            name: name.into(),
            status,
            engine: "ChefAutomate".into(),
            manual_backups: manual,
            automated_backups: 0,
        })
    }

    #[test]
    fn an_observation_outside_every_world_diverges_with_the_rule() {
        let mut c = Checker::new(50);
        assert!(matches!(
            c.observe(
                &put("web", ServerStatus::Healthy, 50),
                &Observation::Success(json!({})),
                None
            ),
            StepVerdict::Consistent(_)
        ));
        let created = Observation::Success(json!({"Backup": {
            "BackupId": "web-20250101000000000", "ServerName": "web", "BackupType": "MANUAL",
            "Engine": "ChefAutomate",
            "BackupArn": "arn:aws:opsworks-cm:us-east-1:123456789012:backup/web-20250101000000000",
            "Status": "IN_PROGRESS"}}));
        match c.observe(&model::create_backup("web"), &created, None) {
            StepVerdict::Diverged(d) => {
                assert_eq!(d.mismatch.rule, rules::CREATE_BACKUP_LIMIT);
                assert_eq!(d.allowed, vec!["LimitExceededException".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn async_completion_keeps_both_worlds_until_observed() {
        let mut c = Checker::new(50);
        c.observe(
            &put("web", ServerStatus::Healthy, 0),
            &Observation::Success(json!({})),
            None,
        );
        let created = Observation::Success(json!({"Backup": {
            "BackupId": "web-20250101000000000", "ServerName": "web", "BackupType": "MANUAL",
            "Engine": "ChefAutomate",
            "BackupArn": "arn:aws:opsworks-cm:us-east-1:123456789012:backup/web-20250101000000000",
            "Status": "IN_PROGRESS"}}));
        assert!(matches!(
            c.observe(&model::create_backup("web"), &created, None),
            StepVerdict::Consistent(_)
        ));
        // The endpoint may have finished the backup by itself: both answers are fine.
        let again = model::create_backup("web");
        let names = c.allowed_names(&again);
        assert!(names.contains("success") && names.contains("InvalidStateException"));
        assert!(matches!(
            c.clone().observe(
                &again,
                &Observation::Error(ErrorKind::InvalidStateException),
                None
            ),
            StepVerdict::Consistent(_)
        ));
    }

    #[test]
    fn an_unknown_outcome_keeps_the_world_where_nothing_happened() {
        let mut c = Checker::new(50);
        c.observe(
            &put("web", ServerStatus::Healthy, 0),
            &Observation::Success(json!({})),
            None,
        );
        c.observe(&model::create_backup("web"), &Observation::Unknown, None);
        let names = c.allowed_names(&model::create_backup("web"));
        assert!(names.contains("success") && names.contains("InvalidStateException"));
    }
}
