//! The order of a run, so that a bug of any family shows within the first few hundred calls:
//!
//! 1. saved regressions (known failures, replayed first);
//! 2. a first pass: the shortest scenario of each family directory (`scenarios/<family>/`),
//!    the cheapest probe of each family of rules;
//! 3. the other scenarios round-robin over the families, each turn the family's scenario that
//!    names the most rules no earlier scenario named (the shortest of those), with a generated
//!    case after every [`GENERATED_EVERY`] scenarios, so that no family waits behind another, no
//!    rule waits behind a second probe of another, and generated cases (whose parallel blocks
//!    probe races) start early;
//! 4. the generated cases left.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::Plan;

use super::trials::Run;

/// Scenarios run between two generated cases once the first pass is done.
pub(super) const GENERATED_EVERY: usize = 2;

/// The family of a scenario trial: its first directory (`limit` for
/// `scenario::limit::fifty-first`); a trial outside a family directory is its own family.
fn family(name: &str) -> &str {
    let rest = name.strip_prefix("scenario::").unwrap_or(name);
    match rest.split_once("::") {
        Some((family, _)) => family,
        None => name,
    }
}

/// The scenarios' indexes in running order: the saved regressions and the shortest of each
/// family (the first pass), then the rest round-robin over the families, each turn the one
/// naming the most rules not yet named (the shortest of those).
pub(super) fn scenario_order(scenarios: &[(String, Plan)]) -> (Vec<usize>, Vec<usize>) {
    let mut families: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut first = Vec::new();
    for (i, (name, _)) in scenarios.iter().enumerate() {
        match family(name) {
            "regressions" => first.push(i),
            f => families.entry(f).or_default().push(i),
        }
    }
    // Within a family, the cheapest scenario first (fewest steps; ties in the library's
    // order): a short probe of each rule comes before a long walk through many.
    for q in families.values_mut() {
        q.sort_by_key(|&i| scenarios[i].1.steps.len());
    }
    // Families in the library's order (the order their first file comes in).
    let mut queues: Vec<Vec<usize>> = families.into_values().collect();
    queues.sort_by_key(|q| q.iter().min().copied());
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for q in queues.iter_mut().filter(|q| !q.is_empty()) {
        first.push(take(scenarios, q, 0, &mut covered));
    }
    // Then each family's scenario that probes the most rules not probed yet (the shortest of
    // those): a rule waits behind no second probe of another.
    let mut rest = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        for q in queues.iter_mut().filter(|q| !q.is_empty()) {
            let fresh = |&i: &usize| {
                scenarios[i]
                    .1
                    .rules
                    .iter()
                    .filter(|r| !covered.contains(r.as_str()))
                    .count()
            };
            // The most new rules; among those, the earliest (the shortest).
            let k = (0..q.len())
                .max_by_key(|&k| (fresh(&q[k]), std::cmp::Reverse(k)))
                .expect("not empty");
            rest.push(take(scenarios, q, k, &mut covered));
        }
    }
    (first, rest)
}

/// Removes the `k`-th scenario of a family's queue; its rules are probed from now on.
fn take<'a>(
    scenarios: &'a [(String, Plan)],
    queue: &mut Vec<usize>,
    k: usize,
    covered: &mut BTreeSet<&'a str>,
) -> usize {
    let i = queue.remove(k);
    covered.extend(scenarios[i].1.rules.iter().map(String::as_str));
    i
}

impl Run<'_> {
    /// Runs the scenarios and the generated cases in the order above.
    pub(super) async fn trials(&mut self, scenarios: &[(String, Plan)]) {
        let (first, rest) = scenario_order(scenarios);
        for i in first {
            if !self.go_on() {
                return;
            }
            self.scenario(&scenarios[i].0, &scenarios[i].1).await;
        }
        let mut generated = self.start_generated();
        for (k, i) in rest.into_iter().enumerate() {
            if !self.go_on() {
                break;
            }
            self.scenario(&scenarios[i].0, &scenarios[i].1).await;
            if (k + 1) % GENERATED_EVERY == 0 && self.go_on() {
                if let Some(g) = generated.as_mut() {
                    self.generated_case(g).await;
                }
            }
        }
        if let Some(mut g) = generated {
            while self.go_on() && self.generated_case(&mut g).await {}
            self.close_generated(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rules;
    use crate::plan::Step;

    fn named(names: &[&str]) -> Vec<(String, Plan)> {
        names
            .iter()
            .map(|n| (n.to_string(), Plan::new(*n, vec![])))
            .collect()
    }

    /// Gives scenario `k` a plan of `n` steps, for each `(k, n)`.
    fn with_steps(s: &mut [(String, Plan)], lengths: &[(usize, usize)]) {
        for &(k, n) in lengths {
            s[k].1.steps = vec![
                Step::Settle {
                    backup_status: None
                };
                n
            ];
        }
    }

    #[test]
    fn regressions_and_one_probe_per_family_come_first_then_families_take_turns() {
        let s = named(&[
            "scenario::ambiguity::a1",
            "scenario::ambiguity::a2",
            "scenario::ambiguity::a3",
            "scenario::limit::l1",
            "scenario::limit::l2",
            "scenario::regressions::r1",
            "scenario::state::s1",
            "replay::x",
        ]);
        let (first, rest) = scenario_order(&s);
        let shown = |ix: &[usize]| -> Vec<&str> { ix.iter().map(|&i| s[i].0.as_str()).collect() };
        assert_eq!(
            shown(&first),
            [
                "scenario::regressions::r1",
                "scenario::ambiguity::a1",
                "scenario::limit::l1",
                "scenario::state::s1",
                "replay::x"
            ]
        );
        assert_eq!(
            shown(&rest),
            [
                "scenario::ambiguity::a2",
                "scenario::limit::l2",
                "scenario::ambiguity::a3"
            ]
        );
    }

    #[test]
    fn within_a_family_the_shortest_scenario_comes_first() {
        let mut s = named(&[
            "scenario::limit::long",
            "scenario::limit::short",
            "scenario::limit::middle",
            "scenario::state::s1",
        ]);
        with_steps(&mut s, &[(0, 5), (1, 1), (2, 3)]);
        let (first, rest) = scenario_order(&s);
        let shown = |ix: &[usize]| -> Vec<&str> { ix.iter().map(|&i| s[i].0.as_str()).collect() };
        assert_eq!(
            shown(&first),
            ["scenario::limit::short", "scenario::state::s1"]
        );
        assert_eq!(
            shown(&rest),
            ["scenario::limit::middle", "scenario::limit::long"]
        );
    }

    #[test]
    fn after_the_first_pass_a_scenario_naming_new_rules_comes_before_a_shorter_repeat() {
        let mut s = named(&[
            "scenario::limit::probe",
            "scenario::limit::again",
            "scenario::limit::other-rule",
            "scenario::state::s1",
        ]);
        let rules =
            |ids: &[rules::RuleId]| ids.iter().map(|r| r.to_string()).collect::<Vec<String>>();
        s[0].1.rules = rules(&[rules::CREATE_BACKUP_LIMIT]);
        s[1].1.rules = rules(&[rules::CREATE_BACKUP_LIMIT]);
        s[2].1.rules = rules(&[rules::CREATE_BACKUP_LIMIT_DELETE_FREES_SLOT]);
        with_steps(&mut s, &[(0, 1), (1, 2), (2, 6)]);
        let (first, rest) = scenario_order(&s);
        let shown = |ix: &[usize]| -> Vec<&str> { ix.iter().map(|&i| s[i].0.as_str()).collect() };
        assert_eq!(
            shown(&first),
            ["scenario::limit::probe", "scenario::state::s1"]
        );
        assert_eq!(
            shown(&rest),
            ["scenario::limit::other-rule", "scenario::limit::again"]
        );
    }
}
