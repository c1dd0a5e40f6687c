//! Benchmarks of the harness and its emulator, measured in release builds.
//!
//! `cargo bench --bench harness` runs every group; `cargo bench --bench harness -- NAME...` runs
//! the groups whose names contain one of the NAMEs:
//!
//! | group | what | target |
//! | --- | --- | --- |
//! | `harness` | CPU per call (client and emulator) of `runner::run` (scenarios off) vs a plain keep-alive reqwest loop sending the same requests to the same emulator, 3 alternating rounds | ratio >= 0.8 |
//! | `emulator` | server CPU per request of the emulator vs a minimal axum handler that parses the JSON request and answers a body of the same size, N keep-alive clients on loopback, 3 alternating rounds | ratio >= 0.7 |
//! | `mutants` | per mutant: calls and seconds to detection (default self-test), shrunk plan length vs the shortest plan that shows the bug | - |
//! | `default-run` | wall time of a default run (256 cases + the scenario library) | < 5 s |
//! | `memory` | peak RSS (VmHWM) of a 10,000-case run, in a child process of this binary | < 100 MB |
//!
//! Everything runs on loopback in this one process (the memory group re-executes this binary
//! so that its peak is not polluted by the other groups). See `benches/README.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opsworkscm_conformance::emulator::{self, EmulatorConfig, RunningEmulator};
use opsworkscm_conformance::generate::{self, GenConfig};
use opsworkscm_conformance::model::{BackupStatus, Operation};
use opsworkscm_conformance::plan::{self, IdRef, Plan, Step};
use opsworkscm_conformance::report;
use opsworkscm_conformance::runner::{self, RunConfig};
use opsworkscm_conformance::selftest::{self, SelftestConfig};
use opsworkscm_conformance::target::EndpointSpec;
use opsworkscm_conformance::wire::{self, Dialect};
use serde_json::{json, Value};

/// The seed of the generated cases in the throughput group (fixed, so harness and raw loop
/// replay the same plans).
const SEED: u64 = 7;
/// The environment variable that turns this binary into the memory group's child.
const CHILD_ENV: &str = "OPSWORKSCM_BENCH_CHILD";

const GROUPS: [&str; 5] = ["harness", "emulator", "mutants", "default-run", "memory"];

fn main() {
    // reqwest uses rustls with ring: the provider is installed once, before any client.
    opsworkscm_conformance::target::install_tls_provider();
    if let Ok(cases) = std::env::var(CHILD_ENV) {
        memory_child(cases.parse().expect("the child's case count"));
        return;
    }
    // libtest-style flags (`--bench`) are not group names.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |g: &str| filters.is_empty() || filters.iter().any(|f| g.contains(f.as_str()));
    if !GROUPS.iter().any(|g| wanted(g)) {
        eprintln!(
            "no group matches {filters:?}; groups: {}",
            GROUPS.join(", ")
        );
        std::process::exit(2);
    }
    print_machine();
    let started = Instant::now();
    let mut summary: Vec<[String; 4]> = Vec::new();
    if wanted("harness") {
        summary.extend(harness_throughput());
    }
    if wanted("emulator") {
        summary.extend(emulator_throughput());
    }
    if wanted("mutants") {
        mutants();
    }
    if wanted("default-run") {
        summary.extend(default_run());
    }
    if wanted("memory") {
        summary.extend(memory());
    }
    if !summary.is_empty() {
        println!("\n== summary ==");
        print_table(&["measure", "figure", "target", "verdict"], &summary);
    }
    println!("\nbench time: {:.1} s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// Output helpers

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        })
        .unwrap_or_default();
    println!("machine: {cores} cores, CPU {cpu}, MemTotal {mem} kB");
}

fn print_table(header: &[&str], rows: &[[String; 4]]) {
    print_rows(header, &rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>());
}

fn print_rows(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::from("|");
        for (i, c) in cells.iter().enumerate() {
            s.push_str(&format!(" {c:<w$} |", w = widths[i]));
        }
        s
    };
    println!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    println!(
        "|{}",
        widths
            .iter()
            .map(|w| format!("{}|", "-".repeat(w + 2)))
            .collect::<String>()
    );
    for r in rows {
        println!("{}", line(r.clone()));
    }
}

fn verdict(ok: bool) -> String {
    if ok { "met" } else { "MISSED" }.to_string()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn runtime(workers: usize, name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        ..EmulatorConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Harness throughput: runner::run vs a raw reqwest loop sending the same requests.

/// Median and spread of one figure over the rounds: `median (min-max)`.
fn spread(v: &[f64], digits: usize) -> String {
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
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// One measured window of a client against the emulator: calls, wall seconds, the client's
/// CPU seconds (the process less the emulator's threads) and the emulator's.
struct Window {
    calls: u64,
    secs: f64,
    client_cpu: f64,
    server_cpu: f64,
}

impl Window {
    fn measure(threads: &ServerThreads, run: impl FnOnce() -> (u64, f64)) -> Window {
        let (p0, s0) = (process_cpu_seconds(), threads.cpu_seconds());
        let (calls, secs) = run();
        let server_cpu = threads.cpu_seconds() - s0;
        Window {
            calls,
            secs,
            client_cpu: process_cpu_seconds() - p0 - server_cpu,
            server_cpu,
        }
    }

    fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.secs
    }

    /// CPU seconds of both sides per call.
    fn cpu_per_call(&self) -> f64 {
        (self.client_cpu + self.server_cpu) / self.calls as f64
    }
}

fn harness_throughput() -> Vec<[String; 4]> {
    println!("\n== harness: runner::run vs a raw keep-alive reqwest loop (same requests, same emulator) ==");
    // The emulator on a runtime of its own, so that its CPU time can be told from the client's.
    let (server_rt, threads) = ServerThreads::runtime(2);
    let client_rt = runtime(2, "bench-client");
    let emu = server_rt
        .block_on(emulator::start(emulator_config()))
        .expect("the emulator starts");
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    const ROUNDS: usize = 3;
    for cases in [256u64, 1000] {
        let plans = generate::plans_for_seed(&GenConfig::default(), SEED, cases as usize);
        let steps: usize = plans.iter().map(|p| p.steps.len()).sum();
        // Harness and raw loop alternate, round after round, so that a drift of the machine's
        // speed touches both.
        let rounds: Vec<(Window, Window)> = (0..ROUNDS)
            .map(|_| {
                let h = Window::measure(&threads, || client_rt.block_on(harness_once(&emu, cases)));
                let r =
                    Window::measure(&threads, || client_rt.block_on(raw_once(&emu.url, &plans)));
                (h, r)
            })
            .collect();
        let (h_calls, r_calls) = (rounds[0].0.calls, rounds[0].1.calls);
        if h_calls != r_calls {
            eprintln!(
                "warning: the raw loop sent {r_calls} requests, the harness {h_calls}: the replay is not exact"
            );
        }
        let col = |f: fn(&Window, &Window) -> f64| {
            rounds.iter().map(|(h, r)| f(h, r)).collect::<Vec<f64>>()
        };
        let wall = col(|h, r| h.calls_per_second() / r.calls_per_second());
        let cpu = col(|h, r| r.cpu_per_call() / h.cpu_per_call());
        rows.push(vec![
            format!("{cases}"),
            format!("{steps}"),
            format!("{h_calls}"),
            spread(&col(|h, _| h.calls_per_second()), 0),
            spread(&col(|h, _| h.client_cpu * 1e6 / h.calls as f64), 0),
            spread(&col(|_, r| r.client_cpu * 1e6 / r.calls as f64), 0),
            spread(&col(|h, _| h.server_cpu * 1e6 / h.calls as f64), 0),
            spread(&wall, 3),
            spread(&cpu, 3),
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
    }
    server_rt.block_on(emu.shutdown());
    print_rows(
        &[
            "cases",
            "plan steps",
            "calls",
            "harness calls/s",
            "harness client CPU µs/call",
            "raw client CPU µs/req",
            "emulator CPU µs/call",
            "ratio wall calls/s",
            "ratio CPU per call",
        ],
        &rows,
    );
    println!("(median (min-max) of {ROUNDS} alternating rounds; ratio = raw ÷ harness CPU per call, both sides counted; seed {SEED}; scenarios off)");
    summary
}

/// One `report::run` of `cases` generated cases against `emu`; (calls, seconds).
async fn harness_once(emu: &RunningEmulator, cases: u64) -> (u64, f64) {
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
    let t0 = Instant::now();
    let outcome = report::run(config).await.expect("the run runs");
    let secs = t0.elapsed().as_secs_f64();
    assert!(
        outcome.report.divergences.is_empty(),
        "the correct emulator diverged: {:?}",
        outcome.report.error
    );
    assert!(
        !outcome.report.target.signed,
        "unset AWS credentials: the raw loop does not sign"
    );
    (outcome.report.calls, secs)
}

/// The requests a run of `plans` sends (the capabilities probe, a reset per case, each fixture
/// step, each call, the DescribeBackups the runner sends after a put-server with backups),
/// replayed by a plain keep-alive reqwest client. Placeholders are resolved from the answers,
/// as the runner does, so the emulator takes the same paths. Returns (requests, seconds).
async fn raw_once(base: &str, plans: &[Plan]) -> (u64, f64) {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("a client");
    let mut raw = Raw {
        client,
        base: base.trim_end_matches('/').to_string(),
        requests: 0,
    };
    let t0 = Instant::now();
    raw.control(reqwest::Method::GET, "/_conformance/v1/capabilities", None)
        .await;
    for p in plans {
        raw.control(
            reqwest::Method::POST,
            "/_conformance/v1/reset",
            Some(json!({})),
        )
        .await;
        let mut by_server: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut created: Vec<String> = Vec::new();
        // A parallel block's calls go one after another here (the same requests, no race).
        let steps: Vec<Step> = p
            .steps
            .iter()
            .flat_map(|s| match s {
                Step::Parallel { calls } => calls.iter().map(|c| c.as_step()).collect(),
                other => vec![other.clone()],
            })
            .collect();
        for step in &steps {
            match step {
                Step::Parallel { .. } => unreachable!("taken apart above"),
                Step::Reset {} => {
                    raw.control(
                        reqwest::Method::POST,
                        "/_conformance/v1/reset",
                        Some(json!({})),
                    )
                    .await;
                }
                Step::PutServer {
                    server_name,
                    status,
                    engine,
                    manual_backups,
                    automated_backups,
                } => {
                    raw.control(
                        reqwest::Method::PUT,
                        &format!("/_conformance/v1/servers/{server_name}"),
                        Some(json!({"Status": status, "Engine": engine, "ManualBackups": manual_backups, "AutomatedBackups": automated_backups})),
                    )
                    .await;
                    if manual_backups + automated_backups > 0 {
                        let input = json!({"ServerName": server_name});
                        let body = raw.api(Operation::DescribeBackups, &input).await;
                        learn(
                            Operation::DescribeBackups,
                            &input,
                            &body,
                            &mut by_server,
                            &mut created,
                        );
                    }
                }
                Step::Settle { backup_status } => {
                    raw.control(
                        reqwest::Method::POST,
                        "/_conformance/v1/settle",
                        Some(json!({"BackupStatus": backup_status.unwrap_or(BackupStatus::Ok)})),
                    )
                    .await;
                }
                Step::Call {
                    operation, input, ..
                } => {
                    let input = plan::resolve_placeholders(input, &|r| match r {
                        IdRef::Backup { server, n } => by_server.get(server)?.get(*n).cloned(),
                        IdRef::Created(n) => created.get(*n).cloned(),
                    });
                    let body = raw.api(*operation, &input).await;
                    learn(*operation, &input, &body, &mut by_server, &mut created);
                }
            }
        }
    }
    (raw.requests, t0.elapsed().as_secs_f64())
}

struct Raw {
    client: reqwest::Client,
    base: String,
    requests: u64,
}

impl Raw {
    async fn api(&mut self, op: Operation, input: &Value) -> Option<(u16, bytes::Bytes)> {
        let encoded = wire::encode_request(Dialect::AwsJson, op, input);
        let mut req = self.client.post(format!("{}/", self.base));
        for (k, v) in &encoded.headers {
            req = req.header(*k, v);
        }
        self.requests += 1;
        let resp = req.body(encoded.body).send().await.ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.bytes().await.ok()?))
    }

    async fn control(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json");
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).expect("serializes"));
        }
        self.requests += 1;
        if let Ok(resp) = req.send().await {
            let _ = resp.bytes().await;
        }
    }
}

/// Learns backup ids from a CreateBackup or DescribeBackups success, as the runner does.
fn learn(
    op: Operation,
    input: &Value,
    answer: &Option<(u16, bytes::Bytes)>,
    by_server: &mut BTreeMap<String, Vec<String>>,
    created: &mut Vec<String>,
) {
    let Some((200, body)) = answer else { return };
    if !matches!(op, Operation::CreateBackup | Operation::DescribeBackups) {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let mut remember = |server: &str, id: &str| {
        let list = by_server.entry(server.to_string()).or_default();
        if !list.iter().any(|x| x == id) {
            list.push(id.to_string());
        }
    };
    if op == Operation::CreateBackup {
        if let (Some(id), Some(server)) = (
            v["Backup"]["BackupId"].as_str(),
            input["ServerName"].as_str(),
        ) {
            remember(server, id);
            created.push(id.to_string());
        }
    } else {
        for b in v["Backups"].as_array().into_iter().flatten() {
            if let (Some(id), Some(server)) = (b["BackupId"].as_str(), b["ServerName"].as_str()) {
                remember(server, id);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Emulator throughput vs a minimal axum handler.

/// The server side runs on its own runtime so that its CPU time can be read per thread.
struct ServerThreads {
    tids: Arc<Mutex<Vec<String>>>,
}

impl ServerThreads {
    fn runtime(workers: usize) -> (tokio::runtime::Runtime, ServerThreads) {
        let tids = Arc::new(Mutex::new(Vec::new()));
        let t = tids.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-server")
            .on_thread_start(move || {
                if let Ok(link) = std::fs::read_link("/proc/thread-self") {
                    if let Some(tid) = link.file_name() {
                        t.lock().unwrap().push(tid.to_string_lossy().into_owned());
                    }
                }
            })
            .enable_all()
            .build()
            .expect("a tokio runtime");
        (rt, ServerThreads { tids })
    }

    /// CPU seconds (user + system) the server threads used so far (clock ticks of 10 ms).
    fn cpu_seconds(&self) -> f64 {
        let ticks: u64 = self
            .tids
            .lock()
            .unwrap()
            .iter()
            .filter_map(|tid| std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok())
            .map(|stat| {
                let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
                let f: Vec<&str> = after.split_whitespace().collect();
                f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
                    + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
            })
            .sum();
        ticks as f64 / 100.0
    }
}

#[derive(Clone)]
struct Mix {
    name: &'static str,
    /// Fixture: the server web with this many manual backups.
    manual_backups: u32,
    /// Requests sent round robin.
    requests: Vec<(Operation, Value)>,
}

fn emulator_throughput() -> Vec<[String; 4]> {
    println!("\n== emulator: the emulator vs a minimal axum handler (parses the request's JSON, answers a body of the same size), keep-alive clients on loopback ==");
    const ROUNDS: usize = 3;
    let (server_rt, threads) = ServerThreads::runtime(2);
    let client_rt = runtime(2, "bench-client");
    let emu = server_rt
        .block_on(emulator::start(emulator_config()))
        .expect("the emulator starts");
    let web = json!({"ServerName": "web"});
    let mixes = [
        Mix {
            name: "DescribeServers",
            manual_backups: 0,
            requests: vec![(Operation::DescribeServers, json!({}))],
        },
        Mix {
            name: "CreateBackup/DescribeBackups 1:1",
            manual_backups: 5,
            requests: vec![
                (Operation::CreateBackup, web.clone()),
                (Operation::DescribeBackups, web.clone()),
            ],
        },
    ];
    let warmup = Duration::from_millis(300);
    let window = Duration::from_millis(2500);
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for mix in &mixes {
        // The fixture, and the fixed body the minimal handler answers: the emulator's own answer
        // to the mix's last request (the largest: the server or backup listing).
        let fixed = client_rt.block_on(async {
            let client = reqwest::Client::new();
            client
                .post(format!("{}/_conformance/v1/reset", emu.url))
                .json(&json!({}))
                .send()
                .await
                .expect("reset");
            client
                .put(format!("{}/_conformance/v1/servers/web", emu.url))
                .json(&json!({"Status": "HEALTHY", "ManualBackups": mix.manual_backups}))
                .send()
                .await
                .expect("put-server");
            let mut last = bytes::Bytes::new();
            for (op, input) in &mix.requests {
                last = send(&client, &emu.url, *op, input)
                    .await
                    .expect("an answer")
                    .1;
            }
            last
        });
        let minimal_url = server_rt.block_on(minimal_server(fixed.clone()));
        for clients in [1usize, 8] {
            // Emulator and minimal handler alternate, round after round.
            let (mut cpu_ratio, mut rps_ratio) = (Vec::new(), Vec::new());
            let mut per_server: [Vec<(f64, f64, f64, u64)>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..ROUNDS {
                let mut round = Vec::new();
                for (k, url) in [emu.url.as_str(), minimal_url.as_str()]
                    .into_iter()
                    .enumerate()
                {
                    let (count, errors, cpu, secs) = client_rt.block_on(load(
                        url,
                        &mix.requests,
                        clients,
                        warmup,
                        window,
                        &threads,
                    ));
                    let (rps, cpu_us) = (count as f64 / secs, cpu * 1e6 / count as f64);
                    per_server[k].push((rps, cpu_us, cpu / secs * 100.0, errors));
                    round.push((rps, cpu_us));
                }
                rps_ratio.push(round[0].0 / round[1].0);
                cpu_ratio.push(round[1].1 / round[0].1);
            }
            for (k, server) in ["emulator", "minimal axum"].into_iter().enumerate() {
                let col = |f: fn(&(f64, f64, f64, u64)) -> f64| {
                    per_server[k].iter().map(f).collect::<Vec<f64>>()
                };
                rows.push(vec![
                    mix.name.to_string(),
                    clients.to_string(),
                    server.to_string(),
                    spread(&col(|r| r.0), 0),
                    spread(&col(|r| r.1), 1),
                    spread(&col(|r| r.2), 0),
                    format!("{}", per_server[k].iter().map(|r| r.3).sum::<u64>()),
                    if k == 0 {
                        String::new()
                    } else {
                        format!("{} / {}", spread(&cpu_ratio, 3), spread(&rps_ratio, 3))
                    },
                ]);
            }
            summary.push([
                format!(
                    "emulator/minimal, server CPU per request, {}, {clients} clients",
                    mix.name
                ),
                format!(
                    "{} (req/s ratio {})",
                    spread(&cpu_ratio, 3),
                    spread(&rps_ratio, 3)
                ),
                ">= 0.7".into(),
                verdict(median(cpu_ratio) >= 0.7),
            ]);
        }
        println!(
            "  {}: fixed body of the minimal handler {} bytes",
            mix.name,
            fixed.len()
        );
    }
    server_rt.block_on(emu.shutdown());
    print_rows(
        &[
            "mix",
            "clients",
            "server",
            "req/s",
            "server CPU µs/req",
            "server CPU %",
            "non-2xx/4xx",
            "ratio: CPU per request / req/s",
        ],
        &rows,
    );
    println!(
        "(median (min-max) of {ROUNDS} alternating rounds, each {} ms warm-up and {} ms measured; \
         CPU ratio = minimal ÷ emulator server CPU per request; server and clients on two runtimes of 2 workers each, sharing the cores)",
        warmup.as_millis(),
        window.as_millis()
    );
    summary
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    op: Operation,
    input: &Value,
) -> Option<(u16, bytes::Bytes)> {
    let encoded = wire::encode_request(Dialect::AwsJson, op, input);
    let mut req = client.post(format!("{base}/"));
    for (k, v) in &encoded.headers {
        req = req.header(*k, v);
    }
    let resp = req.body(encoded.body).send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.bytes().await.ok()?))
}

/// A minimal axum server: `POST /` parses the request's JSON body and answers a fixed aws-json
/// body (the emulator's own answer to the same request: the same size).
async fn minimal_server(body: bytes::Bytes) -> String {
    let router = axum::Router::new().route(
        "/",
        axum::routing::post(move |request: bytes::Bytes| {
            let body = body.clone();
            async move {
                let status = match serde_json::from_slice::<Value>(&request) {
                    Ok(_) => axum::http::StatusCode::OK,
                    Err(_) => axum::http::StatusCode::BAD_REQUEST,
                };
                (
                    status,
                    [("content-type", wire::AWS_JSON_CONTENT_TYPE)],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// `clients` tasks, each with its own keep-alive connection, send the mix round robin for
/// `warmup + window`; returns (answers in the window, answers that were neither 2xx nor 4xx,
/// server CPU seconds in the window, window seconds).
async fn load(
    url: &str,
    requests: &[(Operation, Value)],
    clients: usize,
    warmup: Duration,
    window: Duration,
    threads: &ServerThreads,
) -> (u64, u64, f64, f64) {
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (counting, stop, count, errors) = (
            counting.clone(),
            stop.clone(),
            count.clone(),
            errors.clone(),
        );
        let url = url.to_string();
        let requests = requests.to_vec();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .expect("a client");
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let (op, input) = &requests[i % requests.len()];
                i += 1;
                let ok = matches!(send(&client, &url, *op, input).await, Some((s, _)) if s < 500);
                if counting.load(Ordering::Relaxed) {
                    count.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(warmup).await;
    let cpu0 = threads.cpu_seconds();
    let t0 = Instant::now();
    counting.store(true, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    counting.store(false, Ordering::Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    let cpu = threads.cpu_seconds() - cpu0;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    (
        count.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        cpu,
        secs,
    )
}

// ---------------------------------------------------------------------------------------------
// 3. Per mutant.

/// The shortest plan that shows a mutant's bug: `benches/minimal/<mutant>.json` (steps counted as
/// plans count them, fixture steps included; every case starts from a reset world). Why no
/// shorter plan can show it is argued in `benches/RESULTS.md`; here each file is replayed
/// against its mutant (and against the correct emulator) so the length is at least achievable.
/// Returns (steps, the rule it diverged on, passes on the correct emulator).
fn shortest(
    rt: &tokio::runtime::Runtime,
    mutant: &str,
    dialect: Dialect,
) -> Option<(usize, String, bool)> {
    let path = PathBuf::from("benches/minimal").join(format!("{mutant}.json"));
    let plan = plan::load_plan(&path).ok()?;
    let steps = plan.steps.len();
    let replay = |mutant: Option<&str>| {
        let config = RunConfig {
            dialect,
            seed: Some(1),
            report_dir: None,
            scenarios_dir: None,
            plans: Some(vec![(format!("minimal::{mutant:?}"), plan.clone())]),
            generated: false,
            save_regressions: false,
            reproduce_runs: 0,
            emulator: runner::EmulatorSettings {
                mutant: mutant.map(str::to_string),
                ..runner::EmulatorSettings::default()
            },
            ..RunConfig::default()
        };
        rt.block_on(report::run(config)).expect("the replay runs")
    };
    let killed = replay(Some(mutant));
    let rule = killed.report.divergences.first()?.rule.clone();
    let correct = replay(None);
    Some((steps, rule, correct.report.divergences.is_empty()))
}

fn mutants() {
    println!("\n== mutants: selftest::run, default settings (256 cases, seed 1, scenarios/) and generated cases only ==");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let t0 = Instant::now();
    let default = rt
        .block_on(selftest::run(&SelftestConfig::default(), &mut |_| {}))
        .expect("the self-test runs");
    let default_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let generated_only = rt
        .block_on(selftest::run(
            &SelftestConfig {
                scenarios_dir: None,
                ..SelftestConfig::default()
            },
            &mut |_| {},
        ))
        .expect("the self-test runs");
    let generated_secs = t1.elapsed().as_secs_f64();
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut rows = Vec::new();
    for r in &default.rows {
        let g = generated_only.rows.iter().find(|g| g.name == r.name);
        let shortest = match r.mutant.as_deref() {
            None => None,
            Some("racy-create") => Some("0 (a concurrent round)".to_string()),
            Some(m) => Some(match shortest(&rt, m, r.dialect) {
                Some((steps, rule, true)) => format!("{steps} (verified: {rule})"),
                Some((steps, rule, false)) => {
                    format!("{steps} ({rule}, but the correct emulator diverges too)")
                }
                None => "? (benches/minimal has no plan that diverges)".to_string(),
            }),
        };
        rows.push(vec![
            r.name.clone(),
            if r.ok() { "killed/passed" } else { "NOT OK" }.to_string(),
            opt(r
                .trial
                .clone()
                .map(|t| t.replace("scenario::", "s::").replace("property::", "p::"))),
            opt(r.calls.map(|c| c.to_string())),
            opt(r.seconds.map(|s| format!("{s:.3}"))),
            opt(r.shrunk_steps.map(|s| s.to_string())),
            opt(g.and_then(|g| g.calls).map(|c| c.to_string())),
            opt(g.and_then(|g| g.seconds).map(|s| format!("{s:.3}"))),
            opt(g.and_then(|g| g.shrunk_steps).map(|s| s.to_string())),
            opt(shortest),
            format!("{:.2}", r.run_seconds),
        ]);
    }
    print_rows(
        &[
            "mutant",
            "result",
            "found by (default)",
            "calls",
            "s",
            "plan steps",
            "gen-only calls",
            "gen-only s",
            "gen-only shrunk steps",
            "shortest plan (replayed)",
            "run s",
        ],
        &rows,
    );
    let (k, n) = default.kill_rate();
    let (gk, gn) = generated_only.kill_rate();
    println!(
        "kill rate: default {k}/{n} ({default_secs:.1} s for the whole self-test); generated cases only {gk}/{gn} ({generated_secs:.1} s)"
    );
    println!("(\"plan steps\" is the shrunk plan for a generated case, the scenario's own length for a scenario; 0 = a concurrent round)");
}

// ---------------------------------------------------------------------------------------------
// 4. Default run time.

fn default_run() -> Vec<[String; 4]> {
    println!("\n== default-run: RunConfig::default() (256 cases + scenarios/ + concurrency rounds), reports written ==");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = std::env::temp_dir().join(format!("opsworkscm-bench-{}", std::process::id()));
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for round in 0..3u64 {
        let config = RunConfig {
            seed: Some(round + 1),
            report_dir: Some(dir.clone()),
            save_regressions: false,
            ..RunConfig::default()
        };
        let t0 = Instant::now();
        let outcome = rt.block_on(report::run(config)).expect("the run runs");
        let secs = t0.elapsed().as_secs_f64();
        times.push(secs);
        let trial = |pred: &dyn Fn(&str) -> bool| -> (u64, u64) {
            outcome
                .report
                .trials
                .iter()
                .filter(|t| pred(&t.name))
                .fold((0, 0), |(ms, c), t| (ms + t.duration_ms, c + t.calls))
        };
        let (s_ms, s_calls) = trial(&|n| n.starts_with("scenario::"));
        let (g_ms, g_calls) = trial(&|n| n == "property::generated-sequences");
        let (c_ms, c_calls) = trial(&|n| n == "property::concurrent-calls");
        rows.push(vec![
            format!("{}", round + 1),
            format!("{:?}", outcome.report.verdict),
            format!("{secs:.2}"),
            format!("{}", outcome.report.calls),
            format!("{:.0}", outcome.report.calls as f64 / secs),
            format!("{:.2} s / {s_calls}", s_ms as f64 / 1000.0),
            format!("{:.2} s / {g_calls}", g_ms as f64 / 1000.0),
            format!("{:.2} s / {c_calls}", c_ms as f64 / 1000.0),
        ]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    print_rows(
        &[
            "seed",
            "verdict",
            "wall s",
            "calls",
            "calls/s",
            "scenarios (time / calls)",
            "256 generated",
            "concurrency rounds",
        ],
        &rows,
    );
    let m = median(times);
    vec![[
        "default run wall time (median of 3)".into(),
        format!("{m:.2} s"),
        "< 5 s".into(),
        verdict(m < 5.0),
    ]]
}

// ---------------------------------------------------------------------------------------------
// 5. Peak memory of a 10,000-case run.

/// Cases of the memory child's one run.
const MEMORY_CASES: u64 = 10_000;

fn memory() -> Vec<[String; 4]> {
    println!("\n== memory: peak RSS of one {MEMORY_CASES}-case run (default settings, scenarios/, reports written) in a child process ==");
    let exe = std::env::current_exe().expect("this binary");
    let t0 = Instant::now();
    let out = std::process::Command::new(exe)
        .env(CHILD_ENV, MEMORY_CASES.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the child runs");
    let secs = t0.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let peak_kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM_kB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    println!("child wall time {secs:.1} s");
    vec![[
        format!("peak RSS, {MEMORY_CASES}-case run"),
        format!("{:.1} MB", peak_kb as f64 / 1024.0),
        "< 100 MB".into(),
        verdict(out.status.success() && peak_kb > 0 && peak_kb < 100 * 1024),
    ]]
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The child: one run of `cases` cases, sampling VmRSS every second; prints the samples and the
/// peak (VmHWM).
fn memory_child(cases: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir: PathBuf =
        std::env::temp_dir().join(format!("opsworkscm-bench-mem-{}", std::process::id()));
    let before = status_kb("VmHWM:");
    let done = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (done, samples) = (done.clone(), samples.clone());
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                samples
                    .lock()
                    .unwrap()
                    .push((t0.elapsed().as_secs(), status_kb("VmRSS:")));
            }
        })
    };
    // One run of all the cases, with one embedded emulator (the emulator's creation clock is
    // rewound by every reset, so a long run no longer drifts: see RESULTS.md).
    let t0 = Instant::now();
    let outcome = rt
        .block_on(report::run(RunConfig {
            cases,
            seed: Some(SEED),
            report_dir: Some(dir.clone()),
            save_regressions: false,
            ..RunConfig::default()
        }))
        .expect("the run runs");
    let (done_cases, calls) = (outcome.report.cases, outcome.report.calls);
    let lines = vec![format!(
        "run (seed {SEED}): {:?}, {} cases, {} calls, VmHWM {:.1} MB",
        outcome.report.verdict,
        outcome.report.cases,
        outcome.report.calls,
        status_kb("VmHWM:") as f64 / 1024.0
    )];
    let secs = t0.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let _ = std::fs::remove_dir_all(&dir);
    let samples = samples.lock().unwrap().clone();
    let n = samples.len();
    let picks: Vec<String> = [n / 10, n / 4, n / 2, 3 * n / 4, n.saturating_sub(1)]
        .iter()
        .filter_map(|&i| samples.get(i))
        .map(|(s, kb)| format!("{s} s: {:.1} MB", *kb as f64 / 1024.0))
        .collect();
    for l in lines {
        println!("{l}");
    }
    println!("total: {done_cases} cases, {calls} calls in {secs:.1} s");
    println!(
        "VmHWM before the runs {:.1} MB; VmRSS during the runs: {}",
        before as f64 / 1024.0,
        picks.join(", ")
    );
    println!("VmHWM_kB={}", status_kb("VmHWM:"));
}
