//! The report files, from realistic sample reports: a pass, a failure with two divergences, an
//! error, and a hostile, oversized run. `report.json` is checked against its schema, and the
//! files as written. The samples serve `reports_text` (JUnit, console summary, redaction) and
//! `reports_browser` (report.html in headless Chromium) too.

use std::path::Path;
use std::time::{Duration, Instant};

use opsworkscm_conformance::model::{Operation, ServerStatus};
use opsworkscm_conformance::plan::{Expect, Plan, Step};
use opsworkscm_conformance::report::{
    console_summary, to_html, to_json, to_junit, unified_diff, write_all, Divergence, Exchange,
    Fault, FaultClass, Reproduction, ReproductionClass, RuleCoverage, RunReport, TargetInfo,
    TimelineEntry, ToolInfo, TrialResult, Verdict, REPORT_VERSION,
};
use serde_json::{json, Value};

pub(crate) const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub(crate) const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub(crate) const SESSION_TOKEN: &str = "FwoGZXIvYXdzEBYaDEXAMPLESESSIONTOKEN";

pub(crate) fn authorization() -> String {
    format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20250101/us-east-1/opsworks-cm/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
}

pub(crate) fn secrets() -> Vec<String> {
    vec![SECRET_KEY.to_string(), SESSION_TOKEN.to_string()]
}

fn put_server(name: &str, status: ServerStatus, manual: u32) -> Step {
    Step::PutServer {
        server_name: name.into(),
        status,
        engine: "ChefAutomate".into(),
        manual_backups: manual,
        automated_backups: 0,
    }
}

fn create_backup(server: &str) -> Step {
    Step::Call {
        operation: Operation::CreateBackup,
        input: json!({"ServerName": server, "Description": "nightly"}),
        expect: None,
    }
}

fn coverage(id: &str, kind: &str, passed: u64, failed: u64, divergences: u64) -> RuleCoverage {
    RuleCoverage {
        id: id.into(),
        kind: kind.into(),
        text: opsworkscm_conformance::model::rules::rule_by_id(id)
            .map(|r| r.text.to_string())
            .unwrap_or_default(),
        passed,
        failed,
        divergences,
    }
}

pub(crate) fn trial(name: &str, outcome: &str, ms: u64, message: Option<&str>) -> TrialResult {
    TrialResult {
        name: name.into(),
        kind: name.split("::").next().unwrap().parse().unwrap(),
        outcome: outcome.parse().unwrap(),
        duration_ms: ms,
        calls: 12,
        message: message.map(String::from),
    }
}

fn limit_divergence() -> Divergence {
    let plan = Plan {
        name: "shrunk-limit".into(),
        description: "A LimitExceededException is thrown when the maximum number of manual backups is reached.".into(),
        rules: vec!["create-backup.limit".into()],
        origin: Some("seed 42, case 17".into()),
        template: None,
        steps: vec![
            Step::Reset {},
            put_server("web", ServerStatus::Healthy, 50),
            create_backup("web"),
        ],
    };
    let allowed = vec!["LimitExceededException".to_string()];
    let observed = "success: Backup web-20250101120000000 IN_PROGRESS".to_string();
    let request_body = r#"{"ServerName":"web","Description":"nightly"}"#;
    Divergence {
        rule: "create-backup.limit".into(),
        rule_text: "By default, you can create a maximum of 50 manual backups. A LimitExceededException is thrown when the maximum number of manual backups is reached.".into(),
        trial: "property::generated-sequences".into(),
        message: "CreateBackup succeeded on server web with 50 of 50 manual backups; the model allowed only LimitExceededException".into(),
        plan,
        original_steps: 23,
        step_index: 2,
        timeline: vec![
            TimelineEntry { index: 0, step: "reset".into(), observed: "200 {}".into(), model_change: "no servers".into(), worlds: 1, diverged: false },
            TimelineEntry { index: 1, step: "put-server web HEALTHY (50 manual, 0 automated)".into(), observed: "200 Server web HEALTHY".into(), model_change: "web: HEALTHY; manual 50".into(), worlds: 1, diverged: false },
            TimelineEntry { index: 2, step: r#"CreateBackup {"ServerName":"web","Description":"nightly"}"#.into(), observed: observed.clone(), model_change: "(none: no world explains it)".into(), worlds: 0, diverged: true },
        ],
        diff: unified_diff(
            "{\n  \"__type\": \"LimitExceededException\"\n}",
            "{\n  \"Backup\": {\n    \"BackupId\": \"web-20250101120000000\",\n    \"Status\": \"IN_PROGRESS\"\n  }\n}",
        ),
        allowed,
        observed,
        exchange: Some(Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:4566/".into(),
            request_headers: vec![
                ("content-type".into(), "application/x-amz-json-1.1".into()),
                ("x-amz-target".into(), "OpsWorksCM_V2016_11_01.CreateBackup".into()),
                ("Authorization".into(), authorization()),
                ("X-Amz-Security-Token".into(), SESSION_TOKEN.into()),
            ],
            request_body: request_body.into(),
            status: Some(200),
            response_headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
            response_body: r#"{"Backup":{"BackupId":"web-20250101120000000","BackupType":"MANUAL","ServerName":"web","Status":"IN_PROGRESS","Description":"<script>alert('pwned')</script><img src=x onerror=alert(1)>"}}"#.into(),
        }),
        reproduction: Some(Reproduction { runs: 5, reproduced: 5, classification: ReproductionClass::Deterministic }),
        replay_command: "opsworkscm-conformance replay scenarios/regressions/create-backup.limit-3f2a.json --endpoint http://127.0.0.1:4566".into(),
        curl_command: Some(format!(
            "curl -sS -X POST 'http://127.0.0.1:4566/' -H 'content-type: application/x-amz-json-1.1' -H 'x-amz-target: OpsWorksCM_V2016_11_01.CreateBackup' -H 'authorization: {}' -H 'x-amz-security-token: {SESSION_TOKEN}' --data '{request_body}'",
            authorization()
        )),
        saved_to: Some("scenarios/regressions/create-backup.limit-3f2a.json".into()),
    }
}

fn backing_up_divergence() -> Divergence {
    let plan = Plan::new(
        "shrunk-backing-up",
        vec![
            Step::Reset {},
            put_server("db", ServerStatus::Healthy, 0),
            create_backup("db"),
            Step::Call {
                operation: Operation::CreateBackup,
                input: json!({"ServerName": "db"}),
                expect: Some(Expect::One("InvalidStateException".into())),
            },
        ],
    );
    Divergence {
        rule: "create-backup.state.backing-up".into(),
        rule_text: String::new(), // filled from the rule catalogue by the HTML report
        trial: "scenario::state::second-backup-while-backing-up".into(),
        message: "a second CreateBackup while db was BACKING_UP answered ValidationException"
            .into(),
        plan,
        original_steps: 4,
        step_index: 3,
        timeline: Vec::new(), // the HTML report falls back to the plan's steps
        allowed: vec!["InvalidStateException".into()],
        observed: "ValidationException: Server is busy".into(),
        diff: String::new(), // computed from allowed and observed
        exchange: Some(Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:4566/".into(),
            request_headers: vec![("authorization".into(), authorization())],
            request_body: r#"{"ServerName":"db"}"#.into(),
            status: Some(400),
            response_headers: vec![],
            response_body: r#"{"__type":"ValidationException","message":"Server is busy"}"#.into(),
        }),
        reproduction: Some(Reproduction {
            runs: 5,
            reproduced: 3,
            classification: ReproductionClass::Flaky,
        }),
        replay_command:
            "opsworkscm-conformance replay scenarios/state/second-backup-while-backing-up.json"
                .into(),
        curl_command: None,
        saved_to: None,
    }
}

fn base(verdict: Verdict) -> RunReport {
    RunReport {
        version: REPORT_VERSION,
        tool: ToolInfo::default(),
        verdict,
        error: None,
        target: TargetInfo {
            endpoint: "http://127.0.0.1:4566".into(),
            dialect: "aws-json".into(),
            region: "us-east-1".into(),
            control_plane: true,
            signed: true,
            limit: 50,
            limit_source: "control plane capabilities".into(),
        },
        seed: 42,
        started_at: "2025-01-01T12:00:00Z".into(),
        duration_ms: 12_345,
        cases: 256,
        calls: 4821,
        calls_to_first_divergence: None,
        readings: vec!["ambiguity.limit-scope: per-server".into()],
        coverage: vec![
            coverage("create-backup.state.allowed", "rule", 120, 0, 0),
            coverage("create-backup.state.refused", "rule", 0, 30, 0),
            coverage("create-backup.limit", "rule", 80, 12, 0),
            coverage("ambiguity.created-status", "ambiguity", 64, 0, 0),
        ],
        trials: vec![
            trial(
                "scenario::limit::fifty-first-manual-backup-refused",
                "passed",
                40,
                None,
            ),
            trial("scenario::state::backup-from-healthy", "passed", 35, None),
            trial("property::generated-sequences", "passed", 11_000, None),
        ],
        divergences: vec![],
        faults: vec![],
        operations_not_served: vec![],
        not_exercised: vec![],
        input_coverage: None,
        transition_coverage: None,
    }
}

pub(crate) fn sample_pass() -> RunReport {
    base(Verdict::Pass)
}

pub(crate) fn sample_fail() -> RunReport {
    let mut r = base(Verdict::Fail);
    r.calls_to_first_divergence = Some(312);
    r.coverage[2].divergences = 1;
    r.coverage
        .push(coverage("create-backup.state.backing-up", "rule", 3, 4, 1));
    r.trials = vec![
        trial("scenario::limit::fifty-first-manual-backup-refused", "passed", 40, None),
        trial(
            "scenario::state::second-backup-while-backing-up",
            "failed",
            55,
            Some("create-backup.state.backing-up: a second CreateBackup while db was BACKING_UP answered ValidationException"),
        ),
        trial("property::generated-sequences", "failed", 11_000, None),
    ];
    r.divergences = vec![limit_divergence(), backing_up_divergence()];
    // Full-size matrices, nothing covered: every cell shows as uncovered.
    let scope = opsworkscm_conformance::coverage::Scope {
        operations: Operation::ALL.to_vec(),
        control_plane: true,
    };
    let tally = opsworkscm_conformance::coverage::Tally::default();
    r.input_coverage = Some(tally.feature_matrix(&scope));
    r.transition_coverage = Some(tally.transition_matrix(&scope));
    r.faults = vec![Fault {
        class: FaultClass::Throttled,
        message: "ThrottlingException on DescribeBackups (retried)".into(),
        count: 3,
    }];
    r
}

pub(crate) fn sample_error() -> RunReport {
    let mut r = base(Verdict::Error);
    r.error = Some("cannot connect to http://127.0.0.1:9: connection refused\n(hint: start `opsworkscm-conformance emulate`, or use `--endpoint embedded`)".into());
    r.cases = 0;
    r.calls = 1;
    r.trials = vec![];
    r.coverage = vec![];
    r.faults = vec![Fault {
        class: FaultClass::Unreachable,
        message: "connection refused".into(),
        count: 1,
    }];
    r
}

/// A big, hostile run: 50 divergences, 1000 trials, a 10 MiB body, 500-step timelines,
/// markup and control characters everywhere.
pub(crate) fn sample_huge() -> RunReport {
    let mut r = sample_fail();
    let mut d = limit_divergence();
    d.message = "<b>bold</b> \u{0}\u{1b}[31m \u{FFFD}\u{FFFD} ".repeat(2000);
    d.timeline = (0..500)
        .map(|i| TimelineEntry {
            index: i,
            step: format!("CreateBackup {{\"ServerName\":\"s{i}\"}}"),
            observed: "success".into(),
            model_change: "none".into(),
            worlds: 1,
            diverged: i == 250,
        })
        .collect();
    d.step_index = 250;
    r.divergences = (0..50).map(|_| d.clone()).collect();
    r.divergences[0].exchange.as_mut().unwrap().response_body =
        "<script>x</script>".repeat(600_000);
    r.trials = (0..1000)
        .map(|i| {
            trial(
                &format!("property::p{i}"),
                if i == 999 { "failed" } else { "passed" },
                1,
                None,
            )
        })
        .collect();
    r
}

fn schema() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/report-v1.schema.json"),
    )
    .expect("reports/report-v1.schema.json is readable");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The schema with `unevaluatedProperties: false` wherever it lists properties: a report that
/// validates against it has no member the schema does not document.
fn closed(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), closed(v))).collect();
            if map.contains_key("properties") {
                out.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(closed).collect()),
        other => other.clone(),
    }
}

/// A compiled JSON schema (draft 2020-12, with `unevaluatedProperties`).
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(schema: &Value) -> Validator {
        let url = "file:///report-v1.schema.json";
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource(url, schema.clone())
            .expect("the schema is a resource");
        let index = compiler
            .compile(url, &mut schemas)
            .unwrap_or_else(|e| panic!("the schema compiles against draft 2020-12: {e:#}"));
        Validator { schemas, index }
    }

    /// Every reason the value fails, one per line.
    fn validate(&self, value: &Value) -> Result<(), String> {
        self.schemas
            .validate(value, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

fn json_of(report: &RunReport) -> Value {
    serde_json::from_str(&to_json(report)).expect("report.json is JSON")
}

#[test]
fn report_json_validates_against_the_schema() {
    let schema = schema();
    // Compiling checks the schema against draft 2020-12's meta-schema.
    let open = Validator::new(&schema);
    let strict = Validator::new(&closed(&schema));
    for (name, report) in [
        ("pass", sample_pass()),
        ("fail", sample_fail()),
        ("error", sample_error()),
        ("huge", sample_huge()),
    ] {
        let value = json_of(&report);
        if let Err(errors) = open.validate(&value) {
            panic!("{name}: {errors}");
        }
        if let Err(undocumented) = strict.validate(&value) {
            panic!("{name}: members the schema does not document: {undocumented}");
        }
        assert_eq!(value["version"], 1);
        assert_eq!(value["verdict"], name.replace("huge", "fail"));
    }
    let fail = json_of(&sample_fail());
    assert_eq!(fail["divergences"].as_array().unwrap().len(), 2);
    assert_eq!(fail["calls_to_first_divergence"], 312);
    assert_eq!(
        json_of(&sample_pass())["calls_to_first_divergence"],
        Value::Null
    );

    // Wrong types and values are refused.
    type Change = Box<dyn Fn(&mut Value)>;
    let wrong: [(&str, Change); 5] = [
        ("seed as a string", Box::new(|v| v["seed"] = json!("42"))),
        (
            "unknown verdict",
            Box::new(|v| v["verdict"] = json!("maybe")),
        ),
        ("calls negative", Box::new(|v| v["calls"] = json!(-1))),
        (
            "missing target",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("target");
            }),
        ),
        (
            "step of an unknown kind",
            Box::new(|v| v["divergences"][0]["plan"]["steps"][0] = json!({"step": "dance"})),
        ),
    ];
    for (what, change) in wrong {
        let mut value = json_of(&sample_fail());
        change(&mut value);
        assert!(open.validate(&value).is_err(), "{what} was accepted");
    }
    // A member the schema does not document passes the open schema, not the closed one.
    let mut extra = json_of(&sample_fail());
    extra["divergences"][0]["undocumented"] = json!(1);
    assert!(open.validate(&extra).is_ok());
    assert!(
        strict.validate(&extra).is_err(),
        "an undocumented member was accepted"
    );
}

#[test]
fn report_json_is_the_serde_form_and_reads_back() {
    let report = sample_fail();
    let back: RunReport = serde_json::from_str(&to_json(&report)).expect("reads back");
    assert_eq!(back.divergences.len(), 2);
    assert_eq!(back.divergences[0].plan, report.divergences[0].plan);
    assert_eq!(back.seed, 42);
    let headers = &back.divergences[0]
        .exchange
        .as_ref()
        .unwrap()
        .request_headers;
    assert_eq!(
        headers[2],
        ("Authorization".to_string(), "[REDACTED]".to_string())
    );
}

#[test]
fn the_schema_documents_every_member_and_the_model_enums() {
    fn walk(v: &Value, path: &str) {
        if let Some(props) = v.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                assert!(
                    p.get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.is_empty()),
                    "{path}.{name} has no description"
                );
            }
        }
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| walk(c, &format!("{path}.{k}"))),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, c)| walk(c, &format!("{path}[{i}]"))),
            _ => {}
        }
    }
    let schema = schema();
    walk(&schema, "$");
    let text = schema.to_string();
    for s in ServerStatus::ALL {
        assert!(
            text.contains(&format!("\"{}\"", s.as_str())),
            "{s} missing from the schema"
        );
    }
    for op in Operation::ALL {
        assert!(
            text.contains(&format!("\"{op}\"")),
            "{op} missing from the schema"
        );
    }
}

#[test]
fn write_all_writes_three_files_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nested/reports");
    let mut report = sample_fail();
    report.faults.push(Fault {
        class: FaultClass::Unavailable,
        message: format!("503 while signing with secret {SECRET_KEY}"),
        count: 1,
    });
    let written = write_all(&report, &target, &secrets()).expect("reports written");
    assert_eq!(written.json, target.join("report.json"));
    for path in [&written.json, &written.html, &written.junit] {
        let text = std::fs::read_to_string(path).unwrap();
        for secret in [
            ACCESS_KEY,
            SECRET_KEY,
            SESSION_TOKEN,
            "Signature=5d67",
            "K7MDENG",
        ] {
            assert!(
                !text.contains(secret),
                "{} contains {secret}",
                path.display()
            );
        }
    }
    for path in [&written.json, &written.html] {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.contains("[REDACTED]"),
            "{} shows no redaction",
            path.display()
        );
    }
    // The curl command keeps its other headers.
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(
        html.contains("x-amz-target: OpsWorksCM_V2016_11_01.CreateBackup"),
        "curl lost its headers"
    );
    assert!(!std::fs::read_dir(&target).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn an_unwritable_directory_is_named_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("reports");
    let err = write_all(&sample_pass(), &target, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains(&target.display().to_string()), "{err}");
    assert!(err.contains("--report-dir"), "{err}");
}

#[test]
fn html_is_self_contained_and_escapes_hostile_content() {
    let tag = regex::Regex::new(r"<[a-zA-Z][^>]*>").unwrap();
    let handler = regex::Regex::new(r"(?i)\son[a-z]+\s*=").unwrap();
    for report in [sample_pass(), sample_fail(), sample_error()] {
        let html = to_html(&report);
        assert!(html.starts_with("<!doctype html>"), "{}", &html[..200]);
        // Hostile text shows escaped, so markup can only be the template's own tags.
        for t in tag.find_iter(&html).map(|m| m.as_str()) {
            let name = t[1..]
                .split([' ', '>'])
                .next()
                .unwrap()
                .to_ascii_lowercase();
            assert!(
                !["script", "link", "img", "iframe", "object", "embed", "base"]
                    .contains(&name.as_str()),
                "the page has a <{name}> tag: {t}"
            );
            assert!(
                !t.contains("src=") && !t.contains("href=\"http") && !t.contains("url("),
                "the page fetches something: {t}"
            );
            assert!(!handler.is_match(t), "an event handler attribute: {t}");
        }
        assert!(!html.contains("@import"));
    }
    let html = to_html(&sample_fail());
    assert!(
        html.contains("&lt;script&gt;alert("),
        "the hostile body is not shown escaped"
    );
    assert!(html.contains(r#"<span class="word" id="verdict">FAIL</span>"#));
    for id in ["create-backup.limit", "create-backup.state.backing-up"] {
        assert!(
            html.contains(&format!("<code class=\"rule\">{id}</code>")),
            "{id}"
        );
    }
    // The catalogue's text fills a divergence that has none; untested rules are marked.
    assert!(html.contains("While the server is in the BACKING_UP state"));
    assert!(html.contains("class=\"untested rule\""));
    assert!(html.contains("class=\"untested ambiguity\""));
    // The diff is highlighted, changed characters marked; the diverged step too.
    assert!(html.contains("class=\"l add\"") && html.contains("class=\"l del\""));
    assert!(html.contains("<mark>"));
    assert!(html.contains("<tr class=\"diverged\">"));
    assert!(html.contains("reproduced in 3 of 5 runs (flaky)"));
    assert!(html.contains("scenarios&#x2f;regressions&#x2f;create-backup.limit-3f2a.json"));
    let error = to_html(&sample_error());
    assert!(error.contains("ERROR") && error.contains("connection refused"));
}

#[test]
fn big_runs_stay_small_and_say_what_was_cut() {
    let report = sample_huge();
    let start = Instant::now();
    let html = to_html(&report);
    let took = start.elapsed();
    assert!(
        html.len() < 3_000_000,
        "report.html is {} bytes",
        html.len()
    );
    assert!(took < Duration::from_secs(10), "rendering took {took:?}");
    assert_eq!(html.matches("<section class=\"div\"").count(), 20);
    assert!(html.contains("the other 30 are listed"));
    assert!(html.contains("800 trials more not shown"));
    assert!(
        html.contains("cut: the first 4.0 KiB of 10.3 MiB shown"),
        "body cut note"
    );
    assert!(html.contains("steps not shown (report.json has the whole timeline)"));
    // The failed trial sorts first, so it is never the one cut.
    assert!(html.contains("property::p999"));
    assert!(!html.contains('\u{0}') && !html.contains('\u{1b}'));
    let xml = to_junit(&report);
    assert!(xml.len() < 40_000_000);
    let text = console_summary(&report, None);
    assert!(text.contains("... and 40 more divergences"), "{text}");
    assert!(
        text.lines().all(|l| l.len() < 2600),
        "a console line is too long"
    );
}

#[test]
fn redacted_reports_keep_their_shape() {
    let clean = sample_fail().redacted(&secrets());
    let x = clean.divergences[0].exchange.as_ref().unwrap();
    assert_eq!(x.request_headers[2].1, "[REDACTED]");
    assert_eq!(x.request_headers[3].1, "[REDACTED]");
    assert!(!clean.divergences[0]
        .curl_command
        .as_ref()
        .unwrap()
        .contains(SESSION_TOKEN));
    // A "secret" that is also a word of the format cannot break the report.
    let odd = sample_fail().redacted(&["HEALTHY".to_string()]);
    assert_eq!(odd.divergences.len(), 2);
}
