//! Harness throughput: `runner::run` (with `report::run`'s reporters) against a raw keep-alive
//! reqwest loop replaying the exact requests it sent to the same emulator, both measured on CPU
//! per call.

use std::collections::HashMap;

use super::*;

/// Median and spread of one figure over the rounds: `median (min-max)`.
pub(crate) fn spread(v: &[f64], digits: usize) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:.d$} ({:.d$}-{:.d$})",
        median(v.to_vec()),
        min,
        max,
        d = digits
    )
}

/// CPU seconds (user + system) this whole process used so far (clock ticks of 10 ms).
pub(crate) fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// One measured window of a client against the emulator: calls, wall seconds, the client's
/// CPU seconds (the process less the emulator's threads) and the emulator's.
pub(crate) struct Window {
    calls: u64,
    secs: f64,
    client_cpu: f64,
    server_cpu: f64,
}

impl Window {
    /// Measures `run`, which returns (calls, seconds) and something to keep.
    fn measure<T>(threads: &ServerThreads, run: impl FnOnce() -> ((u64, f64), T)) -> (Window, T) {
        let (p0, s0) = (process_cpu_seconds(), threads.cpu_seconds());
        let ((calls, secs), kept) = run();
        let server_cpu = threads.cpu_seconds() - s0;
        let window = Window {
            calls,
            secs,
            client_cpu: process_cpu_seconds() - p0 - server_cpu,
            server_cpu,
        };
        (window, kept)
    }

    fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.secs
    }

    /// CPU seconds of both sides per call.
    fn cpu_per_call(&self) -> f64 {
        (self.client_cpu + self.server_cpu) / self.calls as f64
    }
}

pub(crate) fn harness_throughput() -> Vec<[String; 4]> {
    println!("\n== harness: runner::run vs a raw keep-alive reqwest loop (the same requests, same emulator) ==");
    let Sides {
        server_rt,
        threads,
        client_rt,
        emu,
    } = Sides::start();
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for cases in [256u64, 1000] {
        // Harness and raw loop alternate, round after round, so that a drift of the machine's
        // speed touches both; each raw round replays what the harness round before it sent.
        // The same requests also go through a loop on the transport the harness itself uses
        // for plain HTTP (hyper's connection driven on the sending task): not the target's
        // baseline, shown so that a reader sees what the harness's own logic costs.
        let rounds: Vec<(Window, Window, u64, Window)> = (0..ROUNDS)
            .map(|_| {
                let (h, sent) =
                    Window::measure(&threads, || client_rt.block_on(harness_once(&emu, cases)));
                let sent = replayable(&sent);
                let (r, matched) =
                    Window::measure(&threads, || client_rt.block_on(raw_once(&sent)));
                let (p, _) =
                    Window::measure(&threads, || client_rt.block_on(raw_plain_once(&sent)));
                (h, r, matched, p)
            })
            .collect();
        let col = |f: fn(&Window, &Window) -> f64| {
            rounds
                .iter()
                .map(|(h, r, _, _)| f(h, r))
                .collect::<Vec<f64>>()
        };
        let wall = col(|h, r| h.calls_per_second() / r.calls_per_second());
        let cpu = col(|h, r| r.cpu_per_call() / h.cpu_per_call());
        let plain: Vec<f64> = rounds
            .iter()
            .map(|(h, _, _, p)| p.cpu_per_call() / h.cpu_per_call())
            .collect();
        let plain_client: Vec<f64> = rounds
            .iter()
            .map(|(_, _, _, p)| p.client_cpu * 1e6 / p.calls as f64)
            .collect();
        rows.push(vec![
            format!("{cases}"),
            spread(&col(|h, _| h.calls as f64), 0),
            rounds
                .iter()
                .map(|(_, r, matched, _)| format!("{matched}/{}", r.calls))
                .collect::<Vec<_>>()
                .join(", "),
            spread(&col(|h, _| h.calls_per_second()), 0),
            spread(&col(|h, _| h.client_cpu * 1e6 / h.calls as f64), 0),
            spread(&col(|_, r| r.client_cpu * 1e6 / r.calls as f64), 0),
            spread(&col(|h, _| h.server_cpu * 1e6 / h.calls as f64), 0),
            spread(&col(|_, r| r.server_cpu * 1e6 / r.calls as f64), 0),
            spread(&wall, 3),
            spread(&cpu, 3),
            spread(&plain_client, 0),
            spread(&plain, 3),
        ]);
        let m = median(cpu.clone());
        summary.push([
            format!("harness/raw, CPU per call (both sides), {cases} cases"),
            format!(
                "{} (wall calls/s ratio {})",
                spread(&cpu, 3),
                spread(&wall, 3)
            ),
            ">= 0.8".into(),
            verdict(m >= 0.8),
        ]);
        summary.push([
            format!("harness/raw loop on the harness's own plain-HTTP transport, {cases} cases"),
            spread(&plain, 3),
            "(shown, not a target)".into(),
            "-".into(),
        ]);
    }
    server_rt.block_on(emu.shutdown());
    print_rows(
        &[
            "cases",
            "calls",
            "raw statuses as the harness's",
            "harness calls/s",
            "harness client CPU µs/call",
            "raw client CPU µs/req",
            "emulator CPU µs/call (harness)",
            "emulator CPU µs/req (raw)",
            "ratio wall calls/s",
            "ratio CPU per call",
            "plain raw client CPU µs/req",
            "ratio CPU vs plain raw",
        ],
        &rows,
    );
    println!("(median (min-max) of {ROUNDS} alternating rounds; ratio = raw ÷ harness CPU per call, both sides counted; seed {SEED}; scenarios off)");
    println!("(the raw loop replays, in order, the exact requests (method, URL, headers, body bytes; API and control plane) the harness sent in the round before it, as the runner's `Sent` events told them, on one keep-alive reqwest client, reading each answer body whole without parsing it; a backup id the harness was given is replaced in later bodies by the one the replay was given (the emulator's ids carry the time), found by a scan of the answers that named ids, not a JSON parse; the calls of a parallel block go one after another; \"raw statuses as the harness's\" counts, per round, the answers whose HTTP status is the one the harness got: the others are calls of parallel blocks whose race the harness saw end in another order)");
    println!("(\"plain raw\": the same replay on one hyper HTTP/1 connection driven on the sending task, the transport the harness uses for plain HTTP; the target compares with the reqwest loop, as issue 13 asks)");
    summary
}

/// One request as the harness sent it, ready to be sent again, with the status it got and the
/// backup ids: those its body names, those the harness's answer named (in order).
pub(crate) struct Sent {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    body: String,
    status: Option<u16>,
    names: Vec<String>,
    learns: Vec<String>,
}

/// One request as told by a `Sent` event: method, URL, headers, body, status, answer body.
type Told = (
    String,
    String,
    Vec<(String, String)>,
    String,
    Option<u16>,
    String,
);

/// The values of the `"BackupId"` members in `body`, in order (a scan, not a JSON parse).
fn backup_ids(body: &str) -> impl Iterator<Item = &str> {
    const KEY: &str = "\"BackupId\":\"";
    body.match_indices(KEY).filter_map(|(at, _)| {
        let rest = &body[at + KEY.len()..];
        rest.find('"').map(|end| &rest[..end])
    })
}

/// One `runner::run` of `cases` generated cases against `emu`, with the reporters `report::run`
/// uses; ((calls, seconds), the requests it sent, in order).
pub(crate) async fn harness_once(emu: &RunningEmulator, cases: u64) -> ((u64, f64), Vec<Told>) {
    let config = RunConfig {
        endpoint: EndpointSpec::Url(url::Url::parse(&emu.url).expect("a URL")),
        endpoint_arg: emu.url.clone(),
        cases,
        seed: Some(SEED),
        report_dir: None,
        scenarios_dir: None,
        plans: Some(vec![]),
        save_regressions: false,
        ..RunConfig::default()
    };
    let mut reporter = report::Reporter::new(&config);
    let mut told: Vec<Told> = Vec::new();
    let mut divergences = 0;
    let mut sink = |e: &RunEvent<'_>| {
        match e {
            RunEvent::Sent(ex) => told.push((
                ex.method.clone(),
                ex.url.clone(),
                ex.request_headers.clone(),
                ex.request_body.clone(),
                ex.status,
                ex.response_body.clone(),
            )),
            RunEvent::DivergenceFound(_) => divergences += 1,
            _ => {}
        }
        reporter.event(e);
    };
    let t0 = Instant::now();
    let end = runner::run(&config, &mut sink).await.expect("the run runs");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(
        divergences, 0,
        "the correct emulator diverged: {:?}",
        end.summary.error
    );
    assert!(
        !end.summary.target.signed,
        "unset AWS credentials: the raw loop does not sign"
    );
    assert_eq!(told.len() as u64, end.summary.calls, "one Sent per request");
    ((end.summary.calls, secs), told)
}

/// The told requests as reqwest's types, with the backup ids each names and learns (outside
/// the measured windows).
pub(crate) fn replayable(told: &[Told]) -> Vec<Sent> {
    let mut known = std::collections::HashSet::new();
    told.iter()
        .map(|(method, url, headers, body, status, answer)| {
            // An id is a whole JSON string in a body.
            let names = body
                .split('"')
                .filter(|piece| known.contains(*piece))
                .map(str::to_string)
                .collect();
            let learns: Vec<String> = backup_ids(answer).map(str::to_string).collect();
            known.extend(learns.iter().cloned());
            Sent {
                method: method.parse().expect("an HTTP method"),
                url: url.parse().expect("a URL"),
                headers: headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            reqwest::header::HeaderName::try_from(k.as_str())
                                .expect("a header name"),
                            reqwest::header::HeaderValue::try_from(v.as_str())
                                .expect("a header value"),
                        )
                    })
                    .collect(),
                body: body.clone(),
                status: *status,
                names,
                learns,
            }
        })
        .collect()
}

/// `sent`, replayed in order by a plain keep-alive reqwest client, each answer read whole;
/// ((requests, seconds), how many answers had the status the harness got). The emulator's
/// backup ids carry the time they were made, so an id the harness was given is replaced in
/// later bodies by the id the replay was given in its place (found by a scan of the answers
/// that named ids to the harness).
pub(crate) async fn raw_once(sent: &[Sent]) -> ((u64, f64), u64) {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("a client");
    let mut replay = Replay::default();
    let t0 = Instant::now();
    for s in sent {
        let mut req = client
            .request(s.method.clone(), s.url.clone())
            .headers(s.headers.clone());
        if !s.body.is_empty() {
            req = req.body(replay.body(s));
        }
        let Ok(resp) = req.send().await else { continue };
        let status = resp.status().as_u16();
        let Ok(answer) = resp.bytes().await else {
            continue;
        };
        replay.answered(s, status, &answer);
    }
    (
        (sent.len() as u64, t0.elapsed().as_secs_f64()),
        replay.matched,
    )
}

/// What a replay has learned so far: the id the replay was given for each id the harness was
/// given, and how many answers had the status the harness got.
#[derive(Default)]
struct Replay<'a> {
    ids: HashMap<&'a str, String>,
    matched: u64,
}

impl<'a> Replay<'a> {
    /// `s`'s body with the ids it names swapped for the replay's.
    fn body(&self, s: &Sent) -> String {
        let mut body = s.body.clone();
        for id in &s.names {
            if let Some(now) = self.ids.get(id.as_str()) {
                body = body.replace(id.as_str(), now);
            }
        }
        body
    }

    /// Counts `s`'s answer and learns the ids it names.
    fn answered(&mut self, s: &'a Sent, status: u16, answer: &[u8]) {
        if Some(status) == s.status {
            self.matched += 1;
        }
        if !s.learns.is_empty() {
            let answer = std::str::from_utf8(answer).unwrap_or_default();
            for (was, now) in s.learns.iter().zip(backup_ids(answer)) {
                self.ids.insert(was, now.to_string());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// `sent`, replayed in order on one hyper HTTP/1 keep-alive connection driven on this task
/// (the harness's own plain-HTTP transport), each answer read whole; ((requests, seconds),
/// how many answers had the status the harness got). Ids are swapped as in `raw_once`.
pub(crate) async fn raw_plain_once(sent: &[Sent]) -> ((u64, f64), u64) {
    use http_body_util::{BodyExt, Full};
    let url = &sent[0].url;
    let authority = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port().unwrap_or(80)
    );
    let t0 = Instant::now();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<bytes::Bytes>>(
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("a handshake");
    let mut conn = std::pin::pin!(conn);
    let mut replay = Replay::default();
    for s in sent {
        let body = replay.body(s);
        let mut req = http::Request::builder()
            .method(s.method.clone())
            .uri(s.url.path())
            .header(http::header::HOST, authority.as_str());
        for (k, v) in &s.headers {
            req = req.header(k, v);
        }
        let req = req
            .body(Full::new(bytes::Bytes::from(body)))
            .expect("a request");
        let work = async {
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        // The emulator keeps the connection open: the connection future ends only on error.
        let reply = tokio::select! { biased; r = work => r, _ = &mut conn => break };
        let Ok((status, answer)) = reply else {
            continue;
        };
        replay.answered(s, status, &answer);
    }
    (
        (sent.len() as u64, t0.elapsed().as_secs_f64()),
        replay.matched,
    )
}
