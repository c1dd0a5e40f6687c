//! The scenario library on disk: every `*.json` under a directory, each a [`Plan`] with a trial
//! name that follows its path (`scenario::limit::fifty-first-manual-backup-refused`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use serde_json::Value;

use crate::exit::Error;
use crate::plan::{self, Plan, Step};

/// Every `*.json` under `dir` (recursively), sorted, each with its trial name and the plan or
/// the error that names its file, line and problem.
#[allow(clippy::type_complexity)]
pub fn scenario_files(
    dir: &Path,
) -> Result<Vec<(String, Result<Plan, plan::PlanFileError>)>, Error> {
    if !dir.exists() {
        return Ok(vec![]);
    }
    let mut files = Vec::new();
    collect_json(dir, &mut files)
        .map_err(|e| Error::Scenario(format!("cannot read {}: {e}", dir.display())))?;
    files.sort();
    let checked = on_every_core(&files, |f| {
        plan::load_plan(f).and_then(|p| agrees_with_the_documents(f, p))
    });
    Ok(files
        .iter()
        .zip(checked)
        .map(|(f, plan)| (scenario_trial_name(dir, f), plan))
        .collect())
}

/// `f` of each item, the items shared out among the machine's cores (a dry run of each file
/// is the larger part of loading a library); the results in the items' order.
fn on_every_core<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(items.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// A plan whose `expect`s differ from what the documents allow is a broken file (checked
/// before anything is sent, from the plan's own start: never blamed on an endpoint).
fn agrees_with_the_documents(file: &Path, plan: Plan) -> Result<Plan, plan::PlanFileError> {
    let states_outcomes = plan.steps.iter().any(|s| match s {
        Step::Call { expect, .. } => expect.is_some(),
        Step::Parallel { calls } => calls.iter().any(|c| c.expect.is_some()),
        _ => false,
    });
    if !states_outcomes {
        return Ok(plan);
    }
    match documents_verdict(&plan) {
        Ok(()) => Ok(plan),
        Err(problem) => Err(plan::PlanFileError {
            path: file.display().to_string(),
            line: 1,
            column: 1,
            problem: format!("the outcomes it expects are not the documents': {problem}"),
        }),
    }
}

/// The dry run's verdict on `plan`, computed once per process for each distinct plan: a run,
/// `selftest` and the tests load the same library many times, and the dry run of a parallel
/// block is the larger part of loading it. Callers of the same plan at once wait for one run.
fn documents_verdict(plan: &Plan) -> Result<(), String> {
    type Verdict = Arc<OnceLock<Result<(), String>>>;
    static VERDICTS: LazyLock<Mutex<HashMap<String, Verdict>>> = LazyLock::new(Default::default);
    // The plan as serialized, and the limit template it skips when serialized.
    let Ok(steps) = serde_json::to_string(plan) else {
        return crate::dry_run::dry_run(plan).map(drop);
    };
    let template = plan.template.as_ref().map(Value::to_string);
    let key = format!("{steps}\n{}", template.unwrap_or_default());
    let verdict = {
        let mut verdicts = VERDICTS.lock().unwrap_or_else(PoisonError::into_inner);
        verdicts.entry(key).or_default().clone()
    };
    verdict
        .get_or_init(|| crate::dry_run::dry_run(plan).map(drop))
        .clone()
}

/// Reads every `*.json` under `dir` (recursively), sorted; trial names follow the path:
/// `scenario::limit::fifty-first-manual-backup-refused`. Any broken file is a usage error.
pub fn load_scenarios(dir: Option<&Path>) -> Result<Vec<(String, Plan)>, Error> {
    let Some(dir) = dir else { return Ok(vec![]) };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, result) in scenario_files(dir)? {
        match result {
            Ok(p) => out.push((name, p)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Scenario(format!(
            "broken scenario files:\n  {}\n(hint: fix them, or point --scenarios at another directory)",
            errors.join("\n  ")
        )));
    }
    Ok(out)
}

/// `scenario::<dirs>::<stem>` for a file under `root`.
pub fn scenario_trial_name(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("scenario::{}", parts.join("::"))
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_names_follow_the_path() {
        let root = Path::new("scenarios");
        assert_eq!(
            scenario_trial_name(root, Path::new("scenarios/limit/fifty-first.json")),
            "scenario::limit::fifty-first"
        );
    }

    /// The verdict is remembered per plan: a wrong `expect` stays wrong when judged again, and
    /// the same file with the right `expect` is judged on its own.
    #[test]
    fn a_remembered_verdict_belongs_to_its_own_plan() {
        let file = |expect: &str| {
            format!(
                r#"{{"name": "p", "steps": [{{"step": "reset"}},
                {{"step": "call", "operation": "CreateBackup", "input": {{"ServerName": "none"}},
                  "expect": "{expect}"}}]}}"#
            )
        };
        let judge = |text: &str| {
            let plan = plan::parse_plan("p.json", text).expect("the plan parses");
            agrees_with_the_documents(Path::new("p.json"), plan).map(drop)
        };
        let wrong = file("success");
        let first = judge(&wrong).expect_err("no server: CreateBackup cannot succeed");
        let again = judge(&wrong).expect_err("judged again, still wrong");
        assert_eq!(first.problem, again.problem);
        assert!(judge(&file("ResourceNotFoundException")).is_ok());
    }
}
