//! Reaching the endpoint: the bundled emulator started in-process, or a URL; and Ctrl-C, which
//! stops a run between calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::emulator::{self, EmulatorConfig, RunningEmulator};
use crate::exit::Error;
use crate::model::DEFAULT_LIMIT;
use crate::target::{self, EndpointSpec, Target};

use super::RunConfig;

/// Connects to the configured endpoint, starting the embedded emulator when asked.
pub(super) async fn connect(
    config: &RunConfig,
) -> Result<(Target, Option<RunningEmulator>, String), Error> {
    let credentials = match &config.credentials {
        Some(c) => Some(c.clone()),
        None => target::load_credentials(config.profile.as_deref()).await,
    };
    let (base, emulator, shown) = match &config.endpoint {
        EndpointSpec::Embedded => {
            let e = emulator::start(EmulatorConfig {
                listen: "127.0.0.1:0".parse().expect("a loopback address"),
                dialect: config.dialect,
                mutant: config.emulator.mutant.clone(),
                readings: config.emulator.readings,
                verify_sigv4: config.emulator.verify_sigv4,
                backup_duration: config.emulator.backup_duration,
                limit: DEFAULT_LIMIT,
                region: config.region.clone(),
            })
            .await
            .map_err(|e| Error::Unjudged(format!("cannot start the embedded emulator: {e:#}")))?;
            let url = url::Url::parse(&e.url).map_err(|e| Error::Other(e.into()))?;
            let shown = format!("embedded ({})", e.url);
            (url, Some(e), shown)
        }
        EndpointSpec::Url(u) => (u.clone(), None, u.to_string()),
    };
    let target = Target::new(
        base,
        config.dialect,
        config.region.clone(),
        credentials,
        config.client.clone(),
    )?;
    Ok((target, emulator, shown))
}

/// A flag set when the user presses Ctrl-C.
pub(super) fn interrupt_flag() -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
        }
    });
    interrupted
}
