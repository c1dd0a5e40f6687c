//! Helpers shared by the emulator's HTTP tests (`tests/emulator_*.rs`): the emulator's app
//! driven without a socket, answers parsed, and the imports every file uses.

#![allow(dead_code, unused_imports)]

pub use std::time::{Duration, SystemTime};

pub use axum::body::Body;
pub use axum::http::{Request, StatusCode};
pub use axum::Router;
pub use http_body_util::BodyExt;
pub use opsworkscm_conformance::emulator::{
    self, app, find_mutant, mutants, Emulator, EmulatorConfig,
};
pub use opsworkscm_conformance::model::Operation;
pub use opsworkscm_conformance::wire::{self, shape::check_output, Dialect};
pub use serde_json::{json, Value};
pub use tower::ServiceExt;

pub const TARGET: &str = "OpsWorksCM_V2016_11_01";

pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..EmulatorConfig::default()
    }
}

/// An answer, parsed.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("(none)")
    }
}

/// The emulator and its app, driven without a socket.
#[derive(Clone)]
pub struct Client {
    pub emulator: Emulator,
    pub app: Router,
}

impl Client {
    pub fn new(config: EmulatorConfig) -> Client {
        let emulator = Emulator::new(&config).expect("emulator starts");
        Client {
            app: app(emulator.clone()),
            emulator,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
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

    pub async fn raw(&self, target: Option<&str>, body: impl Into<Body>) -> Answer {
        let mut request = Request::post("/").header("content-type", wire::AWS_JSON_CONTENT_TYPE);
        if let Some(t) = target {
            request = request.header("x-amz-target", t);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    pub async fn call(&self, op: &str, input: Value) -> Answer {
        self.raw(Some(&format!("{TARGET}.{op}")), input.to_string())
            .await
    }

    pub async fn control(&self, method: &str, path: &str, body: &str) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    pub async fn put_server(&self, name: &str, body: Value) -> Answer {
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

    pub async fn settle(&self, body: Value) -> Answer {
        self.control("POST", "/_conformance/v1/settle", &body.to_string())
            .await
    }

    pub async fn server_status(&self, name: &str) -> String {
        let a = self
            .call("DescribeServers", json!({ "ServerName": name }))
            .await;
        a.body["Servers"][0]["Status"]
            .as_str()
            .unwrap_or("(none)")
            .to_string()
    }
}

pub fn assert_aws_json(a: &Answer) {
    assert_eq!(
        a.headers["content-type"],
        wire::AWS_JSON_CONTENT_TYPE,
        "{a:?}"
    );
    let id = a.headers["x-amzn-requestid"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "request id {id}");
}

pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
