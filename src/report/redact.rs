//! Removing secrets from report text.
//!
//! Two passes keep secrets out of every file: [`RunReport::redacted`](super::RunReport::redacted)
//! cleans the data before it is rendered (so an escaping step such as HTML's cannot hide a
//! secret from the text pass), and [`redact`] cleans the rendered text once more.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::text;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Header names whose values are secrets, compared case-insensitively.
const SECRET_HEADERS: [&str; 2] = ["authorization", "x-amz-security-token"];

/// Whether a header's value must never appear in a report.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name.trim()))
}

/// `"authorization": "..."` (JSON object member) or `"authorization", "..."` (a header pair
/// serialized as a two-element array).
static JSON_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("(?:authorization|x-amz-security-token)"\s*[,:]\s*")(?:[^"\\]|\\.)*""#)
        .expect("valid regex")
});

/// `Authorization: ...` as a header line or inside a curl `-H '...'`: the value runs to the end
/// of the line, a quote, a backslash (an escape in JSON text) or `&` (an entity in HTML text).
static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(authorization|x-amz-security-token)([ \t]*:[ \t]*)[^'"&\r\n\\]+"#)
        .expect("valid regex")
});

/// Presigned-URL query parameters that carry a secret or make a URL usable by itself.
static QUERY_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(x-amz-security-token|x-amz-credential|x-amz-signature)=[^&\s'\x22\\]+")
        .expect("valid regex")
});

/// The `Credential=AKIA.../date/region/service/aws4_request` part of a SigV4 Authorization value.
static CREDENTIAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Credential=[^,&\s'\x22\\]+").expect("valid regex"));

/// A SigV4 signature outside a redacted header (a header value cut loose from its name).
static SIGNATURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bSignature=[0-9a-fA-F]{16,}").expect("valid regex"));

/// An access key id (long-term `AKIA`, temporary `ASIA`).
static ACCESS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:AKIA|ASIA)[A-Z0-9]{16}").expect("valid regex"));

/// Removes secrets from text: the given secret values (those of at least 4 characters, so a
/// short value cannot blank out the report), the values of `Authorization` and
/// `X-Amz-Security-Token` headers (as header lines, in curl `-H` arguments and as JSON pairs),
/// SigV4 `Credential=` and `Signature=` parts, presigned-URL credentials, and anything shaped
/// like an access key id.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret that contains another is removed whole.
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.chars().count() >= 4)
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if out.contains(s) {
            out = out.replace(s, REDACTED);
        }
    }
    let out = JSON_HEADER.replace_all(&out, format!("${{1}}{REDACTED}\""));
    let out = HEADER_LINE.replace_all(&out, format!("${{1}}${{2}}{REDACTED}"));
    let out = QUERY_PARAM.replace_all(&out, format!("${{1}}={REDACTED}"));
    let out = CREDENTIAL.replace_all(&out, format!("Credential={REDACTED}"));
    let out = SIGNATURE.replace_all(&out, format!("Signature={REDACTED}"));
    ACCESS_KEY_ID.replace_all(&out, REDACTED).into_owned()
}

/// Redacts a JSON value in place: every string and member name through [`redact`], and the whole
/// value of every secret header, whether it is an object member or a `[name, value]` pair.
pub(crate) fn redact_value(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(s) => {
            let cleaned = redact(s, secrets);
            if cleaned != *s {
                *s = cleaned;
            }
        }
        Value::Array(items) => {
            let header_pair = items.len() == 2
                && items[0].as_str().is_some_and(is_secret_header)
                && items[1].is_string();
            if header_pair {
                items[1] = Value::String(REDACTED.to_string());
            } else {
                items.iter_mut().for_each(|v| redact_value(v, secrets));
            }
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                if is_secret_header(&key) && v.is_string() {
                    v = Value::String(REDACTED.to_string());
                } else {
                    redact_value(&mut v, secrets);
                }
                map.insert(redact(&key, secrets), v);
            }
        }
        _ => {}
    }
}

/// Cuts text to a size for reading and redacts it, without redacting more than it shows: it
/// redacts a window a little longer than the cut (longer than any secret), so a huge body costs
/// no more than its first few kilobytes, and a secret across the cut is never half shown.
pub(crate) struct Redactor<'a> {
    secrets: &'a [String],
    margin: usize,
}

impl<'a> Redactor<'a> {
    pub fn new(secrets: &'a [String]) -> Redactor<'a> {
        let longest = secrets.iter().map(String::len).max().unwrap_or(0);
        Redactor {
            secrets,
            // Longer than any secret, access key id or header value worth matching whole.
            margin: longest.max(4096) + 64,
        }
    }

    /// The first `max` bytes of `text`, redacted, and how many bytes of `text` were left out.
    pub fn cut(&self, text: &str, max: usize) -> (String, usize) {
        let (window, _) = text::cut(text, max.saturating_add(self.margin));
        let clean = redact(window, self.secrets);
        let (head, rest) = text::cut(&clean, max);
        if rest == 0 && window.len() == text.len() {
            (head.to_string(), 0)
        } else {
            let left_out = text.len().saturating_sub(head.len()).max(1);
            (head.to_string(), left_out)
        }
    }

    /// [`text::one_line`] of the redacted text.
    pub fn line(&self, text: &str, max: usize) -> String {
        let (head, rest) = self.cut(text, max);
        let mut line = text::one_line(&head, max);
        if rest > 0 {
            line.push('…');
        }
        line
    }

    /// Redacted, printable, cut to `max` bytes with a note saying how much was left out.
    pub fn clip(&self, text: &str, max: usize) -> String {
        match self.cut(text, max) {
            (all, 0) => text::printable(&all),
            (head, rest) => format!(
                "{}… [{} more not shown]",
                text::printable(&head),
                text::bytes(rest)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/opsworks-cm/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd";

    #[test]
    fn given_secrets_are_removed_longest_first() {
        let secrets = vec!["wJalrXUtnFEMI/K7MDENG".to_string(), "wJalr".to_string()];
        let out = redact("key wJalrXUtnFEMI/K7MDENG and wJalr", &secrets);
        assert_eq!(out, "key [REDACTED] and [REDACTED]");
        // Values too short to be secrets are ignored rather than blanking the text.
        assert_eq!(redact("a b c", &["a".to_string(), String::new()]), "a b c");
    }

    #[test]
    fn header_lines_and_curl_arguments_lose_their_values() {
        let text = format!(
            "curl -X POST http://h/ -H 'authorization: {AUTH}' -H \"X-Amz-Security-Token: FQoGZXIvYXdzEXAMPLE\" -H 'x-amz-target: OpsWorksCM_V2016_11_01.CreateBackup'"
        );
        let out = redact(&text, &[]);
        assert!(out.contains("-H 'authorization: [REDACTED]'"), "{out}");
        assert!(
            out.contains("-H \"X-Amz-Security-Token: [REDACTED]\""),
            "{out}"
        );
        assert!(out.contains("x-amz-target: OpsWorksCM_V2016_11_01.CreateBackup"));
        assert!(
            !out.contains("AKIA") && !out.contains("Signature=0123"),
            "{out}"
        );

        let raw = format!("POST / HTTP/1.1\r\nAuthorization: {AUTH}\r\nHost: h\r\n");
        let out = redact(&raw, &[]);
        assert_eq!(
            out,
            "POST / HTTP/1.1\r\nAuthorization: [REDACTED]\r\nHost: h\r\n"
        );
    }

    #[test]
    fn json_header_pairs_and_members_lose_their_values() {
        let pairs = json!({"request_headers": [["Authorization", AUTH], ["X-Amz-Security-Token", "tok\"en"], ["host", "h"]]});
        for text in [
            serde_json::to_string(&pairs).unwrap(),
            serde_json::to_string_pretty(&pairs).unwrap(),
        ] {
            let out = redact(&text, &[]);
            assert!(!out.contains("AWS4-HMAC") && !out.contains("tok"), "{out}");
            assert!(out.contains("\"h\""), "{out}");
            let back: Value = serde_json::from_str(&out).expect("still JSON");
            assert_eq!(back["request_headers"][0][1], REDACTED);
        }
        let member = r#"{"authorization": "secret-value", "x": 1}"#;
        assert_eq!(
            redact(member, &[]),
            r#"{"authorization": "[REDACTED]", "x": 1}"#
        );
    }

    #[test]
    fn credentials_and_key_ids_are_removed_anywhere() {
        let out = redact(
            "signed with Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/opsworks-cm/aws4_request, then ASIAY34FZKBOKMUTVV7A leaked",
            &[],
        );
        assert_eq!(
            out,
            "signed with Credential=[REDACTED], then [REDACTED] leaked"
        );
        let url = "https://h/?X-Amz-Credential=AKIAX%2F2024&X-Amz-Security-Token=abc&X-Amz-Signature=ff&x=1";
        let out = redact(url, &[]);
        assert_eq!(
            out,
            "https://h/?X-Amz-Credential=[REDACTED]&X-Amz-Security-Token=[REDACTED]&X-Amz-Signature=[REDACTED]&x=1"
        );
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text = "CreateBackup {\"ServerName\":\"web\"} -> LimitExceededException (50 of 50); AKIA is a prefix";
        assert_eq!(redact(text, &[]), text);
    }

    #[test]
    fn values_are_redacted_structurally() {
        let mut v = json!({
            "exchange": {"request_headers": [["AUTHORIZATION", "opaque"], ["Host", "h"]],
                          "request_body": "{\"k\":\"AKIAIOSFODNN7EXAMPLE\"}"},
            "headers": {"x-amz-security-token": "opaque"},
            "note": "my-secret-value here"
        });
        redact_value(&mut v, &["my-secret-value".to_string()]);
        assert_eq!(v["exchange"]["request_headers"][0][1], REDACTED);
        assert_eq!(v["exchange"]["request_headers"][1][1], "h");
        assert_eq!(v["exchange"]["request_body"], "{\"k\":\"[REDACTED]\"}");
        assert_eq!(v["headers"]["x-amz-security-token"], REDACTED);
        assert_eq!(v["note"], "[REDACTED] here");
    }

    #[test]
    fn the_redactor_never_shows_part_of_a_secret() {
        let secret = "S3CRETS3CRETS3CRET".to_string();
        let secrets = [secret.clone()];
        let r = Redactor::new(&secrets);
        for at in 0..30 {
            let text = format!("{}{secret} tail", "x".repeat(at));
            let (shown, _) = r.cut(&text, 20);
            assert!(!shown.contains("S3CR"), "at {at}: {shown}");
        }
        let (shown, rest) = r.cut(&format!("Authorization: {}", "A".repeat(10_000)), 30);
        assert_eq!(shown, "Authorization: [REDACTED]");
        assert!(rest > 0);
        assert_eq!(r.cut("short", 100), ("short".to_string(), 0));
        assert_eq!(r.line("a\nb", 100), "a b");
        assert_eq!(r.clip("abcdef", 3), "abc… [3 bytes more not shown]");
    }

    #[test]
    fn hostile_text_does_not_panic() {
        let big = "Authorization: ".repeat(10_000) + &"\u{FFFD}".repeat(10_000);
        let out = redact(&big, &["\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}".to_string()]);
        assert!(!out.is_empty());
    }
}
