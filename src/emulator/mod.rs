//! The bundled OpsWorks CM emulator: the model served over HTTP. (Placeholder until the
//! emulator branch lands.)
use std::net::SocketAddr;
use std::time::Duration;

use crate::wire::Dialect;

pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub dialect: Dialect,
    pub mutant: Option<String>,
    pub verify_sigv4: bool,
    pub backup_duration: Option<Duration>,
    pub limit: u32,
    pub region: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: "127.0.0.1:4566".parse().unwrap(),
            dialect: Dialect::AwsJson,
            mutant: None,
            verify_sigv4: false,
            backup_duration: None,
            limit: 50,
            region: "us-east-1".into(),
        }
    }
}

pub struct RunningEmulator {
    pub addr: SocketAddr,
    pub url: String,
}

pub async fn start(_config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    anyhow::bail!("the emulator is not built yet")
}

impl RunningEmulator {
    pub async fn shutdown(self) {}
}

pub struct MutantInfo {
    pub name: &'static str,
    pub description: &'static str,
}
pub fn mutants() -> &'static [MutantInfo] {
    &[]
}
pub fn find_mutant(name: &str) -> Result<&'static MutantInfo, String> {
    Err(format!("no mutant {name}"))
}
pub async fn serve_until_ctrl_c(_config: EmulatorConfig) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
