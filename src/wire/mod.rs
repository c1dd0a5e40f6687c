//! The two wire dialects as codecs between model-level calls and answers and HTTP messages.
//!
//! - `aws-json`: the real service protocol (awsJson 1.1): `POST /`, `X-Amz-Target`,
//!   `Content-Type: application/x-amz-json-1.1`; errors as `{"__type", "message"}` with a 4xx/5xx.
//! - `envelope`: the seed page's stub format: `{"success": true, "data": ...}` or
//!   `{"success": false, "error": {"code", "message"}}`.
//!
//! Both the client side (the runner decoding what an endpoint said) and the server side (the
//! emulator encoding what the model decided) live here, so the two can never drift apart.

mod exchange;
mod listing;
pub mod shape;
#[cfg(test)]
mod tests;

pub use exchange::Exchange;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::rules;
use crate::model::service::TARGET_PREFIX;
use crate::model::{ErrorKind, Mismatch, Observation, Operation};

/// The wire format of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// The real service protocol, awsJson 1.1.
    #[default]
    AwsJson,
    /// The `{"success": ..., "data" | "error": ...}` envelope of the seed page's examples.
    Envelope,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::AwsJson => "aws-json",
            Dialect::Envelope => "envelope",
        }
    }

    /// The request content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Dialect::AwsJson => AWS_JSON_CONTENT_TYPE,
            Dialect::Envelope => "application/json",
        }
    }
}

pub const AWS_JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The `X-Amz-Target` value for an operation.
pub fn target_header(op: Operation) -> String {
    format!("{TARGET_PREFIX}.{}", op.name())
}

/// Parses an `X-Amz-Target` value into an operation name (any operation of the service).
pub fn parse_target(value: &str) -> Option<&str> {
    value
        .strip_prefix(TARGET_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|op| !op.is_empty())
}

/// Headers (besides Host and signing) and body of a request.
pub struct EncodedRequest {
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Encodes a call. Both dialects send the same JSON body and the `X-Amz-Target` header.
pub fn encode_request(dialect: Dialect, op: Operation, input: &Value) -> EncodedRequest {
    let mut headers = vec![
        ("content-type", dialect.content_type().to_string()),
        ("x-amz-target", target_header(op)),
    ];
    if dialect == Dialect::Envelope {
        headers.push(("accept", "application/json".to_string()));
    }
    EncodedRequest {
        headers,
        body: serde_json::to_vec(input).expect("a JSON value serializes"),
    }
}

/// What an endpoint's answer means to the harness.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A judgeable answer.
    Observed(Observation),
    /// The answer breaks the wire protocol itself: a divergence.
    Protocol(Mismatch),
    /// Throttled (429 or ThrottlingException): retried, never a verdict.
    Throttled(String),
    /// The endpoint could not answer (5xx, an HTML error page): it cannot be judged.
    Unavailable(String),
    /// The endpoint refused the request's credentials or signature: it cannot be judged.
    AuthRefused(String),
    /// The endpoint does not serve the operation (aws-json `UnknownOperationException`, an
    /// envelope 404 without a documented code). The mismatch is what it means when the
    /// operation was required.
    NotServed(Mismatch),
}

/// Strips `namespace#` and `:suffix` from an error type (ambiguity A12).
pub fn error_name(raw: &str) -> &str {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    name.split(':').next().unwrap_or(name).trim()
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > 120 {
        format!("{}...", text.chars().take(120).collect::<String>())
    } else {
        text.to_string()
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(256)]).to_ascii_lowercase();
    head.trim_start().starts_with("<!doctype html") || head.trim_start().starts_with("<html")
}

/// Errors AWS answers when it refuses the caller rather than the call.
const AUTH_ERRORS: [&str; 7] = [
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "AccessDeniedException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
];

const THROTTLING: [&str; 4] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// The error an endpoint answers for an operation it does not serve.
const UNKNOWN_OPERATION: &str = "UnknownOperationException";

/// Decodes an HTTP answer. `error_type_header` is `X-Amzn-Errortype`, if sent.
pub fn decode_response(
    dialect: Dialect,
    op: Operation,
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Answer {
    if let Some(listed) = common_listing(dialect, op, status, body) {
        return Answer::Observed(Observation::Listing(listed));
    }
    let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Some(json!({}))
    } else {
        // Checked as UTF-8 once, the body is parsed without checking each string again.
        match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text).ok(),
            Err(_) => serde_json::from_slice(body).ok(),
        }
    };
    match dialect {
        Dialect::AwsJson => {
            if status == 429 {
                return Answer::Throttled(format!("HTTP 429: {}", snippet(body)));
            }
            if status >= 500 {
                return server_error(status, parsed.as_ref(), error_type_header, body);
            }
            match parsed {
                Some(value) => decode_aws_json(op, status, error_type_header, value),
                None => not_json(status, body),
            }
        }
        Dialect::Envelope => decode_envelope_http(op, status, parsed, body),
    }
}

/// DescribeBackups' aws-json success that fits the service model, read without a JSON value
/// (the same answer as [`aws_json_success`] of its value, which judges everything else).
fn common_listing(
    dialect: Dialect,
    op: Operation,
    status: u16,
    body: &[u8],
) -> Option<crate::model::ListedBackups> {
    if dialect != Dialect::AwsJson || status != 200 || op != Operation::DescribeBackups {
        return None;
    }
    listing::read(std::str::from_utf8(body).ok()?)
}

/// A 5xx answer: throttling, a documented error with the wrong status, or an outage.
fn server_error(
    status: u16,
    parsed: Option<&Value>,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Answer {
    let name = parsed
        .and_then(|v| v.get("__type").and_then(Value::as_str))
        .map(error_name)
        .or(error_type_header.map(error_name));
    if name.is_some_and(|n| THROTTLING.contains(&n)) {
        return Answer::Throttled(format!("HTTP {status}: {}", snippet(body)));
    }
    // A documented client error (ValidationException, ...) is the endpoint's verdict, sent
    // with the wrong status: a divergence, not an outage.
    if let Some(n) = name.filter(|n| !matches!(ErrorKind::from_name(n), ErrorKind::Other(_))) {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_ERROR,
            message: format!("{n} came with HTTP {status}; the service sends it with HTTP 400"),
        });
    }
    let what = if looks_like_html(body) {
        "an HTML error page"
    } else {
        "a server error"
    };
    Answer::Unavailable(format!("HTTP {status} with {what}: {}", snippet(body)))
}

/// A body that is not JSON (and not a 5xx): an HTML error page cannot be judged, anything else
/// breaks the protocol.
fn not_json(status: u16, body: &[u8]) -> Answer {
    if looks_like_html(body) && status >= 400 {
        return Answer::Unavailable(format!(
            "HTTP {status} with an HTML error page: {}",
            snippet(body)
        ));
    }
    Answer::Protocol(Mismatch {
        rule: rules::PROTOCOL_SUCCESS,
        message: format!(
            "HTTP {status} with a body that is not JSON: {}",
            snippet(body)
        ),
    })
}

fn decode_aws_json(
    op: Operation,
    status: u16,
    error_type_header: Option<&str>,
    value: Value,
) -> Answer {
    if status == 200 {
        return aws_json_success(value);
    }
    if (200..300).contains(&status) {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_SUCCESS,
            message: format!("HTTP {status}: the service answers a success with HTTP 200 exactly"),
        });
    }
    // The Rust SDK prefers the header, botocore reads only `__type`: an error must carry
    // `__type`, and a header, when sent, must agree with it.
    let Some(raw) = value.get("__type").and_then(Value::as_str) else {
        // A refusal of the caller or a throttle named only in the header is still no verdict.
        if let Some(answer) =
            error_type_header.and_then(|h| not_a_verdict(error_name(h), status, &value))
        {
            return answer;
        }
        let header = error_type_header
            .map(|h| format!(" (X-Amzn-Errortype {h:?} alone is not read by botocore)"))
            .unwrap_or_default();
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_ERROR,
            message: format!("HTTP {status} error without a __type{header}: {value}"),
        });
    };
    let name = error_name(raw);
    if let Some(answer) = not_a_verdict(name, status, &value) {
        return answer;
    }
    if let Some(h) = error_type_header {
        if error_name(h) != name {
            return Answer::Protocol(Mismatch {
                rule: rules::PROTOCOL_ERROR,
                message: format!("__type {raw:?} and X-Amzn-Errortype {h:?} disagree"),
            });
        }
    }
    if name == UNKNOWN_OPERATION {
        return not_served(format!(
            "{} answered with {UNKNOWN_OPERATION} (HTTP {status})",
            op.name()
        ));
    }
    let kind = ErrorKind::from_name(name);
    if matches!(kind, ErrorKind::Other(_)) {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_ERROR,
            message: format!(
                "HTTP {status} with error {name:?}, which {} does not document",
                op.name()
            ),
        });
    }
    if status != 400 {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_ERROR,
            message: format!("{name} came with HTTP {status}; the service sends it with HTTP 400"),
        });
    }
    Answer::Observed(Observation::Error(kind))
}

/// Throttling, or a refusal of the caller rather than the call: answers that judge nothing.
fn not_a_verdict(name: &str, status: u16, value: &Value) -> Option<Answer> {
    if THROTTLING.contains(&name) {
        return Some(Answer::Throttled(format!("{name} (HTTP {status})")));
    }
    if AUTH_ERRORS.contains(&name) {
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        return Some(Answer::AuthRefused(format!(
            "{name} (HTTP {status}): {message}"
        )));
    }
    None
}

/// An HTTP 200 in aws-json: a JSON object that is not an error.
fn aws_json_success(value: Value) -> Answer {
    if !value.is_object() {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_SUCCESS,
            message: format!("HTTP 200 with a JSON body that is not an object: {value}"),
        });
    }
    if value.get("__type").is_some() {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_ERROR,
            message: format!(
                "HTTP 200 (a success status) with an error body: {value}; errors are 4xx"
            ),
        });
    }
    Answer::Observed(Observation::Success(value))
}

fn not_served(message: String) -> Answer {
    Answer::NotServed(Mismatch {
        rule: rules::PROTOCOL_ERROR,
        message,
    })
}

/// Envelope error codes and the service errors they stand for.
pub const ENVELOPE_CODES: [(&str, ErrorKind); 4] = [
    ("VALIDATION_ERROR", ErrorKind::ValidationException),
    ("NOT_FOUND", ErrorKind::ResourceNotFoundException),
    ("INVALID_STATE", ErrorKind::InvalidStateException),
    ("LIMIT_EXCEEDED", ErrorKind::LimitExceededException),
];

/// The service error an envelope body names: `"success": false` with a documented code.
fn envelope_error(value: &Value) -> Option<ErrorKind> {
    if value.get("success").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let code = value["error"]["code"].as_str()?;
    ENVELOPE_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, kind)| kind.clone())
}

/// An envelope answer. Its HTTP status is the stub's choice (interfaces.md section 3): a
/// documented error code is that error whatever the status; without one, 429 is throttling,
/// 404 means the operation is not served and 5xx an outage.
fn decode_envelope_http(op: Operation, status: u16, parsed: Option<Value>, body: &[u8]) -> Answer {
    if let Some(kind) = parsed.as_ref().and_then(envelope_error) {
        return Answer::Observed(Observation::Error(kind));
    }
    match status {
        429 => Answer::Throttled(format!("HTTP 429: {}", snippet(body))),
        404 => not_served(format!(
            "{} answered with HTTP 404 and no documented error code: {}",
            op.name(),
            snippet(body)
        )),
        500.. => server_error(status, parsed.as_ref(), None, body),
        _ => match parsed {
            Some(value) => decode_envelope(op, value),
            None => not_json(status, body),
        },
    }
}

fn decode_envelope(op: Operation, value: Value) -> Answer {
    match value.get("success").and_then(Value::as_bool) {
        Some(true) => envelope_success(op, value),
        Some(false) => {
            // A documented code was decoded before: this one is unknown.
            let code = value["error"]["code"].as_str().unwrap_or("");
            Answer::Protocol(Mismatch {
                rule: rules::PROTOCOL_ERROR,
                message: format!(
                    "unknown envelope error code {code:?} (known: VALIDATION_ERROR, NOT_FOUND, INVALID_STATE, LIMIT_EXCEEDED)"
                ),
            })
        }
        None => Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_SUCCESS,
            message: format!("envelope answer without a boolean \"success\": {value}"),
        }),
    }
}

fn envelope_success(op: Operation, value: Value) -> Answer {
    let data = value.get("data").cloned().unwrap_or(json!({}));
    if op == Operation::CreateBackup && data.get("Backup").is_none() {
        let id = data.get("id").and_then(Value::as_str);
        let created = data.get("created_at").and_then(Value::as_str);
        return match (id, created) {
            (Some(id), Some(created_at)) if !id.is_empty() => {
                Answer::Observed(Observation::CreatedEnvelope {
                    id: id.to_string(),
                    created_at: created_at.to_string(),
                })
            }
            _ => Answer::Protocol(Mismatch {
                rule: rules::PROTOCOL_SUCCESS,
                message: format!(
                    "envelope success data must have a string id and created_at: {data}"
                ),
            }),
        };
    }
    if !data.is_object() {
        return Answer::Protocol(Mismatch {
            rule: rules::PROTOCOL_SUCCESS,
            message: format!("envelope success data is not an object: {data}"),
        });
    }
    Answer::Observed(Observation::Success(data))
}

/// An HTTP answer for the server side.
#[derive(Debug, Clone)]
pub struct EncodedResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Encodes a success. `created` carries CreateBackup's id and RFC 3339 time for the envelope.
pub fn encode_success(
    dialect: Dialect,
    output: &Value,
    created: Option<(&str, &str)>,
) -> EncodedResponse {
    let body = match (dialect, created) {
        // Serialized as is: an answer can list many backups, so it is not copied first.
        (Dialect::AwsJson, _) => serde_json::to_vec(output),
        (Dialect::Envelope, Some((id, at))) => {
            serde_json::to_vec(&json!({"success": true, "data": {"id": id, "created_at": at}}))
        }
        (Dialect::Envelope, None) => serde_json::to_vec(&json!({"success": true, "data": output})),
    };
    EncodedResponse {
        status: 200,
        headers: vec![("content-type", dialect.content_type().to_string())],
        body: body.expect("a JSON value serializes"),
    }
}

/// Encodes an error the way AWS does: HTTP 400 (500 for an internal failure), `__type` and
/// `message` in the body, and `X-Amzn-Errortype`.
pub fn encode_error(dialect: Dialect, name: &str, message: &str) -> EncodedResponse {
    let status = if name == "InternalFailure" { 500 } else { 400 };
    match dialect {
        Dialect::AwsJson => EncodedResponse {
            status,
            headers: vec![
                ("content-type", AWS_JSON_CONTENT_TYPE.to_string()),
                ("x-amzn-errortype", name.to_string()),
            ],
            body: serde_json::to_vec(&json!({"__type": name, "message": message}))
                .expect("serializes"),
        },
        Dialect::Envelope => {
            let code = ENVELOPE_CODES
                .iter()
                .find(|(_, k)| k.name() == name)
                .map(|(c, _)| *c)
                .unwrap_or(name);
            EncodedResponse {
                status,
                headers: vec![("content-type", "application/json".to_string())],
                body: serde_json::to_vec(
                    &json!({"success": false, "error": {"code": code, "message": message}}),
                )
                .expect("serializes"),
            }
        }
    }
}
