//! The command line: clap definitions (doc comments are the help text) and the dispatch from
//! parsed flags to the library. No logic lives here that a test cannot reach through the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::emulator::{self, EmulatorConfig, ReadingSet};
use crate::exit::{ConfigError, Error, ExitCode};
use crate::report;
use crate::runner::{ControlPlaneMode, EmulatorSettings, RunConfig};
use crate::selftest;
use crate::target::{self, ClientSettings, EndpointSpec};
use crate::wire::Dialect;

/// Property-based conformance harness for the AWS OpsWorks CM CreateBackup operation, and the
/// emulator it ships with.
#[derive(Debug, Parser)]
#[command(name = "opsworkscm-conformance", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance suite (scenarios + generated cases) against one endpoint and write
    /// reports. Exit codes: 0 conformed, 1 divergence, 2 usage error, 3 could not judge.
    Run(RunArgs),
    /// Serve the bundled OpsWorks CM emulator over HTTP until stopped (Ctrl-C).
    Emulate(EmulateArgs),
    /// Run one saved scenario (hand-written or a shrunk counterexample) against an endpoint.
    Replay(ReplayArgs),
    /// Run the suite against each built-in mutant of the emulator and print the kill rate.
    Selftest(SelftestArgs),
    /// List every rule id with its text, the scenario files that name it and the mutants that
    /// break it (RULES.md adds the unit tests).
    Rules(RulesArgs),
}

/// The wire format of an endpoint.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DialectArg {
    /// The real service protocol: awsJson 1.1 with X-Amz-Target.
    AwsJson,
    /// The seed page's stub format: {"success": ..., "data" | "error": ...}.
    Envelope,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Dialect {
        match d {
            DialectArg::AwsJson => Dialect::AwsJson,
            DialectArg::Envelope => Dialect::Envelope,
        }
    }
}

/// Whether to use the fixture control plane.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ControlPlaneArg {
    /// Use it when the endpoint offers it (GET /_conformance/v1/capabilities).
    Auto,
    /// Test through the public API only.
    Off,
}

/// Where the endpoint is and what to test there: shared by `run`, `replay` and the conformance
/// test harness (`cargo test --test conformance -- --endpoint URL`).
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The endpoint: a base URL (http://127.0.0.1:4566), the documented AWS form
    /// (http://opsworks-cm.{region}.amazonaws.com/#X-Amz-Target=OpsWorksCM_V2016_11_01.CreateBackup),
    /// or `embedded` (the bundled emulator, in-process). Default: AWS_ENDPOINT_URL_OPSWORKSCM,
    /// then AWS_ENDPOINT_URL, then embedded.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region for {region} and for SigV4. Default: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Wire format of the endpoint.
    #[arg(long, value_enum, default_value = "aws-json")]
    pub dialect: DialectArg,
    /// Use the fixture control plane when the endpoint offers it, or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub control_plane: ControlPlaneArg,
    /// An existing server to test through the public API (endpoints without a control plane,
    /// such as real AWS). Repeatable.
    #[arg(long = "server", value_name = "NAME")]
    pub servers: Vec<String>,
    /// Which operations the endpoint must serve: `served` judges it on the operations it
    /// serves (those answered with UnknownOperationException are reported), `all` fails the
    /// run when one is not served.
    #[arg(long, value_enum, default_value = "served", value_name = "WHICH")]
    pub require_operations: RequireOperationsArg,
}

/// `--require-operations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RequireOperationsArg {
    /// Judge the endpoint on the operations it serves.
    Served,
    /// Every operation must be served.
    All,
}

impl TargetArgs {
    /// The endpoint and region these flags (and the environment, through `env`) name.
    pub fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(EndpointSpec, String), ConfigError> {
        let region = target::resolve_region(self.region.as_deref(), env);
        let (endpoint, note) =
            target::resolve_endpoint_noting(self.endpoint.as_deref(), &region, env)?;
        if let Some(note) = note {
            // An http:// URL of an AWS host is sent over https: say so once, at the start.
            eprintln!("note: {note}");
        }
        Ok((endpoint, region))
    }
}

/// How much to generate: shared by `run` and the conformance test harness.
#[derive(Debug, Args)]
pub struct CasesArgs {
    /// Generated sequences to run.
    #[arg(long, value_name = "N", env = "PROPTEST_CASES", default_value_t = 256)]
    pub cases: u64,
    /// Seed for generation; the same seed against the same endpoint replays the same sequences.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Stop at the first divergence, once it is shrunk (the default for the conformance
    /// suite's properties when CI is set).
    #[arg(long)]
    pub fail_fast: bool,
}

/// The flags `tests/conformance.rs` takes besides libtest's own (the same as `run`'s).
#[derive(Debug, Parser)]
#[command(no_binary_name = true)]
pub struct SuiteArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub cases: CasesArgs,
}

impl From<ControlPlaneArg> for ControlPlaneMode {
    fn from(c: ControlPlaneArg) -> ControlPlaneMode {
        match c {
            ControlPlaneArg::Auto => ControlPlaneMode::Auto,
            ControlPlaneArg::Off => ControlPlaneMode::Off,
        }
    }
}

/// Flags shared by `run` and `replay`: where the endpoint is and how to talk to it.
#[derive(Debug, Args)]
pub struct EndpointArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Stop after N API calls (a cost cap on real accounts); a run cut short cannot be judged (exit 3).
    #[arg(long, value_name = "N")]
    pub max_calls: Option<u64>,
    /// Shared-config profile for credentials (also AWS_PROFILE). Requests are signed with SigV4
    /// whenever credentials are found (environment, shared config and credentials files).
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Sign requests even over plain http:// to a host that is not loopback (by default that is
    /// refused: the signed headers would cross the network unencrypted). http:// URLs of AWS
    /// hosts are always upgraded to https://.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Seconds to wait for one answer before the call counts as indeterminate.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub timeout: u64,
    /// How long to poll for asynchronous work to settle without a control plane (e.g. 30s).
    #[arg(long, value_name = "D", default_value = "30s", value_parser = humantime::parse_duration)]
    pub settle_wait: Duration,
    /// Where reports go.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report_dir: PathBuf,
    /// With --endpoint embedded: serve this deliberately wrong variant (see `emulate --list-mutants`).
    #[arg(long, value_name = "NAME")]
    pub mutant: Option<String>,
    /// With --endpoint embedded: backups finish by themselves after D (e.g. 50ms, 1s).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub backup_duration: Option<Duration>,
    /// With --endpoint embedded: serve this legal reading of an ambiguous rule (repeatable;
    /// `all` for every one that combines; see `emulate --list-readings`).
    #[arg(long = "reading", value_name = "NAME")]
    pub readings: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub cases: CasesArgs,
    /// Scenario files to run besides generated cases (shrunk counterexamples are saved under
    /// DIR/regressions and replayed first on later runs; against --mutant, under
    /// REPORT-DIR/regressions instead).
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Do not save shrunk counterexamples under the scenarios directory.
    #[arg(long)]
    pub no_save_regressions: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario file to run.
    pub file: PathBuf,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
}

#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4566")]
    pub listen: std::net::SocketAddr,
    /// Wire format to serve.
    #[arg(long, value_enum, default_value = "aws-json")]
    pub dialect: DialectArg,
    /// Serve a deliberately wrong variant (for self-tests); see --list-mutants.
    #[arg(long, value_name = "NAME")]
    pub mutant: Option<String>,
    /// Print the mutants, one a line (name, then what it gets wrong), and exit.
    #[arg(long)]
    pub list_mutants: bool,
    /// Serve this legal reading of an ambiguous rule instead of the reference one (repeatable).
    /// `all` serves every reading that combines: of exclusive ones it takes
    /// error-type-namespaced (not error-type-suffixed), delete-in-progress-keeps-backing-up
    /// (not created-ok) and partial-operations-declared (not partial-operations nor
    /// delete-server-validation).
    #[arg(long = "reading", value_name = "NAME")]
    pub readings: Vec<String>,
    /// Print the readings, one a line (name, what it does, which ambiguity), and exit.
    #[arg(long)]
    pub list_readings: bool,
    /// Reject requests whose SigV4 signature does not verify (known keys: AWS_ACCESS_KEY_ID /
    /// AWS_SECRET_ACCESS_KEY when set, and test/test).
    #[arg(long)]
    pub verify_sigv4: bool,
    /// Backups finish by themselves after D (e.g. 50ms, 1s; 0 = at once); by default they wait
    /// for the control plane's settle.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub backup_duration: Option<Duration>,
    /// The manual-backup limit.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// Region used in ARNs and for SigV4 verification.
    #[arg(long, value_name = "R", default_value = "us-east-1")]
    pub region: String,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// The scenario library whose files name the rules.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Print the markdown table (RULES.md's form, without the unit tests).
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Generated sequences per mutant.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub cases: u64,
    /// Seed for generation.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Scenario files to run besides generated cases.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Only these mutants (repeatable); default all.
    #[arg(long = "mutant", value_name = "NAME")]
    pub mutants: Vec<String>,
    /// Only these readings for the correct emulator (repeatable; `all` is the combined set);
    /// default each reading, then all.
    #[arg(long = "reading", value_name = "NAME")]
    pub readings: Vec<String>,
    /// Runs (seeds SEED, SEED+1, ...) of each race mutant to measure its detection rate.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub race_runs: u64,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Builds a run configuration from the endpoint flags.
pub fn run_config(e: &EndpointArgs) -> Result<RunConfig, Error> {
    let (endpoint, region) = e.target.resolve(&env)?;
    let embedded = endpoint == EndpointSpec::Embedded;
    if !embedded && (e.mutant.is_some() || e.backup_duration.is_some() || !e.readings.is_empty()) {
        return Err(ConfigError {
            message:
                "--mutant, --reading and --backup-duration apply to the embedded emulator only"
                    .into(),
            hint: "drop them, or use --endpoint embedded".into(),
        }
        .into());
    }
    let readings = parse_readings(&e.readings)?;
    if let Some(m) = &e.mutant {
        emulator::find_mutant(m)?;
    }
    if e.timeout == 0 {
        return Err(ConfigError {
            message: "--timeout must be at least 1 second".into(),
            hint: "e.g. --timeout 15".into(),
        }
        .into());
    }
    let endpoint_arg = e
        .target
        .endpoint
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_OPSWORKSCM"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| "embedded".into());
    Ok(RunConfig {
        endpoint,
        endpoint_arg: match &target::parse_endpoint(&endpoint_arg, &region) {
            Ok(EndpointSpec::Url(u)) => u.to_string(),
            _ => "embedded".into(),
        },
        dialect: e.target.dialect.into(),
        region,
        control_plane: e.target.control_plane.into(),
        servers: e.target.servers.clone(),
        require_all_operations: e.target.require_operations == RequireOperationsArg::All,
        max_calls: e.max_calls,
        profile: e.profile.clone(),
        progress: std::io::stderr().is_terminal(),
        report_dir: Some(e.report_dir.clone()),
        emulator: EmulatorSettings {
            mutant: e.mutant.clone(),
            readings,
            backup_duration: e.backup_duration,
            verify_sigv4: false,
        },
        client: ClientSettings {
            request_timeout: Duration::from_secs(e.timeout),
            allow_insecure_http: e.allow_insecure_http,
            ..ClientSettings::default()
        },
        settle_wait: e.settle_wait,
        ..RunConfig::default()
    })
}

/// The `--reading` values as a set (a usage error names the bad one).
fn parse_readings(names: &[String]) -> Result<ReadingSet, Error> {
    Ok(ReadingSet::parse(names)?)
}

/// Runs the parsed command on a new async runtime; returns the exit code. Every exit of the
/// binary goes through here.
pub fn main(cli: Cli) -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(anyhow::anyhow!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(command(cli)));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            e.exit_code()
        }
    }
}

async fn command(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Replay(args) => replay(args).await,
        Command::Emulate(args) => emulate(args).await,
        Command::Selftest(args) => selftest(args).await,
        Command::Rules(args) => rules(args),
    }
}

fn rules(args: RulesArgs) -> Result<ExitCode, Error> {
    note_missing_scenarios(&args.scenarios);
    let library = if args.scenarios.is_dir() {
        crate::scenarios::load_scenarios(Some(&args.scenarios))?
    } else {
        Vec::new()
    };
    let rows = crate::rules_table::rows(&library, &Default::default());
    if args.markdown {
        print!("{}", crate::rules_table::to_markdown(&rows));
    } else {
        print!("{}", crate::rules_table::to_text(&rows));
    }
    Ok(ExitCode::Pass)
}

async fn run(args: RunArgs) -> Result<ExitCode, Error> {
    let mut config = run_config(&args.endpoint)?;
    config.cases = args.cases.cases;
    config.seed = args.cases.seed;
    config.stop_at_first = args.cases.fail_fast;
    note_missing_scenarios(&args.scenarios);
    config.scenarios_dir = Some(args.scenarios);
    config.save_regressions = !args.no_save_regressions;
    finish(report::run(config).await?)
}

async fn replay(args: ReplayArgs) -> Result<ExitCode, Error> {
    let config = run_config(&args.endpoint)?;
    finish(report::replay(config, &args.file).await?)
}

/// A scenario directory that does not exist means "generated cases only" (the benchmarks ask
/// for that on purpose), but run from outside the repository the default `scenarios/` is easy
/// to miss: say so before the run rather than let the library silently not run.
fn note_missing_scenarios(dir: &std::path::Path) {
    if !dir.exists() {
        eprintln!(
            "note: no scenario directory at {}: only generated cases run \
             (hint: run from the repository root, or pass --scenarios DIR)",
            dir.display()
        );
    }
}

fn finish(outcome: report::RunOutcome) -> Result<ExitCode, Error> {
    println!(
        "{}",
        report::console_summary(&outcome.report, outcome.written.as_ref())
    );
    Ok(outcome.exit)
}

async fn emulate(args: EmulateArgs) -> Result<ExitCode, Error> {
    if args.list_mutants {
        for m in emulator::mutants() {
            println!("{:<28} {}", m.name, m.description);
        }
        return Ok(ExitCode::Pass);
    }
    if args.list_readings {
        for r in emulator::readings::readings() {
            println!("{:<36} {:<13} {}", r.name, r.ambiguity, r.description);
        }
        return Ok(ExitCode::Pass);
    }
    let readings = parse_readings(&args.readings)?;
    if let Some(m) = &args.mutant {
        emulator::find_mutant(m)?;
    }
    emulator::serve_until_ctrl_c(EmulatorConfig {
        listen: args.listen,
        dialect: args.dialect.into(),
        mutant: args.mutant,
        readings,
        verify_sigv4: args.verify_sigv4,
        backup_duration: args.backup_duration,
        limit: args.limit,
        region: args.region,
    })
    .await
    .map_err(|e| {
        Error::Config(ConfigError {
            message: format!("{e:#}"),
            hint: "pick another address with --listen, e.g. --listen 127.0.0.1:0".into(),
        })
    })?;
    Ok(ExitCode::Pass)
}

async fn selftest(args: SelftestArgs) -> Result<ExitCode, Error> {
    let defaults = selftest::SelftestConfig::default();
    let readings = if args.readings.is_empty() {
        defaults.readings.clone()
    } else {
        args.readings
            .iter()
            .map(|name| parse_readings(std::slice::from_ref(name)))
            .collect::<Result<Vec<_>, _>>()?
    };
    note_missing_scenarios(&args.scenarios);
    let config = selftest::SelftestConfig {
        cases: args.cases,
        seed: args.seed,
        scenarios_dir: Some(args.scenarios),
        mutants: args.mutants,
        readings,
        race_runs: args.race_runs,
        ..defaults
    };
    let mut done = 0;
    let report = selftest::run(&config, &mut |row| {
        done += 1;
        eprintln!(
            "[{done}] {:<28} {:<24} {} ({:.1} s)",
            row.name,
            row.readings.label(),
            if row.ok() { "ok" } else { "NOT OK" },
            row.run_seconds
        );
    })
    .await?;
    println!("{}", report.table());
    Ok(report.exit_code())
}
