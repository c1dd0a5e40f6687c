//! What a run needs: the endpoint, how much to run, where to write, and the embedded
//! emulator's settings.

use std::path::PathBuf;
use std::time::Duration;

use crate::plan::Plan;
use crate::target::{ClientSettings, EndpointSpec};
use crate::wire::Dialect;

/// Whether to use the fixture control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlPlaneMode {
    /// Use it when the endpoint offers it.
    Auto,
    /// Test through the public API only.
    Off,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub endpoint: EndpointSpec,
    /// The endpoint as the user gave it (for replay commands).
    pub endpoint_arg: String,
    pub dialect: Dialect,
    pub region: String,
    pub cases: u64,
    pub seed: Option<u64>,
    pub report_dir: Option<PathBuf>,
    pub scenarios_dir: Option<PathBuf>,
    pub control_plane: ControlPlaneMode,
    pub servers: Vec<String>,
    pub max_calls: Option<u64>,
    pub profile: Option<String>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Save shrunk counterexamples under `<scenarios>/regressions/`.
    pub save_regressions: bool,
    /// The bundled emulator's settings when the endpoint is `embedded`.
    pub emulator: EmulatorSettings,
    pub client: ClientSettings,
    /// How long to poll for asynchronous work to settle without a control plane.
    pub settle_wait: Duration,
    /// Steps at most in a generated plan.
    pub max_steps: usize,
    /// Shrink candidates tried at most.
    pub max_shrink_iters: u32,
    /// Re-runs of a minimal counterexample to measure its reproduction rate.
    pub reproduce_runs: u32,
    /// Only these trials (names); empty means all.
    pub only_trials: Vec<String>,
    /// Generated cases run (false to run scenarios only).
    pub generated: bool,
    /// Plans to run instead of reading `scenarios_dir` (named trials).
    pub plans: Option<Vec<(String, Plan)>>,
    /// The trial name of the generated cases.
    pub property_name: String,
    /// Stop at the first divergence, once shrunk (`--fail-fast`; self-tests: one is enough to
    /// kill a mutant).
    pub stop_at_first: bool,
    /// `--require-operations all`: an operation the endpoint does not serve fails the run.
    pub require_all_operations: bool,
    /// Credentials to sign with instead of the standard sources (for tests and embedding).
    pub credentials: Option<aws_credential_types::Credentials>,
}

/// The embedded emulator's settings (for `selftest` and tests).
#[derive(Debug, Clone, Default)]
pub struct EmulatorSettings {
    pub mutant: Option<String>,
    /// Legal readings to serve (`--reading`).
    pub readings: crate::emulator::ReadingSet,
    pub backup_duration: Option<Duration>,
    pub verify_sigv4: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            endpoint: EndpointSpec::Embedded,
            endpoint_arg: "embedded".into(),
            dialect: Dialect::AwsJson,
            region: "us-east-1".into(),
            cases: 256,
            seed: None,
            report_dir: Some(PathBuf::from("reports")),
            scenarios_dir: Some(PathBuf::from("scenarios")),
            control_plane: ControlPlaneMode::Auto,
            servers: Vec::new(),
            max_calls: None,
            profile: None,
            progress: false,
            save_regressions: true,
            emulator: EmulatorSettings::default(),
            client: ClientSettings::default(),
            settle_wait: Duration::from_secs(30),
            max_steps: 24,
            max_shrink_iters: 1024,
            reproduce_runs: 5,
            only_trials: Vec::new(),
            generated: true,
            plans: None,
            property_name: "property::generated-sequences".into(),
            stop_at_first: false,
            credentials: None,
            require_all_operations: false,
        }
    }
}
