//! The official AWS SDK for Rust (`aws-sdk-opsworkscm`) against the emulator on a loopback
//! socket: every answer must parse into the SDK's types and every modeled error must arrive
//! typed. Retries are off: the SDK retries LimitExceededException as throttling.

use aws_sdk_opsworkscm::config::retry::RetryConfig;
use aws_sdk_opsworkscm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_opsworkscm::types::{BackupStatus, BackupType, ServerStatus};
use aws_sdk_opsworkscm::{Client, Config};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use opsworkscm_conformance::emulator::{self, EmulatorConfig, RunningEmulator};
use serde_json::{json, Value};

async fn start(config: EmulatorConfig) -> RunningEmulator {
    emulator::start(EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    })
    .await
    .expect("emulator starts")
}

fn sdk(url: &str, region: &str) -> Client {
    let config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .http_client(http_client_fn(|_, _| {
            SharedHttpConnector::new(Reqwest(opsworkscm_conformance::target::http_client()))
        }))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// The SDK's HTTP connection for these tests: the request the SDK built, signed and serialized,
/// sent as it is by the harness's own HTTP client (reqwest), so that the tests need no second
/// HTTP stack (the SDK's default client brings hyper's HTTP/2 and its own TLS to the build).
#[derive(Debug)]
struct Reqwest(reqwest::Client);

impl HttpConnector for Reqwest {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let mut sent = client.request(method, request.uri());
            for (name, value) in request.headers() {
                sent = sent.header(name, value);
            }
            let body = request.body().bytes().unwrap_or_default().to_vec();
            let answer = sent
                .body(body)
                .send()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let status = StatusCode::try_from(answer.status().as_u16())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let headers = answer.headers().clone();
            let bytes = answer
                .bytes()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let mut response = Response::new(status, SdkBody::from(bytes.to_vec()));
            for (name, value) in &headers {
                if let Ok(value) = value.to_str() {
                    response
                        .headers_mut()
                        .append(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(response)
        })
    }
}

async fn put_server(url: &str, name: &str, body: Value) {
    let r = opsworkscm_conformance::target::http_client()
        .put(format!("{url}/_conformance/v1/servers/{name}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn settle(url: &str) {
    let r = opsworkscm_conformance::target::http_client()
        .post(format!("{url}/_conformance/v1/settle"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn create_backup_parses_into_the_sdk_types() {
    let running = start(EmulatorConfig::default()).await;
    put_server(&running.url, "web", json!({"Status": "HEALTHY"})).await;
    let client = sdk(&running.url, "us-east-1");
    let before = aws_sdk_opsworkscm::primitives::DateTime::from(std::time::SystemTime::now());
    let out = client
        .create_backup()
        .server_name("web")
        .description("before the upgrade")
        .send()
        .await
        .expect("CreateBackup succeeds");
    let backup = out.backup().expect("a Backup");
    let id = backup.backup_id().expect("BackupId");
    assert!(
        id.starts_with("web-") && id.len() == "web-".len() + 17,
        "{id}"
    );
    assert_eq!(
        backup.backup_arn(),
        Some(format!("arn:aws:opsworks-cm:us-east-1:000000000000:backup/{id}").as_str())
    );
    assert_eq!(backup.backup_type(), Some(&BackupType::Manual));
    assert_eq!(backup.status(), Some(&BackupStatus::InProgress));
    assert_eq!(backup.server_name(), Some("web"));
    assert_eq!(backup.description(), Some("before the upgrade"));
    assert_eq!(backup.engine(), Some("ChefAutomate"));
    assert!(backup.engine_model().is_some() && backup.engine_version().is_some());
    assert!(backup.instance_type().is_some());
    assert!(!backup.security_group_ids().is_empty());
    let created = backup.created_at().expect("CreatedAt parses as a DateTime");
    let skew = (created.as_secs_f64() - before.as_secs_f64()).abs();
    assert!(skew < 60.0, "CreatedAt {created} is {skew} s from now");
    // The id is the creation time to the millisecond.
    let ms = (created.as_secs_f64() * 1000.0).round() as i64;
    let stamp = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y%m%d%H%M%S%3f")
        .to_string();
    assert_eq!(id, format!("web-{stamp}"));
    running.shutdown().await;
}

#[tokio::test]
async fn modeled_errors_arrive_typed() {
    let running = start(EmulatorConfig::default()).await;
    put_server(
        &running.url,
        "web",
        json!({"Status": "HEALTHY", "ManualBackups": 50}),
    )
    .await;
    put_server(&running.url, "busy", json!({"Status": "BACKING_UP"})).await;
    let client = sdk(&running.url, "us-east-1");

    let err = client
        .create_backup()
        .server_name("busy")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_state_exception(), "{err:?}");
    assert!(err.meta().message().unwrap().contains("BACKING_UP"));

    let err = client
        .create_backup()
        .server_name("web")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_limit_exceeded_exception(), "{err:?}");
    assert_eq!(
        err.meta().message(),
        Some("Maximum number of manual backups (50) reached for server web")
    );

    let err = client
        .create_backup()
        .server_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let err = client
        .create_backup()
        .server_name("a".repeat(41))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    let err = client
        .update_server()
        .server_name("busy")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_state_exception(), "{err:?}");

    let err = client
        .delete_backup()
        .backup_id("web-20250101000000000")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    running.shutdown().await;
}

/// DescribeServers shows `web` BACKING_UP; DescribeBackups lists its four backups, `new_id`
/// (the newest) first, one of them automated.
async fn assert_web_backing_up_with_four_backups(client: &Client, new_id: &str) {
    let servers = client
        .describe_servers()
        .server_name("web")
        .send()
        .await
        .unwrap();
    let server = &servers.servers()[0];
    assert_eq!(server.server_name(), Some("web"));
    assert_eq!(server.status(), Some(&ServerStatus::BackingUp));
    assert!(server.created_at().is_some());
    assert!(server.server_arn().unwrap().contains(":server/web"));

    let listing = client
        .describe_backups()
        .server_name("web")
        .send()
        .await
        .unwrap();
    let backups = listing.backups();
    assert_eq!(backups.len(), 4);
    assert_eq!(backups[0].backup_id(), Some(new_id), "newest first");
    assert_eq!(
        backups
            .iter()
            .filter(|b| b.backup_type() == Some(&BackupType::Automated))
            .count(),
        1
    );
}

#[tokio::test]
async fn the_observing_and_changing_operations_work() {
    let running = start(EmulatorConfig::default()).await;
    put_server(
        &running.url,
        "web",
        json!({"Status": "RUNNING", "ManualBackups": 2, "AutomatedBackups": 1}),
    )
    .await;
    let client = sdk(&running.url, "us-east-1");
    let created = client
        .create_backup()
        .server_name("web")
        .send()
        .await
        .unwrap();
    let new_id = created.backup().unwrap().backup_id().unwrap().to_string();

    assert_web_backing_up_with_four_backups(&client, &new_id).await;

    settle(&running.url).await;
    let updated = client
        .update_server()
        .server_name("web")
        .backup_retention_count(5)
        .disable_automated_backup(true)
        .send()
        .await
        .unwrap();
    let server = updated.server().unwrap();
    assert_eq!(server.backup_retention_count(), Some(5));
    assert_eq!(server.disable_automated_backup(), Some(true));
    assert_eq!(server.status(), Some(&ServerStatus::Running));

    client
        .delete_backup()
        .backup_id(&new_id)
        .send()
        .await
        .unwrap();
    let after = client
        .describe_backups()
        .server_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(after.backups().len(), 3);
    assert!(after
        .backups()
        .iter()
        .all(|b| b.backup_id() != Some(new_id.as_str())));

    let attrs = client.describe_account_attributes().send().await.unwrap();
    let manual = attrs
        .attributes()
        .iter()
        .find(|a| a.name() == Some("ManualBackupLimit"))
        .unwrap();
    assert_eq!((manual.used(), manual.maximum()), (Some(2), Some(50)));
    running.shutdown().await;
}

#[tokio::test]
async fn signed_requests_pass_verification_and_a_wrong_region_does_not() {
    let running = start(EmulatorConfig {
        verify_sigv4: true,
        region: "eu-west-1".into(),
        ..EmulatorConfig::default()
    })
    .await;
    put_server(&running.url, "web", json!({"Status": "HEALTHY"})).await;
    let out = sdk(&running.url, "eu-west-1")
        .create_backup()
        .server_name("web")
        .description("signed")
        .send()
        .await
        .expect("a request the SDK signed verifies");
    assert!(out
        .backup()
        .unwrap()
        .backup_arn()
        .unwrap()
        .starts_with("arn:aws:opsworks-cm:eu-west-1:"));

    let err = sdk(&running.url, "us-east-1")
        .describe_servers()
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().expect("an HTTP answer");
    assert_eq!(raw.status().as_u16(), 403);
    let meta = aws_sdk_opsworkscm::error::ProvideErrorMetadata::meta(&err);
    assert_eq!(meta.code(), Some("InvalidSignatureException"));
    assert_eq!(
        meta.message(),
        Some("Credential should be scoped to a valid region, not 'us-east-1'.")
    );
    running.shutdown().await;
}

#[tokio::test]
async fn shape_mutants_are_visible_through_the_sdk() {
    for (mutant, problem) in [
        (
            "status-lowercase",
            "Status does not parse as a BackupStatus",
        ),
        (
            "created-at-millis",
            "CreatedAt is tens of thousands of years ahead",
        ),
        ("missing-backup-id", "BackupId is missing"),
        ("error-type-missing", "the error is not typed"),
    ] {
        let running = start(EmulatorConfig {
            mutant: Some(mutant.into()),
            ..EmulatorConfig::default()
        })
        .await;
        put_server(&running.url, "web", json!({"Status": "HEALTHY"})).await;
        let client = sdk(&running.url, "us-east-1");
        let out = client.create_backup().server_name("web").send().await;
        let seen = match mutant {
            "error-type-missing" => {
                let err = client
                    .create_backup()
                    .server_name("web")
                    .send()
                    .await
                    .unwrap_err()
                    .into_service_error();
                !err.is_invalid_state_exception()
            }
            _ => {
                let out = out.expect("CreateBackup succeeds");
                let b = out.backup().unwrap();
                match mutant {
                    "status-lowercase" => !matches!(b.status(), Some(BackupStatus::InProgress)),
                    "created-at-millis" => b.created_at().unwrap().secs() > 100_000_000_000,
                    _ => b.backup_id().is_none(),
                }
            }
        };
        assert!(seen, "{mutant}: expected to see that {problem}");
        running.shutdown().await;
    }
}
