//! Exit codes: one documented contract for every subcommand that judges an endpoint
//! (interfaces.md section 1).

/// How a run ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum ExitCode {
    /// 0: every case conformed.
    Pass = 0,
    /// 1: at least one divergence from the reference model was found.
    Divergence = 1,
    /// 2: usage or configuration error (bad flag, unreadable scenario file, bad URL).
    Usage = 2,
    /// 3: the run could not judge the endpoint (unreachable, every call timed out, aborted).
    Unjudged = 3,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// A configuration error: exit code 2, with a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}\n(hint: {hint})")]
pub struct ConfigError {
    pub message: String,
    pub hint: String,
}

/// A failure before or outside judging: carries its exit code and a hint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, files or URLs (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A scenario file that cannot be read or contradicts the model (exit 2).
    #[error("{0}")]
    Scenario(String),
    /// The endpoint cannot be judged (exit 3).
    #[error("{0}")]
    Unjudged(String),
    /// Anything else (exit 3: nothing was judged).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// The one place an error becomes an exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) | Error::Scenario(_) => ExitCode::Usage,
            Error::Unjudged(_) | Error::Other(_) => ExitCode::Unjudged,
        }
    }
}
