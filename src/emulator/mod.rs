//! The bundled OpsWorks CM emulator: the model served over HTTP (awsJson 1.1 or the envelope
//! dialect), with the fixture control plane.
//!
//! One source of truth for behaviour: every API call is decoded, handed to
//! [`crate::model::step`], answered with the first possibility (the reference reading), and
//! encoded with [`crate::wire`]. This module only realizes what the model leaves open: the
//! BackupIds and times it chooses, the output JSON, and when asynchronous work ends. With
//! `--reading NAME` it serves another legal reading instead, written from the documents.
//!
//! - `settings` has what the emulator was started with and what a call answers;
//! - `state` holds the emulator's state behind one lock, and says what a call does to it;
//! - [`readings`] lists the legal readings it can serve (`--reading NAME`) and decides them;
//! - [`mutants`] lists the deliberately wrong variants for self-tests (`--mutant NAME`) and
//!   decides them;
//! - `render` writes output JSON and error messages;
//! - `http` has the routes, the decoding, and the one place errors become responses;
//! - [`sigv4`] verifies signatures (`--verify-sigv4`).

mod http;
pub mod mutants;
pub mod readings;
mod render;
mod settings;
pub mod sigv4;
mod state;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use http::{app, MAX_BODY};
pub use mutants::{find_mutant, mutants, MutantInfo};
pub use readings::{Reading, ReadingInfo, ReadingSet};
pub use settings::CallAnswer;
pub use state::{Emulator, ModelError};

use crate::model::DEFAULT_LIMIT;
use crate::wire::Dialect;

/// How to run the emulator (the `emulate` flags).
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub dialect: Dialect,
    /// Serve this deliberately wrong variant (see [`mutants`]).
    pub mutant: Option<String>,
    /// Serve these legal readings of the ambiguous rules (see [`readings`]).
    pub readings: ReadingSet,
    /// Refuse requests whose SigV4 signature does not verify.
    pub verify_sigv4: bool,
    /// Backups (and maintenance, restores, deletions) finish by themselves after this long;
    /// None: they wait for the control plane's settle.
    pub backup_duration: Option<Duration>,
    /// The manual-backup limit.
    pub limit: u32,
    /// The region ARNs name and SigV4 scopes must use.
    pub region: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4566)),
            dialect: Dialect::AwsJson,
            mutant: None,
            readings: ReadingSet::REFERENCE,
            verify_sigv4: false,
            backup_duration: None,
            limit: DEFAULT_LIMIT,
            region: "us-east-1".to_string(),
        }
    }
}

/// An emulator serving on a socket. Dropping it stops the server too; [`shutdown`] waits.
///
/// [`shutdown`]: RunningEmulator::shutdown
pub struct RunningEmulator {
    pub addr: SocketAddr,
    /// `http://HOST:PORT`.
    pub url: String,
    emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// How long [`RunningEmulator::shutdown`] waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl RunningEmulator {
    /// The emulator behind the socket (its world, for tests and diagnostics).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting, lets requests in flight finish (for up to 2 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.listen`, starts serving in the background, and returns once the socket
/// accepts connections.
pub async fn start(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    let emulator = Emulator::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| bind_error(config.listen, e))?;
    let addr = listener
        .local_addr()
        .context("cannot read the address the emulator listens on")?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app(emulator.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningEmulator {
        addr,
        url: format!("http://{addr}"),
        emulator,
        stop: Some(stop),
        task: Some(task),
    })
}

fn bind_error(listen: SocketAddr, e: std::io::Error) -> anyhow::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "port {} is taken (another emulator or LocalStack?); use `--listen {}:0` to pick a free port",
            listen.port(),
            listen.ip()
        ),
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; use a port above 1024, or `--listen 127.0.0.1:0`"
                .to_string()
        }
        std::io::ErrorKind::AddrNotAvailable => format!(
            "{} is not an address of this machine; use 127.0.0.1 or 0.0.0.0",
            listen.ip()
        ),
        _ => "check the --listen address".to_string(),
    };
    anyhow::anyhow!("cannot listen on {listen}: {e}\n(hint: {hint})")
}

/// Serves until Ctrl-C. The first line on stdout is `listening on http://HOST:PORT`, printed
/// (and flushed) once the socket accepts connections.
pub async fn serve_until_ctrl_c(config: EmulatorConfig) -> anyhow::Result<()> {
    let running = start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", running.url).context("cannot write to stdout")?;
        out.flush().context("cannot write to stdout")?;
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    running.shutdown().await;
    Ok(())
}
