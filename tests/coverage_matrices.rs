//! The input-feature and transition matrices of a real run: a short run against the embedded
//! emulator writes both into report.json (with the model's denominators), report.html shows
//! them, and the console summary gives one line with both percentages. (The 95 % figure of a
//! default 256-case run is measured with the release build: see the README.)

use std::path::Path;
use std::process::Command;

use opsworkscm_conformance::coverage::{features, transitions};
use opsworkscm_conformance::model::Operation;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_opsworkscm-conformance");

fn matrix_counts(m: &Value) -> (u64, u64, u64, u64) {
    let cells = m["rows"].as_array().unwrap().iter().flat_map(|r| {
        r["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_u64())
    });
    let allowed = cells.clone().filter(Option::is_some).count() as u64;
    let hit = cells.filter(|c| c.is_some_and(|n| n > 0)).count() as u64;
    (
        m["allowed"].as_u64().unwrap(),
        m["covered"].as_u64().unwrap(),
        allowed,
        hit,
    )
}

#[test]
fn a_run_reports_both_matrices_out_of_what_the_model_allows() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let o = Command::new(BIN)
        .args([
            "run",
            "--cases",
            "24",
            "--seed",
            "11",
            "--no-save-regressions",
        ])
        .arg("--report-dir")
        .arg(&reports)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_OPSWORKSCM")
        .env_remove("PROPTEST_CASES")
        .env("HOME", dir.path())
        .output()
        .expect("the binary runs");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let ops = Operation::ALL;
    let expected = [
        ("input_coverage", features::allowed(&ops).len() as u64),
        (
            "transition_coverage",
            transitions::allowed(&ops, true).len() as u64,
        ),
    ];
    let mut percents = Vec::new();
    for (member, allowed) in expected {
        let (said_allowed, said_covered, allowed_cells, hit_cells) = matrix_counts(&report[member]);
        assert_eq!(said_allowed, allowed, "{member}: the model's denominator");
        assert_eq!(allowed_cells, allowed, "{member}: cells with a count");
        assert_eq!(said_covered, hit_cells, "{member}: covered = cells hit");
        assert!(
            said_covered > 0 && said_covered <= allowed,
            "{member}: {said_covered}"
        );
        percents.push(format!(
            "{:.1} %",
            said_covered as f64 * 100.0 / allowed as f64
        ));
    }
    let line = out
        .lines()
        .find(|l| l.starts_with("input "))
        .unwrap_or_else(|| panic!("no coverage line in:\n{out}"));
    for p in &percents {
        assert!(line.contains(p.as_str()), "{line} lacks {p}");
    }
    let html = std::fs::read_to_string(Path::new(&reports).join("report.html")).unwrap();
    for id in [
        "id=\"input-coverage\"",
        "id=\"transition-coverage\"",
        "DeleteServer → CreateBackup",
    ] {
        assert!(html.contains(id), "report.html lacks {id}");
    }
}
