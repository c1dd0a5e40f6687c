//! Emulator throughput: the emulator against a minimal axum handler that parses the same JSON
//! request and answers a body of the same size, measured on server CPU per request.

use super::*;

/// The server side runs on its own runtime so that its CPU time can be read per thread.
pub(crate) struct ServerThreads {
    tids: Arc<Mutex<Vec<String>>>,
}

impl ServerThreads {
    pub(crate) fn runtime(workers: usize) -> (tokio::runtime::Runtime, ServerThreads) {
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
    pub(crate) fn cpu_seconds(&self) -> f64 {
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
pub(crate) struct Mix {
    name: &'static str,
    /// Fixture: the server web with this many manual backups.
    manual_backups: u32,
    /// Requests sent round robin.
    requests: Vec<(Operation, Value)>,
    /// Whether issue 13's target (0.7) is set on this mix: it is on the CreateBackup /
    /// DescribeBackups mix; DescribeServers is measured beside it, with no target.
    targeted: bool,
}

const WARMUP: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(2500);

pub(crate) fn emulator_throughput() -> Vec<[String; 4]> {
    println!("\n== emulator: the emulator vs a minimal axum handler (parses the request's JSON, answers a body of the same size), keep-alive clients on loopback ==");
    let Sides {
        server_rt,
        threads,
        client_rt,
        emu,
    } = Sides::start();
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for mix in &mixes() {
        let fixed = client_rt.block_on(fixture(&emu.url, mix));
        let minimal_url = server_rt.block_on(minimal_server(fixed.clone()));
        for clients in [1usize, 8] {
            let mut compared = Compared::default();
            for _ in 0..ROUNDS {
                compared.round(
                    |url| {
                        client_rt.block_on(load(
                            url,
                            &mix.requests,
                            clients,
                            WARMUP,
                            WINDOW,
                            &threads,
                        ))
                    },
                    [emu.url.as_str(), minimal_url.as_str()],
                );
            }
            rows.extend(compared.rows(mix, clients));
            summary.push(compared.summary(mix, clients));
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
        WARMUP.as_millis(),
        WINDOW.as_millis()
    );
    summary
}

/// The two request mixes measured.
fn mixes() -> [Mix; 2] {
    let web = json!({"ServerName": "web"});
    [
        Mix {
            name: "DescribeServers",
            manual_backups: 0,
            requests: vec![(Operation::DescribeServers, json!({}))],
            targeted: false,
        },
        Mix {
            name: "CreateBackup/DescribeBackups 1:1",
            manual_backups: 5,
            requests: vec![
                (Operation::CreateBackup, web.clone()),
                (Operation::DescribeBackups, web),
            ],
            targeted: true,
        },
    ]
}

/// Puts the mix's fixture in the emulator and returns the fixed body the minimal handler
/// answers: the emulator's own answer to the mix's last request (the largest: the server or
/// backup listing).
async fn fixture(url: &str, mix: &Mix) -> bytes::Bytes {
    let client = reqwest::Client::new();
    client
        .post(format!("{url}/_conformance/v1/reset"))
        .json(&json!({}))
        .send()
        .await
        .expect("reset");
    client
        .put(format!("{url}/_conformance/v1/servers/web"))
        .json(&json!({"Status": "HEALTHY", "ManualBackups": mix.manual_backups}))
        .send()
        .await
        .expect("put-server");
    let mut last = bytes::Bytes::new();
    for (op, input) in &mix.requests {
        last = send(&client, url, *op, input).await.expect("an answer").1;
    }
    last
}

/// One server's figures in one round: requests per second, server CPU µs per request, server
/// CPU %, answers that were neither 2xx nor 4xx.
type Figures = (f64, f64, f64, u64);

/// The emulator and the minimal handler, measured in alternating rounds.
#[derive(Default)]
struct Compared {
    per_server: [Vec<Figures>; 2],
    cpu_ratio: Vec<f64>,
    rps_ratio: Vec<f64>,
}

impl Compared {
    /// One round: the emulator, then the minimal handler, under the same load.
    fn round(&mut self, mut load: impl FnMut(&str) -> (u64, u64, f64, f64), urls: [&str; 2]) {
        let mut round = Vec::new();
        for (k, url) in urls.into_iter().enumerate() {
            let (count, errors, cpu, secs) = load(url);
            let (rps, cpu_us) = (count as f64 / secs, cpu * 1e6 / count as f64);
            self.per_server[k].push((rps, cpu_us, cpu / secs * 100.0, errors));
            round.push((rps, cpu_us));
        }
        self.rps_ratio.push(round[0].0 / round[1].0);
        self.cpu_ratio.push(round[1].1 / round[0].1);
    }

    /// The table's two rows (emulator, minimal axum) for one mix and client count.
    fn rows(&self, mix: &Mix, clients: usize) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for (k, server) in ["emulator", "minimal axum"].into_iter().enumerate() {
            let col =
                |f: fn(&Figures) -> f64| self.per_server[k].iter().map(f).collect::<Vec<f64>>();
            rows.push(vec![
                mix.name.to_string(),
                clients.to_string(),
                server.to_string(),
                spread(&col(|r| r.0), 0),
                spread(&col(|r| r.1), 1),
                spread(&col(|r| r.2), 0),
                format!("{}", self.per_server[k].iter().map(|r| r.3).sum::<u64>()),
                if k == 0 {
                    String::new()
                } else {
                    format!(
                        "{} / {}",
                        spread(&self.cpu_ratio, 3),
                        spread(&self.rps_ratio, 3)
                    )
                },
            ]);
        }
        rows
    }

    /// The summary's row: the CPU ratio against its target.
    fn summary(&self, mix: &Mix, clients: usize) -> [String; 4] {
        [
            format!(
                "emulator/minimal, server CPU per request, {}, {clients} clients",
                mix.name
            ),
            format!(
                "{} (req/s ratio {})",
                spread(&self.cpu_ratio, 3),
                spread(&self.rps_ratio, 3)
            ),
            if mix.targeted { ">= 0.7" } else { "none" }.into(),
            if mix.targeted {
                verdict(median(self.cpu_ratio.clone()) >= 0.7)
            } else {
                "(measured beside the target)".into()
            },
        ]
    }
}

pub(crate) async fn send(
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
pub(crate) async fn minimal_server(body: bytes::Bytes) -> String {
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
pub(crate) async fn load(
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
