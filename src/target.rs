//! An endpoint as the runner sees it: where it is (URL resolution per interfaces.md section 1),
//! how to talk to it (a keep-alive reqwest client with timeouts and a body-size cap, SigV4 with
//! aws-sigv4 when credentials are present), and what it can do (the fixture control plane).
//!
//! The target only moves bytes and classifies transport failures; it never judges an answer.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use serde_json::Value;
use url::Url;

pub use crate::exit::ConfigError;
use crate::model::Operation;
use crate::wire::{self, Dialect, Exchange};

/// The documented endpoint form's placeholder.
const REGION_PLACEHOLDER: &str = "{region}";

/// Where the endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSpec {
    /// Start the bundled emulator in-process on a free loopback port.
    Embedded,
    /// A base URL (the `{region}` placeholder already filled, any `#X-Amz-Target=` fragment and
    /// user:password removed).
    Url(Url),
}

/// Resolves the endpoint: the flag, then `AWS_ENDPOINT_URL_OPSWORKSCM`, then `AWS_ENDPOINT_URL`,
/// then `embedded`. `env` looks a variable up (tests pass their own).
pub fn resolve_endpoint(
    flag: Option<&str>,
    region: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EndpointSpec, ConfigError> {
    resolve_endpoint_noting(flag, region, env).map(|(spec, _)| spec)
}

/// [`resolve_endpoint`], with a note for the user when the URL was changed on the way (an
/// `http://` AWS host upgraded to `https://`, see [`upgrade_aws_http`]).
pub fn resolve_endpoint_noting(
    flag: Option<&str>,
    region: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(EndpointSpec, Option<String>), ConfigError> {
    let raw = flag
        .map(str::to_string)
        .or_else(|| env("AWS_ENDPOINT_URL_OPSWORKSCM"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "embedded".to_string());
    parse_endpoint_noting(raw.trim(), region)
}

/// Parses one endpoint string (see [`resolve_endpoint`]).
pub fn parse_endpoint(raw: &str, region: &str) -> Result<EndpointSpec, ConfigError> {
    parse_endpoint_noting(raw, region).map(|(spec, _)| spec)
}

/// [`parse_endpoint`], with the note of [`resolve_endpoint_noting`].
pub fn parse_endpoint_noting(
    raw: &str,
    region: &str,
) -> Result<(EndpointSpec, Option<String>), ConfigError> {
    if raw.eq_ignore_ascii_case("embedded") {
        return Ok((EndpointSpec::Embedded, None));
    }
    let bad = |why: String| {
        ConfigError {
        message: format!("bad endpoint {raw:?}: {why}"),
        hint: "pass a base URL such as http://127.0.0.1:4566, the documented form http://opsworks-cm.{region}.amazonaws.com/#X-Amz-Target=OpsWorksCM_V2016_11_01.CreateBackup, or `embedded`".into(),
    }
    };
    let filled = raw.replace(REGION_PLACEHOLDER, region);
    let mut url = Url::parse(&filled).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("there is no host".into()));
    }
    if let Some(fragment) = url.fragment() {
        // The documented form names the operation in the fragment; every operation goes to the
        // same origin, so the fragment only has to name one of this service's targets.
        let target = fragment.strip_prefix("X-Amz-Target=").unwrap_or(fragment);
        if wire::parse_target(target).is_none() {
            return Err(bad(format!(
                "the fragment #{fragment} is not #X-Amz-Target=OpsWorksCM_V2016_11_01.<Operation>"
            )));
        }
    }
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let given = url.clone();
    let note = upgrade_aws_http(&mut url).then(|| {
        format!("{given} is an AWS host: using {url} instead (the AWS SDKs always use https there, and signed requests never travel in plain text)")
    });
    Ok((EndpointSpec::Url(url), note))
}

/// Upgrades an `http://` URL of an AWS host to `https://` (the AWS SDKs never use plain HTTP
/// there, and a signed request must not travel in the clear); returns whether it did. An
/// explicit port is kept unless it is 80, which becomes https's default.
pub fn upgrade_aws_http(url: &mut Url) -> bool {
    if url.scheme() != "http" || !is_aws_host(url) {
        return false;
    }
    if url.port() == Some(80) {
        let _ = url.set_port(None);
    }
    url.set_scheme("https").is_ok()
}

/// Whether a URL's host is this machine's loopback interface (`localhost`, 127.0.0.0/8, `::1`):
/// the only hosts a signed request may reach over plain HTTP without `--allow-insecure-http`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

/// Refuses to sign requests that would cross a network in plain text: credentials present, an
/// `http://` URL and a host that is not loopback, unless the user allowed it.
pub fn check_plain_http_signing(
    base: &Url,
    signed: bool,
    allow_insecure_http: bool,
) -> Result<(), ConfigError> {
    if !signed || allow_insecure_http || base.scheme() != "http" || is_loopback(base) {
        return Ok(());
    }
    Err(ConfigError {
        message: format!(
            "refusing to send SigV4-signed requests to {base} over plain HTTP: the signed headers (and any session token) would cross the network unencrypted"
        ),
        hint: format!(
            "use https://{}, or pass --allow-insecure-http if the network to this host is trusted (or unset the credentials to send unsigned requests)",
            base.as_str().trim_start_matches("http://")
        ),
    })
}

/// Resolves the region: the flag, then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then us-east-1.
pub fn resolve_region(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> String {
    flag.map(str::to_string)
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// Whether a host is AWS's own: control-plane calls are never sent there.
pub fn is_aws_host(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn") || h.ends_with(".api.aws")
    })
}

/// Loads credentials from the standard sources a user expects: the environment, then the
/// shared config and credentials files (see [`credentials_from`]). Static keys only: the
/// harness never reaches for the instance metadata service, SSO or STS, so it talks to no
/// address the user did not name.
pub async fn load_credentials(profile: Option<&str>) -> Option<Credentials> {
    credentials_from(profile, &|name| std::env::var(name).ok())
}

/// Static credentials as the AWS SDKs find them, with `env` looking variables up:
/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`); else the profile
/// `profile`, else `AWS_PROFILE`, else `default`, from the credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`, sections `[name]`) over the
/// config file (`AWS_CONFIG_FILE`, default `~/.aws/config`, sections `[profile name]` and
/// `[default]`), key by key.
pub fn credentials_from(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Credentials> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let (Some(key), Some(secret)) = (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        let token = set("AWS_SESSION_TOKEN");
        return Some(Credentials::new(key, secret, token, None, "environment"));
    }
    let profile = profile
        .map(str::to_string)
        .or_else(|| set("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let path = |var: &str, default: &str| {
        let raw = set(var).unwrap_or_else(|| format!("~/.aws/{default}"));
        match (raw.strip_prefix("~/"), set("HOME")) {
            (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
            _ => std::path::PathBuf::from(raw),
        }
    };
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let from_credentials = profile_section(
        &read(path("AWS_SHARED_CREDENTIALS_FILE", "credentials")),
        &profile,
        false,
    );
    let from_config = profile_section(&read(path("AWS_CONFIG_FILE", "config")), &profile, true);
    let get = |key: &str| {
        from_credentials
            .iter()
            .chain(&from_config)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    Some(Credentials::new(
        get("aws_access_key_id")?,
        get("aws_secret_access_key")?,
        get("aws_session_token"),
        None,
        "shared-config-files",
    ))
}

/// The `key = value` pairs of one profile's section in a shared config or credentials file
/// (INI: `#` and `;` start comment lines, keys are case-insensitive, indented lines belong to
/// a nested property and are skipped). In the config file a profile is `[profile name]`, and
/// `default` may also be `[default]`; in the credentials file it is `[name]`.
fn profile_section(text: &str, profile: &str, config_file: bool) -> Vec<(String, String)> {
    let wanted = |header: &str| {
        let header = header.split_whitespace().collect::<Vec<_>>();
        match header.as_slice() {
            ["profile", name] if config_file => *name == profile,
            [name] => *name == profile && (!config_file || profile == "default"),
            _ => false,
        }
    };
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            inside = wanted(header);
            continue;
        }
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            pairs.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    pairs
}

/// Installs the process's TLS provider (rustls with ring: no C toolchain or cmake needed). Every
/// reqwest client in this process needs it first; calling it again is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain reqwest client (for tests, benchmarks and tools around the harness).
pub fn http_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::new()
}

/// How a call ended at the transport level.
#[derive(Debug, Clone)]
pub enum Transport {
    /// An HTTP answer.
    Answered {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// No connection could be made: the endpoint cannot be judged.
    Unreachable(String),
    /// The request was sent (or may have been) and no full answer came: indeterminate.
    NoAnswer(String),
    /// The answer was larger than the cap.
    TooLarge(usize),
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The largest answer body read (a hostile endpoint cannot exhaust memory).
    pub max_body: usize,
    /// Sign requests to a non-loopback host over plain HTTP (`--allow-insecure-http`).
    pub allow_insecure_http: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_body: 4 * 1024 * 1024,
            allow_insecure_http: false,
        }
    }
}

/// A connected endpoint.
pub struct Target {
    pub base: Url,
    pub dialect: Dialect,
    pub region: String,
    client: reqwest::Client,
    credentials: Option<Credentials>,
    settings: ClientSettings,
}

impl Target {
    pub fn new(
        base: Url,
        dialect: Dialect,
        region: String,
        credentials: Option<Credentials>,
        settings: ClientSettings,
    ) -> Result<Target, ConfigError> {
        check_plain_http_signing(&base, credentials.is_some(), settings.allow_insecure_http)?;
        install_tls_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ConfigError {
                message: format!("cannot build the HTTP client: {e}"),
                hint: "this is a bug; please report it".into(),
            })?;
        Ok(Target {
            base,
            dialect,
            region,
            client,
            credentials,
            settings,
        })
    }

    pub fn signed(&self) -> bool {
        self.credentials.is_some()
    }

    /// The secrets this target uses, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        self.credentials
            .iter()
            .flat_map(|c| {
                [
                    Some(c.access_key_id().to_string()),
                    Some(c.secret_access_key().to_string()),
                    c.session_token().map(str::to_string),
                ]
            })
            .flatten()
            .collect()
    }

    /// Sends an API call; returns the transport result and the exchange as recorded.
    pub async fn call(&self, op: Operation, input: &Value) -> (Transport, Exchange) {
        let encoded = wire::encode_request(self.dialect, op, input);
        let mut headers: Vec<(String, String)> = encoded
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if let Some(creds) = &self.credentials {
            match sign(&self.base, &self.region, creds, &headers, &encoded.body) {
                Ok(extra) => headers.extend(extra),
                Err(e) => {
                    let ex = exchange("POST", &self.base, &headers, &encoded.body);
                    return (
                        Transport::NoAnswer(format!("cannot sign the request: {e}")),
                        ex,
                    );
                }
            }
        }
        self.send(
            reqwest::Method::POST,
            self.base.clone(),
            headers,
            encoded.body,
        )
        .await
    }

    /// Sends a control-plane request (`/_conformance/v1/...`).
    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (Transport, Exchange) {
        let url = match self.base.join(path) {
            Ok(u) => u,
            Err(e) => {
                return (
                    Transport::Unreachable(format!("bad control-plane path {path}: {e}")),
                    Exchange::default(),
                )
            }
        };
        if is_aws_host(&url) {
            return (
                Transport::Unreachable("control-plane calls are never sent to an AWS host".into()),
                Exchange::default(),
            );
        }
        let mut headers = vec![("accept".to_string(), "application/json".to_string())];
        let bytes = match body {
            Some(b) => {
                headers.push(("content-type".into(), "application/json".into()));
                serde_json::to_vec(b).expect("serializes")
            }
            None => Vec::new(),
        };
        self.send(method, url, headers, bytes).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> (Transport, Exchange) {
        let mut ex = exchange(method.as_str(), &url, &headers, &body);
        let mut req = self.client.request(method, url);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if !body.is_empty() {
            req = req.body(body);
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (classify(&e), ex),
        };
        let status = resp.status().as_u16();
        let resp_headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut bytes = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > self.settings.max_body {
                        ex.status = Some(status);
                        ex.response_headers = resp_headers;
                        return (Transport::TooLarge(self.settings.max_body), ex);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    ex.status = Some(status);
                    ex.response_headers = resp_headers;
                    return (
                        Transport::NoAnswer(format!(
                            "the answer broke off after {} bytes: {}",
                            bytes.len(),
                            error_chain(&e)
                        )),
                        ex,
                    );
                }
            }
        }
        ex.status = Some(status);
        ex.response_headers = resp_headers.clone();
        ex.response_body = String::from_utf8_lossy(&bytes).into_owned();
        (
            Transport::Answered {
                status,
                headers: resp_headers,
                body: bytes,
            },
            ex,
        )
    }
}

fn exchange(method: &str, url: &Url, headers: &[(String, String)], body: &[u8]) -> Exchange {
    Exchange {
        method: method.to_string(),
        url: url.to_string(),
        request_headers: headers.to_vec(),
        request_body: String::from_utf8_lossy(body).into_owned(),
        ..Exchange::default()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = inner.source();
    }
    s
}

fn classify(e: &reqwest::Error) -> Transport {
    let chain = error_chain(e);
    if e.is_connect() {
        Transport::Unreachable(chain)
    } else if e.is_timeout() {
        Transport::NoAnswer(format!("no answer in time: {chain}"))
    } else {
        Transport::NoAnswer(chain)
    }
}

/// Signs a request with SigV4 (signing name `opsworks-cm`); returns the headers to add.
fn sign(
    url: &Url,
    region: &str,
    creds: &Credentials,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(crate::model::service::SIGNING_NAME)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut all: Vec<(String, String)> = headers.to_vec();
    all.push(("host".into(), host));
    let signable = SignableRequest::new(
        "POST",
        url.as_str(),
        all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
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

    #[tokio::test]
    async fn https_targets_build_and_classify_a_closed_port_as_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
        let t = Target::new(
            url,
            Dialect::AwsJson,
            "us-east-1".into(),
            None,
            ClientSettings::default(),
        )
        .unwrap();
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
}
