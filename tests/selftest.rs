//! `selftest` in a reduced budget: the harness's power, checked in `cargo test`. Every built-in
//! mutant must be killed by a divergence of its own family, and the correct emulator must pass
//! in both dialects, under each legal reading alone and under all of them at once.

use opsworkscm_conformance::emulator::{mutants, Reading, ReadingSet};
use opsworkscm_conformance::selftest::{self, SelftestConfig, Verdict};

fn config() -> SelftestConfig {
    SelftestConfig {
        cases: 32,
        seed: 1,
        scenarios_dir: Some(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")),
        mutants: vec![],
        readings: vec![],
        mutant_readings: vec![ReadingSet::REFERENCE],
        race_runs: 1,
    }
}

/// Two tests, so that libtest runs them side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_emulator_passes_under_every_reading_and_all_at_once() {
    // Every legal reading alone, then all at once: a divergence there is a false alarm.
    let mut readings: Vec<ReadingSet> =
        Reading::ALL.iter().map(|r| ReadingSet::of(&[*r])).collect();
    readings.push(ReadingSet::all());
    let config = SelftestConfig {
        readings,
        mutant_readings: vec![],
        ..config()
    };
    let report = selftest::run(&config, &mut |_| {})
        .await
        .expect("selftest runs");
    let table = report.table();
    println!("{table}");
    assert_eq!(report.rows.len(), 2 + Reading::ALL.len() + 1, "{table}");
    for row in &report.rows {
        assert_eq!(
            row.verdict,
            Verdict::Passed,
            "{}:\n{table}",
            row.readings.label()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutant_is_killed_by_its_own_family() {
    let report = selftest::run(&config(), &mut |_| {})
        .await
        .expect("selftest runs");
    let table = report.table();
    println!("{table}");
    // The yield-only race is not required: whether a yield lets another call in depends on the
    // scheduler, and a short run sends few blocks.
    let required: Vec<&str> = mutants()
        .iter()
        .map(|m| m.name)
        .filter(|n| *n != "racy-create-yield")
        .collect();
    let killed: Vec<&str> = report
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Killed)
        .filter_map(|r| r.mutant.as_deref())
        .filter(|n| *n != "racy-create-yield")
        .collect();
    assert_eq!(
        killed, required,
        "every mutant killed by its family:\n{table}"
    );
    assert_eq!(killed.len(), 33 - 1);
}
