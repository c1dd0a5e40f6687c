//! A reading is a property of the endpoint: an endpoint that answers an open question one way in
//! one case and the other way in the next diverges, and the divergence shows both cases (the
//! earlier case's steps, then the failing case's) in a plan that replays from scratch. And the
//! report's readings line names only what the endpoint kept to.
//!
//! The flipping endpoint is the bundled emulator behind a small proxy on 127.0.0.1 that answers
//! A13 (DescribeBackups of an unknown ServerName) with the emulator's ResourceNotFoundException
//! in one case and `{"Backups": []}` in the next, changing at the first reset after it answered.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use opsworkscm_conformance::emulator::{self, EmulatorConfig, Reading, ReadingSet};
use opsworkscm_conformance::exit::ExitCode;
use opsworkscm_conformance::model::rules;
use opsworkscm_conformance::plan::{Plan, Step};
use opsworkscm_conformance::report::{self, RunOutcome};
use opsworkscm_conformance::runner::{EmulatorSettings, RunConfig};
use opsworkscm_conformance::target::EndpointSpec;
use serde_json::{json, Value};

const RULE: &str = rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER.as_str();
const NOT_FOUND: &str = "unknown server listing: ResourceNotFoundException";
const EMPTY: &str = "unknown server listing: empty list";

/// Which A13 answer the proxy gives now, and whether it gave one since it last changed.
#[derive(Default)]
struct Flipper {
    empty: bool,
    answered: bool,
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    flipper: Mutex<Flipper>,
}

/// Whether an answer is the emulator's ResourceNotFoundException for a listing of an unknown
/// server (A13), not for an unknown BackupId.
fn unknown_server_listing(target: &str, input: &Value, status: u16, body: &Value) -> bool {
    target.ends_with(".DescribeBackups")
        && input.get("ServerName").is_some()
        && input.get("BackupId").is_none()
        && status == 400
        && body["__type"] == "ResourceNotFoundException"
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.expect("a request body").to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    if path == "/_conformance/v1/reset" {
        // A new case: after an A13 answer, the next case gets the other one.
        let mut f = proxy.flipper.lock().unwrap();
        if f.answered {
            f.empty = !f.empty;
            f.answered = false;
        }
    }
    let mut sent = proxy
        .client
        .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
        .body(body.clone());
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            sent = sent.header(name, value);
        }
    }
    let answer = sent.send().await.expect("the emulator answers");
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.expect("an answer body");
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if unknown_server_listing(target, &input, status, &parsed) {
        let mut f = proxy.flipper.lock().unwrap();
        f.answered = true;
        if f.empty {
            let mut r = Response::new(Body::from(json!({"Backups": []}).to_string()));
            r.headers_mut().insert(
                "content-type",
                "application/x-amz-json-1.1".parse().unwrap(),
            );
            return r;
        }
    }
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// The flipping endpoint: the bundled emulator behind the proxy. Returns its URL; both stop
/// with the test's runtime.
async fn flipping_endpoint() -> (String, emulator::RunningEmulator) {
    let em = emulator::start(EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts");
    let proxy = Arc::new(Proxy {
        upstream: em.url.clone(),
        client: opsworkscm_conformance::target::http_client(),
        flipper: Mutex::new(Flipper::default()),
    });
    let app = Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, em)
}

fn plan(name: &str, steps: Value) -> Plan {
    serde_json::from_value(json!({"name": name, "description": name, "steps": steps}))
        .expect("a plan")
}

/// Two cases that ask A13, each with its own steps.
fn two_cases() -> Vec<(String, Plan)> {
    let first = plan(
        "first",
        json!([
            {"step": "reset"},
            {"step": "put-server", "ServerName": "web", "Status": "HEALTHY", "ManualBackups": 1},
            {"step": "call", "operation": "DescribeBackups", "input": {"ServerName": "ghost"}}
        ]),
    );
    let second = plan(
        "second",
        json!([
            {"step": "reset"},
            {"step": "put-server", "ServerName": "db", "Status": "RUNNING"},
            {"step": "call", "operation": "DescribeServers", "input": {}},
            {"step": "call", "operation": "DescribeBackups", "input": {"ServerName": "nobody"}}
        ]),
    );
    vec![
        ("scenario::first".to_string(), first),
        ("scenario::second".to_string(), second),
    ]
}

fn config(endpoint: EndpointSpec, report_dir: &Path, plans: Vec<(String, Plan)>) -> RunConfig {
    RunConfig {
        endpoint_arg: match &endpoint {
            EndpointSpec::Url(u) => u.to_string(),
            EndpointSpec::Embedded => "embedded".into(),
        },
        endpoint,
        seed: Some(1),
        report_dir: Some(report_dir.to_path_buf()),
        plans: Some(plans),
        generated: false,
        save_regressions: false,
        reproduce_runs: 2,
        ..RunConfig::default()
    }
}

async fn run(c: RunConfig) -> RunOutcome {
    tokio::time::timeout(Duration::from_secs(300), report::run(c))
        .await
        .expect("the run ends")
        .expect("the run gives a verdict")
}

/// Where `part` starts inside `steps`, as a contiguous run.
fn position(steps: &[Step], part: &[Step]) -> Option<usize> {
    steps.windows(part.len()).position(|w| w == part)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flip_between_two_cases_is_a_divergence_shown_with_both_cases_and_it_replays() {
    let (url, _emulator) = flipping_endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = EndpointSpec::Url(url.parse().unwrap());
    let cases = two_cases();
    let o = run(config(endpoint.clone(), dir.path(), cases.clone())).await;

    assert_eq!(o.exit, ExitCode::Divergence, "{:?}", o.report.divergences);
    assert_eq!(o.exit.code(), 1);
    let d = &o.report.divergences[0];
    assert_eq!(d.rule, RULE, "{}", d.message);
    assert_eq!(d.trial, "scenario::second");
    assert!(
        d.message.contains(NOT_FOUND) && d.message.contains(EMPTY),
        "the message names both answers: {}",
        d.message
    );
    // The plan: the earlier case's steps, then the failing case's, the failing step in the latter.
    let steps = &d.plan.steps;
    let first = position(steps, &cases[0].1.steps).expect("the earlier case's steps");
    let second = position(steps, &cases[1].1.steps).expect("the failing case's steps");
    assert!(first + cases[0].1.steps.len() <= second, "{steps:?}");
    assert_eq!(d.step_index, second + cases[1].1.steps.len() - 1);
    assert!(
        d.timeline[0].step.contains("earlier case"),
        "{:?}",
        d.timeline[0]
    );

    // The saved plan replays from scratch to the same divergence.
    let saved = PathBuf::from(d.saved_to.as_deref().expect("the plan is saved"));
    let again = tempfile::tempdir().unwrap();
    let replayed = tokio::time::timeout(
        Duration::from_secs(300),
        report::replay(config(endpoint, again.path(), vec![]), &saved),
    )
    .await
    .expect("the replay ends")
    .expect("the replay gives a verdict");
    assert_eq!(replayed.exit, ExitCode::Divergence);
    assert_eq!(replayed.report.divergences[0].rule, RULE);
}

/// The embedded emulator under `readings`, run on the two cases: the report's readings line.
async fn readings_of(readings: ReadingSet) -> (RunOutcome, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let o = run(RunConfig {
        emulator: EmulatorSettings {
            readings,
            ..EmulatorSettings::default()
        },
        ..config(EndpointSpec::Embedded, dir.path(), two_cases())
    })
    .await;
    let lines = o.report.readings.clone();
    (o, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readings_line_names_what_a_consistent_endpoint_kept_to() {
    for (readings, kept, other) in [
        (ReadingSet::REFERENCE, NOT_FOUND, EMPTY),
        (
            ReadingSet::of(&[Reading::DescribeUnknownServerEmpty]),
            EMPTY,
            NOT_FOUND,
        ),
    ] {
        let (o, lines) = readings_of(readings).await;
        assert_eq!(o.exit, ExitCode::Pass, "{:?}", o.report.divergences);
        assert!(lines.iter().any(|l| l == kept), "{lines:?}");
        assert!(!lines.iter().any(|l| l == other), "{lines:?}");
        assert!(
            !lines.iter().any(|l| l == &format!("{RULE} (either)")),
            "{lines:?}"
        );
    }
}
