//! Whole runs: calls and seconds to detect each mutant, the default run's wall time, and the
//! peak memory of a 10,000-case run.

use super::*;

/// The shortest plan that shows a mutant's bug: `benches/minimal/<mutant>.json` (steps counted as
/// plans count them, fixture steps included; every case starts from a reset world). Why no
/// shorter plan can show it is argued in `benches/RESULTS.md`; here each file is replayed
/// against its mutant (and against the correct emulator) so the length is at least achievable.
/// Returns (steps, the rule it diverged on, passes on the correct emulator).
pub(crate) fn shortest(
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

pub(crate) fn mutants() {
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

pub(crate) fn default_run() -> Vec<[String; 4]> {
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

/// Cases of the memory child's one run.
pub(crate) const MEMORY_CASES: u64 = 10_000;

pub(crate) fn memory() -> Vec<[String; 4]> {
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

pub(crate) fn status_kb(field: &str) -> u64 {
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
pub(crate) fn memory_child(cases: u64) {
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
