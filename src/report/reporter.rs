//! A run with its reporters, as nextest's `Reporter` is: the runner's one event stream goes to
//! the console line, the progress bar (`--progress`) and the report builder; when the run is
//! over the report is redacted and its files are written (`--report-dir`). The CLI, `selftest`,
//! the tests and the benchmarks run the suite through [`run`] and [`replay`].

use std::path::Path;
use std::time::Duration;

use crate::exit::{ConfigError, Error, ExitCode};
use crate::runner::{self, EventSink, RunConfig, RunEvent};

use super::builder::ReportBuilder;
use super::console::ConsoleReporter;
use super::progress::Progress;
use super::{write_all, RunReport, WrittenReports};

/// The result of a run.
pub struct RunOutcome {
    pub report: RunReport,
    pub exit: ExitCode,
    pub written: Option<WrittenReports>,
    /// Time from the start of the run to the first divergence (before shrinking).
    pub first_divergence_after: Option<Duration>,
}

/// Every reporter of a run: each event goes to each of them, in this order.
#[derive(Default)]
pub struct Reporter {
    console: ConsoleReporter,
    progress: Option<Progress>,
    builder: ReportBuilder,
}

impl Reporter {
    /// The reporters `config` asks for.
    pub fn new(config: &RunConfig) -> Self {
        Reporter {
            progress: config.progress.then(Progress::default),
            ..Reporter::default()
        }
    }
}

impl EventSink for Reporter {
    fn event(&mut self, event: &RunEvent<'_>) {
        self.console.event(event);
        if let Some(p) = &mut self.progress {
            p.event(event);
        }
        self.builder.event(event);
    }
}

/// Runs the suite as configured; writes the report files into `--report-dir`, if one is set.
pub async fn run(config: RunConfig) -> Result<RunOutcome, Error> {
    let mut reporter = Reporter::new(&config);
    let end = runner::run(&config, &mut reporter).await?;
    let report = reporter
        .builder
        .finish()
        .expect("a run ends with RunFinished")
        .redacted(&end.secrets);
    let written = write_reports(&config, &report, &end.secrets)?;
    Ok(RunOutcome {
        report,
        exit: end.summary.exit,
        written,
        first_divergence_after: end.summary.first_divergence_after,
    })
}

/// Runs one plan file (`replay`): the same checks as [`run`], one trial, no generation.
pub async fn replay(config: RunConfig, file: &Path) -> Result<RunOutcome, Error> {
    run(runner::replay_config(config, file)?).await
}

/// Writes the report files into `--report-dir`, if one is set.
fn write_reports(
    config: &RunConfig,
    report: &RunReport,
    secrets: &[String],
) -> Result<Option<WrittenReports>, Error> {
    let Some(dir) = &config.report_dir else {
        return Ok(None);
    };
    write_all(report, dir, secrets).map(Some).map_err(|e| {
        Error::Config(ConfigError {
            message: format!("cannot write the reports: {e}"),
            hint: format!(
                "check that {} is writable, or pass --report-dir DIR",
                dir.display()
            ),
        })
    })
}
