//! What the emulator was started with and what one call answers: the types shared by the state,
//! the rendering and the HTTP layer (so neither of those needs the other).

use std::time::Duration;

use serde_json::Value;

use super::mutants::Mutant;
use super::readings::ReadingSet;
use super::sigv4::Verifier;
use crate::wire::Dialect;

/// What does not change while the emulator runs.
pub(crate) struct Settings {
    pub(crate) dialect: Dialect,
    pub(crate) mutant: Option<Mutant>,
    pub(crate) readings: ReadingSet,
    pub(crate) verifier: Option<Verifier>,
    pub(crate) backup_duration: Option<Duration>,
    pub(crate) region: String,
    /// The manual-backup limit served (10 under `limit-10`).
    pub(crate) limit: u32,
}

/// A successful answer: the output JSON (serialized), and for CreateBackup the id and RFC 3339
/// time the envelope dialect sends instead.
#[derive(Debug, Clone)]
pub struct CallAnswer {
    /// The operation's output, as JSON bytes.
    pub output: Vec<u8>,
    pub created: Option<(String, String)>,
}

impl CallAnswer {
    /// The output, parsed (for tests and the envelope dialect).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output).expect("the emulator renders JSON")
    }
}
