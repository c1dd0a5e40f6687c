//! The emulator over HTTP: protocol edges, the control plane, asynchronous backups, the lock,
//! SigV4, and one witness per mutant (a short scenario where the mutant answers differently
//! from the reference). Most tests drive `app(...)` with `tower::ServiceExt::oneshot`; the
//! concurrency tests go through a real socket on 127.0.0.1 with reqwest.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use opsworkscm_conformance::emulator::{self, app, find_mutant, mutants, Emulator, EmulatorConfig};
use opsworkscm_conformance::model::Operation;
use opsworkscm_conformance::wire::{self, shape::check_output, Dialect};
use serde_json::{json, Value};
use tower::ServiceExt;

const TARGET: &str = "OpsWorksCM_V2016_11_01";

fn config() -> EmulatorConfig {
    EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..EmulatorConfig::default()
    }
}

/// An answer, parsed.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl Answer {
    fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("(none)")
    }
}

/// The emulator and its app, driven without a socket.
#[derive(Clone)]
struct Client {
    emulator: Emulator,
    app: Router,
}

impl Client {
    fn new(config: EmulatorConfig) -> Client {
        let emulator = Emulator::new(&config).expect("emulator starts");
        Client {
            app: app(emulator.clone()),
            emulator,
        }
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn raw(&self, target: Option<&str>, body: impl Into<Body>) -> Answer {
        let mut request = Request::post("/").header("content-type", wire::AWS_JSON_CONTENT_TYPE);
        if let Some(t) = target {
            request = request.header("x-amz-target", t);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    async fn call(&self, op: &str, input: Value) -> Answer {
        self.raw(Some(&format!("{TARGET}.{op}")), input.to_string())
            .await
    }

    async fn control(&self, method: &str, path: &str, body: &str) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    async fn put_server(&self, name: &str, body: Value) -> Answer {
        let a = self
            .control(
                "PUT",
                &format!("/_conformance/v1/servers/{name}"),
                &body.to_string(),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "put-server {name}: {:?}", a.body);
        a
    }

    async fn settle(&self, body: Value) -> Answer {
        self.control("POST", "/_conformance/v1/settle", &body.to_string())
            .await
    }

    async fn server_status(&self, name: &str) -> String {
        let a = self
            .call("DescribeServers", json!({ "ServerName": name }))
            .await;
        a.body["Servers"][0]["Status"]
            .as_str()
            .unwrap_or("(none)")
            .to_string()
    }
}

fn assert_aws_json(a: &Answer) {
    assert_eq!(
        a.headers["content-type"],
        wire::AWS_JSON_CONTENT_TYPE,
        "{a:?}"
    );
    let id = a.headers["x-amzn-requestid"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "request id {id}");
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn create_backup_answers_a_backup_in_the_service_shape() {
    let c = Client::new(config());
    c.put_server("web", json!({"Status": "HEALTHY"})).await;
    let a = c
        .call(
            "CreateBackup",
            json!({"ServerName": "web", "Description": "nightly"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_aws_json(&a);
    assert!(
        check_output(Operation::CreateBackup, &a.body).is_empty(),
        "{:?}",
        check_output(Operation::CreateBackup, &a.body)
    );
    let b = &a.body["Backup"];
    let id = b["BackupId"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^web-\d{17}$").unwrap().is_match(id),
        "{id}"
    );
    assert_eq!(
        b["BackupArn"],
        format!("arn:aws:opsworks-cm:us-east-1:000000000000:backup/{id}")
    );
    assert_eq!(b["BackupType"], "MANUAL");
    assert_eq!(b["Status"], "IN_PROGRESS");
    assert_eq!(b["ServerName"], "web");
    assert_eq!(b["Description"], "nightly");
    assert_eq!(b["Engine"], "ChefAutomate");
    let created = b["CreatedAt"].as_f64().expect("CreatedAt is a JSON number");
    assert!((created - now_secs()).abs() < 60.0, "{created}");
    // The id is the creation time, to the millisecond.
    let stamp = chrono::DateTime::from_timestamp_millis((created * 1000.0).round() as i64)
        .unwrap()
        .format("%Y%m%d%H%M%S%3f")
        .to_string();
    assert_eq!(id, format!("web-{stamp}"));

    assert_eq!(c.server_status("web").await, "BACKING_UP");
    let again = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.error_type(), "InvalidStateException");
    assert_eq!(again.headers["x-amzn-errortype"], "InvalidStateException");
    assert_eq!(
        again.body["message"],
        "Server web is in state BACKING_UP; backups can be created only in RUNNING, HEALTHY or UNHEALTHY"
    );
}

#[tokio::test]
async fn every_operation_answers_in_the_service_shape() {
    let c = Client::new(config());
    c.put_server(
        "web",
        json!({"Status": "HEALTHY", "ManualBackups": 2, "AutomatedBackups": 1}),
    )
    .await;
    c.put_server("db", json!({"Status": "RUNNING", "Engine": "Puppet"}))
        .await;
    c.put_server("old", json!({"Status": "CONNECTION_LOST"}))
        .await;
    let created = c
        .call(
            "CreateBackup",
            json!({"ServerName": "db", "Description": "d"}),
        )
        .await;
    let db_backup = created.body["Backup"]["BackupId"]
        .as_str()
        .unwrap()
        .to_string();
    c.settle(json!({})).await;
    let listing = c.call("DescribeBackups", json!({})).await;
    let web_backup = listing.body["Backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["ServerName"] == "web")
        .unwrap()["BackupId"]
        .as_str()
        .unwrap()
        .to_string();
    let calls = [
        ("DescribeBackups", json!({})),
        ("DescribeBackups", json!({"ServerName": "web"})),
        ("DescribeBackups", json!({"BackupId": db_backup})),
        ("DescribeServers", json!({})),
        ("DescribeServers", json!({"ServerName": "db"})),
        ("DescribeAccountAttributes", json!({})),
        (
            "UpdateServer",
            json!({"ServerName": "web", "BackupRetentionCount": 3, "PreferredBackupWindow": "Tue:04:00"}),
        ),
        ("DeleteBackup", json!({"BackupId": web_backup})),
        ("StartMaintenance", json!({"ServerName": "web"})),
        (
            "RestoreServer",
            json!({"ServerName": "db", "BackupId": db_backup}),
        ),
        ("DeleteServer", json!({"ServerName": "old"})),
    ];
    for (op, input) in calls {
        let a = c.call(op, input.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{op} {input}: {:?}", a.body);
        assert_aws_json(&a);
        let problems = check_output(Operation::from_name(op).unwrap(), &a.body);
        assert!(problems.is_empty(), "{op}: {problems:?}");
        match op {
            "DescribeBackups" => assert!(a.body["Backups"].is_array()),
            "DescribeServers" => assert!(a.body["Servers"].is_array()),
            "UpdateServer" => {
                assert_eq!(a.body["Server"]["BackupRetentionCount"], 3);
                assert_eq!(a.body["Server"]["PreferredBackupWindow"], "Tue:04:00");
            }
            "StartMaintenance" => assert_eq!(a.body["Server"]["Status"], "UNDER_MAINTENANCE"),
            "DescribeAccountAttributes" => {
                let attrs = a.body["Attributes"].as_array().unwrap();
                let manual = attrs
                    .iter()
                    .find(|x| x["Name"] == "ManualBackupLimit")
                    .unwrap();
                assert_eq!(manual["Used"], 3);
                assert_eq!(manual["Maximum"], 50);
                assert!(attrs.iter().any(|x| x["Name"] == "ServerLimit"));
            }
            "DeleteBackup" | "RestoreServer" | "DeleteServer" => assert_eq!(a.body, json!({})),
            _ => {}
        }
    }
    // The deleted backup is gone at once; the restore and deletion are in progress.
    let listing = c
        .call("DescribeBackups", json!({"BackupId": web_backup}))
        .await;
    assert_eq!(listing.error_type(), "ResourceNotFoundException");
    assert_eq!(c.server_status("db").await, "RESTORING");
    assert_eq!(c.server_status("web").await, "UNDER_MAINTENANCE");
    assert_eq!(c.server_status("old").await, "DELETING");
}

#[tokio::test]
async fn backups_are_listed_newest_first_with_unique_ids() {
    let c = Client::new(config());
    c.put_server(
        "web",
        json!({"Status": "HEALTHY", "ManualBackups": 5, "AutomatedBackups": 3}),
    )
    .await;
    c.put_server("db", json!({"Status": "HEALTHY", "ManualBackups": 2}))
        .await;
    c.call("CreateBackup", json!({"ServerName": "web"})).await;
    let a = c.call("DescribeBackups", json!({})).await;
    let backups = a.body["Backups"].as_array().unwrap();
    assert_eq!(backups.len(), 11);
    assert_eq!(backups[0]["Status"], "IN_PROGRESS", "the newest is first");
    let times: Vec<f64> = backups
        .iter()
        .map(|b| b["CreatedAt"].as_f64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first: {times:?}"
    );
    let mut ids: Vec<&str> = backups
        .iter()
        .map(|b| b["BackupId"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 11, "ids are unique");
    let web = c
        .call("DescribeBackups", json!({"ServerName": "web"}))
        .await;
    let web = web.body["Backups"].as_array().unwrap();
    assert_eq!(web.len(), 9);
    let automated = web
        .iter()
        .filter(|b| b["BackupType"] == "AUTOMATED")
        .count();
    assert_eq!(automated, 3);
}

#[tokio::test]
async fn the_limit_refuses_the_51st_and_deleting_frees_a_slot() {
    let c = Client::new(config());
    c.put_server(
        "web",
        json!({"Status": "HEALTHY", "ManualBackups": 49, "AutomatedBackups": 4}),
    )
    .await;
    let a = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(a.status, StatusCode::OK, "the 50th: {:?}", a.body);
    c.settle(json!({})).await;
    let a = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(a.error_type(), "LimitExceededException");
    assert_eq!(
        a.body["message"],
        "Maximum number of manual backups (50) reached for server web"
    );
    let attrs = c.call("DescribeAccountAttributes", json!({})).await;
    assert!(attrs.body["Attributes"]
        .as_array()
        .unwrap()
        .contains(&json!({"Name": "ManualBackupLimit", "Maximum": 50, "Used": 50})));
    let listing = c
        .call("DescribeBackups", json!({"ServerName": "web"}))
        .await;
    let manual = listing.body["Backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["BackupType"] == "MANUAL")
        .unwrap()["BackupId"]
        .clone();
    let a = c.call("DeleteBackup", json!({"BackupId": manual})).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(a.status, StatusCode::OK, "a slot was freed: {:?}", a.body);
}

#[tokio::test]
async fn modeled_errors_say_what_was_wrong() {
    let c = Client::new(config());
    c.put_server("web", json!({"Status": "CREATING"})).await;
    let cases = [
        (
            json!({"ServerName": "nope"}),
            "ResourceNotFoundException",
            "Server nope does not exist",
        ),
        (
            json!({"ServerName": "web"}),
            "InvalidStateException",
            "Server web is in state CREATING",
        ),
        (
            json!({"ServerName": "a".repeat(41)}),
            "ValidationException",
            "ServerName has 41 characters",
        ),
        (json!({}), "ValidationException", "ServerName is required"),
        (
            json!({"ServerName": "web", "Description": "x".repeat(10001)}),
            "ValidationException",
            "Description",
        ),
    ];
    for (input, kind, text) in cases {
        let a = c.call("CreateBackup", input.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_aws_json(&a);
        assert_eq!(a.error_type(), kind, "{input}");
        assert_eq!(a.headers["x-amzn-errortype"], kind);
        let message = a.body["message"].as_str().unwrap();
        assert!(message.contains(text), "{input}: {message}");
    }
}

#[tokio::test]
async fn protocol_errors_answer_like_aws_and_change_nothing() {
    let c = Client::new(config());
    c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 1}))
        .await;
    c.call("CreateBackup", json!({"ServerName": "web"})).await;
    let before = c.emulator.world();
    let create = format!("{TARGET}.CreateBackup");
    let huge = format!(
        r#"{{"ServerName": "other", "Description": "{}"}}"#,
        "x".repeat(emulator::MAX_BODY)
    );
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            Request::post("/")
                .header("x-amz-target", &create)
                .body(Body::from(r#"{"ServerName": "web""#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "SerializationException",
        ),
        (
            "missing target",
            Request::post("/")
                .body(Body::from(r#"{"ServerName": "web"}"#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
        ),
        (
            "another operation of the service",
            Request::post("/")
                .header("x-amz-target", format!("{TARGET}.CreateServer"))
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
        ),
        (
            "a target of another service",
            Request::post("/")
                .header("x-amz-target", "DynamoDB_20120810.ListTables")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
        ),
        (
            "wrong method",
            Request::get("/")
                .header("x-amz-target", &create)
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
        ),
        (
            "wrong path",
            Request::post("/v1/backups")
                .header("x-amz-target", &create)
                .body(Body::from(r#"{"ServerName": "web"}"#))
                .unwrap(),
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
        ),
        (
            "oversized body",
            Request::post("/")
                .header("x-amz-target", &create)
                .body(Body::from(huge))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
        ),
    ];
    for (what, request, status, kind) in cases {
        let a = c.send(request).await;
        assert_eq!(a.status, status, "{what}: {:?}", a.body);
        assert_eq!(a.error_type(), kind, "{what}");
        assert!(
            a.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert_aws_json(&a);
        assert_eq!(c.emulator.world(), before, "{what} changed the state");
    }
    // An empty body is `{}`; a JSON body of the wrong type is the model's ValidationException.
    let a = c.raw(Some(&create), "").await;
    assert_eq!(a.error_type(), "ValidationException");
    let a = c.raw(Some(&create), "[1, 2]").await;
    assert_eq!(a.error_type(), "ValidationException");
    assert_eq!(c.emulator.world(), before);
}

#[tokio::test]
async fn the_control_plane_sets_fixtures_and_refuses_bad_requests() {
    let c = Client::new(EmulatorConfig {
        limit: 7,
        ..config()
    });
    let caps = c.control("GET", "/_conformance/v1/capabilities", "").await;
    assert_eq!(caps.status, StatusCode::OK);
    assert_eq!(
        caps.body,
        json!({"version": 1, "maxManualBackups": 7, "settleOnly": true})
    );

    let put = c
        .put_server(
            "web",
            json!({"Status": "UNHEALTHY", "Engine": "Puppet", "ManualBackups": 2}),
        )
        .await;
    let server = &put.body["Server"];
    assert_eq!(server["ServerName"], "web");
    assert_eq!(server["Status"], "UNHEALTHY");
    assert_eq!(server["Engine"], "Puppet");
    let as_listing = json!({"Servers": [server]});
    assert!(check_output(Operation::DescribeServers, &as_listing).is_empty());
    let described = c
        .call("DescribeServers", json!({"ServerName": "web"}))
        .await;
    assert_eq!(described.body["Servers"][0], *server);

    let before = c.emulator.world();
    let bad: [(&str, &str, &str); 10] = [
        (
            "PUT",
            "/_conformance/v1/servers/web",
            r#"{"Status": "ASLEEP"}"#,
        ),
        (
            "PUT",
            "/_conformance/v1/servers/web",
            r#"{"Engine": "Puppet"}"#,
        ),
        (
            "PUT",
            "/_conformance/v1/servers/web",
            r#"{"Status": "HEALTHY""#,
        ),
        (
            "PUT",
            "/_conformance/v1/servers/web",
            r#"{"Status": "HEALTHY", "Manual": 3}"#,
        ),
        (
            "PUT",
            "/_conformance/v1/servers/web",
            r#"{"Status": "HEALTHY", "ManualBackups": -1}"#,
        ),
        (
            "PUT",
            &format!("/_conformance/v1/servers/{}", "a".repeat(41)),
            r#"{"Status": "HEALTHY"}"#,
        ),
        (
            "PUT",
            "/_conformance/v1/servers/1web",
            r#"{"Status": "HEALTHY"}"#,
        ),
        (
            "POST",
            "/_conformance/v1/settle",
            r#"{"BackupStatus": "IN_PROGRESS"}"#,
        ),
        ("POST", "/_conformance/v1/settle", "not json"),
        ("POST", "/_conformance/v1/reset", "[]"),
    ];
    for (method, path, body) in bad {
        let a = c.control(method, path, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{method} {path} {body}");
        assert!(a.body["message"].as_str().is_some(), "{:?}", a.body);
        assert_eq!(c.emulator.world(), before, "{method} {path} {body}");
    }

    // Settle: backups end as asked, servers return to their status before.
    c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(c.server_status("web").await, "BACKING_UP");
    assert_eq!(
        c.settle(json!({"BackupStatus": "FAILED"})).await.body,
        json!({})
    );
    assert_eq!(c.server_status("web").await, "UNHEALTHY");
    let listing = c
        .call("DescribeBackups", json!({"ServerName": "web"}))
        .await;
    assert_eq!(listing.body["Backups"][0]["Status"], "FAILED");
    // A server put straight into BACKING_UP settles to a status that can back up.
    c.put_server("db", json!({"Status": "BACKING_UP"})).await;
    c.control("POST", "/_conformance/v1/settle", "").await;
    assert_eq!(c.server_status("db").await, "HEALTHY");

    let reset = c.control("POST", "/_conformance/v1/reset", "{}").await;
    assert_eq!(reset.body, json!({}));
    let all = c.call("DescribeServers", json!({})).await;
    assert_eq!(all.body, json!({"Servers": []}));
    let all = c.call("DescribeBackups", json!({})).await;
    assert_eq!(all.body, json!({"Backups": []}));
}

#[tokio::test]
async fn backup_duration_zero_finishes_by_the_next_request() {
    let c = Client::new(EmulatorConfig {
        backup_duration: Some(Duration::ZERO),
        ..config()
    });
    c.put_server("web", json!({"Status": "RUNNING"})).await;
    let a = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(a.body["Backup"]["Status"], "IN_PROGRESS");
    let listing = c.call("DescribeBackups", json!({})).await;
    assert_eq!(listing.body["Backups"][0]["Status"], "OK");
    assert_eq!(c.server_status("web").await, "RUNNING");
    // Maintenance ends too.
    c.put_server("db", json!({"Status": "HEALTHY"})).await;
    c.call("StartMaintenance", json!({"ServerName": "db"}))
        .await;
    assert_eq!(c.server_status("db").await, "HEALTHY");
    c.call("DeleteServer", json!({"ServerName": "db"})).await;
    let gone = c.call("DescribeServers", json!({"ServerName": "db"})).await;
    assert_eq!(gone.error_type(), "ResourceNotFoundException");
}

#[tokio::test]
async fn a_short_backup_duration_finishes_after_it() {
    let c = Client::new(EmulatorConfig {
        backup_duration: Some(Duration::from_millis(200)),
        ..config()
    });
    c.put_server("web", json!({"Status": "HEALTHY"})).await;
    c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(c.server_status("web").await, "BACKING_UP");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(c.server_status("web").await, "HEALTHY");
    let listing = c.call("DescribeBackups", json!({})).await;
    assert_eq!(listing.body["Backups"][0]["Status"], "OK");
}

#[tokio::test]
async fn without_a_duration_backups_wait_for_settle() {
    let c = Client::new(config());
    c.put_server("web", json!({"Status": "HEALTHY"})).await;
    c.call("CreateBackup", json!({"ServerName": "web"})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(c.server_status("web").await, "BACKING_UP");
}

/// 32 CreateBackup calls at once on one server through a real socket: (successes, errors seen,
/// backups listed afterwards).
async fn race(mutant: Option<&str>) -> (usize, Vec<String>, usize) {
    let running = emulator::start(EmulatorConfig {
        mutant: mutant.map(str::to_string),
        ..config()
    })
    .await
    .expect("emulator starts");
    assert!(running.url.starts_with("http://127.0.0.1:"));
    let http = opsworkscm_conformance::target::http_client();
    let put = http
        .put(format!("{}/_conformance/v1/servers/web", running.url))
        .body(r#"{"Status": "HEALTHY"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let calls = (0..32).map(|_| {
        let http = http.clone();
        let url = running.url.clone();
        tokio::spawn(async move {
            let r = http
                .post(&url)
                .header("x-amz-target", format!("{TARGET}.CreateBackup"))
                .header("content-type", wire::AWS_JSON_CONTENT_TYPE)
                .body(r#"{"ServerName": "web"}"#)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        })
    });
    let mut successes = 0;
    let mut errors = Vec::new();
    for call in futures_join(calls.collect()).await {
        match call {
            (200, _) => successes += 1,
            (_, body) => errors.push(body["__type"].as_str().unwrap_or("?").to_string()),
        }
    }
    let listing: Value = http
        .post(&running.url)
        .header("x-amz-target", format!("{TARGET}.DescribeBackups"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    running.shutdown().await;
    (
        successes,
        errors,
        listing["Backups"].as_array().unwrap().len(),
    )
}

async fn futures_join<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_create_backup_on_one_server_succeeds_exactly_once() {
    let (successes, errors, listed) = race(None).await;
    assert_eq!(successes, 1, "errors: {errors:?}");
    assert_eq!(errors.len(), 31);
    assert!(
        errors.iter().all(|e| e == "InvalidStateException"),
        "{errors:?}"
    );
    assert_eq!(listed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_racy_create_mutant_lets_parallel_calls_through() {
    let (successes, _, listed) = race(Some("racy-create")).await;
    assert!(successes > 1, "the race is real: {successes} successes");
    assert_eq!(listed, successes);
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let first = emulator::start(config()).await.unwrap();
    let err = emulator::start(EmulatorConfig {
        listen: first.addr,
        ..config()
    })
    .await
    .err()
    .expect("the port is taken");
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!("cannot listen on {}", first.addr)),
        "{text}"
    );
    assert!(text.contains("hint:"), "{text}");
    first.shutdown().await;
}

#[tokio::test]
async fn the_envelope_dialect_answers_in_envelopes() {
    let c = Client::new(EmulatorConfig {
        dialect: Dialect::Envelope,
        ..config()
    });
    c.put_server("web", json!({"Status": "HEALTHY"})).await;
    let a = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["success"], true);
    let id = a.body["data"]["id"].as_str().unwrap();
    assert!(id.starts_with("web-"), "{id}");
    let at = a.body["data"]["created_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    assert!(a.headers.contains_key("x-amzn-requestid"));

    let e = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.body["success"], false);
    assert_eq!(e.body["error"]["code"], "INVALID_STATE");
    for (input, code) in [
        (json!({"ServerName": "nope"}), "NOT_FOUND"),
        (json!({"ServerName": ""}), "VALIDATION_ERROR"),
    ] {
        let e = c.call("CreateBackup", input).await;
        assert_eq!(e.body["error"]["code"], code);
    }
    let listing = c.call("DescribeBackups", json!({})).await;
    assert_eq!(listing.body["success"], true);
    assert_eq!(listing.body["data"]["Backups"][0]["BackupId"], id);
}

#[tokio::test]
async fn the_always_success_stub_answers_everything_alike() {
    let err = Emulator::new(&EmulatorConfig {
        mutant: Some("always-success".into()),
        ..config()
    })
    .err()
    .expect("always-success is envelope only");
    assert!(err.to_string().contains("--dialect envelope"), "{err}");

    let c = Client::new(EmulatorConfig {
        mutant: Some("always-success".into()),
        dialect: Dialect::Envelope,
        ..config()
    });
    let seed =
        json!({"success": true, "data": {"id": "abc123", "created_at": "2025-01-01T00:00:00Z"}});
    for a in [
        c.call("CreateBackup", json!({"ServerName": "nope"})).await,
        c.call("DescribeBackups", json!({})).await,
        c.control("GET", "/anything/at/all", "").await,
        c.control("GET", "/_conformance/v1/capabilities", "").await,
    ] {
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.body, seed);
    }
}

mod sigv4 {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    const BODY: &str = r#"{"ServerName": "web"}"#;

    fn signed(key: &str, region: &str, at: SystemTime, body: &str) -> Request<Body> {
        let mut request = Request::post("/")
            .header("host", "localhost:4566")
            .header("content-type", wire::AWS_JSON_CONTENT_TYPE)
            .header("x-amz-target", format!("{TARGET}.DescribeServers"))
            .body(body.to_string())
            .unwrap();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let identity = Credentials::new(key, "test", None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("opsworks-cm")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "POST",
            "http://localhost:4566/",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions.apply_to_request_http1x(&mut request);
        request.map(Body::from)
    }

    fn client() -> Client {
        Client::new(EmulatorConfig {
            verify_sigv4: true,
            ..config()
        })
    }

    #[tokio::test]
    async fn a_correctly_signed_request_passes() {
        let c = client();
        c.put_server("web", json!({"Status": "HEALTHY"})).await;
        let a = c
            .send(signed("test", "us-east-1", SystemTime::now(), BODY))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["Servers"][0]["ServerName"], "web");
    }

    #[tokio::test]
    async fn bad_signatures_are_refused_like_aws() {
        let c = client();
        c.put_server("web", json!({"Status": "HEALTHY"})).await;
        let now = SystemTime::now();
        let mut tampered = signed("test", "us-east-1", now, BODY);
        let auth = tampered.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_string();
        let flipped = if auth.ends_with('0') { '1' } else { '0' };
        let auth = format!("{}{flipped}", &auth[..auth.len() - 1]);
        tampered
            .headers_mut()
            .insert("authorization", auth.parse().unwrap());
        let mut changed_body = signed("test", "us-east-1", now, BODY);
        *changed_body.body_mut() = Body::from(r#"{"ServerName": "db"}"#);
        let unsigned = Request::post("/")
            .header("x-amz-target", format!("{TARGET}.DescribeServers"))
            .body(Body::from(BODY))
            .unwrap();
        let cases = [
            (
                tampered,
                "InvalidSignatureException",
                "The request signature we calculated does not match",
            ),
            (
                changed_body,
                "InvalidSignatureException",
                "The request signature we calculated does not match",
            ),
            (
                signed("test", "eu-west-1", now, BODY),
                "InvalidSignatureException",
                "Credential should be scoped to a valid region, not 'eu-west-1'.",
            ),
            (
                signed("test", "us-east-1", now - Duration::from_secs(600), BODY),
                "InvalidSignatureException",
                "Signature expired: ",
            ),
            (
                signed("test", "us-east-1", now + Duration::from_secs(600), BODY),
                "InvalidSignatureException",
                "Signature not yet current: ",
            ),
            (
                signed("AKIDUNKNOWN", "us-east-1", now, BODY),
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            (
                unsigned,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
        ];
        for (request, kind, text) in cases {
            let a = c.send(request).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{kind}: {:?}", a.body);
            assert_eq!(a.error_type(), kind);
            let message = a.body["message"].as_str().unwrap();
            assert!(message.starts_with(text), "{message}");
            assert_aws_json(&a);
        }
        // The control plane is never signature-checked.
        let caps = c.control("GET", "/_conformance/v1/capabilities", "").await;
        assert_eq!(caps.status, StatusCode::OK);
    }
}

mod mutant {
    use super::*;

    #[test]
    fn every_mutant_is_found_by_name_and_unknown_names_get_suggestions() {
        assert!(mutants().len() >= 22);
        for m in mutants() {
            assert_eq!(find_mutant(m.name).unwrap().name, m.name);
        }
        let err = find_mutant("limit-of-by-one-high").unwrap_err();
        assert!(err.contains("did you mean limit-off-by-one-high"), "{err}");
        let err = find_mutant("no-such-bug").unwrap_err();
        assert!(err.contains("--list-mutants"), "{err}");
        let err = Emulator::new(&EmulatorConfig {
            mutant: Some("status-lowercas".into()),
            ..config()
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("status-lowercase"), "{err}");
    }

    /// What a scenario showed, with ids and times reduced to their form so the reference and a
    /// mutant can be compared.
    fn digest(a: &Answer) -> Value {
        fn norm(v: &Value) -> Value {
            match v {
                Value::Object(o) => {
                    let mut out = serde_json::Map::new();
                    for (k, v) in o {
                        let v = match (k.as_str(), v) {
                            ("BackupId" | "BackupArn" | "S3LogUrl" | "id" | "created_at", _) => {
                                json!("<id>")
                            }
                            ("CreatedAt", v) if v.as_f64().is_some_and(|x| x < 1e11) => {
                                json!("<seconds>")
                            }
                            ("CreatedAt", _) => json!("<not seconds>"),
                            ("Backups", Value::Array(items)) => {
                                let times: Vec<f64> = items
                                    .iter()
                                    .filter_map(|b| b["CreatedAt"].as_f64())
                                    .collect();
                                let order = if times.windows(2).all(|w| w[0] >= w[1]) {
                                    "newest-first"
                                } else {
                                    "not newest-first"
                                };
                                json!({"order": order, "items": items.iter().map(norm).collect::<Vec<_>>()})
                            }
                            (_, v) => norm(v),
                        };
                        out.insert(k.clone(), v);
                    }
                    Value::Object(out)
                }
                Value::Array(items) => Value::Array(items.iter().map(norm).collect()),
                other => other.clone(),
            }
        }
        json!({"status": a.status.as_u16(), "body": norm(&a.body), "errortype": a.headers.get("x-amzn-errortype").map(|v| v.to_str().unwrap())})
    }

    /// A short scenario on which `mutant` answers differently from the reference.
    async fn witness(mutant: &str, c: &Client) -> Vec<Value> {
        let healthy = json!({"Status": "HEALTHY"});
        let create = |input: Value| c.call("CreateBackup", input);
        let mut seen = Vec::new();
        match mutant {
            "limit-off-by-one-high" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 50}))
                    .await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "limit-off-by-one-low" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 49}))
                    .await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "counts-automated" => {
                c.put_server(
                    "web",
                    json!({"Status": "HEALTHY", "ManualBackups": 45, "AutomatedBackups": 5}),
                )
                .await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "delete-keeps-slot" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 50}))
                    .await;
                let listing = c
                    .call("DescribeBackups", json!({"ServerName": "web"}))
                    .await;
                let id = listing.body["Backups"][0]["BackupId"].clone();
                seen.push(c.call("DeleteBackup", json!({"BackupId": id})).await);
                seen.push(
                    c.call("DescribeBackups", json!({"ServerName": "web"}))
                        .await,
                );
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "backing-up-allows-backup" => {
                c.put_server("web", json!({"Status": "BACKING_UP"})).await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "backup-from-any-state" => {
                c.put_server("web", json!({"Status": "SETUP"})).await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "update-while-backing-up" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
                seen.push(
                    c.call(
                        "UpdateServer",
                        json!({"ServerName": "web", "BackupRetentionCount": 2}),
                    )
                    .await,
                );
            }
            "no-backing-up-status" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
                seen.push(
                    c.call("DescribeServers", json!({"ServerName": "web"}))
                        .await,
                );
            }
            "case-insensitive-names" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "WEB"})).await);
            }
            "description-off-by-one" => {
                c.put_server("web", healthy).await;
                seen.push(
                    create(json!({"ServerName": "web", "Description": "d".repeat(10_000)})).await,
                );
            }
            "tags-unchecked" => {
                c.put_server("web", healthy).await;
                seen.push(
                    create(json!({"ServerName": "web", "Tags": [{"Key": "", "Value": "v"}]})).await,
                );
            }
            "server-name-41" => {
                seen.push(create(json!({"ServerName": "a".repeat(41)})).await);
            }
            "listing-oldest-first" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 3}))
                    .await;
                seen.push(c.call("DescribeBackups", json!({})).await);
            }
            "settle-keeps-backing-up" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
                c.settle(json!({})).await;
                seen.push(c.call("DescribeServers", json!({})).await);
            }
            "created-at-millis" | "status-lowercase" | "missing-backup-id" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "error-http-500" | "error-type-missing" => {
                seen.push(create(json!({"ServerName": "nope"})).await);
            }
            "not-found-before-validation" => {
                seen.push(
                    create(json!({"ServerName": "nope", "Description": "d".repeat(10_001)})).await,
                );
            }
            "racy-create" => {
                c.put_server("web", healthy).await;
                let (a, b) = tokio::join!(
                    create(json!({"ServerName": "web"})),
                    create(json!({"ServerName": "web"}))
                );
                let mut statuses = [a.status.as_u16(), b.status.as_u16()];
                statuses.sort();
                return vec![json!(statuses)];
            }
            other => panic!("no witness scenario for mutant {other}"),
        }
        seen.iter().map(digest).collect()
    }

    #[tokio::test]
    async fn every_mutant_answers_differently_from_the_reference_somewhere() {
        for m in mutants().iter().filter(|m| m.dialect.is_none()) {
            let reference = witness(m.name, &Client::new(config())).await;
            let mutated = witness(
                m.name,
                &Client::new(EmulatorConfig {
                    mutant: Some(m.name.to_string()),
                    ..config()
                }),
            )
            .await;
            assert_ne!(reference, mutated, "mutant {} is indistinguishable", m.name);
        }
    }

    #[tokio::test]
    async fn the_capabilities_call_reports_the_configured_limit_under_every_mutant() {
        for m in mutants().iter().filter(|m| m.dialect.is_none()) {
            let c = Client::new(EmulatorConfig {
                mutant: Some(m.name.to_string()),
                ..config()
            });
            let caps = c.control("GET", "/_conformance/v1/capabilities", "").await;
            assert_eq!(caps.body["maxManualBackups"], 50, "{}", m.name);
        }
    }
}

/// The model as a checker: folds each answer over the worlds the model allows (any reading,
/// anything an endpoint may do by itself between calls) and keeps those that explain it.
mod model_agrees {
    use super::*;
    use opsworkscm_conformance::model::{
        self, spontaneous, Action, BackupStatus, CallWindow, Observation, ServerSpec, ServerStatus,
        World,
    };
    use opsworkscm_conformance::wire::{decode_response, Answer as Decoded};

    struct Checked {
        client: Client,
        worlds: Vec<World>,
        /// The first rule a divergence broke, if one was seen.
        divergence: Option<String>,
    }

    impl Checked {
        fn new(config: EmulatorConfig) -> Checked {
            Checked {
                client: Client::new(config),
                worlds: World::all_readings(50),
                divergence: None,
            }
        }

        fn fixture(&mut self, action: Action) {
            let mut next: Vec<World> = self
                .worlds
                .iter()
                .flat_map(|w| model::step(w, &action))
                .map(|p| p.world)
                .collect();
            next.sort();
            next.dedup();
            self.worlds = next;
        }

        async fn put(&mut self, name: &str, status: ServerStatus, manual: u32, automated: u32) {
            self.client
                .put_server(
                    name,
                    json!({"Status": status.as_str(), "ManualBackups": manual, "AutomatedBackups": automated}),
                )
                .await;
            self.fixture(Action::PutServer(ServerSpec {
                name: name.into(),
                status,
                engine: "ChefAutomate".into(),
                manual_backups: manual,
                automated_backups: automated,
            }));
        }

        async fn settle(&mut self) {
            self.client.settle(json!({})).await;
            self.fixture(Action::Settle(BackupStatus::Ok));
        }

        async fn call(&mut self, op: Operation, input: Value) -> Answer {
            let sent_ms = chrono::Utc::now().timestamp_millis();
            let a = self.client.call(op.name(), input.clone()).await;
            let window = CallWindow {
                sent_ms,
                answered_ms: chrono::Utc::now().timestamp_millis(),
            };
            if self.divergence.is_some() {
                return a;
            }
            let body = serde_json::to_vec(&a.body).unwrap();
            let header = a
                .headers
                .get("x-amzn-errortype")
                .map(|v| v.to_str().unwrap().to_string());
            let observation = match decode_response(
                Dialect::AwsJson,
                op,
                a.status.as_u16(),
                header.as_deref(),
                &body,
            ) {
                Decoded::Observed(o) => o,
                Decoded::Protocol(m) => {
                    self.divergence = Some(m.rule.to_string());
                    return a;
                }
                other => panic!("{op}: {other:?}"),
            };
            if let Observation::Success(out) = &observation {
                let problems = check_output(op, out);
                if !problems.is_empty() {
                    self.divergence = Some(format!("shape: {problems:?}"));
                    return a;
                }
            }
            let action = Action::Call { op, input };
            let mut next = Vec::new();
            let mut broken = Vec::new();
            for w in &self.worlds {
                for w in spontaneous(w) {
                    for p in model::step(&w, &action) {
                        match p.explain(&observation, Some(window)) {
                            Ok(w) => next.push(w),
                            Err(m) => broken.push(m.rule.to_string()),
                        }
                    }
                }
            }
            next.sort();
            next.dedup();
            if next.is_empty() {
                self.divergence = Some(broken.first().cloned().unwrap_or_default());
            } else {
                self.worlds = next;
            }
            a
        }
    }

    /// A tour of every operation; returns the first divergence the model saw.
    async fn tour(config: EmulatorConfig) -> Option<String> {
        let mut c = Checked::new(config);
        let create = Operation::CreateBackup;
        c.put("web", ServerStatus::Healthy, 49, 3).await;
        c.put("db", ServerStatus::BackingUp, 0, 0).await;
        c.put("old", ServerStatus::Setup, 0, 0).await;
        c.call(Operation::DescribeBackups, json!({})).await;
        c.call(
            create,
            json!({"ServerName": "web", "Description": "d".repeat(10_000)}),
        )
        .await;
        c.call(create, json!({"ServerName": "WEB"})).await;
        c.call(create, json!({"ServerName": "web"})).await;
        c.call(create, json!({"ServerName": "db"})).await;
        c.call(create, json!({"ServerName": "db"})).await;
        c.call(create, json!({"ServerName": "old"})).await;
        c.call(create, json!({"ServerName": "a".repeat(41)})).await;
        c.call(
            create,
            json!({"ServerName": "ghost", "Description": "d".repeat(10_001)}),
        )
        .await;
        c.call(
            create,
            json!({"ServerName": "web", "Tags": [{"Key": "", "Value": "v"}]}),
        )
        .await;
        c.call(
            Operation::UpdateServer,
            json!({"ServerName": "web", "BackupRetentionCount": 2}),
        )
        .await;
        c.call(Operation::DescribeServers, json!({})).await;
        // Backups may finish by themselves between calls, so only a listing shows that a
        // server's status and its backups disagree.
        c.call(Operation::DescribeBackups, json!({})).await;
        c.settle().await;
        c.call(Operation::DescribeServers, json!({})).await;
        c.call(create, json!({"ServerName": "web"})).await;
        let listing = c
            .call(Operation::DescribeBackups, json!({"ServerName": "web"}))
            .await;
        let id = listing.body["Backups"][0]["BackupId"].clone();
        c.call(Operation::DeleteBackup, json!({"BackupId": id}))
            .await;
        c.call(Operation::DescribeBackups, json!({"ServerName": "web"}))
            .await;
        c.call(Operation::DescribeAccountAttributes, json!({}))
            .await;
        c.call(create, json!({"ServerName": "web"})).await;
        c.call(Operation::DescribeBackups, json!({})).await;
        c.call(Operation::StartMaintenance, json!({"ServerName": "web"}))
            .await;
        c.call(Operation::DeleteServer, json!({"ServerName": "old"}))
            .await;
        c.call(Operation::DescribeServers, json!({})).await;
        c.divergence
    }

    #[tokio::test]
    async fn the_model_accepts_every_answer_of_the_emulator() {
        assert_eq!(tour(config()).await, None);
        let timed = EmulatorConfig {
            backup_duration: Some(Duration::ZERO),
            ..config()
        };
        assert_eq!(tour(timed).await, None);
    }

    #[tokio::test]
    async fn the_model_catches_the_mutants_on_the_tour() {
        let mut survivors = Vec::new();
        for m in mutants().iter().filter(|m| m.dialect.is_none()) {
            let found = tour(EmulatorConfig {
                mutant: Some(m.name.to_string()),
                ..config()
            })
            .await;
            if found.is_none() {
                survivors.push(m.name);
            }
        }
        // racy-create needs concurrency, which a sequential tour does not have.
        assert_eq!(survivors, ["racy-create"]);
    }
}

#[tokio::test]
async fn reset_lets_creation_times_follow_the_wall_clock_again() {
    // Fixture backups push the creation clock ahead by a millisecond each (ids stay unique);
    // after a reset, a new backup's CreatedAt must again be the time of the call.
    let em = opsworkscm_conformance::emulator::start(EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let http = opsworkscm_conformance::target::http_client();
    for _ in 0..20 {
        http.post(format!("{}/_conformance/v1/reset", em.url))
            .body("{}")
            .send()
            .await
            .unwrap();
        let r = http
            .put(format!("{}/_conformance/v1/servers/web", em.url))
            .body(r#"{"Status": "HEALTHY", "ManualBackups": 50, "AutomatedBackups": 50}"#)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    http.post(format!("{}/_conformance/v1/reset", em.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    http.put(format!("{}/_conformance/v1/servers/web", em.url))
        .body(r#"{"Status": "HEALTHY"}"#)
        .send()
        .await
        .unwrap();
    let answer: Value = http
        .post(&em.url)
        .header("x-amz-target", "OpsWorksCM_V2016_11_01.CreateBackup")
        .header("content-type", "application/x-amz-json-1.1")
        .body(r#"{"ServerName": "web"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    em.shutdown().await;
    let created = answer["Backup"]["CreatedAt"].as_f64().unwrap();
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    assert!(
        (now - created).abs() < 1.0,
        "CreatedAt {created} is not the time of the call ({now})"
    );
}
