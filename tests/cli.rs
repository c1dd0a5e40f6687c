//! The command line as a user meets it: every exit code (0, 1, 2, 3) reached through the real
//! binary, with the hint the user needs; `emulate`'s first line; `replay`; the same seed giving
//! the same run; and no secret in anything a run writes or prints.

use opsworkscm_conformance::model::rules;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opsworkscm-conformance");

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_OPSWORKSCM")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("PROPTEST_CASES")
        .env("HOME", dir)
        .output()
        .expect("the binary runs")
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Every file under `dir` with its bytes, keyed by its path relative to `dir`.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// The `report.json` a run wrote into `reports`.
fn report_json(reports: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap()).unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn exit_0_a_bare_run_against_the_embedded_emulator_passes() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let o = run(
        &[
            "run",
            "--cases",
            "8",
            "--seed",
            "3",
            "--report-dir",
            reports.to_str().unwrap(),
            "--no-save-regressions",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS"), "{}", text(&o));
    assert!(!text(&o).contains("no scenario directory"), "{}", text(&o));
    for f in ["report.json", "report.html", "junit.xml"] {
        assert!(reports.join(f).exists(), "{f} was not written");
    }
}

#[test]
fn exit_1_a_wrong_endpoint_gets_a_minimal_replayable_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let o = run(
        &[
            "run",
            "--mutant",
            "limit-off-by-one-high",
            "--cases",
            "16",
            "--seed",
            "3",
            "--report-dir",
            reports.to_str().unwrap(),
            "--no-save-regressions",
        ],
        dir.path(),
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(rules::CREATE_BACKUP_LIMIT.as_str()), "{out}");
    assert!(out.contains("opsworkscm-conformance replay"), "{out}");
    // The replay command it prints reproduces the divergence.
    let report = report_json(&reports);
    let saved = report["divergences"][0]["saved_to"]
        .as_str()
        .unwrap()
        .to_string();
    let again = run(
        &[
            "replay",
            &saved,
            "--mutant",
            "limit-off-by-one-high",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let fine = run(
        &["replay", &saved, "--report-dir", reports.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(fine.status.code(), Some(0), "{}", text(&fine));
}

#[test]
fn a_run_against_a_mutant_leaves_the_scenario_library_alone() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let scenarios = dir.path().join("scenarios");
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for (rel, bytes) in snapshot(&library) {
        let to = scenarios.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    let before = snapshot(&scenarios);
    let o = run(
        &[
            "run",
            "--mutant",
            "limit-off-by-one-high",
            "--cases",
            "16",
            "--seed",
            "3",
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        dir.path(),
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        snapshot(&scenarios) == before,
        "the run changed the scenario library"
    );
    let report = report_json(&reports);
    let saved: Vec<&str> = report["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["saved_to"].as_str())
        .collect();
    assert!(!saved.is_empty(), "no plan was saved: {out}");
    for plan in saved {
        assert!(
            Path::new(plan).starts_with(&reports),
            "{plan} is outside the reports"
        );
        assert!(Path::new(plan).exists(), "{plan} was not written");
        assert!(
            out.contains(&format!("replay {plan}")),
            "the replay command does not name {plan}: {out}"
        );
    }
}

#[test]
fn exit_2_bad_flags_urls_and_scenario_files_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["run", "--endpoint", "ftp://example"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("hint:"), "{}", text(&o));

    let o = run(&["run", "--cases", "many"], dir.path());
    assert_eq!(o.status.code(), Some(2));

    // A misspelled mutant or reading: the nearest names, and one hint, said once.
    let o = run(&["run", "--mutant", "limit-off-by-won"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("limit-off-by-one"), "{}", text(&o));
    assert_eq!(text(&o).matches("hint:").count(), 1, "{}", text(&o));
    let o = run(&["run", "--reading", "limit-eleven"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--list-readings"), "{}", text(&o));
    assert_eq!(text(&o).matches("hint:").count(), 1, "{}", text(&o));

    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("broken.json"),
        "{\n  \"name\": \"broken\",\n  \"steps\": [\n    {\"step\": \"put-server\", \"ServerName\": \"web\", \"Status\": \"ASLEEP\"}\n  ]\n}\n",
    )
    .unwrap();
    let o = run(
        &[
            "run",
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--cases",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("broken.json:4"),
        "names the file and line: {out}"
    );
    assert!(out.contains("ASLEEP"), "{out}");
}

#[test]
fn exit_3_an_unreachable_endpoint_cannot_be_judged() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let o = run(
        &[
            "run",
            "--endpoint",
            &url,
            "--report-dir",
            dir.path().to_str().unwrap(),
            "--timeout",
            "2",
        ],
        dir.path(),
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("cannot connect"), "{out}");
    assert!(
        out.contains("opsworkscm-conformance emulate"),
        "the hint says what to do: {out}"
    );
}

#[test]
fn emulate_prints_where_it_listens_and_a_run_judges_it() {
    let mut child = Command::new(BIN)
        .args(["emulate", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "run",
            "--endpoint",
            &url,
            "--cases",
            "8",
            "--seed",
            "4",
            "--report-dir",
            dir.path().to_str().unwrap(),
            "--no-save-regressions",
        ],
        dir.path(),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn emulate_lists_its_mutants() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["emulate", "--list-mutants"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(lines.len() >= 15, "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("always-success")));
}

/// The same seed draws the same plans, so the same trials and the same number of calls. Which
/// rules a run passes may differ: calls sent at once are answered in whatever order the
/// endpoint takes them (README, "Scenario files").
#[test]
fn the_same_seed_gives_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let calls = |sub: &str| {
        let reports = dir.path().join(sub);
        let o = run(
            &[
                "run",
                "--cases",
                "12",
                "--seed",
                "42",
                "--report-dir",
                reports.to_str().unwrap(),
                "--scenarios",
                "/nonexistent",
                "--no-save-regressions",
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        // A missing scenario directory is said out loud, with what to do.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("no scenario directory at /nonexistent: only generated cases run")
                && stderr.contains("--scenarios DIR"),
            "{stderr}"
        );
        let r = report_json(&reports);
        let trials: Vec<(String, String)> = r["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].to_string(), t["outcome"].to_string()))
            .collect();
        (
            r["calls"].as_u64().unwrap(),
            r["cases"].as_u64().unwrap(),
            trials,
        )
    };
    assert_eq!(calls("a"), calls("b"));
}

#[test]
fn planted_credentials_never_appear_in_anything_a_run_writes_or_prints() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let key = "AKIAPLANTEDKEY000001";
    let secret = "planted/secret/KEY+do-not-leak-0123456789";
    let token = "planted-session-token-do-not-leak-IQoJb3JpZ2luX2VjEJr";
    let o = Command::new(BIN)
        .args([
            "run",
            "--mutant",
            "error-http-500",
            "--cases",
            "8",
            "--seed",
            "5",
            "--report-dir",
            reports.to_str().unwrap(),
            "--scenarios",
            scenarios.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_OPSWORKSCM")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let mut everything = text(&o);
    let written = files_under(dir.path());
    let files = written.len();
    for p in written {
        everything.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
    }
    assert!(files >= 3, "the run wrote its reports");
    assert!(
        everything.contains("AWS4-HMAC-SHA256")
            || everything.contains("REDACTED")
            || everything.contains("x-amz-target")
    );
    for s in [key, secret, token] {
        assert!(!everything.contains(s), "{s} leaked");
    }
    assert!(!everything.contains("Signature="), "a signature leaked");
}

#[test]
fn a_default_run_finishes_in_bounded_time() {
    // Not a speed target (those are benchmarks): only that a run ends by itself.
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let o = run(
        &[
            "run",
            "--cases",
            "4",
            "--report-dir",
            dir.path().to_str().unwrap(),
            "--no-save-regressions",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(t0.elapsed() < Duration::from_secs(300));
}
