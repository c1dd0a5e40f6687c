//! Rendering: the output JSON of each operation from the world after, and the message of each
//! error the model decided. Nothing here decides an outcome; it only shows one.
//!
//! Members the model does not track (instance type, security groups, ARNs of roles) are fixed,
//! plausible values, so every answer fits the service model's shapes (`wire::shape`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::mutants::Mutant;
use super::readings::{self, Reading, ReadingSet};
use super::settings::{CallAnswer, Settings};
use crate::model::rules::{self, RuleId};
use crate::model::{self, Backup, ErrorKind, Expected, Operation, Server, ServerStatus, World};

/// The account every ARN the emulator makes belongs to (LocalStack's convention).
macro_rules! account {
    () => {
        "000000000000"
    };
}
pub const ACCOUNT: &str = account!();

/// What a backup records of its server when it is made.
#[derive(Debug, Clone)]
pub struct Snapshot {
    engine: String,
    backup_window: Option<String>,
    maintenance_window: Option<String>,
}

impl Snapshot {
    pub fn of(server: Option<&Server>) -> Snapshot {
        Snapshot {
            engine: server.map_or_else(|| "ChefAutomate".to_string(), |s| s.engine.clone()),
            backup_window: server.and_then(|s| s.preferred_backup_window.clone()),
            maintenance_window: server.and_then(|s| s.preferred_maintenance_window.clone()),
        }
    }
}

/// A new BackupId (UTC): `<ServerName>-yyyyMMddHHmmssSSS`, the form the API reference
/// documents, or `<ServerName>-yyyy-MM-ddTHH:mm:ss.SSSZ` under `iso-backup-id` (A7).
pub fn backup_id(server: &str, at_ms: i64, readings: ReadingSet) -> String {
    if readings.contains(Reading::IsoBackupId) {
        format!("{server}-{}", rfc3339(at_ms))
    } else {
        format!("{server}-{}", utc(at_ms).format("%Y%m%d%H%M%S%3f"))
    }
}

fn utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn rfc3339(ms: i64) -> String {
    utc(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A timestamp as awsJson sends it: epoch seconds with a millisecond fraction (milliseconds
/// under `created-at-millis`).
#[derive(Serialize)]
#[serde(untagged)]
enum Timestamp {
    Seconds(f64),
    Millis(i64),
}

fn timestamp(ms: i64, mutant: Option<Mutant>) -> Timestamp {
    if mutant == Some(Mutant::CreatedAtMillis) {
        Timestamp::Millis(ms)
    } else {
        Timestamp::Seconds(ms as f64 / 1000.0)
    }
}

/// (EngineModel, EngineVersion) for an engine.
fn engine_details(engine: &str) -> (&'static str, &'static str) {
    match engine {
        "Puppet" => ("Monolithic", "2019"),
        _ => ("Single", "2"),
    }
}

const DEFAULT_BACKUP_WINDOW: &str = "08:00";
const DEFAULT_MAINTENANCE_WINDOW: &str = "Mon:03:00";
const INSTANCE_PROFILE_ARN: &str = concat!(
    "arn:aws:iam::",
    account!(),
    ":instance-profile/aws-opsworks-cm-ec2-role"
);
const SERVICE_ROLE_ARN: &str = concat!(
    "arn:aws:iam::",
    account!(),
    ":role/service-role/aws-opsworks-cm-service-role"
);
const USER_ARN: &str = concat!("arn:aws:iam::", account!(), ":user/test");
const SECURITY_GROUP_IDS: [&str; 1] = ["sg-0123456789abcdef0"];
const SUBNET_IDS: [&str; 1] = ["subnet-0123456789abcdef0"];
const INSTANCE_TYPE: &str = "m5.large";

/// A `Backup` structure, borrowed from the world.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BackupOut<'a> {
    backup_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_id: Option<&'a str>,
    backup_type: &'static str,
    created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    engine: &'a str,
    engine_model: &'static str,
    engine_version: &'static str,
    instance_profile_arn: &'static str,
    instance_type: &'static str,
    preferred_backup_window: &'a str,
    preferred_maintenance_window: &'a str,
    #[serde(rename = "S3LogUrl")]
    s3_log_url: String,
    security_group_ids: [&'static str; 1],
    server_name: &'a str,
    service_role_arn: &'static str,
    status: &'static str,
    subnet_ids: [&'static str; 1],
    tools_version: &'static str,
    user_arn: &'static str,
}

/// The snapshot of a backup the emulator did not see made.
static NO_SNAPSHOT: std::sync::LazyLock<Snapshot> = std::sync::LazyLock::new(|| Snapshot::of(None));

fn backup<'a>(
    b: &'a Backup,
    snapshots: &'a HashMap<String, Snapshot>,
    settings: &Settings,
) -> BackupOut<'a> {
    let mutant = settings.mutant;
    let id = b.id.as_deref().unwrap_or_default();
    let snapshot = snapshots.get(id).unwrap_or(&NO_SNAPSHOT);
    let (engine_model, mut engine_version) = engine_details(&snapshot.engine);
    if mutant == Some(Mutant::BackupEngineVersionDefault) {
        engine_version = engine_details("ChefAutomate").1;
    }
    let mut description = b.description.as_ref().and_then(|d| d.as_deref());
    if mutant == Some(Mutant::DescriptionInvented) {
        description = description.or(Some(""));
    }
    let backup_arn = if mutant == Some(Mutant::ArnNamesServer) {
        format!(
            "arn:aws:opsworks-cm:{}:{ACCOUNT}:server/{}",
            settings.region, b.server
        )
    } else {
        format!(
            "arn:aws:opsworks-cm:{}:{ACCOUNT}:backup/{id}",
            settings.region
        )
    };
    let status = if mutant == Some(Mutant::StatusLowercase) {
        lowercase(b.status)
    } else {
        b.status.as_str()
    };
    BackupOut {
        backup_arn,
        backup_id: Some(id),
        backup_type: b.kind.as_str(),
        created_at: timestamp(b.created_at_ms.unwrap_or_default(), mutant),
        description,
        engine: &snapshot.engine,
        engine_model,
        engine_version,
        instance_profile_arn: INSTANCE_PROFILE_ARN,
        instance_type: INSTANCE_TYPE,
        preferred_backup_window: snapshot
            .backup_window
            .as_deref()
            .unwrap_or(DEFAULT_BACKUP_WINDOW),
        preferred_maintenance_window: snapshot
            .maintenance_window
            .as_deref()
            .unwrap_or(DEFAULT_MAINTENANCE_WINDOW),
        s3_log_url: format!(
            "https://s3.{}.amazonaws.com/opsworks-cm-{ACCOUNT}/{}/backups/{id}.log",
            settings.region, b.server
        ),
        security_group_ids: SECURITY_GROUP_IDS,
        server_name: &b.server,
        service_role_arn: SERVICE_ROLE_ARN,
        status,
        subnet_ids: SUBNET_IDS,
        tools_version: "2.0.0",
        user_arn: USER_ARN,
    }
}

/// `status-lowercase`: the BackupStatus in lower case.
fn lowercase(status: model::BackupStatus) -> &'static str {
    match status {
        model::BackupStatus::InProgress => "in_progress",
        model::BackupStatus::Ok => "ok",
        model::BackupStatus::Failed => "failed",
        model::BackupStatus::Deleting => "deleting",
    }
}

/// A `Server` structure, borrowed from the world.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServerOut<'a> {
    associate_public_ip_address: bool,
    backup_retention_count: i64,
    server_name: &'a str,
    created_at: Timestamp,
    disable_automated_backup: bool,
    endpoint: String,
    engine: &'a str,
    engine_model: &'static str,
    engine_version: &'static str,
    instance_profile_arn: &'static str,
    instance_type: &'static str,
    preferred_maintenance_window: &'a str,
    preferred_backup_window: &'a str,
    security_group_ids: [&'static str; 1],
    service_role_arn: &'static str,
    status: &'static str,
    subnet_ids: [&'static str; 1],
    server_arn: String,
}

fn server<'a>(s: &'a Server, settings: &Settings) -> ServerOut<'a> {
    let (engine_model, engine_version) = engine_details(&s.engine);
    let region = &settings.region;
    ServerOut {
        associate_public_ip_address: true,
        backup_retention_count: s.backup_retention_count,
        server_name: &s.name,
        created_at: timestamp(s.created_at_ms.unwrap_or_default(), settings.mutant),
        disable_automated_backup: s.disable_automated_backup,
        endpoint: format!("{}.{region}.opsworks-cm.io", s.name.to_ascii_lowercase()),
        engine: &s.engine,
        engine_model,
        engine_version,
        instance_profile_arn: INSTANCE_PROFILE_ARN,
        instance_type: INSTANCE_TYPE,
        preferred_maintenance_window: s
            .preferred_maintenance_window
            .as_deref()
            .unwrap_or(DEFAULT_MAINTENANCE_WINDOW),
        preferred_backup_window: s
            .preferred_backup_window
            .as_deref()
            .unwrap_or(DEFAULT_BACKUP_WINDOW),
        security_group_ids: SECURITY_GROUP_IDS,
        service_role_arn: SERVICE_ROLE_ARN,
        status: s.status.as_str(),
        subnet_ids: SUBNET_IDS,
        server_arn: format!("arn:aws:opsworks-cm:{region}:{ACCOUNT}:server/{}", s.name),
    }
}

/// A `Server` structure as JSON (the control plane's answer to a put).
pub fn server_json(s: &Server, settings: &Settings) -> Value {
    serde_json::to_value(server(s, settings)).expect("a server serializes")
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BackupAnswer<'a> {
    backup: BackupOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BackupsAnswer<'a> {
    backups: Vec<BackupOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServersAnswer<'a> {
    servers: Vec<ServerOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServerAnswer<'a> {
    server: ServerOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttributesAnswer {
    attributes: [Attribute; 2],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    name: &'static str,
    maximum: u64,
    used: u64,
}

#[derive(Serialize)]
struct Empty {}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("an answer serializes")
}

/// The output of a successful call, from the world after it.
pub fn answer(
    expected: &Expected,
    world: &World,
    snapshots: &HashMap<String, Snapshot>,
    settings: &Settings,
) -> CallAnswer {
    let mutant = settings.mutant;
    let mut created = None;
    let output = match expected {
        Expected::Error(_) => unreachable!("errors are not rendered as answers"),
        Expected::Done => to_json(&Empty {}),
        Expected::CreatedBackup { .. } => {
            let b = world.backups.last().expect("the new backup is last");
            let mut shown = backup(b, snapshots, settings);
            if mutant == Some(Mutant::MissingBackupId) {
                shown.backup_id = None;
            }
            created = Some((
                b.id.clone().unwrap_or_default(),
                rfc3339(b.created_at_ms.unwrap_or_default()),
            ));
            to_json(&BackupAnswer { backup: shown })
        }
        Expected::Backups { listed, maybe_gone } => {
            // Newest first, by creation time (fixture backups may be older than API ones);
            // backups being deleted are still listed, as DELETING, until they are gone.
            let mut order: Vec<&Backup> = listed
                .iter()
                .chain(maybe_gone)
                .map(|&i| &world.backups[i])
                .collect();
            order.sort_by_key(|b| std::cmp::Reverse(b.created_at_ms));
            if mutant == Some(Mutant::ListingOldestFirst) {
                order.reverse();
            }
            let now = chrono::Utc::now().timestamp_millis();
            let backups = order
                .into_iter()
                .map(|b| {
                    let mut shown = backup(b, snapshots, settings);
                    if mutant == Some(Mutant::CreatedAtListingTime) {
                        shown.created_at = timestamp(now, mutant);
                    }
                    shown
                })
                .collect();
            to_json(&BackupsAnswer { backups })
        }
        Expected::Servers(names) => {
            let servers = names
                .iter()
                .filter_map(|n| world.servers.get(n))
                .map(|s| server(s, settings))
                .collect();
            to_json(&ServersAnswer { servers })
        }
        Expected::Server(name) => to_json(&ServerAnswer {
            server: server(&world.servers[name], settings),
        }),
        Expected::AccountAttributes { used, maximum } => to_json(&AttributesAnswer {
            attributes: [
                Attribute {
                    name: "ServerLimit",
                    maximum: 10,
                    used: world.servers.len() as u64,
                },
                Attribute {
                    name: "ManualBackupLimit",
                    maximum: u64::from(*maximum),
                    used: u64::from(used_backups(*used, settings.readings)),
                },
            ],
        }),
    };
    CallAnswer { output, created }
}

/// ManualBackupLimit's Used: the manual backups that count, every one by default (the high end
/// of the model's range), only OK ones under `count-ok-only` (the low end).
fn used_backups((ok, all): (u32, u32), readings: ReadingSet) -> u32 {
    if readings.contains(Reading::CountOkOnly) {
        ok
    } else {
        all
    }
}

fn str_member<'a>(input: &'a Value, name: &str) -> &'a str {
    input.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The message of an error the model decided: what was wrong, in the service's words where it
/// has them.
pub fn error_message(
    world: &World,
    op: Operation,
    input: &Value,
    rule: RuleId,
    kind: &ErrorKind,
) -> String {
    let name = str_member(input, "ServerName");
    let backup_id = str_member(input, "BackupId");
    match kind {
        ErrorKind::ValidationException | ErrorKind::SerializationException
            if rule.starts_with("validation.") =>
        {
            let violations = model::validation_errors(op, input);
            let shown: Vec<String> = violations
                .iter()
                .filter(|v| v.rule == rule)
                .chain(violations.iter().filter(|v| v.rule != rule))
                .map(|v| v.message.clone())
                .collect();
            match shown.len() {
                0 => "Invalid request parameters".to_string(),
                1 => format!("1 validation error detected: {}", shown[0]),
                n => format!("{n} validation errors detected: {}", shown.join("; ")),
            }
        }
        ErrorKind::ValidationException if rule == readings::RETENTION_ZERO => {
            "1 validation error detected: Value '0' at 'backupRetentionCount' failed to satisfy constraint: Member must have value greater than or equal to 1".to_string()
        }
        ErrorKind::ValidationException if rule == rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS => format!(
            "Cannot delete the server '{name}'. The current operation on the server is still in progress."
        ),
        ErrorKind::SerializationException => "The request body does not fit the operation's input shape".to_string(),
        ErrorKind::ValidationException => match op {
            Operation::RestoreServer => format!(
                "Backup {backup_id} cannot be restored to server {name}"
            ),
            _ => "Invalid request parameters".to_string(),
        },
        ErrorKind::ResourceNotFoundException => {
            let about_backup = matches!(op, Operation::DeleteBackup)
                || rule == rules::RESTORE_SERVER_NOT_FOUND
                || (op == Operation::DescribeBackups && !backup_id.is_empty());
            if about_backup {
                format!("Backup {backup_id} does not exist")
            } else {
                format!("Server {name} does not exist")
            }
        }
        ErrorKind::LimitExceededException => format!(
            "Maximum number of manual backups ({}) reached for server {name}",
            world.limit
        ),
        ErrorKind::InvalidStateException => invalid_state_message(world, op, input, rule),
        ErrorKind::Other(other) => format!("{other}: the request cannot be served"),
    }
}

/// The message of an InvalidStateException: the status the server is in, and the statuses the
/// rule accepts (as the model lists them).
fn invalid_state_message(world: &World, op: Operation, input: &Value, rule: RuleId) -> String {
    let name = str_member(input, "ServerName");
    let backup_id = str_member(input, "BackupId");
    let status = world
        .servers
        .get(name)
        .map_or("(unknown)", |s| s.status.as_str());
    match rule {
        rules::CREATE_BACKUP_STATE_BACKING_UP
        | rules::CREATE_BACKUP_STATE_REFUSED
        | rules::CREATE_BACKUP_STATE_ALLOWED => format!(
            "Server {name} is in state {status}; backups can be created only in {}",
            ServerStatus::listed(ServerStatus::may_back_up)
        ),
        rules::DELETE_BACKUP_ALREADY_DELETING => {
            format!("Backup {backup_id} is already being deleted")
        }
        rules::SERVER_BACKING_UP_LOCKED if op == Operation::DeleteBackup => {
            format!("Backup {backup_id} is still in progress and cannot be deleted")
        }
        rules::SERVER_BACKING_UP_LOCKED => format!(
            "Server {name} is in state BACKING_UP; it cannot be changed until the backup finishes"
        ),
        rules::START_MAINTENANCE_STATE => format!(
            "Server {name} is in state {status}; maintenance can start only in {}",
            ServerStatus::listed(ServerStatus::may_start_maintenance)
        ),
        rules::RESTORE_SERVER_STATE if world.servers.get(name).is_some_and(|s| s.status.may_restore()) => {
            format!("Backup {backup_id} is not in state OK and cannot be restored")
        }
        rules::RESTORE_SERVER_STATE => format!(
            "Server {name} is in state {status}; it can be restored only in {}",
            ServerStatus::listed(ServerStatus::may_restore)
        ),
        rules::DELETE_SERVER_ALREADY_DELETING => format!("Server {name} is already being deleted"),
        rules::AMBIGUITY_UNNAMED_STATES => format!(
            "Server {name} is in state {status}; it can be updated only in {}",
            ServerStatus::listed(ServerStatus::may_back_up)
        ),
        rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS => format!(
            "Server {name} is in state {status}; the current operation on the server is still in progress"
        ),
        _ => format!("Server {name} is in state {status}"),
    }
}
