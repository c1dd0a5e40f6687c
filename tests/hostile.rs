//! Hostile endpoints: each misbehaving server (on loopback, in this test) must get a clear,
//! classified verdict in bounded time and the documented exit code: 1 for a divergence, 3 when
//! the endpoint cannot be judged. Never a panic or a hang.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use opsworkscm_conformance::exit::ExitCode;
use opsworkscm_conformance::model::rules;
use opsworkscm_conformance::report::{self, RunOutcome, Verdict};
use opsworkscm_conformance::runner::RunConfig;
use opsworkscm_conformance::target::{ClientSettings, EndpointSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake endpoint does with every request.
#[derive(Clone, Copy)]
enum Behaviour {
    NonJson,
    HtmlErrorPage,
    ServerError,
    Throttle429,
    ThrottlingException,
    Oversized,
    NeverAnswers,
    SlowDrip,
    ResetMidBody,
}

/// Reads one request (headers and a Content-Length body); false when the peer went away.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let Ok(n) = stream.read(&mut chunk).await else {
                    return false;
                };
                if n == 0 {
                    return false;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return true;
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await
}

async fn serve(stream: &mut TcpStream, b: Behaviour) -> std::io::Result<()> {
    while read_request(stream).await {
        match b {
            Behaviour::NonJson => respond(stream, "200 OK", "text/plain", b"hello, world").await?,
            Behaviour::HtmlErrorPage => {
                respond(
                    stream,
                    "502 Bad Gateway",
                    "text/html",
                    b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
                )
                .await?
            }
            Behaviour::ServerError => {
                respond(
                    stream,
                    "500 Internal Server Error",
                    "application/x-amz-json-1.1",
                    br#"{"__type":"InternalFailure","message":"boom"}"#,
                )
                .await?
            }
            Behaviour::Throttle429 => {
                respond(stream, "429 Too Many Requests", "application/json", b"{}").await?
            }
            Behaviour::ThrottlingException => {
                respond(
                    stream,
                    "400 Bad Request",
                    "application/x-amz-json-1.1",
                    br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                )
                .await?
            }
            Behaviour::Oversized => {
                let body = vec![b' '; 8 * 1024 * 1024];
                respond(stream, "200 OK", "application/x-amz-json-1.1", &body).await?
            }
            Behaviour::NeverAnswers => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return Ok(());
            }
            Behaviour::SlowDrip => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 100\r\n\r\n")
                    .await?;
                for _ in 0..100 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    stream.write_all(b" ").await?;
                }
            }
            Behaviour::ResetMidBody => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 1000\r\n\r\n{\"Servers\": [")
                    .await?;
                return Ok(());
            }
        }
    }
    Ok(())
}

async fn spawn(b: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = serve(&mut stream, b).await;
            });
        }
    });
    addr
}

async fn judge(addr: SocketAddr) -> (RunOutcome, Duration) {
    let config = RunConfig {
        endpoint: EndpointSpec::Url(format!("http://{addr}/").parse().unwrap()),
        endpoint_arg: format!("http://{addr}/"),
        cases: 3,
        seed: Some(7),
        report_dir: None,
        plans: Some(vec![]),
        save_regressions: false,
        reproduce_runs: 1,
        max_shrink_iters: 16,
        settle_wait: Duration::from_millis(200),
        client: ClientSettings {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_millis(1500),
            max_body: 1024 * 1024,
            ..ClientSettings::default()
        },
        ..RunConfig::default()
    };
    let t0 = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(60), report::run(config))
        .await
        .expect("the run ends in bounded time")
        .expect("the run gives a verdict");
    (outcome, t0.elapsed())
}

fn fault_classes(o: &RunOutcome) -> Vec<String> {
    o.report
        .faults
        .iter()
        .map(|f| f.class.to_string())
        .collect()
}

async fn unjudged_with(b: Behaviour, class: &str) {
    let addr = spawn(b).await;
    let (o, took) = judge(addr).await;
    assert_eq!(
        o.exit,
        ExitCode::Unjudged,
        "{:?} {:?}",
        o.report.error,
        o.report.faults
    );
    assert_eq!(o.report.verdict, Verdict::Error);
    assert!(
        fault_classes(&o).iter().any(|c| c == class),
        "expected a {class} fault, got {:?}",
        o.report.faults
    );
    assert!(o.report.error.as_deref().is_some_and(|e| !e.is_empty()));
    assert!(took < Duration::from_secs(45), "took {took:?}");
}

#[tokio::test]
async fn connection_refused_cannot_be_judged_and_says_how_to_fix_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (o, _) = judge(addr).await;
    assert_eq!(o.exit, ExitCode::Unjudged);
    let error = o.report.error.clone().unwrap_or_default();
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("hint:"), "{error}");
}

#[tokio::test]
async fn a_non_json_body_is_a_protocol_divergence() {
    let addr = spawn(Behaviour::NonJson).await;
    let (o, _) = judge(addr).await;
    assert_eq!(o.exit, ExitCode::Divergence, "{:?}", o.report.error);
    assert_eq!(o.report.divergences[0].rule, rules::PROTOCOL_SUCCESS);
    assert!(
        o.report.divergences[0].message.contains("not JSON"),
        "{}",
        o.report.divergences[0].message
    );
}

#[tokio::test]
async fn an_html_error_page_cannot_be_judged() {
    unjudged_with(Behaviour::HtmlErrorPage, "unavailable").await;
}

#[tokio::test]
async fn server_errors_cannot_be_judged() {
    unjudged_with(Behaviour::ServerError, "unavailable").await;
}

#[tokio::test]
async fn http_429_is_retried_then_reported_never_a_verdict() {
    unjudged_with(Behaviour::Throttle429, "throttled").await;
}

#[tokio::test]
async fn throttling_exceptions_are_retried_then_reported() {
    unjudged_with(Behaviour::ThrottlingException, "throttled").await;
}

#[tokio::test]
async fn an_oversized_body_is_cut_off() {
    unjudged_with(Behaviour::Oversized, "too-large").await;
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out() {
    unjudged_with(Behaviour::NeverAnswers, "no-answer").await;
}

#[tokio::test]
async fn a_slow_drip_times_out() {
    unjudged_with(Behaviour::SlowDrip, "no-answer").await;
}

#[tokio::test]
async fn a_reset_in_the_middle_of_a_body_is_an_unknown_outcome() {
    unjudged_with(Behaviour::ResetMidBody, "no-answer").await;
}
