//! One HTTP exchange as the harness saw it on the wire: what the target records for every call
//! and what a report shows of a failing one.

use serde::{Deserialize, Serialize};

/// One HTTP exchange as seen on the wire (secrets removed).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    /// None when no answer came (timeout, lost connection).
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
}
