//! The reference model of OpsWorks CM servers and backups: pure, deterministic, no I/O, no HTTP.
//!
//! A [`World`] is the state the documents describe (servers with their status, backups with
//! their type and status, the manual-backup limit, and the endpoint-wide readings of the
//! ambiguous rules). [`step`] says, for one [`Action`] from one world, every outcome the
//! documents allow and the world after each ([`Possible`]); the first possibility is the
//! reference reading, which the bundled emulator serves. [`Possible::explain`] checks an
//! observed answer against a possibility and returns the world it proves (binding the ids the
//! endpoint chose). [`spontaneous`] lists what an endpoint may do by itself between two calls
//! (an asynchronous backup finishing, a deletion completing).
//!
//! Rules (ids in [`rules::RULES`]):
//! - `create-backup.state.*`: only RUNNING, HEALTHY, UNHEALTHY may back up; BACKING_UP and the
//!   other ten statuses give InvalidStateException.
//! - `create-backup.limit*`: LimitExceededException once the manual count reaches the limit;
//!   automated backups never count; deleting frees the slot.
//! - `create-backup.effect.*`, `backup.completion`, `server.backing-up.locked`: the new backup is
//!   IN_PROGRESS and the server BACKING_UP (locked) until it ends OK or FAILED.
//! - `*.not-found`, `validation.*`: unknown names and invalid input.
//! - `ambiguity.*`: where the documents leave a choice, every reading is a possibility.

mod choices;
mod predicates;
pub mod rules;
pub mod service;
pub mod validate;
mod vocabulary;
mod world;
mod world_set;

pub use choices::{AfterBackup, Choice, LimitScope, Picks, Readings};
pub use vocabulary::{BackupStatus, BackupType, ErrorKind, Operation, ServerStatus};
pub use world::{Backup, Pending, Server, World, DEFAULT_LIMIT};
pub use world_set::WorldSet;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use rules::RuleId;
use validate::{validate_input, Certainty};

/// A server for the fixture control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSpec {
    pub name: String,
    pub status: ServerStatus,
    pub engine: String,
    pub manual_backups: u32,
    pub automated_backups: u32,
}

/// What a step does: a fixture change through the control plane, or an API call whose input is
/// the raw JSON body (so wrong types and missing members are expressible).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reset,
    PutServer(ServerSpec),
    Settle(BackupStatus),
    Call { op: Operation, input: Value },
}

/// Whether a rule was exercised by an input that satisfied it or by one that broke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Pass,
    Fail,
}

/// One outcome the documents allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Expected {
    /// An error of this kind.
    Error(ErrorKind),
    /// The control plane's or an operation's plain success (`{}`).
    Done,
    /// CreateBackup's answer: the new backup is the last of the world after.
    CreatedBackup {
        server: String,
        description: Option<String>,
        /// The answer says the backup is already done (Status OK, A6) and the world after has
        /// the server out of BACKING_UP.
        finished: bool,
    },
    /// DescribeBackups: exactly these backups (by index into the world after), newest first;
    /// `maybe_gone` ones are being deleted and may be listed as DELETING or be gone.
    Backups {
        listed: Vec<usize>,
        maybe_gone: Vec<usize>,
    },
    /// DescribeServers: exactly these servers.
    Servers(Vec<String>),
    /// UpdateServer / StartMaintenance: the server as it is after.
    Server(String),
    /// DescribeAccountAttributes: ManualBackupLimit with Used in a range and Maximum.
    AccountAttributes { used: (u32, u32), maximum: u32 },
}

impl Expected {
    /// A short human form: `LimitExceededException`, `success (Backup)`.
    pub fn summary(&self) -> String {
        match self {
            Expected::Error(k) => k.to_string(),
            Expected::Done => "success".into(),
            Expected::CreatedBackup { .. } => "success (Backup, IN_PROGRESS or OK)".into(),
            Expected::Backups { listed, maybe_gone } => {
                if maybe_gone.is_empty() {
                    format!("success ({} backups)", listed.len())
                } else {
                    format!(
                        "success ({} to {} backups)",
                        listed.len(),
                        listed.len() + maybe_gone.len()
                    )
                }
            }
            Expected::Servers(names) => format!("success ({} servers)", names.len()),
            Expected::Server(name) => format!("success (Server {name})"),
            Expected::AccountAttributes { used, maximum } => {
                format!(
                    "success (ManualBackupLimit used {}..={}, maximum {maximum})",
                    used.0, used.1
                )
            }
        }
    }

    pub fn error(&self) -> Option<&ErrorKind> {
        match self {
            Expected::Error(k) => Some(k),
            _ => None,
        }
    }
}

/// One possibility: an outcome, the world after it, and the rules it exercised.
#[derive(Debug, Clone)]
pub struct Possible {
    pub expected: Expected,
    pub world: World,
    /// The rule that decides this outcome (what a divergence here breaks).
    pub rule: RuleId,
    /// Every rule this outcome exercised, with how.
    pub exercised: Vec<(RuleId, Polarity)>,
}

/// What an endpoint answered, dialect-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// A success with the output JSON.
    Success(Value),
    /// DescribeBackups' success on the common path: an answer that fits the service model's
    /// shape, read into the members the checker compares (the same verdicts as `Success` of
    /// its JSON; not serialized).
    #[serde(skip)]
    Listing(ListedBackups),
    /// An error of this kind.
    Error(ErrorKind),
    /// CreateBackup's success in the envelope dialect: only an id and an RFC 3339 time.
    CreatedEnvelope { id: String, created_at: String },
    /// No answer: the call may or may not have taken effect (a timeout, a lost connection).
    Unknown,
}

/// A mismatch between an observed answer and one possibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub rule: RuleId,
    pub message: String,
}

fn mismatch(rule: RuleId, message: impl Into<String>) -> Mismatch {
    Mismatch {
        rule,
        message: message.into(),
    }
}

/// Context for facts that depend on time: the call was sent and answered in this window.
#[derive(Debug, Clone, Copy)]
pub struct CallWindow {
    pub sent_ms: i64,
    pub answered_ms: i64,
}

/// How far a CreatedAt may be from the call's window (clock skew between harness and endpoint).
pub const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

mod ops;
pub use ops::{call_first, spontaneous, step, step_all, step_first};

mod explain;
pub use explain::{ExplainMemo, ListedBackup, ListedBackups};

#[cfg(test)]
mod tests;

/// A helper for tests and scenarios: a CreateBackup call.
pub fn create_backup(server: &str) -> Action {
    Action::Call {
        op: Operation::CreateBackup,
        input: json!({ "ServerName": server }),
    }
}

/// Re-exported for the emulator: validation is part of the model.
pub fn validation_errors(op: Operation, input: &Value) -> Vec<validate::Violation> {
    validate_input(op.name(), input)
}

/// True when some violation is certain.
pub fn has_definite(violations: &[validate::Violation]) -> bool {
    violations
        .iter()
        .any(|v| v.certainty == Certainty::Definite)
}
