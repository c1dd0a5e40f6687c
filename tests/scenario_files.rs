//! The scenario library under `scenarios/`: every file parses, names itself after its file stem
//! (unique), says in one line what it shows, names only rule ids of the catalogue and only known
//! outcomes, and together the files name every rule id. Each file is also dry-run against the
//! model alone: the steps are folded over the set of worlds the model allows, and a step whose
//! `expect` names an outcome no possible world allows fails, naming the file, the step and what
//! the model allows instead. The bundled emulator's reading (the reference path) must be among
//! the expected outcomes too, so every scenario passes against the embedded emulator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use opsworkscm_conformance::dry_run;
use opsworkscm_conformance::model::rules;
use opsworkscm_conformance::model::rules::{rule_by_id, RuleId, RULES};
use opsworkscm_conformance::model::ErrorKind;
use opsworkscm_conformance::plan::{load_plan, Plan, Step};

/// The families of the library (first directory under `scenarios/`); `regressions` holds shrunk
/// counterexamples.
const FAMILIES: [&str; 17] = [
    "state",
    "backing-up",
    "limit",
    "async",
    "not-found",
    "validation",
    "server-name",
    "tags",
    "listing",
    "effect",
    "restore",
    "delete-server",
    "delete-backup",
    "update-server",
    "other-operations",
    "ambiguity",
    "race",
];

/// Rule ids no scenario can exercise, with the reason (each reason is checked elsewhere).
const NO_SCENARIO: [(&str, &str); 0] = [];

/// Rules judged from the answer's content or form (by the wire layer or `Possible::explain`),
/// not from which outcome a step has: a scenario may name them without the dry run seeing them
/// exercised.
const JUDGED_FROM_THE_ANSWER: [&str; 11] = [
    rules::RESPONSE_SHAPE.as_str(),
    rules::PROTOCOL_SUCCESS.as_str(),
    rules::PROTOCOL_ERROR.as_str(),
    rules::CONTROL_PLANE_CONTRACT.as_str(),
    rules::DESCRIBE_BACKUPS_ORDER.as_str(),
    rules::AMBIGUITY_ERROR_TYPE_FORM.as_str(),
    rules::AMBIGUITY_CREATED_STATUS.as_str(),
    rules::AMBIGUITY_BACKUP_ID_FORMAT.as_str(),
    rules::AMBIGUITY_LIMIT_SCOPE.as_str(),
    rules::AMBIGUITY_LIMIT_VALUE.as_str(),
    rules::AMBIGUITY_STATUS_AFTER_BACKUP.as_str(),
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

/// What is wrong with a scenario's steps: expect lists that are empty or name unknown
/// outcomes, put-server names the ServerName constraints refuse.
fn step_problems(shown: &str, steps: &[Step]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        if let Step::Call {
            expect: Some(e), ..
        } = st
        {
            let outcomes = e.outcomes();
            if outcomes.is_empty() {
                problems.push(format!("{}: step {}: an empty expect list", shown, i + 1));
            }
            for o in outcomes {
                if !is_known_outcome(o) {
                    problems.push(format!(
                        "{}: step {}: expect {o:?} is neither \"success\" nor a known error name",
                        shown,
                        i + 1
                    ));
                }
            }
        }
        if let Step::PutServer { server_name, .. } = st {
            if !valid_server_name(server_name) {
                problems.push(format!(
                    "{}: step {}: put-server name {server_name:?} breaks the ServerName constraints",
                    shown,
                    i + 1
                ));
            }
        }
    }
    problems
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
        problems.extend(step_problems(&s.shown, &p.steps));
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
        .map(|r| r.id.as_str())
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
/// The library's dry run (`opsworkscm_conformance::dry_run`), naming the file.
fn dry_run(s: &Scenario) -> Result<BTreeSet<RuleId>, String> {
    dry_run::dry_run(&s.plan).map_err(|e| format!("{}: {e}", s.shown))
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
