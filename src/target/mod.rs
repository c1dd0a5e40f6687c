//! An endpoint as the runner sees it: where it is (URL resolution per interfaces.md section 1),
//! how to talk to it (keep-alive connections with timeouts and a body-size cap: hyper's HTTP/1
//! connections driven on the caller's task for plain HTTP, a reqwest client for HTTPS; SigV4
//! with aws-sigv4 when credentials are present), and what it can do (the fixture control plane).
//!
//! The target only moves bytes and classifies transport failures; it never judges an answer.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use serde_json::Value;
use url::Url;

pub use crate::exit::ConfigError;
use crate::model::Operation;
use crate::wire::{self, Dialect, Exchange};

mod credentials;
mod endpoint;
mod http1;
#[cfg(test)]
mod tests;

pub use credentials::*;
pub use endpoint::*;

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

/// How a target's requests travel.
enum Http {
    /// Plain HTTP: connections of our own, driven on the calling task.
    Plain(http1::Pool),
    /// HTTPS (and plain HTTP through a proxy set in the environment): reqwest.
    Reqwest(reqwest::Client),
}

/// What came back from one request: the head (status and headers) when one came, and how the
/// call ended.
struct Reply {
    head: Option<(u16, Vec<(String, String)>)>,
    end: Transport,
}

impl Reply {
    fn ended(end: Transport) -> Reply {
        Reply { head: None, end }
    }
}

/// An API call's headers and body, ready to send.
type Encoded = (Vec<(String, String)>, Vec<u8>);

/// A call that could not be sent (it could not be signed), with its exchange as far as it got.
type Unsent = Box<(Transport, Exchange)>;

/// A connected endpoint.
pub struct Target {
    pub base: Url,
    pub dialect: Dialect,
    pub region: String,
    http: Http,
    credentials: Option<Credentials>,
    settings: ClientSettings,
}

/// Whether plain-HTTP requests to `base` go on connections of our own: always to loopback,
/// elsewhere unless an HTTP proxy is set in the environment (reqwest honours it).
fn plain_connections(base: &Url) -> bool {
    const PROXY_VARS: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];
    base.scheme() == "http"
        && (is_loopback(base) || PROXY_VARS.iter().all(|v| std::env::var_os(v).is_none()))
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
        let http = if plain_connections(&base) {
            Http::Plain(http1::Pool::new(&base))
        } else {
            Http::Reqwest(reqwest_client(&settings)?)
        };
        Ok(Target {
            base,
            dialect,
            region,
            http,
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
        self.send_encoded(self.encode(op, input)).await
    }

    /// Sends an encoded API call (or gives back the failure to encode it).
    async fn send_encoded(&self, encoded: Result<Encoded, Unsent>) -> (Transport, Exchange) {
        match encoded {
            Ok((headers, body)) => {
                self.send(reqwest::Method::POST, self.base.clone(), headers, body)
                    .await
            }
            Err(failed) => *failed,
        }
    }

    /// Sends API calls at once (a parallel block): every request is encoded (and signed) and,
    /// for plain HTTP, has its connection before the first goes out, so that the endpoint
    /// receives them as close together as the transport allows. Each result comes with the
    /// instant it ended.
    pub async fn call_at_once(
        &self,
        calls: &[(Operation, Value)],
    ) -> Vec<(Transport, Exchange, std::time::Instant)> {
        let encoded: Vec<_> = calls
            .iter()
            .map(|(op, input)| self.encode(*op, input))
            .collect();
        let Http::Plain(pool) = &self.http else {
            let sends = encoded.into_iter().map(|e| async move {
                let (t, ex) = self.send_encoded(e).await;
                (t, ex, std::time::Instant::now())
            });
            return futures::future::join_all(sends).await;
        };
        let mut exchanges = Vec::with_capacity(calls.len());
        let mut requests = Vec::new();
        let mut failed = Vec::new();
        for e in encoded {
            match e {
                Ok((headers, body)) => {
                    exchanges.push(exchange("POST", &self.base, &headers, &body));
                    requests.push((reqwest::Method::POST, &self.base, headers, body));
                    failed.push(None);
                }
                Err(f) => failed.push(Some(f)),
            }
        }
        let mut replies = pool
            .send_at_once(&self.settings, requests)
            .await
            .into_iter();
        let mut exchanges = exchanges.into_iter();
        failed
            .into_iter()
            .map(|f| match f {
                Some(failed) => {
                    let (t, ex) = *failed;
                    (t, ex, std::time::Instant::now())
                }
                None => {
                    let (reply, ended) = replies.next().expect("one reply per request");
                    let ex = exchanges.next().expect("one exchange per request");
                    let (t, ex) = recorded(reply, ex);
                    (t, ex, ended)
                }
            })
            .collect()
    }

    /// The headers (signed when the target has credentials) and body of an API call, or the
    /// failure to sign it.
    fn encode(&self, op: Operation, input: &Value) -> Result<Encoded, Unsent> {
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
                    return Err(Box::new((
                        Transport::NoAnswer(format!("cannot sign the request: {e}")),
                        ex,
                    )));
                }
            }
        }
        Ok((headers, encoded.body))
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
        let ex = exchange(method.as_str(), &url, &headers, &body);
        let reply = match &self.http {
            Http::Plain(pool) => {
                pool.send(&self.settings, method, &url, &headers, body)
                    .await
            }
            Http::Reqwest(client) => {
                send_reqwest(client, &self.settings, method, url, &headers, body).await
            }
        };
        recorded(reply, ex)
    }
}

/// How the call ended, and its exchange completed with what came back.
fn recorded(reply: Reply, mut ex: Exchange) -> (Transport, Exchange) {
    if let Some((status, headers)) = reply.head {
        ex.status = Some(status);
        ex.response_headers = headers;
    }
    if let Transport::Answered { body, .. } = &reply.end {
        ex.response_body = text(body);
    }
    (reply.end, ex)
}

/// A reqwest client with the settings' timeouts.
fn reqwest_client(settings: &ClientSettings) -> Result<reqwest::Client, ConfigError> {
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| ConfigError {
            message: format!("cannot build the HTTP client: {e}"),
            hint: "this is a bug; please report it".into(),
        })
}

/// Sends one request with reqwest and reads its answer whole, up to the body cap.
async fn send_reqwest(
    client: &reqwest::Client,
    settings: &ClientSettings,
    method: reqwest::Method,
    url: Url,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Reply {
    let mut req = client.request(method, url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    if !body.is_empty() {
        req = req.body(body);
    }
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return Reply::ended(classify(&e)),
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
    let end = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > settings.max_body {
                    break Transport::TooLarge(settings.max_body);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => {
                break Transport::Answered {
                    status,
                    headers: resp_headers.clone(),
                    body: bytes,
                }
            }
            Err(e) => {
                break Transport::NoAnswer(format!(
                    "the answer broke off after {} bytes: {}",
                    bytes.len(),
                    error_chain(&e)
                ))
            }
        }
    };
    Reply {
        head: Some((status, resp_headers)),
        end,
    }
}

fn exchange(method: &str, url: &Url, headers: &[(String, String)], body: &[u8]) -> Exchange {
    Exchange {
        method: method.to_string(),
        url: url.to_string(),
        request_headers: headers.to_vec(),
        request_body: text(body),
        ..Exchange::default()
    }
}

/// `bytes` as text (invalid UTF-8 replaced); valid text, the usual case, is copied as is.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
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
