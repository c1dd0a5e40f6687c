//! AWS credentials for signing: the environment, then the shared config and credentials files.

use super::*;

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
pub(super) fn profile_section(
    text: &str,
    profile: &str,
    config_file: bool,
) -> Vec<(String, String)> {
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
