//! The emulator over HTTP: every operation in the service's shape, modeled and protocol errors,
//! the envelope dialect and the always-success stub. Most tests drive `app(...)` with
//! `tower::ServiceExt::oneshot` (helpers in `common/`). The control plane, races, SigV4, the
//! mutants and the model's agreement have files of their own (`tests/emulator_*.rs`).

use crate::common::*;

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

/// Puts `web` (HEALTHY, 2 manual and 1 automated backups), `db` (RUNNING, with a finished
/// backup) and `old` (CONNECTION_LOST); returns the ids of db's backup and of one of web's.
async fn three_servers_with_backups(c: &Client) -> (String, String) {
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
    (db_backup, web_backup)
}

/// What each operation's success shows, beyond its shape.
fn assert_operation_output(op: &str, body: &Value) {
    match op {
        "DescribeBackups" => assert!(body["Backups"].is_array()),
        "DescribeServers" => assert!(body["Servers"].is_array()),
        "UpdateServer" => {
            assert_eq!(body["Server"]["BackupRetentionCount"], 3);
            assert_eq!(body["Server"]["PreferredBackupWindow"], "Tue:04:00");
        }
        "StartMaintenance" => assert_eq!(body["Server"]["Status"], "UNDER_MAINTENANCE"),
        "DescribeAccountAttributes" => {
            let attrs = body["Attributes"].as_array().unwrap();
            let manual = attrs
                .iter()
                .find(|x| x["Name"] == "ManualBackupLimit")
                .unwrap();
            assert_eq!(manual["Used"], 3);
            assert_eq!(manual["Maximum"], 50);
            assert!(attrs.iter().any(|x| x["Name"] == "ServerLimit"));
        }
        "DeleteBackup" | "RestoreServer" | "DeleteServer" => assert_eq!(*body, json!({})),
        _ => {}
    }
}

#[tokio::test]
async fn every_operation_answers_in_the_service_shape() {
    let c = Client::new(config());
    let (db_backup, web_backup) = three_servers_with_backups(&c).await;
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
        assert_operation_output(op, &a.body);
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

/// A request to the emulator's API path, with `target` as its X-Amz-Target.
fn request(method: &str, path: &str, target: Option<&str>, body: &str) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(path);
    if let Some(target) = target {
        r = r.header("x-amz-target", target);
    }
    r.body(Body::from(body.to_string())).unwrap()
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
    let other = format!("{TARGET}.CreateServer");
    let bad = StatusCode::BAD_REQUEST;
    let (unknown, not_found) = ("UnknownOperationException", StatusCode::NOT_FOUND);
    let web = r#"{"ServerName": "web"}"#;
    let cases = [
        (
            "malformed JSON",
            request("POST", "/", Some(&create), r#"{"ServerName": "web""#),
            bad,
            "SerializationException",
        ),
        (
            "missing target",
            request("POST", "/", None, web),
            bad,
            unknown,
        ),
        (
            "another operation of the service",
            request("POST", "/", Some(&other), "{}"),
            bad,
            unknown,
        ),
        (
            "a target of another service",
            request("POST", "/", Some("DynamoDB_20120810.ListTables"), "{}"),
            bad,
            unknown,
        ),
        (
            "wrong method",
            request("GET", "/", Some(&create), ""),
            not_found,
            unknown,
        ),
        (
            "wrong path",
            request("POST", "/v1/backups", Some(&create), web),
            not_found,
            unknown,
        ),
        (
            "oversized body",
            request("POST", "/", Some(&create), &huge),
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
