//! Every integration test but the conformance suite, in one test binary: each file under
//! `tests/` is a module here, so a cold `cargo test` links one binary instead of nineteen, and
//! the tests of all files share libtest's threads instead of running file after file.
//! (`tests/conformance.rs` is the suite's own libtest-mimic harness and stays a binary of its own.)
//!
//! Run one file's tests with its module name as the filter: `cargo test --test integration cli::`.

mod common;
mod stub_runs;

mod cli;
mod coverage_matrices;
mod emulator_control_plane;
mod emulator_http;
mod emulator_model_agrees;
mod emulator_mutants;
mod emulator_races;
mod emulator_readings;
mod emulator_sigv4;
mod endpoints;
mod hostile;
mod independent_stubs;
mod partial_stub;
mod reading_flips;
mod reports;
mod reports_browser;
mod reports_text;
mod rules_table;
mod scenario_files;
mod sdk;
mod selftest;
mod suite;
