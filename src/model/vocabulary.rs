//! The service's closed sets, as the API model names them: server and backup statuses, backup
//! types, the error names the model predicts, and the operations it covers.

use super::*;

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
