//! `selftest` in a reduced budget that still kills every mutant: the harness's power, checked in
//! `cargo test`. Every built-in mutant must be killed, and the correct emulator (both dialects)
//! must pass.

use opsworkscm_conformance::selftest::{self, SelftestConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutant_is_killed_and_the_correct_emulator_passes() {
    let config = SelftestConfig {
        cases: 32,
        seed: 1,
        scenarios_dir: Some(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")),
        mutants: vec![],
        concurrency_rounds: 12,
    };
    let report = selftest::run(&config, &mut |_| {})
        .await
        .expect("selftest runs");
    let table = report.table();
    println!("{table}");
    let (killed, total) = report.kill_rate();
    assert!(total >= 15, "at least 15 mutants: {table}");
    assert!(
        report.passed(),
        "{killed} of {total} killed, or the correct emulator failed:\n{table}"
    );
    for row in &report.rows {
        if row.mutant.is_some() {
            assert!(
                row.rule.is_some(),
                "{} was killed without a rule id",
                row.name
            );
        }
    }
}
