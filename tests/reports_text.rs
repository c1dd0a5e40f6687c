//! The JUnit file and the console summary of the sample reports, and redaction of every kind
//! of secret.

use opsworkscm_conformance::report::{console_summary, redact, to_junit, write_all};

use super::reports::*;

struct Junit {
    tests: usize,
    failures: usize,
    errors: usize,
    cases: Vec<(String, String, Option<String>)>,
}

fn parse_junit(xml: &str) -> Junit {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Junit {
        tests: 0,
        failures: 0,
        errors: 0,
        cases: Vec::new(),
    };
    let attr = |e: &quick_xml::events::BytesStart, name: &str| {
        e.try_get_attribute(name)
            .expect("attributes parse")
            .map(|a| {
                a.unescape_value()
                    .expect("attribute unescapes")
                    .into_owned()
            })
    };
    let mut suites = 0;
    loop {
        match reader.read_event().expect("junit.xml is well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => {
                    suites += 1;
                    assert_eq!(attr(&e, "name").as_deref(), Some("opsworkscm-conformance"));
                    out.tests = attr(&e, "tests").unwrap().parse().unwrap();
                    out.failures = attr(&e, "failures").unwrap().parse().unwrap();
                    out.errors = attr(&e, "errors").unwrap().parse().unwrap();
                }
                b"testcase" => out.cases.push((
                    attr(&e, "classname").unwrap(),
                    attr(&e, "name").unwrap(),
                    attr(&e, "time"),
                )),
                _ => {}
            },
            _ => {}
        }
    }
    assert_eq!(suites, 1);
    out
}

#[test]
fn junit_has_one_case_per_trial() {
    let xml = to_junit(&sample_fail());
    let j = parse_junit(&xml);
    assert_eq!((j.tests, j.failures, j.errors), (3, 2, 0));
    assert_eq!(j.cases.len(), 3);
    assert_eq!(j.cases[0].0, "scenario");
    assert_eq!(j.cases[0].1, "limit::fifty-first-manual-backup-refused");
    assert_eq!(j.cases[2].0, "property");
    assert_eq!(j.cases[2].2.as_deref(), Some("11.000"));
    // A failure names the rule, the minimal plan's steps and the replay command.
    assert!(xml.contains("type=\"create-backup.limit\""), "{xml}");
    assert!(xml.contains("put-server web HEALTHY (50 manual, 0 automated)"));
    assert!(xml.contains(
        "opsworkscm-conformance replay scenarios/regressions/create-backup.limit-3f2a.json"
    ));
    assert!(!xml.contains(ACCESS_KEY));

    let pass = parse_junit(&to_junit(&sample_pass()));
    assert_eq!((pass.tests, pass.failures, pass.errors), (3, 0, 0));
    // A run that could not judge the endpoint is never green on a dashboard.
    let error = parse_junit(&to_junit(&sample_error()));
    assert_eq!((error.tests, error.failures, error.errors), (1, 0, 1));
    assert_eq!(error.cases[0].0, "run");
    let mut with_error_trial = sample_error();
    with_error_trial.trials = vec![
        trial("scenario::a", "error", 3, Some("timeout")),
        trial("scenario::b", "passed", 3, None),
    ];
    let j = parse_junit(&to_junit(&with_error_trial));
    assert_eq!((j.tests, j.failures, j.errors), (2, 0, 1));
    // Hostile content still makes well-formed XML.
    parse_junit(&to_junit(&sample_huge()));
}

#[test]
fn console_summary_fits_one_screen_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(&sample_fail(), dir.path(), &secrets()).unwrap();
    let text = console_summary(&sample_fail(), Some(&written));
    println!("{text}");
    let first = text.lines().next().unwrap();
    assert_eq!(first, "FAIL: 2 divergences from the reference model");
    for expected in [
        "endpoint  http://127.0.0.1:4566 (aws-json, us-east-1, SigV4, control plane)",
        "seed      42 (run again with --seed 42)",
        "ran       256 cases, 4821 calls, first divergence after 312 calls in 12.3 s",
        "coverage  5 of ",
        "; untested: create-backup.not-found,",
        "divergence 1 of 2",
        "  rule      create-backup.limit",
        "  plan      3 steps (shrunk from 23), diverged at step 3:",
        "             1. reset",
        "          >  3. CreateBackup {\"ServerName\":\"web\",\"Description\":\"nightly\"}",
        "  repro     5 of 5 runs (deterministic)",
        "  replay    opsworkscm-conformance replay scenarios/regressions/create-backup.limit-3f2a.json",
        "  rule      create-backup.state.backing-up",
        "  repro     3 of 5 runs (flaky)",
        "  throttled x3: ThrottlingException on DescribeBackups (retried)",
        "(read this first)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.contains(&written.html.display().to_string()));
    assert!(text.lines().count() < 60, "{} lines", text.lines().count());

    let pass = console_summary(&sample_pass(), None);
    assert!(pass.starts_with("PASS: every case conformed"), "{pass}");
    assert!(!pass.contains("divergence 1"));
    let error = console_summary(&sample_error(), None);
    assert!(
        error.starts_with(
            "ERROR: the endpoint could not be judged: cannot connect to http://127.0.0.1:9"
        ),
        "{error}"
    );
    assert!(error.contains("unreachable x1"));
}

#[test]
fn redact_removes_every_kind_of_secret() {
    let text = format!(
        "-H 'Authorization: {}' X-Amz-Security-Token: {SESSION_TOKEN} key {ACCESS_KEY} secret {SECRET_KEY}",
        authorization()
    );
    let out = redact(&text, &secrets());
    for s in [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, "Signature="] {
        assert!(!out.contains(s), "{s} in {out}");
    }
}
