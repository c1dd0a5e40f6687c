//! A partial aws-json endpoint written from the documents alone (`seed-CreateBackup.txt`,
//! `interfaces.md`, `service-2.json`), not from the model or the emulator: it serves
//! CreateBackup, DescribeServers and DescribeBackups plus the fixture control plane, and answers
//! `UnknownOperationException` for everything else. A correct one passes; three with one bug
//! each (never locks the server, allows a 51st manual backup, skips ServerName validation) are
//! caught by a divergence of that bug's family.
//!
//! Choices the documents leave to it: the limit counts per server (A1) and every manual backup
//! counts (A3); a backup stays IN_PROGRESS, and its server BACKING_UP, until the control plane's
//! settle (capabilities say `"settleOnly": true`), which restores the earlier status (A5);
//! CreateBackup answers IN_PROGRESS (A6); BackupIds are `ServerName-yyyyMMddHHmmssSSS` (A7);
//! DescribeBackups with an unknown ServerName is ResourceNotFoundException (A13); seeded backups
//! are dated a day in the past, one second apart.

use crate::stub_runs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use opsworkscm_conformance::exit::ExitCode;
use opsworkscm_conformance::model::rules;
use opsworkscm_conformance::report::RunReport;
use opsworkscm_conformance::runner::RunConfig;
use opsworkscm_conformance::target::EndpointSpec;
use opsworkscm_conformance::wire::Dialect;

const LIMIT: usize = 50;
const SERVED: [&str; 3] = ["CreateBackup", "DescribeServers", "DescribeBackups"];
const ACCOUNT: &str = "123456789012";
const STATUSES: [&str; 13] = [
    "BACKING_UP",
    "CONNECTION_LOST",
    "CREATING",
    "DELETING",
    "MODIFYING",
    "FAILED",
    "HEALTHY",
    "RUNNING",
    "RESTORING",
    "SETUP",
    "UNDER_MAINTENANCE",
    "UNHEALTHY",
    "TERMINATED",
];

/// The one bug a stub has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    None,
    /// CreateBackup leaves the server's status alone: it never becomes BACKING_UP.
    NeverLocks,
    /// The limit refuses only past 51 manual backups: the 51st succeeds.
    FiftyFirst,
    /// ServerName's length and pattern are not checked (a bad name is just not found).
    NoNameCheck,
}

struct Server {
    name: String,
    status: String,
    engine: String,
    created_at: DateTime<Utc>,
    /// The status to go back to when the running backup settles.
    before_backup: Option<String>,
}

struct Backup {
    id: String,
    server: String,
    manual: bool,
    status: &'static str,
    created_at: DateTime<Utc>,
    description: Option<String>,
}

struct Stub {
    bug: Bug,
    servers: BTreeMap<String, Server>,
    backups: Vec<Backup>,
    /// The last CreatedAt given, so that each new backup is strictly newer (and its id unique).
    clock: DateTime<Utc>,
}

/// An aws-json error: HTTP 400 with `__type`.
fn error(name: &str, message: &str) -> Response {
    let body = json!({"__type": name, "message": message});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn invalid(message: &str) -> Response {
    error("ValidationException", message)
}

fn not_found(message: &str) -> Response {
    error("ResourceNotFoundException", message)
}

fn success(body: Value) -> Response {
    let headers = [("content-type", "application/x-amz-json-1.1")];
    (StatusCode::OK, headers, body.to_string()).into_response()
}

fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// The region of the request's SigV4 scope (`Credential=AKID/date/REGION/...`).
fn region(headers: &HeaderMap) -> String {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    auth.split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_string()
}

/// Whole-string `[a-zA-Z]` then any of `more` and ASCII letters and digits.
fn name_like(s: &str, more: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || more.contains(c))
}

fn tag_text(v: Option<&Value>, min: usize, max: usize) -> bool {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    v.and_then(Value::as_str)
        .is_some_and(|s| (min..=max).contains(&s.chars().count()) && s.chars().all(allowed))
}

/// Whether `v` is a valid value of the member `member` (service-2.json's shapes).
fn valid_member(member: &str, v: &Value, check_name: bool) -> bool {
    let len = |max: usize| v.as_str().is_some_and(|s| s.chars().count() <= max);
    match member {
        "ServerName" if !check_name => v.is_string(),
        "ServerName" => len(40) && v.as_str().is_some_and(|s| name_like(s, "-")),
        "BackupId" => len(79) && v.as_str().is_some_and(|s| name_like(s, "-.:")),
        "Description" => len(10_000),
        "NextToken" => len(10_000),
        "MaxResults" => v.as_i64().is_some_and(|n| n >= 1),
        "Tags" => v.as_array().is_some_and(|tags| {
            tags.len() <= 200
                && tags.iter().all(|t| {
                    t.is_object()
                        && tag_text(t.get("Key"), 1, 128)
                        && tag_text(t.get("Value"), 0, 256)
                })
        }),
        _ => true,
    }
}

/// The input's validation problem for an operation with `members` (`required` first), if any.
fn validation_problem(
    input: &Value,
    required: Option<&str>,
    members: &[&str],
    check_name: bool,
) -> Option<String> {
    let Some(object) = input.as_object() else {
        return Some("the request must be a JSON object".into());
    };
    let present = |m: &str| object.get(m).filter(|v| !v.is_null());
    if let Some(r) = required.filter(|r| present(r).is_none()) {
        return Some(format!("{r} is required"));
    }
    members
        .iter()
        .find(|m| present(m).is_some_and(|v| !valid_member(m, v, check_name)))
        .map(|m| format!("{m} is not valid"))
}

impl Server {
    fn json(&self) -> Value {
        json!({
            "ServerName": self.name,
            "Status": self.status,
            "Engine": self.engine,
            "CreatedAt": epoch(self.created_at),
        })
    }
}

impl Backup {
    fn json(&self, engine: &str, region: &str) -> Value {
        let mut b = json!({
            "BackupArn": format!("arn:aws:opsworks-cm:{region}:{ACCOUNT}:backup/{}", self.id),
            "BackupId": self.id,
            "BackupType": if self.manual { "MANUAL" } else { "AUTOMATED" },
            "CreatedAt": epoch(self.created_at),
            "Engine": engine,
            "ServerName": self.server,
            "Status": self.status,
        });
        if let Some(d) = &self.description {
            b["Description"] = json!(d);
        }
        b
    }

    /// A new backup of `server` made at `t` (its id is `ServerName-yyyyMMddHHmmssSSS`).
    fn new(server: &str, manual: bool, status: &'static str, t: DateTime<Utc>) -> Backup {
        Backup {
            id: format!("{server}-{}", t.format("%Y%m%d%H%M%S%3f")),
            server: server.to_string(),
            manual,
            status,
            created_at: t,
            description: None,
        }
    }
}

impl Stub {
    fn backup_json(&self, b: &Backup, region: &str) -> Value {
        let engine = self.servers.get(&b.server).map_or("", |s| &s.engine);
        b.json(engine, region)
    }

    /// Now, or just after the last time given: strictly newer than every earlier backup.
    fn tick(&mut self) -> DateTime<Utc> {
        self.clock = Utc::now().max(self.clock + chrono::Duration::milliseconds(1));
        self.clock
    }

    fn create_backup(&mut self, input: &Value, region: &str) -> Response {
        let members = ["ServerName", "Description", "Tags"];
        let check = self.bug != Bug::NoNameCheck;
        if let Some(p) = validation_problem(input, Some("ServerName"), &members, check) {
            return invalid(&p);
        }
        let name = input["ServerName"].as_str().unwrap_or_default().to_string();
        let Some(server) = self.servers.get(&name) else {
            return not_found(&format!("There is no server named '{name}'"));
        };
        if !["RUNNING", "HEALTHY", "UNHEALTHY"].contains(&server.status.as_str()) {
            let m = format!("The server is {}", server.status);
            return error("InvalidStateException", &m);
        }
        let manual = self.backups.iter().filter(|b| b.manual && b.server == name);
        let allowed = if self.bug == Bug::FiftyFirst {
            LIMIT + 1
        } else {
            LIMIT
        };
        if manual.count() >= allowed {
            return error(
                "LimitExceededException",
                "The maximum of 50 manual backups is reached",
            );
        }
        let t = self.tick();
        let mut backup = Backup::new(&name, true, "IN_PROGRESS", t);
        backup.description = input["Description"].as_str().map(str::to_string);
        let answer = json!({"Backup": self.backup_json(&backup, region)});
        self.backups.push(backup);
        let server = self.servers.get_mut(&name).expect("looked up above");
        if self.bug != Bug::NeverLocks {
            server.before_backup = Some(std::mem::replace(&mut server.status, "BACKING_UP".into()));
        }
        success(answer)
    }

    fn describe_servers(&self, input: &Value) -> Response {
        let members = ["ServerName", "NextToken", "MaxResults"];
        let check = self.bug != Bug::NoNameCheck;
        if let Some(p) = validation_problem(input, None, &members, check) {
            return invalid(&p);
        }
        let servers: Vec<Value> = match input["ServerName"].as_str() {
            Some(name) => match self.servers.get(name) {
                Some(s) => vec![s.json()],
                None => return not_found(&format!("There is no server named '{name}'")),
            },
            None => self.servers.values().map(Server::json).collect(),
        };
        success(json!({"Servers": servers}))
    }

    fn describe_backups(&self, input: &Value, region: &str) -> Response {
        let members = ["BackupId", "ServerName", "NextToken", "MaxResults"];
        let check = self.bug != Bug::NoNameCheck;
        if let Some(p) = validation_problem(input, None, &members, check) {
            return invalid(&p);
        }
        let id = input["BackupId"].as_str();
        if id.is_some_and(|id| !self.backups.iter().any(|b| b.id == id)) {
            return not_found("There is no such backup");
        }
        let server = input["ServerName"].as_str();
        if server.is_some_and(|s| !self.servers.contains_key(s)) {
            return not_found("There is no such server");
        }
        let mut listed: Vec<&Backup> = self
            .backups
            .iter()
            .filter(|b| id.is_none_or(|id| b.id == id) && server.is_none_or(|s| b.server == s))
            .collect();
        listed.sort_by_key(|b| std::cmp::Reverse(b.created_at));
        let backups: Vec<Value> = listed.iter().map(|b| self.backup_json(b, region)).collect();
        success(json!({"Backups": backups}))
    }
}

/// A control-plane refusal: 400 with a JSON error; the state is left alone.
fn bad_fixture(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": message})),
    )
        .into_response()
}

fn count(body: &Value, member: &str) -> Option<usize> {
    match body.get(member) {
        None | Some(Value::Null) => Some(0),
        Some(v) => v.as_u64().map(|n| n as usize),
    }
}

impl Stub {
    /// `PUT /_conformance/v1/servers/{name}`: creates or replaces the server, with that many
    /// backups of each type, all OK, dated a day in the past one second apart.
    fn put_server(&mut self, name: &str, body: &Value) -> Response {
        let status = body["Status"].as_str().filter(|s| STATUSES.contains(s));
        let engine = match body.get("Engine") {
            None | Some(Value::Null) => Some("ChefAutomate"),
            Some(v) => v.as_str(),
        };
        let (Some(status), Some(engine), Some(manual), Some(automated)) = (
            status,
            engine,
            count(body, "ManualBackups"),
            count(body, "AutomatedBackups"),
        ) else {
            return bad_fixture("Status must be a server status; Engine a string; counts numbers");
        };
        self.backups.retain(|b| b.server != name);
        let start = Utc::now() - chrono::Duration::days(1);
        for i in 0..manual + automated {
            let t = start + chrono::Duration::seconds(i as i64);
            self.backups.push(Backup::new(name, i < manual, "OK", t));
        }
        let server = Server {
            name: name.to_string(),
            status: status.to_string(),
            engine: engine.to_string(),
            created_at: start - chrono::Duration::days(1),
            before_backup: None,
        };
        let answer = json!({"Server": server.json()});
        self.servers.insert(name.to_string(), server);
        success(answer)
    }

    /// `POST /_conformance/v1/settle`: IN_PROGRESS backups end with the given status, BACKING_UP
    /// servers go back to their earlier status (HEALTHY for one put straight into BACKING_UP).
    fn settle(&mut self, body: &Value) -> Response {
        let status = match body.get("BackupStatus") {
            None | Some(Value::Null) => "OK",
            Some(v) if v == "OK" => "OK",
            Some(v) if v == "FAILED" => "FAILED",
            Some(_) => return bad_fixture("BackupStatus must be OK or FAILED"),
        };
        for b in self
            .backups
            .iter_mut()
            .filter(|b| b.status == "IN_PROGRESS")
        {
            b.status = status;
        }
        for s in self.servers.values_mut() {
            let earlier = s.before_backup.take();
            if s.status == "BACKING_UP" {
                s.status = earlier.unwrap_or_else(|| "HEALTHY".into());
            }
        }
        success(json!({}))
    }

    /// The control plane's routes.
    fn fixture(&mut self, method: &Method, path: &str, body: &Value) -> Response {
        match (method.as_str(), path) {
            ("GET", "capabilities") => success(json!({
                "version": 1,
                "maxManualBackups": LIMIT,
                "settleOnly": true,
                "operations": SERVED,
            })),
            ("POST", "reset") => {
                self.servers.clear();
                self.backups.clear();
                success(json!({}))
            }
            ("POST", "settle") => self.settle(body),
            ("PUT", p) if p.starts_with("servers/") => {
                self.put_server(&p["servers/".len()..], body)
            }
            _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        }
    }

    /// An API call: the operation named by X-Amz-Target, or UnknownOperationException.
    fn api(&mut self, headers: &HeaderMap, input: Option<Value>) -> Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let op = target
            .strip_prefix("OpsWorksCM_V2016_11_01.")
            .unwrap_or(target);
        if !SERVED.contains(&op) {
            return error(
                "UnknownOperationException",
                &format!("{target} is not served"),
            );
        }
        let Some(input) = input else {
            return error("SerializationException", "the body is not JSON");
        };
        let region = region(headers);
        match op {
            "CreateBackup" => self.create_backup(&input, &region),
            "DescribeServers" => self.describe_servers(&input),
            _ => self.describe_backups(&input, &region),
        }
    }
}

async fn handle(
    stub: Arc<Mutex<Stub>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body);
    let mut stub = stub.lock().unwrap();
    if let Some(route) = uri.path().strip_prefix("/_conformance/v1/") {
        return match parsed {
            Ok(v) => stub.fixture(&method, route, &v),
            Err(_) if body.is_empty() => stub.fixture(&method, route, &json!({})),
            Err(_) => bad_fixture("the body is not JSON"),
        };
    }
    if method != Method::POST || uri.path() != "/" {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    stub.api(&headers, parsed.ok())
}

/// Serves a stub with `bug` on 127.0.0.1.
async fn serve(bug: Bug) -> SocketAddr {
    let stub = Arc::new(Mutex::new(Stub {
        bug,
        servers: BTreeMap::new(),
        backups: Vec::new(),
        clock: Utc::now(),
    }));
    let app = Router::new().fallback(move |m, u, h, b| handle(stub.clone(), m, u, h, b));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `run` (aws-json, control plane auto) against the stub: the scenario library (those calling an
/// operation it does not serve are skipped) and `cases` generated cases; report.json is read back
/// from a temporary directory.
async fn judge(bug: Bug, cases: u64) -> (ExitCode, RunReport, Value) {
    let addr = serve(bug).await;
    let url = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let library = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let config = RunConfig {
        endpoint: EndpointSpec::Url(url.clone()),
        endpoint_arg: url.to_string(),
        dialect: Dialect::AwsJson,
        credentials: Some(Credentials::new("test", "test", None, None, "test")),
        cases,
        seed: Some(11),
        max_steps: 12,
        report_dir: Some(dir.path().to_path_buf()),
        scenarios_dir: Some(library),
        save_regressions: false,
        reproduce_runs: 1,
        max_shrink_iters: 64,
        ..RunConfig::default()
    };
    let outcome = stub_runs::run_within(config, Duration::from_secs(120)).await;
    let json = std::fs::read(dir.path().join("report.json")).expect("report.json is written");
    let json: Value = serde_json::from_slice(&json).expect("report.json is JSON");
    (outcome.exit, outcome.report, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_partial_stub_passes_and_the_report_lists_what_it_does_not_serve() {
    let (exit, report, json) = judge(Bug::None, 48).await;
    assert_eq!(exit, ExitCode::Pass, "{:#?}", report.divergences);
    let listed: Vec<&str> = json["operations_not_served"]
        .as_array()
        .expect("operations_not_served is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let unserved = [
        "DeleteBackup",
        "UpdateServer",
        "StartMaintenance",
        "DeleteServer",
        "RestoreServer",
        "DescribeAccountAttributes",
    ];
    assert_eq!(listed, unserved);
    // Every generated case ran: none was skipped for calling an operation left out.
    assert_eq!(report.cases, 48);
}

/// Asserts the run failed with a divergence on a rule `blamed` accepts.
fn assert_caught(exit: ExitCode, report: &RunReport, blamed: impl Fn(&str) -> bool) {
    let rules: Vec<&str> = report.divergences.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(exit, ExitCode::Divergence, "{rules:?}");
    assert!(rules.iter().any(|r| blamed(r)), "{rules:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_stub_that_never_locks_the_server_is_caught() {
    let (exit, report, _) = judge(Bug::NeverLocks, 48).await;
    assert_caught(exit, &report, |r| {
        r == rules::CREATE_BACKUP_STATE_BACKING_UP || r == rules::CREATE_BACKUP_EFFECT_BACKING_UP
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_stub_that_allows_a_fifty_first_manual_backup_is_caught() {
    let (exit, report, _) = judge(Bug::FiftyFirst, 48).await;
    assert_caught(exit, &report, |r| {
        r.starts_with(rules::CREATE_BACKUP_LIMIT.as_str())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_stub_that_skips_server_name_validation_is_caught() {
    let (exit, report, _) = judge(Bug::NoNameCheck, 48).await;
    assert_caught(exit, &report, |r| r.starts_with("validation.server-name"));
}
