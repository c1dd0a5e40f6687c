//! The documents' verdict on a plan before anything is sent: a scenario's `expect` must list
//! exactly the outcomes the documents allow at that step.
//!
//! The plan is folded over every world the model allows from the plan's own start (every
//! reading, any timing, every outcome an earlier step may have had), never over what a run has
//! learned of an endpoint. At a step with `expect`, the set of outcomes the model allows must
//! equal the set the file lists: a name the model does not allow is a mistake in the file, and
//! an allowed name the file leaves out would fail a legal endpoint. The outcomes the file
//! lists are the ones the run follows afterwards. Placeholders are bound to synthetic ids as
//! the harness would learn them. A parallel block's calls may take effect in any order: each
//! call's outcomes are those it has in some order, and the worlds after the block those of
//! every order.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashSet;
use serde_json::Value;

use crate::model::rules::RuleId;
use crate::model::{spontaneous, step_all, Action, Expected, Possible, World};
use crate::plan::{resolve_placeholders, IdRef, ParallelCall, Plan, Step, MAX_PARALLEL};

/// The limits a scenario library must hold for: the API's 50 and the user guide's 10 (A2).
pub const LIMITS: [u32; 2] = [crate::model::DEFAULT_LIMIT, 10];

/// A set of worlds, hashed whole: a scenario's worlds hold few backups, and differ mostly in
/// which of them exist (a sorted set compared them field by field, a fingerprint without the
/// ids put most of them in one bucket).
type Worlds = FxHashSet<World>;

/// Beyond this many worlds a dry run gives up (the plan is too ambiguous to state outcomes).
const MAX_WORLDS: usize = 20_000;

/// Dry-runs `plan` under every limit of [`LIMITS`]; returns the rules the followed outcomes
/// exercised, or what is wrong with the plan, naming the step.
pub fn dry_run(plan: &Plan) -> Result<BTreeSet<RuleId>, String> {
    let mut seen = BTreeSet::new();
    for limit in LIMITS {
        let plan = plan.for_limit(limit)?;
        seen.extend(dry_run_at(&plan, limit).map_err(|e| {
            if limit == crate::model::DEFAULT_LIMIT {
                e
            } else {
                format!("{e} (with a limit of {limit}: write counts as \"${{limit}}\", \"${{limit-1}}\", ...)")
            }
        })?);
    }
    Ok(seen)
}

/// `"success"` or the error's name.
fn outcome(p: &Possible) -> String {
    match &p.expected {
        Expected::Error(k) => k.name().to_string(),
        _ => "success".to_string(),
    }
}

/// Dry-runs `plan` for an endpoint whose limit is `limit`.
pub fn dry_run_at(plan: &Plan, limit: u32) -> Result<BTreeSet<RuleId>, String> {
    let mut worlds: Vec<World> = World::all_readings(limit);
    let mut ids = Ids::default();
    let mut seen_rules = BTreeSet::new();
    for (i, st) in plan.steps.iter().enumerate() {
        let at = format!("step {} ({st})", i + 1);
        if let Step::Parallel { calls } = st {
            worlds = block(worlds, calls, &mut ids, &at, &mut seen_rules)?;
            continue;
        }
        let input = match st {
            Step::Call { input, .. } => Some(ids.resolve(input).map_err(|e| format!("{at}: {e}"))?),
            _ => None,
        };
        let action = st.action(input);
        if matches!(action, Action::Call { .. }) {
            // Between two calls an endpoint may finish what is in progress by itself.
            let set: Worlds = worlds.iter().flat_map(spontaneous).collect();
            worlds = set.into_iter().collect();
        }
        let expect: Option<BTreeSet<String>> = match st {
            Step::Call {
                expect: Some(e), ..
            } => Some(e.outcomes().into_iter().map(str::to_string).collect()),
            _ => None,
        };
        let mut allowed = BTreeSet::new();
        let mut kept = Worlds::default();
        let mut created_server = None;
        // The input is validated once for every world.
        for p in step_all(&worlds, &action) {
            let o = outcome(&p);
            allowed.insert(o.clone());
            if expect.as_ref().is_some_and(|e| !e.contains(&o)) {
                continue;
            }
            seen_rules.insert(p.rule);
            seen_rules.extend(p.exercised.iter().map(|(r, _)| *r));
            let id = match &p.expected {
                Expected::CreatedBackup { server, .. } => {
                    created_server = Some(server.clone());
                    ids.next_id(server)
                }
                _ => String::new(),
            };
            kept.insert(after(&p, &id)?);
        }
        if let Some(e) = &expect {
            compare(&at, e, &allowed)?;
        }
        kept = ids.learn(st, kept, created_server);
        if kept.is_empty() {
            return Err(format!("{at}: no possible world is left"));
        }
        if kept.len() > MAX_WORLDS {
            return Err(format!(
                "{at}: more than {MAX_WORLDS} possible worlds; state fewer outcomes or split the plan"
            ));
        }
        worlds = kept.into_iter().collect();
    }
    Ok(seen_rules)
}

/// The worlds after a parallel block, from `worlds`: every order of its calls, each call after
/// whatever the endpoint may have finished by itself. Each call's `expect` must equal the
/// outcomes it has in some order.
fn block(
    worlds: Vec<World>,
    calls: &[ParallelCall],
    ids: &mut Ids,
    at: &str,
    seen_rules: &mut BTreeSet<RuleId>,
) -> Result<Vec<World>, String> {
    let n = calls.len();
    let mut actions = Vec::with_capacity(n);
    for c in calls {
        let input = ids.resolve(&c.input).map_err(|e| format!("{at}: {e}"))?;
        actions.push(c.as_step().action(Some(input)));
    }
    let expects: Vec<Option<BTreeSet<String>>> = calls
        .iter()
        .map(|c| {
            let e = c.expect.as_ref()?;
            Some(e.outcomes().into_iter().map(str::to_string).collect())
        })
        .collect();
    // The worlds after each subset of the calls (a bit mask), in any order.
    let full = (1usize << n) - 1;
    let mut after_set: Vec<Worlds> = vec![Worlds::default(); full + 1];
    after_set[0] = worlds.into_iter().collect();
    let mut allowed = vec![BTreeSet::new(); n];
    let mut may_create = false;
    for mask in 0..full {
        let before: Worlds = std::mem::take(&mut after_set[mask])
            .iter()
            .flat_map(spontaneous)
            .collect();
        let before: Vec<World> = before.into_iter().collect();
        for i in (0..n).filter(|i| mask & (1 << i) == 0) {
            for p in step_all(&before, &actions[i]) {
                let o = outcome(&p);
                allowed[i].insert(o.clone());
                if expects[i].as_ref().is_some_and(|e| !e.contains(&o)) {
                    continue;
                }
                seen_rules.insert(p.rule);
                seen_rules.extend(p.exercised.iter().map(|(r, _)| *r));
                // An id per call of the block, whatever the order.
                let id = match &p.expected {
                    Expected::CreatedBackup { server, .. } => {
                        may_create = true;
                        ids.id_at(server, BLOCK_IDS + ids.blocks * MAX_PARALLEL + i)
                    }
                    _ => String::new(),
                };
                after_set[mask | 1 << i].insert(after(&p, &id)?);
            }
            if after_set[mask | 1 << i].len() > MAX_WORLDS {
                return Err(format!(
                    "{at}: more than {MAX_WORLDS} possible worlds; send fewer calls at once"
                ));
            }
        }
    }
    for (i, e) in expects.iter().enumerate() {
        if let Some(e) = e {
            compare(&format!("{at}, call {}", i + 1), e, &allowed[i])?;
        }
    }
    ids.blocks += 1;
    if may_create {
        ids.unordered_from.get_or_insert(ids.created.len());
    }
    let worlds: Vec<World> = std::mem::take(&mut after_set[full]).into_iter().collect();
    if worlds.is_empty() {
        return Err(format!("{at}: no possible world is left"));
    }
    Ok(worlds)
}

/// The file's `expect` against what the documents allow: the same set.
fn compare(at: &str, expect: &BTreeSet<String>, allowed: &BTreeSet<String>) -> Result<(), String> {
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(" or ");
    let extra: BTreeSet<String> = expect.difference(allowed).cloned().collect();
    if !extra.is_empty() {
        return Err(format!(
            "{at}: expects {}, which no reading of the documents allows here; they allow {}",
            join(&extra),
            join(allowed)
        ));
    }
    let missing: BTreeSet<String> = allowed.difference(expect).cloned().collect();
    if !missing.is_empty() {
        return Err(format!(
            "{at}: expects {}, but the documents also allow {} here (a legal endpoint may answer so); list every allowed outcome",
            join(expect),
            join(&missing)
        ));
    }
    Ok(())
}

/// The world after `p` once its answer is seen; CreateBackup's new backup gets `id`.
fn after(p: &Possible, id: &str) -> Result<World, String> {
    p.created_as(id)
        .map_err(|m| format!("the synthetic answer does not fit: {}", m.message))
}

/// Ids bound as the harness learns them: fixture backups at put-server (in the world's order),
/// created ones from CreateBackup's answer.
#[derive(Default)]
struct Ids {
    /// server -> ids in the order learned.
    learned: BTreeMap<String, Vec<String>>,
    /// Servers whose fixture has both manual and automated backups (their order is not fixed).
    mixed_fixture: BTreeSet<String>,
    /// Fixture ids per server (to tell a fixture reference from a created one).
    fixture_count: BTreeMap<String, usize>,
    created: Vec<String>,
    puts: usize,
    /// After a parallel block that may have created backups: the harness learns their ids in
    /// an order the plan does not fix, so `${created:N}` from this N on cannot be bound.
    unordered_from: Option<usize>,
    /// Parallel blocks so far (their backups' synthetic ids start at [`BLOCK_IDS`]).
    blocks: usize,
}

/// Where the synthetic ids of backups created in parallel blocks start, past any sequential one.
const BLOCK_IDS: usize = 1_000_000;

impl Ids {
    fn next_id(&self, server: &str) -> String {
        self.id_at(server, self.created.len())
    }

    fn id_at(&self, server: &str, n: usize) -> String {
        format!("{server}-{:017}", 20250101000000000u64 + n as u64)
    }

    fn lookup(&self, r: &IdRef) -> Result<Option<String>, String> {
        match r {
            IdRef::Created(n) if self.unordered_from.is_some_and(|from| *n >= from) => {
                Err(format!(
                "${{created:{n}}} may name a backup a parallel block created: the harness learns \
                 those in the order the endpoint took the calls, which the plan does not fix"
            ))
            }
            IdRef::Created(n) => Ok(self.created.get(*n).cloned()),
            IdRef::Backup { server, n } => {
                if self.mixed_fixture.contains(server)
                    && *n < self.fixture_count.get(server).copied().unwrap_or(0)
                {
                    return Err(format!(
                        "${{backup:{server}:{n}}} names a fixture backup of a server with both manual \
                         and automated fixture backups: the harness may learn them in either order"
                    ));
                }
                Ok(self
                    .learned
                    .get(server)
                    .and_then(|ids| ids.get(*n))
                    .cloned())
            }
        }
    }

    /// Placeholders in `input` resolved.
    fn resolve(&self, input: &Value) -> Result<Value, String> {
        let problem = RefCell::new(None::<String>);
        let out = resolve_placeholders(input, &|r: &IdRef| match self.lookup(r) {
            Ok(v) => v,
            Err(e) => {
                problem.borrow_mut().get_or_insert(e);
                None
            }
        });
        match problem.into_inner() {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Learns what step `st` showed; fixture backups get ids in every kept world.
    fn learn(&mut self, st: &Step, kept: Worlds, created_server: Option<String>) -> Worlds {
        let mut kept = kept;
        match st {
            Step::Reset {} => {
                self.learned.clear();
                self.mixed_fixture.clear();
                self.fixture_count.clear();
            }
            Step::PutServer {
                server_name,
                manual_backups,
                automated_backups,
                ..
            } => {
                self.puts += 1;
                let mut learned = Vec::new();
                kept = kept
                    .into_iter()
                    .map(|mut w| {
                        learned = bind_fixture(&mut w, server_name, self.puts);
                        w
                    })
                    .collect();
                self.fixture_count
                    .insert(server_name.clone(), learned.len());
                self.learned.insert(server_name.clone(), learned);
                if *manual_backups > 0 && *automated_backups > 0 {
                    self.mixed_fixture.insert(server_name.clone());
                } else {
                    self.mixed_fixture.remove(server_name);
                }
            }
            _ => {}
        }
        if let Some(server) = created_server {
            let id = self.next_id(&server);
            self.learned.entry(server).or_default().push(id.clone());
            self.created.push(id);
        }
        kept
    }
}

/// Binds the fixture backups of `server` that have no id yet.
fn bind_fixture(w: &mut World, server: &str, put_no: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for b in std::sync::Arc::make_mut(&mut w.backups).iter_mut() {
        if b.server == server && b.id.is_none() {
            let id = format!("{server}-fixture{put_no}-{}", ids.len());
            b.id = Some(id.clone());
            ids.push(id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_plan;

    fn plan(steps: &str) -> Plan {
        let text = format!(r#"{{"name": "t", "description": "d", "steps": [{steps}]}}"#);
        parse_plan("t.json", &text).unwrap()
    }

    #[test]
    fn an_expect_naming_an_outcome_the_documents_forbid_is_refused() {
        let p = plan(
            r#"{"step": "put-server", "ServerName": "web", "Status": "HEALTHY", "ManualBackups": 50},
               {"step": "call", "operation": "CreateBackup", "input": {"ServerName": "web"}, "expect": "success"}"#,
        );
        let e = dry_run(&p).unwrap_err();
        assert!(
            e.contains("step 2") && e.contains("LimitExceededException"),
            "{e}"
        );
    }

    #[test]
    fn an_expect_leaving_out_a_legal_outcome_is_refused() {
        // A13: an unknown server's listing may be an error or an empty list.
        let p = plan(
            r#"{"step": "call", "operation": "DescribeBackups", "input": {"ServerName": "ghost"}, "expect": "ResourceNotFoundException"}"#,
        );
        let e = dry_run(&p).unwrap_err();
        assert!(e.contains("also allow success"), "{e}");
    }

    #[test]
    fn a_parallel_blocks_calls_may_take_effect_in_any_order() {
        let create =
            r#"{"operation": "CreateBackup", "input": {"ServerName": "web"}, "expect": EXPECT}"#;
        let block = |expect: &str| {
            let call = create.replace("EXPECT", expect);
            plan(&format!(
                r#"{{"step": "put-server", "ServerName": "web", "Status": "HEALTHY", "ManualBackups": "${{limit-1}}"}},
                   {{"step": "parallel", "calls": [{call}, {call}]}}"#
            ))
        };
        // Either call may be the one that takes the last slot.
        let any = r#"["LimitExceededException", "InvalidStateException", "success"]"#;
        dry_run(&block(any)).unwrap();
        let e = dry_run(&block(r#""success""#)).unwrap_err();
        assert!(e.contains("step 2") && e.contains("call 1"), "{e}");
    }

    #[test]
    fn limit_placeholders_hold_for_every_limit() {
        let p = plan(
            r#"{"step": "put-server", "ServerName": "web", "Status": "HEALTHY", "ManualBackups": "${limit}"},
               {"step": "call", "operation": "CreateBackup", "input": {"ServerName": "web"}, "expect": "LimitExceededException"}"#,
        );
        assert!(dry_run(&p).is_ok());
        assert_eq!(
            p.for_limit(10).unwrap().steps[0].to_string(),
            "put-server web HEALTHY (10 manual, 0 automated)"
        );
        let hard = plan(
            r#"{"step": "put-server", "ServerName": "web", "Status": "HEALTHY", "ManualBackups": 49},
               {"step": "call", "operation": "CreateBackup", "input": {"ServerName": "web"}, "expect": "success"}"#,
        );
        let e = dry_run(&hard).unwrap_err();
        assert!(
            e.contains("with a limit of 10") || e.contains("LimitExceededException"),
            "{e}"
        );
        assert!(e.contains("step 2"), "{e}");
    }
}
