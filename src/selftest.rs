//! The harness's own power, measured: run the suite against each built-in mutant of the
//! emulator (a fresh emulator each) and against the correct emulator in both dialects. A mutant
//! is killed when the run finds a divergence (exit 1); the correct emulator must pass (exit 0).

use std::path::PathBuf;
use std::time::Instant;

use crate::emulator;
use crate::exit::{Error, ExitCode};
use crate::runner::{self, EmulatorSettings, RunConfig};
use crate::target::EndpointSpec;
use crate::wire::Dialect;

/// What to run.
#[derive(Debug, Clone)]
pub struct SelftestConfig {
    pub cases: u64,
    pub seed: u64,
    pub scenarios_dir: Option<PathBuf>,
    /// Only these mutants; empty means all.
    pub mutants: Vec<String>,
    pub concurrency_rounds: u64,
}

impl Default for SelftestConfig {
    fn default() -> Self {
        SelftestConfig {
            cases: 256,
            seed: 1,
            scenarios_dir: Some(PathBuf::from("scenarios")),
            mutants: Vec::new(),
            concurrency_rounds: 12,
        }
    }
}

/// One row of the table: a mutant (or the correct emulator) and what the run found.
#[derive(Debug, Clone)]
pub struct Row {
    /// The mutant's name, or `(correct, aws-json)` / `(correct, envelope)`.
    pub name: String,
    pub description: String,
    pub dialect: Dialect,
    /// None for the correct emulator.
    pub mutant: Option<String>,
    pub exit: ExitCode,
    /// The rule of the first divergence.
    pub rule: Option<String>,
    /// The trial that found it.
    pub trial: Option<String>,
    /// Calls sent up to the first divergence, and seconds until it was seen.
    pub calls: Option<u64>,
    pub seconds: Option<f64>,
    /// Steps of the shrunk plan (0 for a concurrent round).
    pub shrunk_steps: Option<usize>,
    /// Whole run time (shrinking and re-runs included).
    pub run_seconds: f64,
    /// Why the run could not judge, if it could not.
    pub error: Option<String>,
}

impl Row {
    /// A mutant is killed by a divergence; the correct emulator passes with exit 0.
    pub fn ok(&self) -> bool {
        match self.mutant {
            Some(_) => self.exit == ExitCode::Divergence,
            None => self.exit == ExitCode::Pass,
        }
    }
}

/// The whole self-test.
#[derive(Debug, Clone)]
pub struct SelftestReport {
    pub rows: Vec<Row>,
}

impl SelftestReport {
    /// (killed, mutants).
    pub fn kill_rate(&self) -> (usize, usize) {
        let mutants: Vec<&Row> = self.rows.iter().filter(|r| r.mutant.is_some()).collect();
        (mutants.iter().filter(|r| r.ok()).count(), mutants.len())
    }

    /// Every mutant killed and the correct emulator passed.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(Row::ok)
    }

    pub fn exit_code(&self) -> ExitCode {
        if self.passed() {
            ExitCode::Pass
        } else {
            ExitCode::Divergence
        }
    }

    /// The table printed by `selftest`.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<28} {:<9} {:<8} {:<42} {:>7} {:>8} {:>6}\n",
            "mutant", "dialect", "result", "rule reported", "calls", "seconds", "steps"
        );
        for r in &self.rows {
            let result = match (&r.mutant, r.ok()) {
                (Some(_), true) => "killed",
                (Some(_), false) => "SURVIVED",
                (None, true) => "passed",
                (None, false) => "FAILED",
            };
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "{:<28} {:<9} {:<8} {:<42} {:>7} {:>8} {:>6}\n",
                r.name,
                r.dialect.name(),
                result,
                opt(r
                    .rule
                    .clone()
                    .or(r.error.clone().map(|e| abbreviate(&e, 42)))),
                opt(r.calls.map(|c| c.to_string())),
                opt(r.seconds.map(|s| format!("{s:.2}"))),
                opt(r.shrunk_steps.map(|s| s.to_string())),
            ));
        }
        let (killed, total) = self.kill_rate();
        let correct_ok = self.rows.iter().filter(|r| r.mutant.is_none()).all(Row::ok);
        out.push_str(&format!(
            "\nkill rate: {killed} of {total} mutants ({:.0}%); correct emulator: {}\n",
            if total == 0 {
                100.0
            } else {
                killed as f64 * 100.0 / total as f64
            },
            if correct_ok {
                "passed"
            } else {
                "FAILED (a false divergence: a bug in the harness)"
            }
        ));
        out
    }
}

fn abbreviate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}...", s.chars().take(n - 3).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Runs the self-test; `progress` is told each row as it finishes.
pub async fn run(
    config: &SelftestConfig,
    progress: &mut dyn FnMut(&Row),
) -> Result<SelftestReport, Error> {
    let mut rows = Vec::new();
    let mut targets: Vec<(Option<&emulator::MutantInfo>, Dialect)> =
        vec![(None, Dialect::AwsJson), (None, Dialect::Envelope)];
    for m in emulator::mutants() {
        if config.mutants.is_empty() || config.mutants.iter().any(|n| n == m.name) {
            targets.push((Some(m), m.dialect.unwrap_or(Dialect::AwsJson)));
        }
    }
    for wanted in &config.mutants {
        emulator::find_mutant(wanted).map_err(|why| {
            Error::Config(crate::target::ConfigError {
                message: format!("unknown mutant {wanted:?}: {why}"),
                hint: "list them with `opsworkscm-conformance emulate --list-mutants`".into(),
            })
        })?;
    }
    for (mutant, dialect) in targets {
        let run_config = RunConfig {
            endpoint: EndpointSpec::Embedded,
            endpoint_arg: "embedded".into(),
            dialect,
            cases: config.cases,
            seed: Some(config.seed),
            report_dir: None,
            scenarios_dir: config.scenarios_dir.clone(),
            save_regressions: false,
            emulator: EmulatorSettings {
                mutant: mutant.map(|m| m.name.to_string()),
                ..EmulatorSettings::default()
            },
            stop_at_first: mutant.is_some(),
            reproduce_runs: 3,
            concurrency_rounds: config.concurrency_rounds,
            ..RunConfig::default()
        };
        let t0 = Instant::now();
        let outcome = runner::run(run_config).await?;
        let first = outcome.report.divergences.first();
        let row = Row {
            name: mutant
                .map(|m| m.name.to_string())
                .unwrap_or_else(|| format!("(correct, {})", dialect.name())),
            description: mutant
                .map(|m| m.description.to_string())
                .unwrap_or_else(|| "the emulator as shipped".into()),
            dialect,
            mutant: mutant.map(|m| m.name.to_string()),
            exit: outcome.exit,
            rule: first.map(|d| d.rule.clone()),
            trial: first.map(|d| d.trial.clone()),
            calls: outcome.report.calls_to_first_divergence,
            seconds: outcome.first_divergence_after.map(|d| d.as_secs_f64()),
            shrunk_steps: first.map(|d| d.plan.steps.len()),
            run_seconds: t0.elapsed().as_secs_f64(),
            error: outcome.report.error.clone(),
        };
        progress(&row);
        rows.push(row);
    }
    Ok(SelftestReport { rows })
}
