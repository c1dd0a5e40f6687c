//! Running the harness against a stub written in a test (`tests/independent_stubs.rs`,
//! `tests/partial_stub.rs`): one bounded run, its summary printed as a user would see it.

use std::time::Duration;

use opsworkscm_conformance::report::{self, RunOutcome};
use opsworkscm_conformance::runner::RunConfig;

/// Runs `config`, which must end within `limit`, and prints the console summary.
pub async fn run_within(config: RunConfig, limit: Duration) -> RunOutcome {
    let outcome = tokio::time::timeout(limit, report::run(config))
        .await
        .expect("the run ends")
        .expect("the run starts");
    eprintln!("{}", report::console_summary(&outcome.report, None));
    outcome
}
