//! Where the endpoint is: URL resolution per interfaces.md section 1, the region, and what
//! keeps a signed request off plain HTTP.

use super::*;

/// The documented endpoint form's placeholder.
pub(super) const REGION_PLACEHOLDER: &str = "{region}";

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
