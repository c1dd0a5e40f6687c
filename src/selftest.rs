//! The harness's own power, measured: run the suite against the correct emulator (both
//! dialects, and under each legal reading it can serve) and against each built-in mutant (on
//! the reference readings and on top of `--reading all`), a fresh emulator each.
//!
//! The correct emulator must pass (exit 0) under every reading: a divergence there is a false
//! positive of the model or checker. A mutant is killed only by a divergence whose rule belongs
//! to the mutant's own family ([`MutantInfo::rules`]); one caught under an unrelated rule is
//! not killed (the suite found something, but not the bug). Race mutants are run with several
//! seeds and their detection rate is reported.

use std::path::PathBuf;
use std::time::Instant;

use crate::emulator::{self, MutantInfo, ReadingSet};
use crate::exit::{Error, ExitCode};
use crate::plan::Plan;
use crate::report;
use crate::runner::{EmulatorSettings, RunConfig};
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
    /// Whether the correct emulator runs under the reference readings in both dialects.
    pub reference_rows: bool,
    /// The correct emulator runs under each of these reading sets (besides the reference
    /// readings in both dialects).
    pub readings: Vec<ReadingSet>,
    /// Every mutant runs on top of each of these reading sets.
    pub mutant_readings: Vec<ReadingSet>,
    /// Runs (seeds `seed`, `seed + 1`, ...) of each race mutant on the reference readings, to
    /// measure how often the race is caught; 0 or 1 for a single run.
    pub race_runs: u64,
}

impl Default for SelftestConfig {
    fn default() -> Self {
        SelftestConfig {
            cases: 256,
            seed: 1,
            scenarios_dir: Some(PathBuf::from("scenarios")),
            mutants: Vec::new(),
            reference_rows: true,
            readings: each_reading_then_all(),
            mutant_readings: vec![ReadingSet::REFERENCE, ReadingSet::all_served()],
            race_runs: 10,
        }
    }
}

/// Every reading alone, then `all`.
pub fn each_reading_then_all() -> Vec<ReadingSet> {
    let mut sets: Vec<ReadingSet> = emulator::Reading::ALL
        .iter()
        .map(|r| ReadingSet::of(&[*r]))
        .collect();
    sets.push(ReadingSet::all());
    sets
}

/// How a run ended, judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The correct emulator conformed.
    Passed,
    /// The correct emulator diverged (a false positive) or could not be judged.
    Failed,
    /// A mutant was caught under a rule of its family.
    Killed,
    /// A mutant was caught, but under a rule of another family.
    Unrelated,
    /// A mutant conformed.
    Survived,
}

impl Verdict {
    pub fn ok(self) -> bool {
        matches!(self, Verdict::Passed | Verdict::Killed)
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "FAILED",
            Verdict::Killed => "killed",
            Verdict::Unrelated => "UNRELATED",
            Verdict::Survived => "SURVIVED",
        }
    }
}

/// One row of the table: a mutant (or the correct emulator) under some readings, and what the
/// run found.
#[derive(Debug, Clone)]
pub struct Row {
    /// The mutant's name, or `(correct)`.
    pub name: String,
    pub description: String,
    pub dialect: Dialect,
    /// None for the correct emulator.
    pub mutant: Option<String>,
    /// The mutant's family of rules (None for the correct emulator).
    pub family: Option<String>,
    /// The readings the emulator served.
    pub readings: ReadingSet,
    pub exit: ExitCode,
    pub verdict: Verdict,
    /// The rule of the first divergence.
    pub rule: Option<String>,
    /// Its one-line reason.
    pub reason: Option<String>,
    /// The trial that found it.
    pub trial: Option<String>,
    /// Calls sent up to the first divergence, and seconds until it was seen.
    pub calls: Option<u64>,
    pub seconds: Option<f64>,
    /// Steps of the shrunk plan.
    pub shrunk_steps: Option<usize>,
    /// Whole run time (shrinking and re-runs included).
    pub run_seconds: f64,
    /// Why the run could not judge, if it could not.
    pub error: Option<String>,
}

impl Row {
    /// A mutant is killed by a divergence of its family; the correct emulator passes.
    pub fn ok(&self) -> bool {
        self.verdict.ok()
    }
}

/// Calls to the first divergence of the mutants of one family, on the reference readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyCalls {
    pub family: String,
    /// Mutants of the family, and those killed by it.
    pub mutants: usize,
    pub killed: usize,
    /// Median and maximum calls to the first divergence over the killed ones.
    pub median: Option<u64>,
    pub max: Option<u64>,
}

/// How often a race mutant was caught over several seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceRate {
    pub mutant: String,
    /// Runs that killed it (a divergence of its family).
    pub detected: u64,
    pub runs: u64,
}

/// The whole self-test.
#[derive(Debug, Clone)]
pub struct SelftestReport {
    pub rows: Vec<Row>,
    pub races: Vec<RaceRate>,
}

impl SelftestReport {
    /// (killed by their family, mutants) among the rows served under `readings`.
    pub fn kill_rate_under(&self, readings: ReadingSet) -> (usize, usize) {
        let mutants: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.mutant.is_some() && r.readings == readings)
            .collect();
        (mutants.iter().filter(|r| r.ok()).count(), mutants.len())
    }

    /// (killed by their family, mutants) over every mutant row.
    pub fn kill_rate(&self) -> (usize, usize) {
        let mutants: Vec<&Row> = self.rows.iter().filter(|r| r.mutant.is_some()).collect();
        (mutants.iter().filter(|r| r.ok()).count(), mutants.len())
    }

    /// Calls to the first divergence per family of mutants, on the reference readings, in the
    /// order the families first appear.
    pub fn calls_by_family(&self) -> Vec<FamilyCalls> {
        let mut out: Vec<FamilyCalls> = Vec::new();
        let mut calls: Vec<Vec<u64>> = Vec::new();
        let rows = self.rows.iter().filter(|r| r.readings.is_empty());
        for r in rows {
            let Some(family) = &r.family else { continue };
            let k = match out.iter().position(|f| &f.family == family) {
                Some(k) => k,
                None => {
                    out.push(FamilyCalls {
                        family: family.clone(),
                        mutants: 0,
                        killed: 0,
                        median: None,
                        max: None,
                    });
                    calls.push(Vec::new());
                    out.len() - 1
                }
            };
            out[k].mutants += 1;
            if let (true, Some(c)) = (r.ok(), r.calls) {
                out[k].killed += 1;
                calls[k].push(c);
            }
        }
        for (f, mut c) in out.iter_mut().zip(calls) {
            c.sort_unstable();
            f.median = c.get(c.len().saturating_sub(1) / 2).copied();
            f.max = c.last().copied();
        }
        out
    }

    /// Every mutant killed by its family and the correct emulator passed everywhere.
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
            "{:<28} {:<30} {:<9} {:<9} {:<42} {:>7} {:>8} {:>6}\n",
            "mutant", "readings", "dialect", "result", "rule reported", "calls", "seconds", "steps"
        );
        for r in &self.rows {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "{:<28} {:<30} {:<9} {:<9} {:<42} {:>7} {:>8} {:>6}\n",
                r.name,
                abbreviate(&r.readings.label(), 30),
                r.dialect.name(),
                r.verdict.label(),
                opt(r
                    .rule
                    .clone()
                    .or(r.error.clone().map(|e| abbreviate(&e, 42)))),
                opt(r.calls.map(|c| c.to_string())),
                opt(r.seconds.map(|s| format!("{s:.2}"))),
                opt(r.shrunk_steps.map(|s| s.to_string())),
            ));
        }
        out.push('\n');
        out.push_str(&self.summary());
        out
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        let mut sets: Vec<ReadingSet> = Vec::new();
        for r in self.rows.iter().filter(|r| r.mutant.is_some()) {
            if !sets.contains(&r.readings) {
                sets.push(r.readings);
            }
        }
        for set in sets {
            let (killed, total) = self.kill_rate_under(set);
            out.push_str(&format!(
                "kill rate (readings {}): {killed} of {total} mutants killed by their own family ({:.0}%)\n",
                set.label(),
                percent(killed as u64, total as u64)
            ));
        }
        let families = self.calls_by_family();
        if !families.is_empty() {
            out.push_str("calls to the first divergence by family (reference readings):\n");
        }
        for f in families {
            let n = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |c| c.to_string());
            out.push_str(&format!(
                "  {:<18} median {:>6}, max {:>6} ({} of {} killed)\n",
                f.family,
                n(f.median),
                n(f.max),
                f.killed,
                f.mutants
            ));
        }
        for race in &self.races {
            out.push_str(&format!(
                "race detection ({}): {} of {} runs ({:.0}%)\n",
                race.mutant,
                race.detected,
                race.runs,
                percent(race.detected, race.runs)
            ));
        }
        let failed: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.mutant.is_none() && !r.ok())
            .map(|r| format!("{} ({})", r.readings.label(), opt_str(&r.rule)))
            .collect();
        if failed.is_empty() {
            out.push_str("correct emulator: passed under every reading\n");
        } else {
            out.push_str(&format!(
                "correct emulator: FAILED under {} (a false divergence: a bug in the model or checker)\n",
                failed.join(", ")
            ));
        }
        out
    }
}

fn opt_str(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("could not judge")
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        100.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

fn abbreviate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}...", s.chars().take(n - 3).collect::<String>())
    } else {
        s.to_string()
    }
}

/// One run to make: the correct emulator or a mutant, in a dialect, under readings, with a seed.
#[derive(Clone, Copy)]
struct Target {
    mutant: Option<&'static MutantInfo>,
    dialect: Dialect,
    readings: ReadingSet,
    seed: u64,
}

/// Runs the self-test; `progress` is told each row as it finishes.
pub async fn run(
    config: &SelftestConfig,
    progress: &mut dyn FnMut(&Row),
) -> Result<SelftestReport, Error> {
    let mutants = chosen_mutants(config)?;
    // The scenario library is read and checked against the documents once, not once per row.
    let plans = crate::scenarios::load_scenarios(config.scenarios_dir.as_deref())?;
    let mut rows = Vec::new();
    for target in targets(config, &mutants) {
        let row = run_one(config, &plans, target).await?;
        progress(&row);
        rows.push(row);
    }
    let mut races = Vec::new();
    for m in mutants.iter().filter(|m| m.family == "race") {
        let Some(first) = rows
            .iter()
            .find(|r| r.mutant.as_deref() == Some(m.name) && r.readings.is_empty())
        else {
            continue;
        };
        let mut detected = u64::from(first.ok());
        for k in 1..config.race_runs.max(1) {
            let target = Target {
                mutant: Some(m),
                dialect: Dialect::AwsJson,
                readings: ReadingSet::REFERENCE,
                seed: config.seed + k,
            };
            detected += u64::from(run_one(config, &plans, target).await?.ok());
        }
        races.push(RaceRate {
            mutant: m.name.to_string(),
            detected,
            runs: config.race_runs.max(1),
        });
    }
    Ok(SelftestReport { rows, races })
}

fn chosen_mutants(config: &SelftestConfig) -> Result<Vec<&'static MutantInfo>, Error> {
    for wanted in &config.mutants {
        emulator::find_mutant(wanted)?;
    }
    Ok(emulator::mutants()
        .iter()
        .filter(|m| config.mutants.is_empty() || config.mutants.iter().any(|n| n == m.name))
        .collect())
}

/// The correct emulator in both dialects, then under each reading set, then each mutant under
/// each of the mutant reading sets.
fn targets(config: &SelftestConfig, mutants: &[&'static MutantInfo]) -> Vec<Target> {
    let correct = |dialect, readings| Target {
        mutant: None,
        dialect,
        readings,
        seed: config.seed,
    };
    let mut out = Vec::new();
    if config.reference_rows {
        out.push(correct(Dialect::AwsJson, ReadingSet::REFERENCE));
        out.push(correct(Dialect::Envelope, ReadingSet::REFERENCE));
    }
    out.extend(
        config
            .readings
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| correct(Dialect::AwsJson, *r)),
    );
    for readings in &config.mutant_readings {
        out.extend(mutants.iter().map(|m| Target {
            mutant: Some(*m),
            dialect: m.dialect.unwrap_or(Dialect::AwsJson),
            readings: *readings,
            seed: config.seed,
        }));
    }
    out
}

async fn run_one(
    config: &SelftestConfig,
    plans: &[(String, Plan)],
    target: Target,
) -> Result<Row, Error> {
    let Target {
        mutant,
        dialect,
        readings,
        seed,
    } = target;
    let run_config = RunConfig {
        endpoint: EndpointSpec::Embedded,
        endpoint_arg: "embedded".into(),
        dialect,
        cases: config.cases,
        seed: Some(seed),
        report_dir: None,
        scenarios_dir: config.scenarios_dir.clone(),
        plans: Some(plans.to_vec()),
        save_regressions: false,
        emulator: EmulatorSettings {
            mutant: mutant.map(|m| m.name.to_string()),
            readings,
            ..EmulatorSettings::default()
        },
        stop_at_first: mutant.is_some(),
        reproduce_runs: 3,
        ..RunConfig::default()
    };
    let t0 = Instant::now();
    let outcome = report::run(run_config).await?;
    let first = outcome.report.divergences.first();
    let rule = first.map(|d| d.rule.clone());
    let verdict = match (mutant, outcome.exit) {
        (None, ExitCode::Pass) => Verdict::Passed,
        (None, _) => Verdict::Failed,
        (Some(m), ExitCode::Divergence) if rule.as_deref().is_some_and(|r| m.owns(r)) => {
            Verdict::Killed
        }
        (Some(_), ExitCode::Divergence) => Verdict::Unrelated,
        (Some(_), _) => Verdict::Survived,
    };
    Ok(Row {
        name: mutant.map_or_else(|| "(correct)".to_string(), |m| m.name.to_string()),
        description: mutant.map_or_else(
            || "the emulator as shipped".to_string(),
            |m| m.description.to_string(),
        ),
        dialect,
        mutant: mutant.map(|m| m.name.to_string()),
        family: mutant.map(|m| m.family.to_string()),
        readings,
        exit: outcome.exit,
        verdict,
        rule,
        reason: first.map(|d| d.message.clone()),
        trial: first.map(|d| d.trial.clone()),
        calls: outcome.report.calls_to_first_divergence,
        seconds: outcome.first_divergence_after.map(|d| d.as_secs_f64()),
        shrunk_steps: first.map(|d| d.plan.steps.len()),
        run_seconds: t0.elapsed().as_secs_f64(),
        error: outcome.report.error.clone(),
    })
}
