//! `report.html` rendered in headless Chromium when one is installed (in CI, required): it
//! renders with a silent console, and a probe inside the page checks what a reader sees.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsworkscm_conformance::report::{write_all, RunReport};
use serde_json::{json, Value};

use super::reports::*;

/// Chromium, if installed. In CI (the `CI` variable set) a missing browser fails the test
/// instead of skipping it, so the rendering check cannot quietly stop running.
fn chromium() -> Option<std::path::PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    let found = if fixed.exists() {
        Some(fixed.to_path_buf())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("chromium"))
                .find(|p| p.is_file())
        })
    };
    if found.is_none() && std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("CI is set but chromium is not installed, so report.html cannot be rendered (hint: apt-get install --no-install-recommends chromium fonts-liberation; .ci/run installs it)");
    }
    found
}

/// Runs Chromium with `args`, killing it after `limit`; returns (stdout, stderr). The browser has
/// no network: every host name fails to resolve and any proxy use goes to a closed loopback port.
fn run_chromium(browser: &Path, args: &[String], limit: Duration) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(out_path).unwrap_or_default(),
        std::fs::read_to_string(err_path).unwrap_or_default(),
    )
}

/// Measures the rendered page from inside: the verdict banner and each divergence (visible means
/// laid out with a size, not `display: none` or `visibility: hidden`), every in-page link and
/// whether its target exists, the page's width against the window's, and every resource the page
/// loaded. The result goes into the DOM, percent-encoded, for `--dump-dom` to carry out.
const PROBE: &str = r##"<script>
(() => {
  const visible = (el) => {
    if (!el) return false;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.display !== 'none' && style.visibility !== 'hidden' && box.width > 0 && box.height > 0;
  };
  const verdict = document.getElementById('verdict');
  const result = {
    verdict: verdict ? verdict.textContent.trim() : null,
    verdictVisible: visible(verdict),
    divergences: [...document.querySelectorAll('section[id^="divergence-"]')]
      .map((el) => ({ id: el.id, visible: visible(el), text: el.textContent })),
    links: [...document.querySelectorAll('a[href^="#"]')].map((a) => {
      const id = decodeURIComponent(a.getAttribute('href').slice(1));
      return { href: a.getAttribute('href'), exists: document.getElementById(id) !== null };
    }),
    windowWidth: window.innerWidth,
    clientWidth: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    resources: performance.getEntriesByType('resource').map((e) => e.name),
  };
  const out = document.createElement('pre');
  out.id = 'probe-result';
  out.textContent = encodeURIComponent(JSON.stringify(result));
  document.body.appendChild(out);
})();
</script>"##;

/// A copy of the page with [`PROBE`] at the end of the body. The copy drops the page's
/// Content-Security-Policy (it forbids scripts, the probe included): without it nothing stops
/// the page from loading a resource, so an empty resource list means it asked for none.
fn probed_copy(html: &str, dir: &Path) -> std::path::PathBuf {
    let csp = regex::Regex::new(r#"<meta http-equiv="Content-Security-Policy"[^>]*>"#).unwrap();
    assert!(
        csp.is_match(html),
        "report.html has no Content-Security-Policy"
    );
    let copy = csp
        .replace(html, "")
        .replace("</body>", &format!("{PROBE}</body>"));
    let path = dir.join("probed.html");
    std::fs::write(&path, copy).unwrap();
    path
}

fn probe_result(dom: &str) -> Value {
    let start = dom
        .find("<pre id=\"probe-result\">")
        .unwrap_or_else(|| panic!("the probe did not run:\n{dom:.2000}"))
        + "<pre id=\"probe-result\">".len();
    let encoded = &dom[start..start + dom[start..].find("</pre>").expect("the probe's end")];
    let decoded: String = url::form_urlencoded::parse(format!("r={encoded}").as_bytes())
        .next()
        .expect("one value")
        .1
        .into_owned();
    serde_json::from_str(&decoded).expect("the probe writes JSON")
}

/// What the page itself could fetch: `src`/`href`/`srcset` to a network URL, `@import`, `url(`.
fn network_references(html: &str) -> Vec<String> {
    let pattern = regex::Regex::new(
        r#"(?i)(?:\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|@import|url\s*\()"#,
    )
    .unwrap();
    pattern
        .find_iter(html)
        .map(|m| m.as_str().to_string())
        .collect()
}

#[test]
fn the_failing_report_renders_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        println!("skipped: chromium not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = sample_fail();
    let written = write_all(&report, dir.path(), &secrets()).unwrap();
    if let Some(keep) = std::env::var_os("REPORTS_SAMPLE_DIR") {
        // For a person to look at: REPORTS_SAMPLE_DIR=/tmp/sample cargo test --test integration reports::
        write_all(&sample_fail(), Path::new(&keep), &secrets()).unwrap();
        write_all(&sample_error(), &Path::new(&keep).join("error"), &secrets()).unwrap();
        write_all(&sample_huge(), &Path::new(&keep).join("huge"), &secrets()).unwrap();
    }
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert_eq!(network_references(&html), Vec::<String>::new());

    // The page as written: it renders, and the browser console stays silent.
    let (dom, log) = run_chromium(
        &browser,
        &[
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("file://{}", written.html.display()),
        ],
        Duration::from_secs(180),
    );
    assert!(
        dom.contains("id=\"verdict\""),
        "nothing rendered:\n{dom:.2000}\n{log}"
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "the browser console reported:\n{}",
        console.join("\n")
    );

    // The same page measured from inside, in a 1280-pixel-wide window.
    let probed = probed_copy(&html, dir.path());
    let (dom, log) = run_chromium(
        &browser,
        &[
            "--window-size=1280,900".into(),
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("file://{}", probed.display()),
        ],
        Duration::from_secs(180),
    );
    assert_probe(&probe_result(&dom), &report, &log);
}

/// What the probe measured: the verdict and every divergence visible, in-page links that lead
/// somewhere, no horizontal overflow at 1280 pixels, nothing loaded from outside.
fn assert_probe(r: &Value, report: &RunReport, log: &str) {
    let context = format!("{r:#}\n{log}");
    assert_eq!(r["verdict"], "FAIL", "{context}");
    assert_eq!(r["verdictVisible"], true, "{context}");
    let shown = r["divergences"].as_array().expect("a list");
    assert_eq!(shown.len(), report.divergences.len(), "{context}");
    for (d, el) in report.divergences.iter().zip(shown) {
        assert_eq!(el["visible"], true, "{} is hidden: {context}", d.rule);
        let text = el["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(&d.rule),
            "{} is not in its section: {context}",
            d.rule
        );
    }
    let links = r["links"].as_array().expect("a list");
    assert!(!links.is_empty(), "no in-page links: {context}");
    let broken: Vec<&Value> = links.iter().filter(|l| l["exists"] != true).collect();
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
    // A reader goes from a coverage row to its divergence, and from a divergence to its timeline.
    for target in ["#divergence-1", "#timeline-1"] {
        assert!(
            links.iter().any(|l| l["href"] == target),
            "no link to {target}: {links:?}"
        );
    }
    assert_eq!(r["windowWidth"], 1280, "{context}");
    let (scroll, client) = (r["scrollWidth"].as_u64(), r["clientWidth"].as_u64());
    assert!(
        scroll.is_some() && scroll <= client,
        "the page overflows a 1280-px window horizontally: {context}"
    );
    assert_eq!(
        r["resources"],
        json!([]),
        "the page loaded resources: {context}"
    );
}
