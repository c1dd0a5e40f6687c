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
        reference_rows: false,
        readings: vec![],
        mutant_readings: vec![ReadingSet::REFERENCE],
        race_runs: 1,
    }
}

/// Every legal reading alone, then all at once: a divergence there is a false alarm. The
/// correct emulator's rows are shared out among three tests, so that libtest runs them side by
/// side with the rest.
fn reading_sets() -> Vec<ReadingSet> {
    let mut readings: Vec<ReadingSet> =
        Reading::ALL.iter().map(|r| ReadingSet::of(&[*r])).collect();
    readings.push(ReadingSet::all());
    readings
}

/// The correct emulator passes in every row: in both dialects on the reference readings when
/// `reference_rows`, and under the reading sets numbered `part` (of `parts`).
async fn the_correct_emulator_passes(reference_rows: bool, part: usize, parts: usize) {
    let all = reading_sets();
    let per = all.len().div_ceil(parts);
    let readings: Vec<ReadingSet> = all.into_iter().skip(part * per).take(per).collect();
    let expected = readings.len() + if reference_rows { 2 } else { 0 };
    let config = SelftestConfig {
        reference_rows,
        readings,
        mutant_readings: vec![],
        ..config()
    };
    let report = selftest::run(&config, &mut |_| {})
        .await
        .expect("selftest runs");
    let table = report.table();
    println!("{table}");
    assert_eq!(report.rows.len(), expected, "{table}");
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
async fn the_correct_emulator_passes_in_both_dialects_and_under_the_first_readings() {
    the_correct_emulator_passes(true, 0, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_emulator_passes_under_the_middle_readings() {
    the_correct_emulator_passes(false, 1, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_emulator_passes_under_the_last_readings_and_all_at_once() {
    the_correct_emulator_passes(false, 2, 3).await;
}

#[test]
fn the_three_parts_cover_every_reading_and_all_once() {
    let all = reading_sets();
    let per = all.len().div_ceil(3);
    let covered: Vec<ReadingSet> = (0..3)
        .flat_map(|p| all.iter().skip(p * per).take(per).copied())
        .collect();
    assert_eq!(covered, all);
    assert_eq!(all.last(), Some(&ReadingSet::all()));
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
