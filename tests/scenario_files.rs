//! The scenario library under `scenarios/`: every file parses, names itself after its file stem
//! (unique), says in one line what it shows, names only rule ids of the catalogue and only known
//! outcomes, and together the files name every rule id. Each file is also dry-run against the
//! model alone: the steps are folded over the set of worlds the model allows, and a step whose
//! `expect` names an outcome no possible world allows fails, naming the file, the step and what
//! the model allows instead. The bundled emulator's reading (the reference path) must be among
//! the expected outcomes too, so every scenario passes against the embedded emulator.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use opsworkscm_conformance::model::rules::{rule_by_id, RULES};
use opsworkscm_conformance::model::{
    spontaneous, step, Action, ErrorKind, Expected, Observation, Possible, Readings, World,
    DEFAULT_LIMIT,
};
use opsworkscm_conformance::plan::{load_plan, resolve_placeholders, IdRef, Plan, Step};

/// The families of the library (first directory under `scenarios/`); `regressions` holds shrunk
/// counterexamples.
const FAMILIES: [&str; 9] = [
    "state",
    "backing-up",
    "limit",
    "async",
    "not-found",
    "validation",
    "listing",
    "other-operations",
    "ambiguity",
];

/// Rule ids no scenario can exercise, with the reason (each reason is checked elsewhere).
const NO_SCENARIO: [(&str, &str); 0] = [];

/// Rules judged from the answer's content or form (by the wire layer or `Possible::explain`),
/// not from which outcome a step has: a scenario may name them without the dry run seeing them
/// exercised.
const JUDGED_FROM_THE_ANSWER: [&str; 11] = [
    "response.shape",
    "protocol.success",
    "protocol.error",
    "control-plane.contract",
    "describe-backups.order",
    "ambiguity.error-type-form",
    "ambiguity.created-status",
    "ambiguity.backup-id-format",
    "ambiguity.limit-scope",
    "ambiguity.limit-value",
    "ambiguity.status-after-backup",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

struct Scenario {
    path: PathBuf,
    /// `family/name.json`
    shown: String,
    plan: Plan,
}

fn scenarios() -> Vec<Scenario> {
    let mut files = Vec::new();
    json_files(&root(), &mut files);
    assert!(
        !files.is_empty(),
        "no scenario files under {}",
        root().display()
    );
    files
        .into_iter()
        .map(|path| {
            let plan = load_plan(&path).unwrap_or_else(|e| panic!("{e}"));
            let shown = path.strip_prefix(root()).unwrap().display().to_string();
            Scenario { path, shown, plan }
        })
        .collect()
}

fn family(s: &Scenario) -> String {
    s.path
        .strip_prefix(root())
        .unwrap()
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned()
}

fn is_known_outcome(name: &str) -> bool {
    name == "success" || !matches!(ErrorKind::from_name(name), ErrorKind::Other(_))
}

#[test]
fn every_scenario_names_itself_says_what_it_shows_and_names_real_rules() {
    let mut problems = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for s in scenarios() {
        let p = &s.plan;
        let stem = s.path.file_stem().unwrap().to_string_lossy().into_owned();
        if p.name != stem {
            problems.push(format!(
                "{}: name {:?} is not the file stem {stem:?}",
                s.shown, p.name
            ));
        }
        let kebab = !p.name.is_empty()
            && p.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !p.name.starts_with('-')
            && !p.name.ends_with('-')
            && !p.name.contains("--");
        if !kebab {
            problems.push(format!("{}: name {:?} is not kebab-case", s.shown, p.name));
        }
        if let Some(other) = names.insert(p.name.clone(), s.shown.clone()) {
            problems.push(format!(
                "{}: name {:?} is also used by {other}",
                s.shown, p.name
            ));
        }
        let fam = family(&s);
        let regression = fam == "regressions";
        if !regression && !FAMILIES.contains(&fam.as_str()) {
            problems.push(format!(
                "{}: {fam:?} is not a family (one of {FAMILIES:?}, or regressions)",
                s.shown
            ));
        }
        if !regression {
            if p.description.trim().is_empty() {
                problems.push(format!("{}: the description is empty", s.shown));
            } else if p.description.contains('\n') {
                problems.push(format!(
                    "{}: the description is more than one line",
                    s.shown
                ));
            }
            if p.rules.is_empty() {
                problems.push(format!("{}: no rules named", s.shown));
            }
        }
        for r in &p.rules {
            if rule_by_id(r).is_none() {
                problems.push(format!("{}: {r:?} is not a rule id of RULES", s.shown));
            }
        }
        for (i, st) in p.steps.iter().enumerate() {
            if let Step::Call {
                expect: Some(e), ..
            } = st
            {
                let outcomes = e.outcomes();
                if outcomes.is_empty() {
                    problems.push(format!("{}: step {}: an empty expect list", s.shown, i + 1));
                }
                for o in outcomes {
                    if !is_known_outcome(o) {
                        problems.push(format!(
                            "{}: step {}: expect {o:?} is neither \"success\" nor a known error name",
                            s.shown,
                            i + 1
                        ));
                    }
                }
            }
            if let Step::PutServer { server_name, .. } = st {
                if !valid_server_name(server_name) {
                    problems.push(format!(
                        "{}: step {}: put-server name {server_name:?} breaks the ServerName constraints",
                        s.shown,
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn valid_server_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=40).contains(&n)
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[test]
fn every_rule_id_is_named_by_a_scenario() {
    let named: BTreeSet<String> = scenarios()
        .iter()
        .flat_map(|s| s.plan.rules.clone())
        .collect();
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !named.contains(*id))
        .filter(|id| !NO_SCENARIO.iter().any(|(x, _)| x == id))
        .collect();
    assert!(
        missing.is_empty(),
        "rule ids no scenario names (add one under scenarios/<family>/): {missing:?}"
    );
    for (id, why) in NO_SCENARIO {
        assert!(rule_by_id(id).is_some(), "{id} is no longer a rule id");
        assert!(
            !named.contains(id),
            "{id} is named by a scenario now: drop it from NO_SCENARIO ({why})"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The dry run
// ------------------------------------------------------------------------------------------------

/// `"success"` or the error's name.
fn outcome(p: &Possible) -> String {
    match &p.expected {
        Expected::Error(k) => k.name().to_string(),
        _ => "success".to_string(),
    }
}

/// Ids bound as the harness learns them: fixture backups at put-server (in the world's order),
/// created ones from CreateBackup's answer.
#[derive(Default)]
struct Ids {
    /// server -> ids in the order learned.
    learned: BTreeMap<String, Vec<String>>,
    /// servers whose fixture has both manual and automated backups (their order is not fixed).
    mixed_fixture: BTreeSet<String>,
    /// fixture ids per server (to tell a fixture reference from a created one).
    fixture_count: BTreeMap<String, usize>,
    created: Vec<String>,
    puts: usize,
}

impl Ids {
    fn lookup(&self, r: &IdRef) -> Result<Option<String>, String> {
        match r {
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
}

/// Placeholders in `input` resolved against `ids`.
fn resolve(input: &Value, ids: &Ids) -> Result<Value, String> {
    let problem = RefCell::new(None::<String>);
    let out = resolve_placeholders(input, &|r: &IdRef| match ids.lookup(r) {
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

fn created_body(server: &str, id: &str, description: Option<&str>) -> Value {
    let mut b = json!({
        "BackupId": id,
        "BackupArn": format!("arn:aws:opsworks-cm:us-east-1:123456789012:backup/{id}"),
        "BackupType": "MANUAL",
        "ServerName": server,
        "Status": "IN_PROGRESS",
        "CreatedAt": 1_735_689_600.0,
    });
    if let Some(d) = description {
        b["Description"] = json!(d);
    }
    json!({ "Backup": b })
}

/// The world after `p` once its answer is seen; CreateBackup's new backup gets `id`.
fn after(p: &Possible, id: &str) -> World {
    match &p.expected {
        Expected::CreatedBackup {
            server,
            description,
        } => p
            .explain(
                &Observation::Success(created_body(server, id, description.as_deref())),
                None,
            )
            .unwrap_or_else(|m| panic!("the synthetic answer does not fit: {}", m.message)),
        _ => p.world.clone(),
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

fn summary(outcomes: &BTreeSet<String>) -> String {
    outcomes.iter().cloned().collect::<Vec<_>>().join(" or ")
}

/// Folds a plan over the worlds the model allows; returns the rules the kept possibilities
/// exercised, or what went wrong.
fn dry_run(s: &Scenario) -> Result<BTreeSet<&'static str>, String> {
    let plan = &s.plan;
    let mut worlds: Vec<World> = World::all_readings(DEFAULT_LIMIT);
    if plan.rules.iter().any(|r| r == "ambiguity.limit-value") {
        // A2: an endpoint may advertise the user guide's limit of 10.
        worlds.extend(World::all_readings(10));
    }
    let mut reference = World::new(DEFAULT_LIMIT, Readings::REFERENCE);
    let mut ids = Ids::default();
    let mut seen_rules = BTreeSet::new();
    for (i, st) in plan.steps.iter().enumerate() {
        let at = format!("{}: step {} ({st})", s.shown, i + 1);
        let input = match st {
            Step::Call { input, .. } => {
                Some(resolve(input, &ids).map_err(|e| format!("{at}: {e}"))?)
            }
            _ => None,
        };
        let action = st.action(input);
        // Between two calls an endpoint may finish what is in progress by itself.
        if matches!(action, Action::Call { .. }) {
            let mut set = BTreeSet::new();
            for w in &worlds {
                set.extend(spontaneous(w));
            }
            worlds = set.into_iter().collect();
        }
        let next_id = |server: &str| {
            format!(
                "{server}-{:017}",
                20250101000000000u64 + ids.created.len() as u64
            )
        };
        let expect: Option<Vec<String>> = match st {
            Step::Call {
                expect: Some(e), ..
            } => Some(e.outcomes().into_iter().map(str::to_string).collect()),
            _ => None,
        };
        // Every world's possibilities.
        let mut allowed = BTreeSet::new();
        let mut kept = BTreeSet::new();
        let mut created_server = None;
        for w in &worlds {
            for p in step(w, &action) {
                let o = outcome(&p);
                allowed.insert(o.clone());
                if expect.as_ref().is_none_or(|e| e.contains(&o)) {
                    seen_rules.insert(p.rule);
                    seen_rules.extend(p.exercised.iter().map(|(r, _)| *r));
                    let id = match &p.expected {
                        Expected::CreatedBackup { server, .. } => {
                            created_server = Some(server.clone());
                            next_id(server)
                        }
                        _ => String::new(),
                    };
                    kept.insert(after(&p, &id));
                }
            }
        }
        if let Some(e) = &expect {
            let missing: Vec<&String> = e.iter().filter(|o| !allowed.contains(*o)).collect();
            if !missing.is_empty() {
                return Err(format!(
                    "{at}: expects {}, which no reading of the model allows here; the model allows {}",
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                    summary(&allowed)
                ));
            }
        }
        // The bundled emulator's path: the first possibility, DELETING backups gone at once.
        let ps = step(&reference, &action);
        let p = &ps[0];
        let o = outcome(p);
        if let Some(e) = &expect {
            if !e.contains(&o) {
                return Err(format!(
                    "{at}: expects {}, but the reference reading (the bundled emulator's) is {o}; \
                     list both when both are legal",
                    e.join(" or ")
                ));
            }
        }
        let id = match &p.expected {
            Expected::CreatedBackup { server, .. } => next_id(server),
            _ => String::new(),
        };
        reference = after(p, &id);
        reference.forget_deleting();
        // Learn ids as the harness would.
        match st {
            Step::Reset {} => {
                ids.learned.clear();
                ids.mixed_fixture.clear();
                ids.fixture_count.clear();
            }
            Step::PutServer {
                server_name,
                manual_backups,
                automated_backups,
                ..
            } => {
                ids.puts += 1;
                let mut learned = Vec::new();
                let mut bound = BTreeSet::new();
                for w in kept.into_iter() {
                    let mut w = w;
                    learned = bind_fixture(&mut w, server_name, ids.puts);
                    bound.insert(w);
                }
                kept = bound;
                bind_fixture(&mut reference, server_name, ids.puts);
                ids.fixture_count.insert(server_name.clone(), learned.len());
                ids.learned.insert(server_name.clone(), learned);
                if *manual_backups > 0 && *automated_backups > 0 {
                    ids.mixed_fixture.insert(server_name.clone());
                } else {
                    ids.mixed_fixture.remove(server_name);
                }
            }
            _ => {}
        }
        if let Some(server) = created_server {
            let id = next_id(&server);
            ids.learned.entry(server).or_default().push(id.clone());
            ids.created.push(id);
        }
        if kept.is_empty() {
            return Err(format!("{at}: no possible world is left"));
        }
        worlds = kept.into_iter().collect();
    }
    Ok(seen_rules)
}

#[test]
fn every_scenario_agrees_with_the_model() {
    let mut problems = Vec::new();
    for s in scenarios() {
        match dry_run(&s) {
            Err(e) => problems.push(e),
            Ok(seen) => {
                for r in &s.plan.rules {
                    let judged = JUDGED_FROM_THE_ANSWER.contains(&r.as_str());
                    if !judged && !seen.contains(r.as_str()) {
                        problems.push(format!(
                            "{}: names {r}, but no step exercises it (the steps exercise {:?})",
                            s.shown, seen
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_dry_run_catches_a_scenario_that_contradicts_the_model() {
    let text = r#"{"name": "wrong", "description": "d", "rules": ["create-backup.limit"], "steps": [
        {"step": "put-server", "ServerName": "web", "Status": "HEALTHY", "ManualBackups": 50},
        {"step": "call", "operation": "CreateBackup", "input": {"ServerName": "web"}, "expect": "success"}]}"#;
    let plan = opsworkscm_conformance::plan::parse_plan("limit/wrong.json", text).unwrap();
    let s = Scenario {
        path: root().join("limit/wrong.json"),
        shown: "limit/wrong.json".into(),
        plan,
    };
    let e = dry_run(&s).unwrap_err();
    assert!(
        e.contains("step 2") && e.contains("LimitExceededException"),
        "{e}"
    );
}
