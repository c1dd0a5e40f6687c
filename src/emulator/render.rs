//! Rendering: the output JSON of each operation from the world after, and the message of each
//! error the model decided. Nothing here decides an outcome; it only shows one.
//!
//! Members the model does not track (instance type, security groups, ARNs of roles) are fixed,
//! plausible values, so every answer fits the service model's shapes (`wire::shape`).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::mutants::Mutant;
use super::state::{CallAnswer, Settings};
use crate::model::{self, Backup, ErrorKind, Expected, Operation, Server, ServerStatus, World};

/// The account every ARN the emulator makes belongs to (LocalStack's convention).
pub const ACCOUNT: &str = "000000000000";

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

/// `<ServerName>-yyyyMMddHHmmssSSS` (UTC), the form the API reference documents.
pub fn backup_id(server: &str, at_ms: i64) -> String {
    format!("{server}-{}", utc(at_ms).format("%Y%m%d%H%M%S%3f"))
}

fn utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn rfc3339(ms: i64) -> String {
    utc(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Epoch seconds with a millisecond fraction, as awsJson sends timestamps.
fn timestamp(ms: i64, mutant: Option<Mutant>) -> Value {
    if mutant == Some(Mutant::CreatedAtMillis) {
        json!(ms)
    } else {
        json!(ms as f64 / 1000.0)
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

/// A `Backup` structure.
pub fn backup(b: &Backup, snapshots: &HashMap<String, Snapshot>, settings: &Settings) -> Value {
    let mutant = settings.mutant;
    let id = b.id.clone().unwrap_or_default();
    let snapshot = snapshots
        .get(&id)
        .cloned()
        .unwrap_or_else(|| Snapshot::of(None));
    let (engine_model, engine_version) = engine_details(&snapshot.engine);
    let status = if mutant == Some(Mutant::StatusLowercase) {
        b.status.as_str().to_ascii_lowercase()
    } else {
        b.status.as_str().to_string()
    };
    let mut out = Map::new();
    out.insert(
        "BackupArn".into(),
        json!(format!(
            "arn:aws:opsworks-cm:{}:{ACCOUNT}:backup/{id}",
            settings.region
        )),
    );
    out.insert("BackupId".into(), json!(id));
    out.insert("BackupType".into(), json!(b.kind.as_str()));
    out.insert(
        "CreatedAt".into(),
        timestamp(b.created_at_ms.unwrap_or_default(), mutant),
    );
    if let Some(Some(d)) = &b.description {
        out.insert("Description".into(), json!(d));
    }
    out.insert("Engine".into(), json!(snapshot.engine));
    out.insert("EngineModel".into(), json!(engine_model));
    out.insert("EngineVersion".into(), json!(engine_version));
    out.insert(
        "InstanceProfileArn".into(),
        json!(format!(
            "arn:aws:iam::{ACCOUNT}:instance-profile/aws-opsworks-cm-ec2-role"
        )),
    );
    out.insert("InstanceType".into(), json!("m5.large"));
    out.insert(
        "PreferredBackupWindow".into(),
        json!(snapshot
            .backup_window
            .as_deref()
            .unwrap_or(DEFAULT_BACKUP_WINDOW)),
    );
    out.insert(
        "PreferredMaintenanceWindow".into(),
        json!(snapshot
            .maintenance_window
            .as_deref()
            .unwrap_or(DEFAULT_MAINTENANCE_WINDOW)),
    );
    out.insert(
        "S3LogUrl".into(),
        json!(format!(
            "https://s3.{}.amazonaws.com/opsworks-cm-{ACCOUNT}/{}/backups/{id}.log",
            settings.region, b.server
        )),
    );
    out.insert("SecurityGroupIds".into(), json!(["sg-0123456789abcdef0"]));
    out.insert("ServerName".into(), json!(b.server));
    out.insert(
        "ServiceRoleArn".into(),
        json!(format!(
            "arn:aws:iam::{ACCOUNT}:role/service-role/aws-opsworks-cm-service-role"
        )),
    );
    out.insert("Status".into(), json!(status));
    out.insert("SubnetIds".into(), json!(["subnet-0123456789abcdef0"]));
    out.insert("ToolsVersion".into(), json!("2.0.0"));
    out.insert(
        "UserArn".into(),
        json!(format!("arn:aws:iam::{ACCOUNT}:user/test")),
    );
    Value::Object(out)
}

/// A `Server` structure.
pub fn server(s: &Server, settings: &Settings) -> Value {
    let (engine_model, engine_version) = engine_details(&s.engine);
    let region = &settings.region;
    json!({
        "AssociatePublicIpAddress": true,
        "BackupRetentionCount": s.backup_retention_count,
        "ServerName": s.name,
        "CreatedAt": timestamp(s.created_at_ms.unwrap_or_default(), settings.mutant),
        "DisableAutomatedBackup": s.disable_automated_backup,
        "Endpoint": format!("{}.{region}.opsworks-cm.io", s.name.to_ascii_lowercase()),
        "Engine": s.engine,
        "EngineModel": engine_model,
        "EngineVersion": engine_version,
        "InstanceProfileArn": format!("arn:aws:iam::{ACCOUNT}:instance-profile/aws-opsworks-cm-ec2-role"),
        "InstanceType": "m5.large",
        "PreferredMaintenanceWindow": s.preferred_maintenance_window.as_deref().unwrap_or(DEFAULT_MAINTENANCE_WINDOW),
        "PreferredBackupWindow": s.preferred_backup_window.as_deref().unwrap_or(DEFAULT_BACKUP_WINDOW),
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "ServiceRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/service-role/aws-opsworks-cm-service-role"),
        "Status": s.status.as_str(),
        "SubnetIds": ["subnet-0123456789abcdef0"],
        "ServerArn": format!("arn:aws:opsworks-cm:{region}:{ACCOUNT}:server/{}", s.name),
    })
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
        Expected::Done => json!({}),
        Expected::CreatedBackup { .. } => {
            let b = world.backups.last().expect("the new backup is last");
            let mut shown = backup(b, snapshots, settings);
            if mutant == Some(Mutant::MissingBackupId) {
                shown.as_object_mut().map(|o| o.remove("BackupId"));
            }
            created = Some((
                b.id.clone().unwrap_or_default(),
                rfc3339(b.created_at_ms.unwrap_or_default()),
            ));
            json!({ "Backup": shown })
        }
        Expected::Backups { listed, .. } => {
            let mut order = listed.clone();
            if mutant == Some(Mutant::ListingOldestFirst) {
                order.reverse();
            }
            let backups: Vec<Value> = order
                .iter()
                .map(|&i| backup(&world.backups[i], snapshots, settings))
                .collect();
            json!({ "Backups": backups })
        }
        Expected::Servers(names) => {
            let servers: Vec<Value> = names
                .iter()
                .filter_map(|n| world.servers.get(n))
                .map(|s| server(s, settings))
                .collect();
            json!({ "Servers": servers })
        }
        Expected::Server(name) => json!({ "Server": server(&world.servers[name], settings) }),
        Expected::AccountAttributes { used, maximum } => json!({
            "Attributes": [
                {"Name": "ServerLimit", "Maximum": 10, "Used": world.servers.len()},
                // Every manual backup there is counts (the high end of the model's range).
                {"Name": "ManualBackupLimit", "Maximum": maximum, "Used": used.1},
            ]
        }),
    };
    CallAnswer { output, created }
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
    rule: &str,
    kind: &ErrorKind,
) -> String {
    let name = str_member(input, "ServerName");
    let backup_id = str_member(input, "BackupId");
    let status = world
        .servers
        .get(name)
        .map_or("(unknown)", |s| s.status.as_str());
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
        ErrorKind::ValidationException if rule == "ambiguity.delete-server-in-progress" => format!(
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
                || rule == "restore-server.not-found"
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
        ErrorKind::InvalidStateException => match rule {
            "create-backup.state.backing-up"
            | "create-backup.state.refused"
            | "create-backup.state.allowed" => format!(
                "Server {name} is in state {status}; backups can be created only in RUNNING, HEALTHY or UNHEALTHY"
            ),
            "delete-backup.already-deleting" => {
                format!("Backup {backup_id} is already being deleted")
            }
            "server.backing-up.locked" if op == Operation::DeleteBackup => {
                format!("Backup {backup_id} is still in progress and cannot be deleted")
            }
            "server.backing-up.locked" => format!(
                "Server {name} is in state BACKING_UP; it cannot be changed until the backup finishes"
            ),
            "start-maintenance.state" => format!(
                "Server {name} is in state {status}; maintenance can start only in HEALTHY or UNHEALTHY"
            ),
            "restore-server.state" if world.servers.get(name).is_some_and(|s| restorable(s.status)) => {
                format!("Backup {backup_id} is not in state OK and cannot be restored")
            }
            "restore-server.state" => format!(
                "Server {name} is in state {status}; it can be restored only in CONNECTION_LOST, HEALTHY, RUNNING, UNHEALTHY or TERMINATED"
            ),
            "delete-server.already-deleting" => format!("Server {name} is already being deleted"),
            "ambiguity.unnamed-states" => format!(
                "Server {name} is in state {status}; it can be updated only in RUNNING, HEALTHY or UNHEALTHY"
            ),
            "ambiguity.delete-server-in-progress" => format!(
                "Server {name} is in state {status}; the current operation on the server is still in progress"
            ),
            _ => format!("Server {name} is in state {status}"),
        },
        ErrorKind::Other(other) => format!("{other}: the request cannot be served"),
    }
}

fn restorable(status: ServerStatus) -> bool {
    matches!(
        status,
        ServerStatus::ConnectionLost
            | ServerStatus::Healthy
            | ServerStatus::Running
            | ServerStatus::Unhealthy
            | ServerStatus::Terminated
    )
}
