//! The emulator's legal readings (`emulate --reading NAME`), seen from the HTTP side: for each
//! reading, a short exchange where the emulator answers as the reading says, and (where it
//! differs) the reference emulator answers otherwise.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use opsworkscm_conformance::emulator::{app, Emulator, EmulatorConfig, Reading, ReadingSet};
use serde_json::{json, Value};
use tower::ServiceExt;

/// An answer: status, the X-Amzn-Errortype header, the JSON body.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    error_header: Option<String>,
    body: Value,
}

impl Answer {
    fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("(none)")
    }

    fn backup_ids(&self) -> Vec<String> {
        self.body["Backups"]
            .as_array()
            .unwrap_or_else(|| panic!("no Backups: {:?}", self.body))
            .iter()
            .map(|b| b["BackupId"].as_str().unwrap().to_string())
            .collect()
    }
}

struct Client {
    app: Router,
}

impl Client {
    fn with(readings: &[Reading]) -> Client {
        Client::config(readings, None)
    }

    fn config(readings: &[Reading], backup_duration: Option<Duration>) -> Client {
        let emulator = Emulator::new(&EmulatorConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            readings: ReadingSet::of(readings),
            backup_duration,
            ..EmulatorConfig::default()
        })
        .expect("the emulator starts");
        Client { app: app(emulator) }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let error_header = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            error_header,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    async fn call(&self, op: &str, input: Value) -> Answer {
        let headers = [
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("x-amz-target", format!("OpsWorksCM_V2016_11_01.{op}")),
        ];
        self.send("POST", "/", &headers, input.to_string()).await
    }

    async fn control(&self, method: &str, path: &str, body: Value) -> Answer {
        let a = self
            .send(
                method,
                &format!("/_conformance/v1/{path}"),
                &[],
                body.to_string(),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{method} {path}: {:?}", a.body);
        a
    }

    async fn put(&self, name: &str, body: Value) {
        self.control("PUT", &format!("servers/{name}"), body).await;
    }

    async fn settle(&self, status: &str) {
        self.control("POST", "settle", json!({ "BackupStatus": status }))
            .await;
    }

    async fn status(&self, name: &str) -> String {
        let a = self
            .call("DescribeServers", json!({ "ServerName": name }))
            .await;
        a.body["Servers"][0]["Status"].as_str().unwrap().to_string()
    }

    /// CreateBackup on `name`; returns the new BackupId (panics on an error).
    async fn create(&self, name: &str) -> String {
        let a = self
            .call("CreateBackup", json!({ "ServerName": name }))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["Backup"]["BackupId"].as_str().unwrap().to_string()
    }
}

async fn create_error(c: &Client, name: &str) -> String {
    let a = c.call("CreateBackup", json!({ "ServerName": name })).await;
    a.error_type().to_string()
}

#[tokio::test]
async fn limit_per_account_counts_every_servers_manual_backups() {
    for (readings, expected) in [
        (vec![Reading::LimitPerAccount], "LimitExceededException"),
        (vec![], "(none)"),
    ] {
        let c = Client::with(&readings);
        c.put("a", json!({"Status": "HEALTHY", "ManualBackups": 30}))
            .await;
        c.put(
            "b",
            json!({"Status": "HEALTHY", "ManualBackups": 20, "AutomatedBackups": 5}),
        )
        .await;
        assert_eq!(create_error(&c, "b").await, expected, "{readings:?}");
    }
}

#[tokio::test]
async fn limit_10_is_advertised_and_enforced() {
    let c = Client::with(&[Reading::LimitTen]);
    let caps = c.control("GET", "capabilities", json!({})).await;
    assert_eq!(caps.body["maxManualBackups"], 10);
    c.put("web", json!({"Status": "HEALTHY", "ManualBackups": 9}))
        .await;
    let attrs = c.call("DescribeAccountAttributes", json!({})).await;
    let limit = attrs.body["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "ManualBackupLimit")
        .unwrap()
        .clone();
    assert_eq!(
        (limit["Maximum"].clone(), limit["Used"].clone()),
        (json!(10), json!(9))
    );
    c.create("web").await;
    c.settle("OK").await;
    assert_eq!(create_error(&c, "web").await, "LimitExceededException");
}

#[tokio::test]
async fn count_ok_only_does_not_count_a_failed_backup() {
    for (readings, expected) in [
        (vec![Reading::CountOkOnly], "(none)"),
        (vec![], "LimitExceededException"),
    ] {
        let c = Client::with(&readings);
        c.put("web", json!({"Status": "HEALTHY", "ManualBackups": 49}))
            .await;
        c.create("web").await;
        c.settle("FAILED").await;
        assert_eq!(create_error(&c, "web").await, expected, "{readings:?}");
    }
}

#[tokio::test]
async fn limit_before_state_refuses_a_backing_up_server_at_the_limit_with_the_limit() {
    for (readings, expected) in [
        (vec![Reading::LimitBeforeState], "LimitExceededException"),
        (vec![], "InvalidStateException"),
    ] {
        let c = Client::with(&readings);
        c.put("web", json!({"Status": "BACKING_UP", "ManualBackups": 50}))
            .await;
        assert_eq!(create_error(&c, "web").await, expected, "{readings:?}");
    }
}

/// Polls DescribeServers until `name` leaves BACKING_UP (bounded); returns its status.
async fn status_after_backup(c: &Client, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = c.status(name).await;
        if status != "BACKING_UP" || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn fresh_health_after_backup_leaves_the_server_healthy() {
    for (readings, expected) in [
        (vec![Reading::FreshHealthAfterBackup], "HEALTHY"),
        (vec![], "UNHEALTHY"),
    ] {
        let c = Client::config(&readings, Some(Duration::from_millis(1)));
        c.put("web", json!({"Status": "UNHEALTHY"})).await;
        c.create("web").await;
        assert_eq!(
            status_after_backup(&c, "web").await,
            expected,
            "{readings:?}"
        );
    }
    // settle still restores the earlier status, as its contract says.
    let c = Client::with(&[Reading::FreshHealthAfterBackup]);
    c.put("web", json!({"Status": "UNHEALTHY"})).await;
    c.create("web").await;
    c.settle("OK").await;
    assert_eq!(c.status("web").await, "UNHEALTHY");
}

#[tokio::test]
async fn created_ok_finishes_the_backup_at_once() {
    let c = Client::with(&[Reading::CreatedOk]);
    c.put("web", json!({"Status": "RUNNING"})).await;
    let a = c.call("CreateBackup", json!({"ServerName": "web"})).await;
    assert_eq!(a.body["Backup"]["Status"], "OK", "{:?}", a.body);
    assert_eq!(c.status("web").await, "RUNNING");
    c.create("web").await;
    let listing = c
        .call("DescribeBackups", json!({"ServerName": "web"}))
        .await;
    assert!(listing.body["Backups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["Status"] == "OK"));
}

#[tokio::test]
async fn iso_backup_ids() {
    let c = Client::with(&[Reading::IsoBackupId]);
    c.put("web", json!({"Status": "HEALTHY", "ManualBackups": 1}))
        .await;
    let id = c.create("web").await;
    let iso = regex::Regex::new(r"^web-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    assert!(iso.is_match(&id), "{id}");
    let all = c.call("DescribeBackups", json!({})).await;
    assert!(
        all.backup_ids().iter().all(|id| iso.is_match(id)),
        "{:?}",
        all.body
    );
}

#[tokio::test]
async fn delete_server_validation_while_an_operation_is_in_progress() {
    for (readings, expected) in [
        (vec![Reading::DeleteServerValidation], "ValidationException"),
        (vec![], "InvalidStateException"),
    ] {
        let c = Client::with(&readings);
        c.put("web", json!({"Status": "UNDER_MAINTENANCE"})).await;
        let a = c.call("DeleteServer", json!({"ServerName": "web"})).await;
        assert_eq!(a.error_type(), expected, "{readings:?}");
        if !readings.is_empty() {
            assert_eq!(
                a.body["message"],
                "Cannot delete the server 'web'. The current operation on the server is still in progress."
            );
        }
    }
}

#[tokio::test]
async fn error_type_forms() {
    let coral = "http://internal.amazon.com/coral/com.amazonaws.opsworkscm/";
    let cases: [(&[Reading], String, &str, Option<String>); 4] = [
        (
            &[],
            "ResourceNotFoundException".into(),
            "message",
            Some("ResourceNotFoundException".into()),
        ),
        (
            &[Reading::ErrorTypeNamespaced],
            "com.amazonaws.opsworkscm#ResourceNotFoundException".into(),
            "Message",
            None,
        ),
        (
            &[Reading::ErrorTypeSuffixed],
            format!("ResourceNotFoundException:{coral}"),
            "message",
            None,
        ),
        (
            &[Reading::ErrorTypeHeader],
            "ResourceNotFoundException".into(),
            "message",
            Some(format!("ResourceNotFoundException:{coral}")),
        ),
    ];
    for (readings, type_name, message_key, header) in cases {
        let c = Client::with(readings);
        let a = c.call("CreateBackup", json!({"ServerName": "nope"})).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.error_type(), type_name, "{readings:?}");
        assert!(
            a.body[message_key].is_string(),
            "{readings:?}: {:?}",
            a.body
        );
        let other = if message_key == "message" {
            "Message"
        } else {
            "message"
        };
        assert!(a.body.get(other).is_none(), "{readings:?}: {:?}", a.body);
        assert_eq!(a.error_header, header, "{readings:?}");
    }
}

#[tokio::test]
async fn describe_unknown_server_answers_an_empty_list() {
    let c = Client::with(&[Reading::DescribeUnknownServerEmpty]);
    c.put("web", json!({"Status": "HEALTHY", "ManualBackups": 2}))
        .await;
    let a = c
        .call("DescribeBackups", json!({"ServerName": "nope"}))
        .await;
    assert_eq!(
        (a.status, a.body.clone()),
        (StatusCode::OK, json!({"Backups": []}))
    );
    // Without a ServerName, every backup is listed as usual.
    let a = c.call("DescribeBackups", json!({})).await;
    assert_eq!(a.backup_ids().len(), 2);
    let reference = Client::with(&[]);
    let a = reference
        .call("DescribeBackups", json!({"ServerName": "nope"}))
        .await;
    assert_eq!(a.error_type(), "ResourceNotFoundException");
}

#[tokio::test]
async fn type_errors_are_serialization_exceptions() {
    let c = Client::with(&[Reading::TypeErrorSerialization]);
    for input in [json!({"ServerName": 5}), json!({"Description": 5})] {
        let a = c.call("CreateBackup", input.clone()).await;
        assert_eq!(a.error_type(), "SerializationException", "{input}");
    }
    let a = c.call("CreateBackup", json!({"ServerName": ""})).await;
    assert_eq!(a.error_type(), "ValidationException");
    let a = Client::with(&[])
        .call("CreateBackup", json!({"ServerName": 5}))
        .await;
    assert_eq!(a.error_type(), "ValidationException");
}

#[tokio::test]
async fn retention_count_zero_is_refused() {
    for (readings, expected) in [
        (vec![Reading::RetentionZeroRefused], "ValidationException"),
        (vec![], "(none)"),
    ] {
        let c = Client::with(&readings);
        c.put("web", json!({"Status": "HEALTHY"})).await;
        let a = c
            .call(
                "UpdateServer",
                json!({"ServerName": "web", "BackupRetentionCount": 0}),
            )
            .await;
        assert_eq!(a.error_type(), expected, "{readings:?}");
        let a = c
            .call(
                "UpdateServer",
                json!({"ServerName": "web", "BackupRetentionCount": 1}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn deleting_the_backup_in_progress_keeps_the_server_backing_up_until_the_job_ends() {
    let c = Client::with(&[Reading::DeleteInProgressKeepsBackingUp]);
    c.put("web", json!({"Status": "RUNNING"})).await;
    let id = c.create("web").await;
    let a = c.call("DeleteBackup", json!({ "BackupId": id })).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(c.status("web").await, "BACKING_UP");
    assert_eq!(create_error(&c, "web").await, "InvalidStateException");
    c.settle("OK").await;
    assert_eq!(c.status("web").await, "RUNNING");
    // The job ends by itself with --backup-duration.
    let c = Client::config(
        &[Reading::DeleteInProgressKeepsBackingUp],
        Some(Duration::from_millis(1)),
    );
    c.put("web", json!({"Status": "RUNNING"})).await;
    let id = c.create("web").await;
    c.call("DeleteBackup", json!({ "BackupId": id })).await;
    assert_eq!(status_after_backup(&c, "web").await, "RUNNING");
    // The reference accepts the deletion and the server leaves BACKING_UP at once.
    let c = Client::with(&[]);
    c.put("web", json!({"Status": "RUNNING"})).await;
    let id = c.create("web").await;
    let a = c.call("DeleteBackup", json!({ "BackupId": id })).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(c.status("web").await, "RUNNING");
}

#[tokio::test]
async fn async_delete_lists_the_backup_as_deleting_until_the_deletion_ends() {
    let c = Client::with(&[Reading::AsyncDelete]);
    c.put("web", json!({"Status": "HEALTHY", "ManualBackups": 2}))
        .await;
    let ids = c.call("DescribeBackups", json!({})).await.backup_ids();
    let a = c.call("DeleteBackup", json!({ "BackupId": ids[0] })).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = c
        .call("DescribeBackups", json!({ "BackupId": ids[0] }))
        .await;
    assert_eq!(a.body["Backups"][0]["Status"], "DELETING", "{:?}", a.body);
    let a = c.call("DeleteBackup", json!({ "BackupId": ids[0] })).await;
    assert_eq!(a.error_type(), "InvalidStateException");
    c.settle("OK").await;
    let a = c
        .call("DescribeBackups", json!({ "BackupId": ids[0] }))
        .await;
    assert_eq!(a.error_type(), "ResourceNotFoundException");
    assert_eq!(
        c.call("DescribeBackups", json!({})).await.backup_ids(),
        vec![ids[1].clone()]
    );
    // By itself, with --backup-duration.
    let c = Client::config(&[Reading::AsyncDelete], Some(Duration::from_millis(1)));
    c.put("web", json!({"Status": "HEALTHY", "ManualBackups": 1}))
        .await;
    let ids = c.call("DescribeBackups", json!({})).await.backup_ids();
    c.call("DeleteBackup", json!({ "BackupId": ids[0] })).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c
        .call("DescribeBackups", json!({}))
        .await
        .backup_ids()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the deletion never ended");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn seeded_backups_are_a_day_old_one_second_apart_and_listed_by_time() {
    let c = Client::with(&[Reading::SeededInThePast]);
    let now = chrono::Utc::now().timestamp() as f64;
    c.put("a", json!({"Status": "HEALTHY", "ManualBackups": 2}))
        .await;
    let created = c.create("a").await;
    c.put("b", json!({"Status": "HEALTHY", "ManualBackups": 2}))
        .await;
    let all = c.call("DescribeBackups", json!({})).await;
    let backups = all.body["Backups"].as_array().unwrap();
    assert_eq!(
        backups[0]["BackupId"],
        created.as_str(),
        "the API backup is the newest"
    );
    let times: Vec<f64> = backups
        .iter()
        .map(|b| b["CreatedAt"].as_f64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    for b in &backups[1..] {
        let age = now - b["CreatedAt"].as_f64().unwrap();
        assert!((86_000.0..86_800.0).contains(&age), "a day old: {b}");
    }
    let of = |server: &str| -> Vec<f64> {
        backups
            .iter()
            .filter(|b| b["ServerName"] == server && b["BackupId"] != created.as_str())
            .map(|b| b["CreatedAt"].as_f64().unwrap())
            .collect()
    };
    let (a, b) = (of("a"), of("b"));
    assert!((a[0] - a[1] - 1.0).abs() < 1e-6, "one second apart: {a:?}");
    // The two puts were under a second apart, so their backups interleave.
    assert!(b[1] < a[0] && a[1] < b[0], "interleaved: a {a:?} b {b:?}");
}

#[tokio::test]
async fn partial_operations_answer_unknown_operation_declared_or_not() {
    for (reading, declared) in [
        (Reading::PartialOperationsDeclared, true),
        (Reading::PartialOperations, false),
    ] {
        let c = Client::with(&[reading]);
        let caps = c.control("GET", "capabilities", json!({})).await;
        if declared {
            let ops = caps.body["operations"].as_array().unwrap();
            assert_eq!(ops.len(), 5, "{:?}", caps.body);
            assert!(ops.contains(&json!("CreateBackup")));
            assert!(!ops.contains(&json!("StartMaintenance")));
        } else {
            assert!(caps.body.get("operations").is_none(), "{:?}", caps.body);
        }
        c.put("web", json!({"Status": "HEALTHY"})).await;
        for op in [
            "RestoreServer",
            "StartMaintenance",
            "DeleteServer",
            "DescribeAccountAttributes",
        ] {
            let a = c.call(op, json!({"ServerName": "web"})).await;
            assert_eq!(
                (a.status, a.error_type()),
                (StatusCode::BAD_REQUEST, "UnknownOperationException"),
                "{op}"
            );
        }
        c.create("web").await;
    }
}

#[test]
fn list_readings_prints_one_a_line_with_its_ambiguity() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsworkscm-conformance"))
        .args(["emulate", "--list-readings"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), Reading::ALL.len(), "{text}");
    for (line, r) in lines.iter().zip(Reading::ALL) {
        let info = r.info();
        assert!(
            line.starts_with(info.name) && line.contains(info.ambiguity),
            "{line}"
        );
    }
}

#[test]
fn exclusive_readings_are_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsworkscm-conformance"))
        .args([
            "emulate",
            "--listen",
            "127.0.0.1:0",
            "--reading",
            "created-ok",
            "--reading",
            "delete-in-progress-keeps-backing-up",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be served together"), "{err}");
}
