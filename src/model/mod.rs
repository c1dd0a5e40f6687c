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

pub mod rules;
pub mod service;
pub mod validate;
mod world_set;

pub use world_set::WorldSet;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use rules::RuleId;
use validate::{validate_input, Certainty};

/// The 13 server statuses of the `ServerStatus` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerStatus {
    BackingUp,
    ConnectionLost,
    Creating,
    Deleting,
    Modifying,
    Failed,
    Healthy,
    Running,
    Restoring,
    Setup,
    UnderMaintenance,
    Unhealthy,
    Terminated,
}

impl ServerStatus {
    pub const ALL: [ServerStatus; 13] = [
        ServerStatus::BackingUp,
        ServerStatus::ConnectionLost,
        ServerStatus::Creating,
        ServerStatus::Deleting,
        ServerStatus::Modifying,
        ServerStatus::Failed,
        ServerStatus::Healthy,
        ServerStatus::Running,
        ServerStatus::Restoring,
        ServerStatus::Setup,
        ServerStatus::UnderMaintenance,
        ServerStatus::Unhealthy,
        ServerStatus::Terminated,
    ];

    /// The statuses from which CreateBackup may start a backup (`create-backup.state.allowed`).
    pub fn may_back_up(self) -> bool {
        matches!(
            self,
            ServerStatus::Running | ServerStatus::Healthy | ServerStatus::Unhealthy
        )
    }

    /// The statuses RestoreServer accepts (`restore-server.state`).
    pub fn may_restore(self) -> bool {
        matches!(
            self,
            ServerStatus::ConnectionLost
                | ServerStatus::Healthy
                | ServerStatus::Running
                | ServerStatus::Unhealthy
                | ServerStatus::Terminated
        )
    }

    /// The statuses StartMaintenance accepts (`start-maintenance.state`).
    pub fn may_start_maintenance(self) -> bool {
        matches!(self, ServerStatus::Healthy | ServerStatus::Unhealthy)
    }

    /// The statuses in which an operation is in progress (DeleteServer refuses them, A10).
    pub fn has_operation_in_progress(self) -> bool {
        self == ServerStatus::BackingUp || self.operation_in_progress()
    }

    /// The statuses of a server with an operation in progress, other than a backup or a
    /// deletion (DeleteServer refuses them, A10).
    pub fn operation_in_progress(self) -> bool {
        matches!(
            self,
            ServerStatus::Creating
                | ServerStatus::Modifying
                | ServerStatus::Restoring
                | ServerStatus::Setup
                | ServerStatus::UnderMaintenance
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ServerStatus::BackingUp => "BACKING_UP",
            ServerStatus::ConnectionLost => "CONNECTION_LOST",
            ServerStatus::Creating => "CREATING",
            ServerStatus::Deleting => "DELETING",
            ServerStatus::Modifying => "MODIFYING",
            ServerStatus::Failed => "FAILED",
            ServerStatus::Healthy => "HEALTHY",
            ServerStatus::Running => "RUNNING",
            ServerStatus::Restoring => "RESTORING",
            ServerStatus::Setup => "SETUP",
            ServerStatus::UnderMaintenance => "UNDER_MAINTENANCE",
            ServerStatus::Unhealthy => "UNHEALTHY",
            ServerStatus::Terminated => "TERMINATED",
        }
    }

    pub fn parse(s: &str) -> Option<ServerStatus> {
        ServerStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `BackupStatus` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BackupStatus {
    InProgress,
    Ok,
    Failed,
    Deleting,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::InProgress => "IN_PROGRESS",
            BackupStatus::Ok => "OK",
            BackupStatus::Failed => "FAILED",
            BackupStatus::Deleting => "DELETING",
        }
    }
    pub fn parse(s: &str) -> Option<BackupStatus> {
        [
            BackupStatus::InProgress,
            BackupStatus::Ok,
            BackupStatus::Failed,
            BackupStatus::Deleting,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

/// The `BackupType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BackupType {
    Automated,
    Manual,
}

impl BackupType {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Automated => "AUTOMATED",
            BackupType::Manual => "MANUAL",
        }
    }
}

/// The errors the model predicts, named as the service names them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    ValidationException,
    ResourceNotFoundException,
    InvalidStateException,
    LimitExceededException,
    /// AWS's JSON services answer a wrong JSON type so (ambiguity A15).
    SerializationException,
    /// Any other error name an endpoint sent.
    Other(String),
}

impl ErrorKind {
    pub fn name(&self) -> &str {
        match self {
            ErrorKind::ValidationException => "ValidationException",
            ErrorKind::ResourceNotFoundException => "ResourceNotFoundException",
            ErrorKind::InvalidStateException => "InvalidStateException",
            ErrorKind::LimitExceededException => "LimitExceededException",
            ErrorKind::SerializationException => "SerializationException",
            ErrorKind::Other(name) => name,
        }
    }

    pub fn from_name(name: &str) -> ErrorKind {
        match name {
            "ValidationException" => ErrorKind::ValidationException,
            "ResourceNotFoundException" => ErrorKind::ResourceNotFoundException,
            "InvalidStateException" => ErrorKind::InvalidStateException,
            "LimitExceededException" => ErrorKind::LimitExceededException,
            "SerializationException" => ErrorKind::SerializationException,
            other => ErrorKind::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The API operations the model covers: CreateBackup and every operation that observes or
/// changes the state it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    CreateBackup,
    DescribeBackups,
    DeleteBackup,
    DescribeServers,
    UpdateServer,
    StartMaintenance,
    DeleteServer,
    RestoreServer,
    DescribeAccountAttributes,
}

impl Operation {
    pub const ALL: [Operation; 9] = [
        Operation::CreateBackup,
        Operation::DescribeBackups,
        Operation::DeleteBackup,
        Operation::DescribeServers,
        Operation::UpdateServer,
        Operation::StartMaintenance,
        Operation::DeleteServer,
        Operation::RestoreServer,
        Operation::DescribeAccountAttributes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateBackup => "CreateBackup",
            Operation::DescribeBackups => "DescribeBackups",
            Operation::DeleteBackup => "DeleteBackup",
            Operation::DescribeServers => "DescribeServers",
            Operation::UpdateServer => "UpdateServer",
            Operation::StartMaintenance => "StartMaintenance",
            Operation::DeleteServer => "DeleteServer",
            Operation::RestoreServer => "RestoreServer",
            Operation::DescribeAccountAttributes => "DescribeAccountAttributes",
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operation only reads state (safe to retry, safe on real accounts).
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Operation::DescribeBackups
                | Operation::DescribeServers
                | Operation::DescribeAccountAttributes
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the manual-backup limit applies (ambiguity A1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitScope {
    PerServer,
    PerAccount,
}

/// The status a server takes when a backup finishes by itself (ambiguity A5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterBackup {
    /// The status before the backup began.
    Previous,
    /// A fresh health status: HEALTHY or UNHEALTHY.
    FreshHealth,
}

/// A question the documents leave open whose answer is a property of the endpoint: once an
/// endpoint has answered it one way, it must keep to that answer for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    /// A3: whether an IN_PROGRESS manual backup counts toward the limit (1) or not (0).
    CountsInProgress,
    /// A3: the same for a FAILED one.
    CountsFailed,
    /// A3: the same for a DELETING one.
    CountsDeleting,
    /// A4: at the limit and refused by the state gate: InvalidStateException (0) or
    /// LimitExceededException (1).
    LimitBeforeState,
    /// A7: BackupId `Name-yyyyMMddHHmmssSSS` (0) or `Name-yyyy-MM-ddTHH:mm:ss.SSSZ` (1).
    IdForm,
    /// A10: DeleteServer during an operation: InvalidStateException (0) or ValidationException (1).
    DeleteServerError,
    /// A13: DescribeBackups of an unknown server: ResourceNotFoundException (0) or an empty list (1).
    DescribeUnknownServer,
    /// A15: a wrong JSON type: ValidationException (0) or SerializationException (1).
    TypeErrorKind,
    /// A16: UpdateServer BackupRetentionCount below 1: ValidationException (0) or accepted (1).
    RetentionZero,
    /// A17: DeleteBackup of the backup in progress: the server leaves BACKING_UP at once (0) or
    /// stays BACKING_UP until the job ends (1).
    DeleteInProgressKeepsBackingUp,
}

impl Choice {
    pub const ALL: [Choice; 10] = [
        Choice::CountsInProgress,
        Choice::CountsFailed,
        Choice::CountsDeleting,
        Choice::LimitBeforeState,
        Choice::IdForm,
        Choice::DeleteServerError,
        Choice::DescribeUnknownServer,
        Choice::TypeErrorKind,
        Choice::RetentionZero,
        Choice::DeleteInProgressKeepsBackingUp,
    ];

    /// The ambiguity this choice answers (a rule id).
    pub fn rule(self) -> RuleId {
        match self {
            Choice::CountsInProgress | Choice::CountsFailed | Choice::CountsDeleting => {
                rules::AMBIGUITY_COUNTED_STATUSES
            }
            Choice::LimitBeforeState => rules::AMBIGUITY_ERROR_PRECEDENCE,
            Choice::IdForm => rules::AMBIGUITY_BACKUP_ID_FORMAT,
            Choice::DeleteServerError => rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS,
            Choice::DescribeUnknownServer => rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER,
            Choice::TypeErrorKind => rules::AMBIGUITY_TYPE_ERROR_KIND,
            Choice::RetentionZero => rules::AMBIGUITY_RETENTION_ZERO,
            Choice::DeleteInProgressKeepsBackingUp => rules::AMBIGUITY_DELETE_IN_PROGRESS_BACKUP,
        }
    }

    /// The reading each answer stands for, in words.
    pub fn reading(self, pick: u8) -> &'static str {
        let (no, yes) = match self {
            Choice::CountsInProgress => (
                "IN_PROGRESS backups do not count",
                "IN_PROGRESS backups count",
            ),
            Choice::CountsFailed => ("FAILED backups do not count", "FAILED backups count"),
            Choice::CountsDeleting => ("DELETING backups do not count", "DELETING backups count"),
            Choice::LimitBeforeState => (
                "the state gate before the limit",
                "the limit before the state gate",
            ),
            Choice::IdForm => (
                "BackupId Name-yyyyMMddHHmmssSSS",
                "BackupId Name-yyyy-MM-ddTHH:mm:ss.SSSZ",
            ),
            Choice::DeleteServerError => (
                "DeleteServer during an operation: InvalidStateException",
                "DeleteServer during an operation: ValidationException",
            ),
            Choice::DescribeUnknownServer => (
                "unknown server listing: ResourceNotFoundException",
                "unknown server listing: empty list",
            ),
            Choice::TypeErrorKind => (
                "wrong JSON type: ValidationException",
                "wrong JSON type: SerializationException",
            ),
            Choice::RetentionZero => (
                "BackupRetentionCount 0 refused",
                "BackupRetentionCount 0 accepted",
            ),
            Choice::DeleteInProgressKeepsBackingUp => (
                "deleting the backup in progress ends BACKING_UP",
                "deleting the backup in progress keeps BACKING_UP until the job ends",
            ),
        };
        if pick == 0 {
            no
        } else {
            yes
        }
    }
}

/// The endpoint-wide readings of the ambiguous rules. A checker starts with one world per
/// combination of the two readings that change what happens by itself (limit scope, status
/// after a backup); every other [`Choice`] is open until an answer settles it, and then holds
/// for the rest of the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Readings {
    pub limit_scope: LimitScope,
    pub after_backup: AfterBackup,
    /// The choices an answer has settled (absent: still open).
    pub picks: BTreeMap<Choice, u8>,
}

impl Readings {
    /// The bundled emulator's readings (its other choices are the first reading of each).
    pub const REFERENCE: Readings = Readings {
        limit_scope: LimitScope::PerServer,
        after_backup: AfterBackup::Previous,
        picks: BTreeMap::new(),
    };

    pub fn all() -> Vec<Readings> {
        let mut out = Vec::new();
        for limit_scope in [LimitScope::PerServer, LimitScope::PerAccount] {
            for after_backup in [AfterBackup::Previous, AfterBackup::FreshHealth] {
                out.push(Readings {
                    limit_scope,
                    after_backup,
                    picks: BTreeMap::new(),
                });
            }
        }
        out
    }

    /// The answer the endpoint gave to `choice`, if it has.
    pub fn pick(&self, choice: Choice) -> Option<u8> {
        self.picks.get(&choice).copied()
    }

    /// Whether answering `choice` with `pick` keeps to what the endpoint did before.
    pub fn allows(&self, choice: Choice, pick: u8) -> bool {
        self.pick(choice).is_none_or(|p| p == pick)
    }
}

/// An asynchronous operation a server is going through.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Pending {
    /// A backup; `previous` is the status before it began (None for a server the control plane
    /// put straight into BACKING_UP).
    Backup {
        previous: Option<ServerStatus>,
    },
    Maintenance,
    Restore,
    Deletion,
}

/// A server as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    pub status: ServerStatus,
    pub engine: String,
    pub pending: Option<Pending>,
    pub disable_automated_backup: bool,
    pub backup_retention_count: i64,
    pub preferred_backup_window: Option<String>,
    pub preferred_maintenance_window: Option<String>,
    /// Creation time, epoch milliseconds (the emulator's clock; None in a checker's world).
    pub created_at_ms: Option<i64>,
    /// Manual backups deleted from this server (for coverage of `create-backup.limit.delete-frees-slot`).
    pub freed_slots: u32,
    /// What an answer showed of this server (DescribeServers, the control plane's PUT): member
    /// name to its JSON text. A checker's knowledge; empty in the emulator.
    pub facts: BTreeMap<String, String>,
    /// The settings UpdateServer changed since (member name to its JSON text): DescribeServers
    /// must show them.
    pub updated: BTreeMap<String, String>,
}

/// A backup as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Backup {
    /// The id the endpoint chose; None until an answer shows it.
    pub id: Option<String>,
    pub server: String,
    pub kind: BackupType,
    pub status: BackupStatus,
    /// The description given to CreateBackup; None for fixture backups (not checked).
    pub description: Option<Option<String>>,
    /// Logical creation order; fixture backups made together share one.
    pub seq: u64,
    /// Creation time, epoch milliseconds (the emulator's clock; None in a checker's world).
    pub created_at_ms: Option<i64>,
}

/// The whole state the documents describe.
///
/// Fields are compared in the order written: the cheap ones that tell worlds apart most often
/// (a checker's worlds differ mostly in a reading) come before the servers and backups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct World {
    /// The manual-backup limit (50 by default; `ambiguity.limit-value`).
    pub limit: u32,
    pub readings: Readings,
    pub next_seq: u64,
    pub servers: BTreeMap<String, Server>,
    /// In creation order (oldest first). Shared between worlds until one changes it (a checker
    /// keeps many worlds that differ only in a reading, so cloning must be cheap).
    pub backups: Arc<Vec<Backup>>,
    /// BackupIds a listing showed gone for good: they never come back.
    pub gone: Arc<BTreeSet<String>>,
}

/// The default manual-backup limit.
pub const DEFAULT_LIMIT: u32 = 50;

impl World {
    pub fn new(limit: u32, readings: Readings) -> World {
        World {
            servers: BTreeMap::new(),
            backups: Arc::new(Vec::new()),
            limit,
            readings,
            next_seq: 0,
            gone: Arc::new(BTreeSet::new()),
        }
    }

    /// One world per reading of the endpoint-wide ambiguities.
    pub fn all_readings(limit: u32) -> Vec<World> {
        World::with_readings(limit, &Readings::all())
    }

    /// One empty world per reading in `readings` (the readings an endpoint has kept to so far).
    pub fn with_readings(limit: u32, readings: &[Readings]) -> Vec<World> {
        readings
            .iter()
            .map(|r| World::new(limit, r.clone()))
            .collect()
    }

    /// This world with `choice` answered `pick`.
    pub fn picking(mut self, choice: Choice, pick: u8) -> World {
        self.readings.picks.insert(choice, pick);
        self
    }

    /// The (lowest, highest) number of manual backups that count toward `server`'s limit:
    /// OK ones always count; IN_PROGRESS, FAILED and DELETING ones may (ambiguity A3), unless
    /// the endpoint has already shown whether they do. A DELETING one may also be gone by now
    /// (a deletion ends whenever it ends), so it never counts for certain.
    pub fn manual_count(&self, server: &str) -> (u32, u32) {
        let mut low = 0;
        let mut high = 0;
        for b in self.manual_in_scope(Some(server)) {
            match self.counts(b.status) {
                Some(true) if b.status == BackupStatus::Deleting => high += 1,
                Some(true) => {
                    low += 1;
                    high += 1;
                }
                Some(false) => {}
                None => high += 1,
            }
        }
        (low, high)
    }

    /// OK manual backups in `server`'s scope: they count whatever the endpoint's A3 choices.
    pub fn manual_in_ok(&self, server: &str) -> u32 {
        self.manual_in_scope(Some(server))
            .filter(|b| b.status == BackupStatus::Ok)
            .count() as u32
    }

    /// Manual backups that count toward `server`'s limit under this world's scope (all of the
    /// account's when `server` is None).
    fn manual_in_scope<'a>(&'a self, server: Option<&'a str>) -> impl Iterator<Item = &'a Backup> {
        let per_server = self.readings.limit_scope == LimitScope::PerServer;
        self.backups.iter().filter(move |b| {
            b.kind == BackupType::Manual && (!per_server || server.is_none_or(|s| b.server == s))
        })
    }

    /// Whether a manual backup in `status` counts toward the limit: always for OK, per the
    /// endpoint's choice (A3) for the others, None while that choice is open.
    fn counts(&self, status: BackupStatus) -> Option<bool> {
        match Self::count_choice(status) {
            None => Some(true),
            Some(c) => self.readings.pick(c).map(|p| p == 1),
        }
    }

    fn count_choice(status: BackupStatus) -> Option<Choice> {
        match status {
            BackupStatus::Ok => None,
            BackupStatus::InProgress => Some(Choice::CountsInProgress),
            BackupStatus::Failed => Some(Choice::CountsFailed),
            BackupStatus::Deleting => Some(Choice::CountsDeleting),
        }
    }

    /// The exact count toward `server`'s limit under each way of answering the A3 choices that
    /// are still open and matter here: (count, the answers that give it).
    pub fn count_forks(&self, server: &str) -> Vec<(u32, Vec<(Choice, u8)>)> {
        let mut open: Vec<Choice> = Vec::new();
        for b in self.manual_in_scope(Some(server)) {
            if let Some(c) = Self::count_choice(b.status) {
                if self.readings.pick(c).is_none() && !open.contains(&c) {
                    open.push(c);
                }
            }
        }
        let mut out = Vec::new();
        // All counting first: the reference reading (the bundled emulator counts them all).
        for bits in (0..(1u32 << open.len())).rev() {
            let picks: Vec<(Choice, u8)> = open
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, ((bits >> i) & 1) as u8))
                .collect();
            let count = self
                .manual_in_scope(Some(server))
                .filter(|b| match Self::count_choice(b.status) {
                    None => true,
                    Some(c) => self.counts_under(&picks, c),
                })
                .count() as u32;
            out.push((count, picks));
        }
        out
    }

    /// Whether the A3 choice `c` says "counts" under `picks`, else under this world's answer.
    fn counts_under(&self, picks: &[(Choice, u8)], c: Choice) -> bool {
        picks
            .iter()
            .find(|(pc, _)| *pc == c)
            .map_or_else(|| self.readings.pick(c) == Some(1), |(_, p)| *p == 1)
    }

    /// How many DELETING backups count toward `server`'s limit under `picks` (else this
    /// world's A3 answer): the slots that may free themselves at any time.
    pub fn deleting_counted(&self, server: &str, picks: &[(Choice, u8)]) -> u32 {
        if !self.counts_under(picks, Choice::CountsDeleting) {
            return 0;
        }
        self.manual_in_scope(Some(server))
            .filter(|b| b.status == BackupStatus::Deleting)
            .count() as u32
    }

    fn backup_index(&self, id: &str) -> Option<usize> {
        self.backups
            .iter()
            .position(|b| b.id.as_deref() == Some(id))
    }

    /// Fixture: creates or replaces a server with `manual` and `automated` OK backups
    /// (control plane `PUT /_conformance/v1/servers/{name}`).
    pub fn put_server(&mut self, spec: &ServerSpec, now_ms: Option<i64>) {
        std::sync::Arc::make_mut(&mut self.backups).retain(|b| b.server != spec.name);
        let pending =
            (spec.status == ServerStatus::BackingUp).then_some(Pending::Backup { previous: None });
        self.servers.insert(
            spec.name.clone(),
            Server {
                name: spec.name.clone(),
                status: spec.status,
                engine: spec.engine.clone(),
                pending,
                disable_automated_backup: false,
                backup_retention_count: 10,
                preferred_backup_window: None,
                preferred_maintenance_window: None,
                created_at_ms: now_ms,
                freed_slots: 0,
                facts: BTreeMap::new(),
                updated: BTreeMap::new(),
            },
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        for (kind, n) in [
            (BackupType::Automated, spec.automated_backups),
            (BackupType::Manual, spec.manual_backups),
        ] {
            for _ in 0..n {
                std::sync::Arc::make_mut(&mut self.backups).push(Backup {
                    id: None,
                    server: spec.name.clone(),
                    kind,
                    status: BackupStatus::Ok,
                    description: None,
                    seq,
                    created_at_ms: now_ms,
                });
            }
        }
    }

    /// Fixture: every IN_PROGRESS backup ends with `status`; every BACKING_UP server returns to
    /// its earlier status (control plane `POST /_conformance/v1/settle`). A server put straight
    /// into BACKING_UP has no earlier status; it may take any status that can back up, so this
    /// returns every world that allows.
    pub fn settle(&self, status: BackupStatus) -> Vec<World> {
        let mut worlds = vec![self.clone()];
        let names: Vec<String> = self.servers.keys().cloned().collect();
        for name in names {
            let Some(Pending::Backup { previous }) = &self.servers[&name].pending else {
                continue;
            };
            let targets = match previous {
                Some(p) => vec![*p],
                None => vec![
                    ServerStatus::Healthy,
                    ServerStatus::Running,
                    ServerStatus::Unhealthy,
                ],
            };
            let mut next = Vec::new();
            for w in &worlds {
                for t in &targets {
                    let mut w = w.clone();
                    w.finish_backup(&name, status, *t);
                    next.push(w);
                }
            }
            worlds = next;
        }
        worlds
    }

    /// Ends `server`'s backup in progress with `status`, and moves the server to `to`.
    pub fn finish_backup(&mut self, server: &str, status: BackupStatus, to: ServerStatus) {
        for b in std::sync::Arc::make_mut(&mut self.backups).iter_mut() {
            if b.server == server && b.status == BackupStatus::InProgress {
                b.status = status;
            }
        }
        if let Some(s) = self.servers.get_mut(server) {
            s.status = to;
            s.pending = None;
        }
    }

    /// Deleting backups that are gone for good (the emulator removes them at once; a checker
    /// drops them when an answer shows them gone).
    pub fn forget_deleting(&mut self) {
        std::sync::Arc::make_mut(&mut self.backups).retain(|b| b.status != BackupStatus::Deleting);
    }
}

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
pub use ops::{spontaneous, step, step_all};

mod explain;

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
