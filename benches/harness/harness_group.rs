//! Harness throughput: `report::run` against a raw keep-alive reqwest loop sending the same
//! requests to the same emulator, both measured on CPU per call.

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

pub(crate) fn harness_throughput() -> Vec<[String; 4]> {
    println!("\n== harness: runner::run vs a raw keep-alive reqwest loop (same requests, same emulator) ==");
    let Sides {
        server_rt,
        threads,
        client_rt,
        emu,
    } = Sides::start();
    let mut rows = Vec::new();
    let mut summary = Vec::new();
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
pub(crate) async fn harness_once(emu: &RunningEmulator, cases: u64) -> (u64, f64) {
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
pub(crate) async fn raw_once(base: &str, plans: &[Plan]) -> (u64, f64) {
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
        let mut ids = Ids::default();
        // A parallel block's calls go one after another here (the same requests, no race).
        for step in p.steps.iter().flat_map(|s| match s {
            Step::Parallel { calls } => calls.iter().map(|c| c.as_step()).collect(),
            other => vec![other.clone()],
        }) {
            raw.step(&step, &mut ids).await;
        }
    }
    (raw.requests, t0.elapsed().as_secs_f64())
}

/// The backup ids a plan's answers named so far: per server, and those its calls created.
#[derive(Default)]
pub(crate) struct Ids {
    by_server: BTreeMap<String, Vec<String>>,
    created: Vec<String>,
}

impl Raw {
    /// One step of a plan, sent as the runner sends it.
    async fn step(&mut self, step: &Step, ids: &mut Ids) {
        match step {
            Step::Parallel { .. } => unreachable!("taken apart above"),
            Step::Reset {} => {
                self.control(
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
                self.control(
                    reqwest::Method::PUT,
                    &format!("/_conformance/v1/servers/{server_name}"),
                    Some(json!({"Status": status, "Engine": engine, "ManualBackups": manual_backups, "AutomatedBackups": automated_backups})),
                )
                .await;
                if manual_backups + automated_backups > 0 {
                    let input = json!({"ServerName": server_name});
                    let body = self.api(Operation::DescribeBackups, &input).await;
                    learn(
                        Operation::DescribeBackups,
                        &input,
                        &body,
                        &mut ids.by_server,
                        &mut ids.created,
                    );
                }
            }
            Step::Settle { backup_status } => {
                self.control(
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
                    IdRef::Backup { server, n } => ids.by_server.get(server)?.get(*n).cloned(),
                    IdRef::Created(n) => ids.created.get(*n).cloned(),
                });
                let body = self.api(*operation, &input).await;
                learn(
                    *operation,
                    &input,
                    &body,
                    &mut ids.by_server,
                    &mut ids.created,
                );
            }
        }
    }
}

pub(crate) struct Raw {
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
pub(crate) fn learn(
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
