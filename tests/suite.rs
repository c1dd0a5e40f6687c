//! The conformance suite (`tests/conformance.rs`) from the outside, as CI runs it: a broken
//! scenario file fails only its own trial, and a wrong endpoint fails exactly the trials of the
//! rules it breaks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use opsworkscm_conformance::emulator::{self, EmulatorConfig};

/// The conformance test binary, built beside this one by `cargo test`.
fn conformance_binary() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("conformance-") && p.extension().is_none()
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found
        .pop()
        .expect("cargo test builds tests/conformance.rs")
        .1
}

fn outcomes(o: &Output) -> BTreeMap<String, String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("test "))
        .filter_map(|l| l.rsplit_once(" ... "))
        .map(|(name, result)| (name.trim().to_string(), result.trim().to_string()))
        .collect()
}

#[test]
fn a_broken_scenario_file_fails_its_own_trial_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("limit")).unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/limit/fifty-first-manual-backup-refused.json"),
        dir.path()
            .join("limit/fifty-first-manual-backup-refused.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("limit/broken.json"),
        "{\n  \"name\": \"broken\",\n  \"steps\": [\n    {\"step\": \"reset\"},\n    {\"step\": \"call\", \"operation\": \"CreateBakup\"}\n  ]\n}\n",
    )
    .unwrap();
    let o = Command::new(conformance_binary())
        .args(["scenario::", "--test-threads", "1"])
        .env("OPSWORKSCM_CONFORMANCE_SCENARIOS", dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_OPSWORKSCM")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let results = outcomes(&o);
    assert_eq!(
        results.get("scenario::limit::broken").map(String::as_str),
        Some("FAILED"),
        "{out}"
    );
    assert_eq!(
        results
            .get("scenario::limit::fifty-first-manual-backup-refused")
            .map(String::as_str),
        Some("ok"),
        "{out}"
    );
    assert!(
        out.contains("broken.json:5"),
        "names the file and line: {out}"
    );
    assert!(out.contains("CreateBakup"), "names the problem: {out}");
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn a_wrong_endpoint_fails_exactly_the_trials_of_the_rules_it_breaks() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let em = rt
        .block_on(emulator::start(EmulatorConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            mutant: Some("limit-off-by-one-high".into()),
            ..EmulatorConfig::default()
        }))
        .unwrap();
    let o = Command::new(conformance_binary())
        .args(["scenario::", "--endpoint", &em.url])
        .env_remove("OPSWORKSCM_CONFORMANCE_SCENARIOS")
        .output()
        .unwrap();
    rt.block_on(em.shutdown());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let results = outcomes(&o);
    let failed: Vec<&String> = results
        .iter()
        .filter(|(_, r)| *r == "FAILED")
        .map(|(n, _)| n)
        .collect();
    assert!(!failed.is_empty(), "{out}");
    assert!(results.len() >= 50, "every scenario ran: {out}");
    // Only scenarios about the limit can see a limit that is one too high.
    for name in &failed {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name.trim_start_matches("scenario::").replace("::", "/") + ".json");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("\"ManualBackups\": 50") || text.contains("limit"),
            "{name} failed but is not about the limit:\n{out}"
        );
    }
    assert!(failed
        .iter()
        .any(|n| n.as_str() == "scenario::limit::fifty-first-manual-backup-refused"));
    assert!(results
        .iter()
        .any(|(n, r)| n.starts_with("scenario::validation::") && r == "ok"));
}
