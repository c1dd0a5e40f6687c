//! Rendering: the output JSON of each operation from the world after, and the message of each
//! error the model decided. Nothing here decides an outcome; it only shows one.
//!
//! Members the model does not track (instance type, security groups, ARNs of roles) are fixed,
//! plausible values, so every answer fits the service model's shapes (`wire::shape`).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::LazyLock;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

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
/// The pieces of ARNs and URLs around the region and the names.
const ARN_PREFIX: &str = "arn:aws:opsworks-cm:";
const ARN_BACKUP: &str = concat!(":", account!(), ":backup/");
const ARN_SERVER: &str = concat!(":", account!(), ":server/");
const S3_PREFIX: &str = "https://s3.";
const S3_BUCKET: &str = concat!(".amazonaws.com/opsworks-cm-", account!(), "/");

/// A string member as its pieces, joined only as they are written (no String per member).
type Pieces<'a, const N: usize> = [&'a str; N];

/// A server's endpoint: `<name in lower case>.<region>.opsworks-cm.io`.
struct Endpoint<'a> {
    name: &'a str,
    region: &'a str,
}

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.name.chars() {
            f.write_char(c.to_ascii_lowercase())?;
        }
        write!(f, ".{}.opsworks-cm.io", self.region)
    }
}

impl Serialize for Endpoint<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

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

/// A `Backup` structure, borrowed from the world. The members the emulator fixes (instance
/// profile, security groups, ...) are in [`BACKUP_FIXED`].
struct BackupOut<'a> {
    backup_arn: Pieces<'a, 4>,
    backup_id: Option<&'a str>,
    backup_type: &'static str,
    created_at: Timestamp,
    description: Option<&'a str>,
    engine: &'a str,
    engine_model: &'static str,
    engine_version: &'static str,
    preferred_backup_window: &'a str,
    preferred_maintenance_window: &'a str,
    s3_log_url: Pieces<'a, 7>,
    server_name: &'a str,
    status: &'static str,
}

/// The fixed members of a `Backup`, written as JSON once: (after EngineVersion, after
/// S3LogUrl, after ServerName, after Status).
static BACKUP_FIXED: LazyLock<[String; 4]> = LazyLock::new(|| {
    [
        fixed(&[
            ("InstanceProfileArn", json!(INSTANCE_PROFILE_ARN)),
            ("InstanceType", json!(INSTANCE_TYPE)),
        ]),
        fixed(&[("SecurityGroupIds", json!(SECURITY_GROUP_IDS))]),
        fixed(&[("ServiceRoleArn", json!(SERVICE_ROLE_ARN))]),
        fixed(&[
            ("SubnetIds", json!(SUBNET_IDS)),
            ("ToolsVersion", json!("2.0.0")),
            ("UserArn", json!(USER_ARN)),
        ]),
    ]
});

impl BackupOut<'_> {
    /// The members in the service model's order, as `#[derive(Serialize)]` would write them.
    fn write(&self, w: &mut JsonOut) {
        let fixed = &*BACKUP_FIXED;
        w.string("{\"BackupArn\":", &self.backup_arn);
        if let Some(id) = self.backup_id {
            w.string(",\"BackupId\":", &[id]);
        }
        w.string(",\"BackupType\":", &[self.backup_type]);
        w.member(",\"CreatedAt\":", &self.created_at);
        if let Some(description) = self.description {
            w.string(",\"Description\":", &[description]);
        }
        w.string(",\"Engine\":", &[self.engine]);
        w.string(",\"EngineModel\":", &[self.engine_model]);
        w.string(",\"EngineVersion\":", &[self.engine_version]);
        w.raw(&fixed[0]);
        w.string(
            ",\"PreferredBackupWindow\":",
            &[self.preferred_backup_window],
        );
        w.string(
            ",\"PreferredMaintenanceWindow\":",
            &[self.preferred_maintenance_window],
        );
        w.string(",\"S3LogUrl\":", &self.s3_log_url);
        w.raw(&fixed[1]);
        w.string(",\"ServerName\":", &[self.server_name]);
        w.raw(&fixed[2]);
        w.string(",\"Status\":", &[self.status]);
        w.raw(&fixed[3]);
        w.raw("}");
    }
}

/// The snapshot of a backup the emulator did not see made.
static NO_SNAPSHOT: LazyLock<Snapshot> = LazyLock::new(|| Snapshot::of(None));

fn backup<'a>(
    b: &'a Backup,
    snapshots: &'a HashMap<String, Snapshot>,
    settings: &'a Settings,
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
    let region = settings.region.as_str();
    let backup_arn = if mutant == Some(Mutant::ArnNamesServer) {
        [ARN_PREFIX, region, ARN_SERVER, &b.server]
    } else {
        [ARN_PREFIX, region, ARN_BACKUP, id]
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
        preferred_backup_window: snapshot
            .backup_window
            .as_deref()
            .unwrap_or(DEFAULT_BACKUP_WINDOW),
        preferred_maintenance_window: snapshot
            .maintenance_window
            .as_deref()
            .unwrap_or(DEFAULT_MAINTENANCE_WINDOW),
        s3_log_url: [
            S3_PREFIX,
            region,
            S3_BUCKET,
            &b.server,
            "/backups/",
            id,
            ".log",
        ],
        server_name: &b.server,
        status,
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

/// A `Server` structure, borrowed from the world. The members the emulator fixes are in
/// [`SERVER_FIXED`].
struct ServerOut<'a> {
    backup_retention_count: i64,
    server_name: &'a str,
    created_at: Timestamp,
    disable_automated_backup: bool,
    endpoint: Endpoint<'a>,
    engine: &'a str,
    engine_model: &'static str,
    engine_version: &'static str,
    preferred_maintenance_window: &'a str,
    preferred_backup_window: &'a str,
    status: &'static str,
    server_arn: Pieces<'a, 4>,
}

/// The fixed members of a `Server`, written as JSON once: (after EngineVersion, after
/// PreferredBackupWindow, after Status).
static SERVER_FIXED: LazyLock<[String; 3]> = LazyLock::new(|| {
    [
        fixed(&[
            ("InstanceProfileArn", json!(INSTANCE_PROFILE_ARN)),
            ("InstanceType", json!(INSTANCE_TYPE)),
        ]),
        fixed(&[
            ("SecurityGroupIds", json!(SECURITY_GROUP_IDS)),
            ("ServiceRoleArn", json!(SERVICE_ROLE_ARN)),
        ]),
        fixed(&[("SubnetIds", json!(SUBNET_IDS))]),
    ]
});

impl ServerOut<'_> {
    /// The members in the order the emulator has always sent them.
    fn write(&self, w: &mut JsonOut) {
        let fixed = &*SERVER_FIXED;
        w.raw("{\"AssociatePublicIpAddress\":true");
        w.member(",\"BackupRetentionCount\":", &self.backup_retention_count);
        w.string(",\"ServerName\":", &[self.server_name]);
        w.member(",\"CreatedAt\":", &self.created_at);
        w.member(
            ",\"DisableAutomatedBackup\":",
            &self.disable_automated_backup,
        );
        w.member(",\"Endpoint\":", &self.endpoint);
        w.string(",\"Engine\":", &[self.engine]);
        w.string(",\"EngineModel\":", &[self.engine_model]);
        w.string(",\"EngineVersion\":", &[self.engine_version]);
        w.raw(&fixed[0]);
        w.string(
            ",\"PreferredMaintenanceWindow\":",
            &[self.preferred_maintenance_window],
        );
        w.string(
            ",\"PreferredBackupWindow\":",
            &[self.preferred_backup_window],
        );
        w.raw(&fixed[1]);
        w.string(",\"Status\":", &[self.status]);
        w.raw(&fixed[2]);
        w.string(",\"ServerArn\":", &self.server_arn);
        w.raw("}");
    }
}

fn server<'a>(s: &'a Server, settings: &'a Settings) -> ServerOut<'a> {
    let (engine_model, engine_version) = engine_details(&s.engine);
    let region = settings.region.as_str();
    ServerOut {
        backup_retention_count: s.backup_retention_count,
        server_name: &s.name,
        created_at: timestamp(s.created_at_ms.unwrap_or_default(), settings.mutant),
        disable_automated_backup: s.disable_automated_backup,
        endpoint: Endpoint {
            name: &s.name,
            region,
        },
        engine: &s.engine,
        engine_model,
        engine_version,
        preferred_maintenance_window: s
            .preferred_maintenance_window
            .as_deref()
            .unwrap_or(DEFAULT_MAINTENANCE_WINDOW),
        preferred_backup_window: s
            .preferred_backup_window
            .as_deref()
            .unwrap_or(DEFAULT_BACKUP_WINDOW),
        status: s.status.as_str(),
        server_arn: [ARN_PREFIX, region, ARN_SERVER, &s.name],
    }
}

/// A `Server` structure as JSON (the control plane's answer to a put).
pub fn server_json(s: &Server, settings: &Settings) -> Value {
    let mut out = Vec::new();
    server(s, settings).write(&mut JsonOut(&mut out));
    serde_json::from_slice(&out).expect("a server is written as JSON")
}

/// JSON written member by member: the member names and the fixed members as they are (they
/// need no escaping), every value from the world through serde_json (escaped as it escapes).
/// The listings are most of what the emulator writes; this keeps them to one escaping pass
/// over the bytes that vary.
struct JsonOut<'o>(&'o mut Vec<u8>);

impl JsonOut<'_> {
    fn raw(&mut self, json: &str) {
        self.0.extend_from_slice(json.as_bytes());
    }

    /// `prefix` (the separator and the member's name, as JSON), then the value.
    fn member<T: Serialize + ?Sized>(&mut self, prefix: &str, value: &T) {
        self.raw(prefix);
        serde_json::to_writer(&mut *self.0, value).expect("a member serializes");
    }

    /// `prefix`, then the string the pieces make: copied as it is when nothing in it needs
    /// escaping (most values), else escaped by serde_json (the same bytes either way).
    fn string(&mut self, prefix: &str, pieces: &[&str]) {
        let plain = |p: &&str| !p.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
        if pieces.iter().all(plain) {
            self.raw(prefix);
            self.raw("\"");
            pieces.iter().for_each(|p| self.raw(p));
            self.raw("\"");
        } else {
            self.member(prefix, &pieces.concat());
        }
    }

    /// `{"<name>":[<items>]}`.
    fn list<T>(&mut self, name: &str, items: &[T], write: impl Fn(&T, &mut JsonOut)) {
        self.raw("{\"");
        self.raw(name);
        self.raw("\":[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            write(item, self);
        }
        self.raw("]}");
    }
}

/// Fixed members as JSON: `,"<name>":<value>` for each.
fn fixed(members: &[(&str, Value)]) -> String {
    let mut out = Vec::new();
    let mut w = JsonOut(&mut out);
    for (name, value) in members {
        w.member(",", name);
        w.member(":", value);
    }
    String::from_utf8(out).expect("JSON is UTF-8")
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

/// Serializes an answer into a buffer of about the right size (`items` listed structures of up
/// to about a kilobyte each), so that it is not grown step by step.
fn to_json(value: &impl Serialize, items: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 1024 * items);
    serde_json::to_writer(&mut out, value).expect("an answer serializes");
    out
}

/// `{"<name>":<structure>}`, written by `write`.
fn wrapped(name: &str, write: impl FnOnce(&mut JsonOut)) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 1024);
    let mut w = JsonOut(&mut out);
    w.raw("{\"");
    w.raw(name);
    w.raw("\":");
    write(&mut w);
    w.raw("}");
    out
}

/// `{"<name>":[<items>]}`, each item written by `write`.
fn listed<T>(name: &str, items: &[T], write: impl Fn(&T, &mut JsonOut)) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 1024 * items.len());
    JsonOut(&mut out).list(name, items, write);
    out
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
        Expected::Done => to_json(&Empty {}, 0),
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
            wrapped("Backup", |w| shown.write(w))
        }
        Expected::Backups {
            listed: shown,
            maybe_gone,
        } => {
            // Newest first, by creation time (fixture backups may be older than API ones);
            // backups being deleted are still listed, as DELETING, until they are gone.
            let mut order: Vec<&Backup> = shown
                .iter()
                .chain(maybe_gone)
                .map(|&i| &world.backups[i])
                .collect();
            order.sort_by_key(|b| std::cmp::Reverse(b.created_at_ms));
            if mutant == Some(Mutant::ListingOldestFirst) {
                order.reverse();
            }
            let now = (mutant == Some(Mutant::CreatedAtListingTime))
                .then(|| chrono::Utc::now().timestamp_millis());
            listed("Backups", &order, |b, w| {
                let mut shown = backup(b, snapshots, settings);
                if let Some(now) = now {
                    shown.created_at = timestamp(now, mutant);
                }
                shown.write(w);
            })
        }
        Expected::Servers(names) => {
            let servers: Vec<&Server> = names.iter().filter_map(|n| world.servers.get(n)).collect();
            listed("Servers", &servers, |s, w| server(s, settings).write(w))
        }
        Expected::Server(name) => wrapped("Server", |w| {
            server(&world.servers[name], settings).write(w)
        }),
        Expected::AccountAttributes { used, maximum } => to_json(
            &AttributesAnswer {
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
            },
            0,
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackupStatus, BackupType, Readings, ServerSpec, DEFAULT_LIMIT};

    fn settings() -> Settings {
        Settings {
            dialect: crate::wire::Dialect::AwsJson,
            mutant: None,
            readings: ReadingSet::REFERENCE,
            verifier: None,
            backup_duration: None,
            region: "eu-west-1".to_string(),
            limit: DEFAULT_LIMIT,
        }
    }

    /// The member names of the JSON object `bytes`, after checking that the bytes are what
    /// serde_json writes for the value they hold (compact, its escaping and numbers).
    fn members(bytes: &[u8], name: &str) -> Vec<String> {
        let value: Value = serde_json::from_slice(bytes).expect("valid JSON");
        assert_eq!(serde_json::to_vec(&value).unwrap(), bytes);
        value[name]
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn structures_are_written_as_serde_json_writes_them_in_the_shapes_order() {
        let settings = settings();
        let mut world = World::new(DEFAULT_LIMIT, Readings::REFERENCE);
        let spec = ServerSpec {
            name: "Web-1".into(),
            status: ServerStatus::Healthy,
            engine: "Puppet".into(),
            manual_backups: 0,
            automated_backups: 0,
        };
        world.put_server(&spec, Some(1_700_000_000_120));
        let b = Backup {
            id: Some("Web-1-20231114221320120".into()),
            server: "Web-1".into(),
            kind: BackupType::Manual,
            status: BackupStatus::InProgress,
            description: Some(Some("a\"b\\c\u{e9}\n\t\u{1} </x>".into())),
            seq: 0,
            created_at_ms: Some(1_700_000_000_120),
        };
        let snapshots = HashMap::new();
        let out = wrapped("Backup", |w| backup(&b, &snapshots, &settings).write(w));
        let expected = "BackupArn BackupId BackupType CreatedAt Description Engine EngineModel \
            EngineVersion InstanceProfileArn InstanceType PreferredBackupWindow \
            PreferredMaintenanceWindow S3LogUrl SecurityGroupIds ServerName ServiceRoleArn \
            Status SubnetIds ToolsVersion UserArn";
        assert_eq!(members(&out, "Backup").join(" "), expected);
        let out = wrapped("Server", |w| {
            server(&world.servers["Web-1"], &settings).write(w)
        });
        let expected = "AssociatePublicIpAddress BackupRetentionCount ServerName CreatedAt \
            DisableAutomatedBackup Endpoint Engine EngineModel EngineVersion InstanceProfileArn \
            InstanceType PreferredMaintenanceWindow PreferredBackupWindow SecurityGroupIds \
            ServiceRoleArn Status SubnetIds ServerArn";
        assert_eq!(members(&out, "Server").join(" "), expected);
        let shown: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            shown["Server"]["Endpoint"],
            "web-1.eu-west-1.opsworks-cm.io"
        );
        assert_eq!(
            shown["Server"]["ServerArn"],
            "arn:aws:opsworks-cm:eu-west-1:000000000000:server/Web-1"
        );
    }
}
