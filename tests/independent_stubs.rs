//! Stubs written from the seed page (`seed-CreateBackup.txt`) and `interfaces.md` alone, not
//! from the model or the emulator: the envelope stub such a page gives (CreateBackup only, no
//! control plane, no way to observe its state), a correct one and three with a bug each, run
//! through the harness as a user would.
//!
//! What the seed page says, and the stub does: ServerName is required, 1 to 40 characters of
//! `[a-zA-Z][a-zA-Z0-9\-]*`; Description at most 10000 characters; Tags at most 200, key 1 to 128
//! and value 0 to 256 characters of letters, separators, numbers and `_.:/=+-@` (the service
//! model the page links); an unknown server is NOT_FOUND; only RUNNING, HEALTHY and UNHEALTHY
//! servers back up (INVALID_STATE otherwise); a backup makes the server BACKING_UP until it
//! finishes (here, by itself after a few milliseconds), and no other backup can start meanwhile;
//! at most 50 manual backups (LIMIT_EXCEEDED). Every other target is a 404 without a code.

use crate::stub_runs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use opsworkscm_conformance::exit::ExitCode;
use opsworkscm_conformance::model::rules;
use opsworkscm_conformance::report::RunReport;
use opsworkscm_conformance::runner::RunConfig;
use opsworkscm_conformance::target::EndpointSpec;
use opsworkscm_conformance::wire::Dialect;

const LIMIT: u32 = 50;
/// How long a backup runs before it finishes by itself.
const BACKUP_TIME: Duration = Duration::from_millis(5);

/// The one bug a stub has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    None,
    /// The server never becomes BACKING_UP, and nothing counts toward the limit.
    NeverLocks,
    /// Asked again right after a LIMIT_EXCEEDED, it makes a 51st backup.
    FiftyFirstOnRetry,
    /// ServerName's length and pattern are not checked (a bad name is just not found).
    NoNameCheck,
}

struct Server {
    status: &'static str,
    manual: u32,
    /// While a backup runs: when it ends, and the status to go back to.
    backing_up: Option<(Instant, &'static str)>,
}

struct Stub {
    bug: Bug,
    servers: BTreeMap<String, Server>,
    refused_for_limit: bool,
    next_id: u64,
}

fn ok(data: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"success": true, "data": data})),
    )
        .into_response()
}

fn fail(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"success": false, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

fn invalid(message: &str) -> Response {
    fail(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first && name.len() <= 40 && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn valid_tag_text(s: &str, min: usize, max: usize) -> bool {
    let n = s.chars().count();
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    (min..=max).contains(&n) && s.chars().all(allowed)
}

/// The input's validation problem, if any.
fn validation_problem(input: &Value, check_name: bool) -> Option<&'static str> {
    let Some(input) = input.as_object() else {
        return Some("the request must be a JSON object");
    };
    let Some(name) = input.get("ServerName").and_then(Value::as_str) else {
        return Some("ServerName is required and must be a string");
    };
    if check_name && !valid_name(name) {
        return Some("ServerName must be 1 to 40 characters of [a-zA-Z][a-zA-Z0-9-]*");
    }
    match input.get("Description") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if d.chars().count() <= 10_000 => {}
        Some(_) => return Some("Description must be a string of at most 10000 characters"),
    }
    match input.get("Tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(tags)) if tags.len() <= 200 => tags
            .iter()
            .all(|t| {
                let text = |k: &str| t.get(k).and_then(Value::as_str);
                t.is_object()
                    && text("Key").is_some_and(|k| valid_tag_text(k, 1, 128))
                    && text("Value").is_some_and(|v| valid_tag_text(v, 0, 256))
            })
            .then_some(())
            .map_or(Some("a tag is not valid"), |_| None),
        Some(_) => Some("Tags must be a list of at most 200 tags"),
    }
}

impl Stub {
    fn create_backup(&mut self, input: &Value) -> Response {
        if let Some(problem) = validation_problem(input, self.bug != Bug::NoNameCheck) {
            return invalid(problem);
        }
        let name = input["ServerName"].as_str().unwrap_or_default().to_string();
        let bug = self.bug;
        let retry = std::mem::take(&mut self.refused_for_limit);
        let Some(server) = self.servers.get_mut(&name) else {
            return fail(StatusCode::NOT_FOUND, "NOT_FOUND", "no such server");
        };
        if let Some((until, previous)) = server.backing_up {
            if Instant::now() >= until {
                server.status = previous;
                server.backing_up = None;
            }
        }
        if !["RUNNING", "HEALTHY", "UNHEALTHY"].contains(&server.status) {
            let m = format!("the server is {}", server.status);
            return fail(StatusCode::CONFLICT, "INVALID_STATE", &m);
        }
        let over = server.manual >= LIMIT && !(bug == Bug::FiftyFirstOnRetry && retry);
        if over && bug != Bug::NeverLocks {
            self.refused_for_limit = true;
            return fail(StatusCode::CONFLICT, "LIMIT_EXCEEDED", "50 manual backups");
        }
        if bug != Bug::NeverLocks {
            server.manual += 1;
            server.backing_up = Some((Instant::now() + BACKUP_TIME, server.status));
            server.status = "BACKING_UP";
        }
        self.next_id += 1;
        ok(json!({
            "id": format!("{name}-{}", self.next_id),
            "created_at": chrono::Utc::now().to_rfc3339(),
        }))
    }
}

async fn handle(
    stub: Arc<Mutex<Stub>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let create = method == axum::http::Method::POST
        && uri.path() == "/"
        && target == "OpsWorksCM_V2016_11_01.CreateBackup";
    if !create {
        // Not served: a 404 without a documented code.
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body is not JSON");
    };
    stub.lock().unwrap().create_backup(&input)
}

/// Serves a stub with `bug` on 127.0.0.1; `web` is HEALTHY with `manual` backups.
async fn serve(bug: Bug, manual: u32) -> SocketAddr {
    let servers = BTreeMap::from([(
        "web".to_string(),
        Server {
            status: "HEALTHY",
            manual,
            backing_up: None,
        },
    )]);
    let stub = Arc::new(Mutex::new(Stub {
        bug,
        servers,
        refused_for_limit: false,
        next_id: 0,
    }));
    let app = Router::new().fallback(move |m, u, h, b| handle(stub.clone(), m, u, h, b));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `run --dialect envelope --server web` against the stub, a few short cases.
async fn judge(bug: Bug, manual: u32, cases: u64) -> (ExitCode, RunReport) {
    let addr = serve(bug, manual).await;
    let url = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let config = RunConfig {
        endpoint: EndpointSpec::Url(url.clone()),
        endpoint_arg: url.to_string(),
        dialect: Dialect::Envelope,
        servers: vec!["web".into()],
        cases,
        seed: Some(5),
        max_steps: 10,
        report_dir: None,
        scenarios_dir: None,
        save_regressions: false,
        settle_wait: Duration::from_millis(100),
        reproduce_runs: 1,
        max_shrink_iters: 16,
        ..RunConfig::default()
    };
    let outcome = stub_runs::run_within(config, Duration::from_secs(600)).await;
    (outcome.exit, outcome.report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_pages_own_stub_passes_and_says_what_was_not_exercised() {
    let (exit, report) = judge(Bug::None, 48, 16).await;
    assert_eq!(exit, ExitCode::Pass, "{:#?}", report.divergences);
    for op in ["DescribeBackups", "DescribeServers", "DeleteBackup"] {
        assert!(
            report.operations_not_served.iter().any(|o| o == op),
            "{:?}",
            report.operations_not_served
        );
    }
    assert!(!report
        .operations_not_served
        .iter()
        .any(|o| o == "CreateBackup"));
    let notes = report.not_exercised.join("\n");
    assert!(notes.contains("cannot be observed"), "{notes}");
    assert!(notes.contains("BACKING_UP lock"), "{notes}");
    assert!(notes.contains("left on the endpoint"), "{notes}");
    let exercised = |id: &str| {
        report
            .coverage
            .iter()
            .any(|c| c.id.starts_with(id) && c.passed + c.failed > 0)
    };
    for rule in [
        "validation.server-name",
        rules::CREATE_BACKUP_NOT_FOUND.as_str(),
        rules::CREATE_BACKUP_EFFECT_RESPONSE.as_str(),
    ] {
        assert!(exercised(rule), "{rule} was not exercised");
    }
}

/// Asserts the run failed with a divergence on a rule `blamed` accepts.
fn assert_caught(exit: ExitCode, report: &RunReport, blamed: impl Fn(&str) -> bool) {
    assert_eq!(exit, ExitCode::Divergence);
    let rules: Vec<&str> = report.divergences.iter().map(|d| d.rule.as_str()).collect();
    assert!(rules.iter().any(|r| blamed(r)), "{rules:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stub_that_skips_name_validation_is_caught() {
    let (exit, report) = judge(Bug::NoNameCheck, 0, 16).await;
    assert_caught(exit, &report, |r| r.starts_with("validation."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stub_that_makes_a_fifty_first_backup_when_asked_again_is_caught() {
    let (exit, report) = judge(Bug::FiftyFirstOnRetry, LIMIT, 8).await;
    // The limit, or which of the limit and the state gate answers first (A4): either way, a
    // success where every world has the server at the limit and nothing in progress.
    assert_caught(exit, &report, |r| {
        r.starts_with(rules::CREATE_BACKUP_LIMIT.as_str()) || r == rules::AMBIGUITY_ERROR_PRECEDENCE
    });
}

/// A stub that never locks cannot be told apart through CreateBackup alone: a backup may finish
/// by itself at any moment (so a second success right after the first is allowed), and a
/// FAILED one may not count toward the limit (A3). The run passes, and the report says the
/// lock was not judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stub_that_never_locks_is_not_judged_on_the_lock_and_the_report_says_so() {
    let (exit, report) = judge(Bug::NeverLocks, 0, 4).await;
    assert_eq!(exit, ExitCode::Pass, "{:#?}", report.divergences);
    assert!(report.not_exercised.join("\n").contains("BACKING_UP lock"));
}
