//! RULES.md, the rule table with its scenarios, unit tests and mutants, is what the code says
//! today: the test rebuilds it and fails when the committed file differs
//! (`OPSWORKSCM_BLESS=1 cargo test --test integration rules_table` writes it anew).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use opsworkscm_conformance::model::rules::RULES;
use opsworkscm_conformance::{rules_table, scenarios};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a source directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The constant a rule id is declared as (`create-backup.limit` -> `CREATE_BACKUP_LIMIT`).
fn constant(id: &str) -> String {
    id.to_uppercase().replace(['.', '-'], "_")
}

/// Test functions (`#[test]`, `#[tokio::test]`) and the rule ids each names, by constant
/// (`rules::CREATE_BACKUP_LIMIT`) or as a string (`"create-backup.limit"`).
fn unit_tests() -> BTreeMap<String, Vec<String>> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    let mut by_rule: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let attr = line.trim();
            if attr != "#[test]" && !attr.starts_with("#[tokio::test") {
                continue;
            }
            let Some((j, name)) = lines[i + 1..].iter().enumerate().find_map(|(k, l)| {
                let rest = l.trim().strip_prefix("async ").unwrap_or(l.trim());
                let name = rest.strip_prefix("fn ")?.split('(').next()?;
                Some((i + 1 + k, name.to_string()))
            }) else {
                continue;
            };
            let indent = &lines[j][..lines[j].len() - lines[j].trim_start().len()];
            let end = (j + 1..lines.len())
                .find(|&k| lines[k] == format!("{indent}}}"))
                .unwrap_or(lines.len() - 1);
            let body = lines[j..=end].join("\n");
            for rule in RULES {
                let id = rule.id.as_str();
                let by_constant = format!("rules::{}", constant(id));
                let named = body.contains(&format!("\"{id}\""))
                    || body.match_indices(&by_constant).any(|(at, _)| {
                        !body[at + by_constant.len()..]
                            .starts_with(|c: char| c == '_' || c.is_ascii_alphanumeric())
                    });
                if named {
                    by_rule
                        .entry(id.to_string())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
    }
    by_rule
        .into_iter()
        .map(|(id, tests)| (id, tests.into_iter().collect()))
        .collect()
}

#[test]
fn rules_md_is_the_table_the_code_gives_today() {
    let library = scenarios::load_scenarios(Some(&root().join("scenarios"))).expect("the library");
    let rows = rules_table::rows(&library, &unit_tests());
    let fresh = rules_table::to_markdown(&rows);
    let path = root().join("RULES.md");
    if std::env::var_os("OPSWORKSCM_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("RULES.md written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "RULES.md is stale (a rule, scenario, unit test or mutant changed); regenerate it with \
         `OPSWORKSCM_BLESS=1 cargo test --test integration rules_table` and commit it"
    );
    // Every rule is exercised by something a reader can open.
    for r in &rows {
        assert!(
            !(r.scenarios.is_empty() && r.unit_tests.is_empty()),
            "rule {} has neither a scenario nor a unit test",
            r.id
        );
    }
}
