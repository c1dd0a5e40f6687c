//! Tests of endpoint resolution, credentials, signing and transport classification.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn endpoint_forms_resolve_as_documented() {
    assert_eq!(
        resolve_endpoint(None, "us-east-1", &no_env).unwrap(),
        EndpointSpec::Embedded
    );
    let documented = "http://opsworks-cm.{region}.amazonaws.com/#X-Amz-Target=OpsWorksCM_V2016_11_01.CreateBackup";
    match parse_endpoint(documented, "eu-west-1").unwrap() {
        EndpointSpec::Url(u) => {
            assert_eq!(u.as_str(), "https://opsworks-cm.eu-west-1.amazonaws.com/")
        }
        other => panic!("{other:?}"),
    }
    let env = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:4566".to_string());
    match resolve_endpoint(None, "us-east-1", &env).unwrap() {
        EndpointSpec::Url(u) => assert_eq!(u.as_str(), "http://127.0.0.1:4566/"),
        other => panic!("{other:?}"),
    }
    let both = |k: &str| match k {
        "AWS_ENDPOINT_URL_OPSWORKSCM" => Some("http://127.0.0.1:1".to_string()),
        "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:2".to_string()),
        _ => None,
    };
    assert_eq!(
        resolve_endpoint(None, "r", &both).unwrap(),
        EndpointSpec::Url(Url::parse("http://127.0.0.1:1").unwrap())
    );
    match parse_endpoint("http://user:secret@127.0.0.1:9/", "r").unwrap() {
        EndpointSpec::Url(u) => assert!(!u.as_str().contains("secret")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_urls_of_aws_hosts_are_upgraded_to_https_with_a_note() {
    let documented = "http://opsworks-cm.{region}.amazonaws.com/#X-Amz-Target=OpsWorksCM_V2016_11_01.CreateBackup";
    let (spec, note) = parse_endpoint_noting(documented, "us-east-1").unwrap();
    assert_eq!(
        spec,
        EndpointSpec::Url(Url::parse("https://opsworks-cm.us-east-1.amazonaws.com/").unwrap())
    );
    let note = note.expect("the upgrade is noted");
    assert!(
        note.contains("http://opsworks-cm.us-east-1.amazonaws.com/")
            && note.contains("https://opsworks-cm.us-east-1.amazonaws.com/"),
        "{note}"
    );
    for (given, expected) in [
        (
            "http://opsworks-cm.cn-north-1.amazonaws.com.cn",
            "https://opsworks-cm.cn-north-1.amazonaws.com.cn/",
        ),
        (
            "http://opsworks-cm.us-east-1.api.aws:80/",
            "https://opsworks-cm.us-east-1.api.aws/",
        ),
        (
            "HTTP://OpsWorks-CM.us-east-1.AmazonAWS.com:8443/x",
            "https://opsworks-cm.us-east-1.amazonaws.com:8443/x",
        ),
        // Already https, or not an AWS host: left as given, with no note.
        (
            "https://opsworks-cm.us-east-1.amazonaws.com/",
            "https://opsworks-cm.us-east-1.amazonaws.com/",
        ),
        ("http://127.0.0.1:4566", "http://127.0.0.1:4566/"),
        (
            "http://amazonaws.com.example.org/",
            "http://amazonaws.com.example.org/",
        ),
    ] {
        let env = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| given.to_string());
        let (spec, note) = resolve_endpoint_noting(None, "r", &env).unwrap();
        assert_eq!(
            spec,
            EndpointSpec::Url(Url::parse(expected).unwrap()),
            "{given}"
        );
        assert_eq!(
            note.is_some(),
            given.to_ascii_lowercase().starts_with("http://") && expected.starts_with("https"),
            "{given}"
        );
    }
}

#[test]
fn loopback_hosts_are_recognised() {
    for u in [
        "http://127.0.0.1:1/",
        "http://127.8.9.10/",
        "http://localhost:4566/",
        "http://LOCALHOST./",
        "http://[::1]:4566/",
        "http://[::ffff:127.0.0.1]/",
    ] {
        assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
    }
    for u in [
        "http://192.0.2.1:1/",
        "http://10.0.0.1/",
        "http://0.0.0.0/",
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io/",
        "http://[2001:db8::1]/",
    ] {
        assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
    }
}

#[test]
fn signing_over_plain_http_is_refused_off_loopback_unless_allowed() {
    let remote = Url::parse("http://192.0.2.1:1/").unwrap();
    let e = check_plain_http_signing(&remote, true, false).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("plain HTTP"), "{text}");
    assert!(
        text.contains("(hint: ")
            && text.contains("https://192.0.2.1:1/")
            && text.contains("--allow-insecure-http"),
        "{text}"
    );
    // Allowed by the flag, unsigned, over https, or on loopback: no refusal.
    assert!(check_plain_http_signing(&remote, true, true).is_ok());
    assert!(check_plain_http_signing(&remote, false, false).is_ok());
    let tls = Url::parse("https://192.0.2.1:1/").unwrap();
    assert!(check_plain_http_signing(&tls, true, false).is_ok());
    let local = Url::parse("http://127.0.0.1:4566/").unwrap();
    assert!(check_plain_http_signing(&local, true, false).is_ok());
    // The target refuses to be built, so nothing is ever sent.
    let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let built = Target::new(
        remote,
        Dialect::AwsJson,
        "us-east-1".into(),
        Some(creds),
        ClientSettings::default(),
    );
    assert!(built.is_err());
}

#[test]
fn bad_endpoints_are_config_errors_with_a_hint() {
    for bad in [
        "ftp://x",
        "not a url",
        "http://h/#X-Amz-Target=Other.Op",
        "http://",
    ] {
        let e = parse_endpoint(bad, "r").unwrap_err();
        assert!(e.to_string().contains("hint:"), "{e}");
    }
}

#[test]
fn region_resolution_order() {
    assert_eq!(resolve_region(None, &no_env), "us-east-1");
    let env = |k: &str| (k == "AWS_DEFAULT_REGION").then(|| "ap-south-1".to_string());
    assert_eq!(resolve_region(None, &env), "ap-south-1");
    assert_eq!(resolve_region(Some("eu-west-3"), &env), "eu-west-3");
}

/// An unsigned AWS JSON target at `url`, with the default settings.
fn unsigned(url: Url) -> Target {
    Target::new(
        url,
        Dialect::AwsJson,
        "us-east-1".into(),
        None,
        ClientSettings::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn https_targets_build_and_classify_a_closed_port_as_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
    let t = unsigned(url);
    let (transport, _) = t
        .call(Operation::DescribeServers, &serde_json::json!({}))
        .await;
    assert!(
        matches!(transport, Transport::Unreachable(_)),
        "{transport:?}"
    );
}

#[test]
fn aws_hosts_are_recognised() {
    assert!(is_aws_host(
        &Url::parse("https://opsworks-cm.us-east-1.amazonaws.com/").unwrap()
    ));
    assert!(!is_aws_host(&Url::parse("http://127.0.0.1:4566/").unwrap()));
}

/// A home directory with these shared files, and an environment lookup over it.
fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    for (name, text) in files {
        std::fs::write(home.path().join(name), text).unwrap();
    }
    home
}

fn lookup<'a>(
    home: &'a tempfile::TempDir,
    vars: &'a [(&'a str, &'a str)],
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        if name == "HOME" {
            return Some(home.path().display().to_string());
        }
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn key_of(c: Option<Credentials>) -> Option<(String, Option<String>)> {
    c.map(|c| {
        (
            c.access_key_id().to_string(),
            c.session_token().map(str::to_string),
        )
    })
}

const CREDENTIALS: &str = "# shared credentials\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n[ci]\nAWS_ACCESS_KEY_ID=AKIACI\naws_secret_access_key = s2/with+slash=\naws_session_token = t2\n";
const CONFIG: &str = "[default]\nregion = us-east-1\n[profile dev]\n; a comment\ns3 =\n  aws_access_key_id = AKIANESTED\nregion = eu-west-1\naws_access_key_id = AKIADEV\naws_secret_access_key = s3\n[dev]\naws_access_key_id = AKIANOTAPROFILE\n[profile ci]\naws_access_key_id = AKIACONFIGCI\n";

#[test]
fn credentials_come_from_the_environment_first() {
    let home = home_with(&[(".aws/credentials", CREDENTIALS)]);
    let vars = [
        ("AWS_ACCESS_KEY_ID", "AKIAENV"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "tok"),
    ];
    assert_eq!(
        key_of(credentials_from(Some("ci"), &lookup(&home, &vars))),
        Some(("AKIAENV".into(), Some("tok".into())))
    );
    // A key without its secret is no credential: the files are read instead.
    let half = [("AWS_ACCESS_KEY_ID", "AKIAENV")];
    assert_eq!(
        key_of(credentials_from(None, &lookup(&home, &half))),
        Some(("AKIADEFAULT".into(), None))
    );
}

#[test]
fn profiles_come_from_the_shared_files() {
    let home = home_with(&[(".aws/credentials", CREDENTIALS), (".aws/config", CONFIG)]);
    let none = lookup(&home, &[]);
    assert_eq!(
        key_of(credentials_from(None, &none)),
        Some(("AKIADEFAULT".into(), None))
    );
    // The credentials file wins over the config file, key by key.
    let ci = credentials_from(Some("ci"), &none).unwrap();
    assert_eq!(
        (
            ci.access_key_id(),
            ci.secret_access_key(),
            ci.session_token()
        ),
        ("AKIACI", "s2/with+slash=", Some("t2"))
    );
    // `[profile dev]` in the config file; `[dev]` there is not that profile.
    assert_eq!(
        key_of(credentials_from(Some("dev"), &none)),
        Some(("AKIADEV".into(), None))
    );
    // AWS_PROFILE picks the profile when the flag does not.
    let by_env = [("AWS_PROFILE", "dev")];
    assert_eq!(
        key_of(credentials_from(None, &lookup(&home, &by_env))),
        Some(("AKIADEV".into(), None))
    );
    assert!(credentials_from(Some("missing"), &none).is_none());
}

#[test]
fn the_shared_file_locations_follow_the_environment() {
    let home = home_with(&[
        (
            "elsewhere-credentials",
            "[default]\naws_access_key_id = AKIAMOVED\naws_secret_access_key = s\n",
        ),
        (
            "elsewhere-config",
            "[profile only-config]\naws_access_key_id = AKIACONF\naws_secret_access_key = s\n",
        ),
    ]);
    let vars = [
        ("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere-credentials"),
        ("AWS_CONFIG_FILE", "~/elsewhere-config"),
    ];
    let env = lookup(&home, &vars);
    assert_eq!(
        key_of(credentials_from(None, &env)),
        Some(("AKIAMOVED".into(), None))
    );
    assert_eq!(
        key_of(credentials_from(Some("only-config"), &env)),
        Some(("AKIACONF".into(), None))
    );
    // Nothing anywhere: no credentials, and no error.
    let empty = tempfile::tempdir().unwrap();
    assert!(credentials_from(None, &lookup(&empty, &[])).is_none());
}

#[test]
fn signing_adds_an_authorization_header() {
    let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let url = Url::parse("http://127.0.0.1:4566/").unwrap();
    let headers = vec![(
        "x-amz-target".to_string(),
        "OpsWorksCM_V2016_11_01.CreateBackup".to_string(),
    )];
    let extra = sign(&url, "us-east-1", &creds, &headers, b"{}").unwrap();
    let auth = extra.iter().find(|(k, _)| k == "authorization").unwrap();
    assert!(
        auth.1
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{}",
        auth.1
    );
    assert!(auth.1.contains("/us-east-1/opsworks-cm/aws4_request"));
}

/// A loopback HTTP/1.1 server answering each request with `{"n":<request number>}`. Given a
/// pair of channels, after each answer it waits for a word on the first, then closes that
/// connection and says so on the second: the client's idle connection is then closed by the
/// peer. Counts the connections it took.
async fn counting_server(
    closing: Option<(
        tokio::sync::mpsc::UnboundedReceiver<()>,
        tokio::sync::mpsc::UnboundedSender<()>,
    )>,
) -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let mut closing = closing;
    tokio::spawn(async move {
        let mut served = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 64 * 1024];
            // Requests here are small: one read holds a whole request.
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                served += 1;
                let body = format!("{{\"n\":{served}}}");
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(format!("{head}{body}").as_bytes()).await;
                if let Some((close_now, closed)) = closing.as_mut() {
                    if close_now.recv().await.is_some() {
                        drop(stream);
                        let _ = closed.send(());
                        break;
                    }
                }
            }
        }
    });
    (url, accepted)
}

/// Three calls in a row; after each call but the last, when `closing` is given, has the server
/// close the connection and waits until it has.
async fn three_calls(
    url: Url,
    mut closing: Option<(
        tokio::sync::mpsc::UnboundedSender<()>,
        tokio::sync::mpsc::UnboundedReceiver<()>,
    )>,
) -> Vec<String> {
    let t = unsigned(url);
    let mut bodies = Vec::new();
    for i in 0..3 {
        let (transport, ex) = t
            .call(Operation::DescribeServers, &serde_json::json!({}))
            .await;
        assert!(
            matches!(transport, Transport::Answered { status: 200, .. }),
            "call {i}: {transport:?}"
        );
        bodies.push(ex.response_body);
        if let (true, Some((close_now, closed))) = (i < 2, closing.as_mut()) {
            close_now.send(()).unwrap();
            closed
                .recv()
                .await
                .expect("the server closed the connection");
        }
    }
    bodies
}

#[tokio::test]
async fn plain_http_calls_reuse_one_keep_alive_connection() {
    let (url, accepted) = counting_server(None).await;
    assert_eq!(
        three_calls(url, None).await,
        [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_keep_alive_connection_the_endpoint_closed_while_idle_is_not_a_lost_call() {
    // Each call after the first finds its idle connection closed by the peer: it must go on a
    // new connection, sent once, never reported as "no answer".
    let (close_now, close_rx) = tokio::sync::mpsc::unbounded_channel();
    let (closed_tx, closed) = tokio::sync::mpsc::unbounded_channel();
    let (url, accepted) = counting_server(Some((close_rx, closed_tx))).await;
    assert_eq!(
        three_calls(url, Some((close_now, closed))).await,
        [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}
