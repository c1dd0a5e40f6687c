//! The emulator's control plane (fixtures, settle, reset) and asynchronous backups: what
//! finishes when, and creation times after a reset.

use crate::common::*;

#[tokio::test]
async fn the_control_plane_sets_fixtures_settles_and_resets() {
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
async fn the_control_plane_refuses_bad_requests_and_changes_nothing() {
    let c = Client::new(config());
    c.put_server("web", json!({"Status": "UNHEALTHY", "ManualBackups": 2}))
        .await;
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
    // A loaded machine may stall for longer than any short duration, so the test asserts
    // BACKING_UP only when the answer came back well within the duration, then polls (bounded)
    // for the end instead of assuming how long a sleep takes.
    let duration = Duration::from_secs(2);
    let c = Client::new(EmulatorConfig {
        backup_duration: Some(duration),
        ..config()
    });
    c.put_server("web", json!({"Status": "HEALTHY"})).await;
    let t0 = std::time::Instant::now();
    c.call("CreateBackup", json!({"ServerName": "web"})).await;
    let status = c.server_status("web").await;
    if t0.elapsed() < duration / 2 {
        assert_eq!(status, "BACKING_UP");
    }
    let mut status = status;
    for _ in 0..200 {
        if status == "HEALTHY" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = c.server_status("web").await;
    }
    assert_eq!(status, "HEALTHY");
    assert!(t0.elapsed() >= duration, "ended before its duration");
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
