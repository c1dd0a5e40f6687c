//! The readings of the ambiguous rules: the endpoint-wide ones a checker starts from (limit
//! scope, status after a backup) and the [`Choice`]s an answer settles for the rest of a run.

use super::*;

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
