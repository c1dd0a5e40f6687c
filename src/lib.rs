//! opsworkscm-conformance: a property-based conformance harness for the AWS OpsWorks CM
//! `CreateBackup` operation (and the calls that observe or change the same state), with the
//! emulator it ships with.
//!
//! Data flows one way: plan -> runner -> target -> observation -> checker -> verdict -> report.
//! The [`model`] is pure; the [`emulator`] is the model served over HTTP.

pub mod check;
pub mod cli;
pub mod coverage;
pub mod dry_run;
pub mod emulator;
pub mod exit;
pub mod generate;
pub mod model;
pub mod plan;
pub mod readings;
pub mod report;
pub mod rules_table;
pub mod runner;
pub mod scenarios;
pub mod selftest;
pub mod target;
pub mod wire;
