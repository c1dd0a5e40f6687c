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
pub mod shape;

pub use exchange::Exchange;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

/// Decodes an HTTP answer. `error_type_header` is `X-Amzn-Errortype`, if sent.
pub fn decode_response(
    dialect: Dialect,
    op: Operation,
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Answer {
    if status == 429 {
        return Answer::Throttled(format!("HTTP 429: {}", snippet(body)));
    }
    let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Some(json!({}))
    } else {
        serde_json::from_slice(body).ok()
    };
    if status >= 500 {
        let name = parsed
            .as_ref()
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
                rule: "protocol.error",
                message: format!("{n} came with HTTP {status}; the service sends it with HTTP 400"),
            });
        }
        let what = if looks_like_html(body) {
            "an HTML error page"
        } else {
            "a server error"
        };
        return Answer::Unavailable(format!("HTTP {status} with {what}: {}", snippet(body)));
    }
    let Some(value) = parsed else {
        if looks_like_html(body) && status >= 400 {
            return Answer::Unavailable(format!(
                "HTTP {status} with an HTML error page: {}",
                snippet(body)
            ));
        }
        return Answer::Protocol(Mismatch {
            rule: "protocol.success",
            message: format!(
                "HTTP {status} with a body that is not JSON: {}",
                snippet(body)
            ),
        });
    };
    match dialect {
        Dialect::AwsJson => decode_aws_json(op, status, error_type_header, value),
        Dialect::Envelope => decode_envelope(op, value),
    }
}

fn decode_aws_json(
    op: Operation,
    status: u16,
    error_type_header: Option<&str>,
    value: Value,
) -> Answer {
    if (200..300).contains(&status) {
        if !value.is_object() {
            return Answer::Protocol(Mismatch {
                rule: "protocol.success",
                message: format!("HTTP {status} with a JSON body that is not an object: {value}"),
            });
        }
        if value.get("__type").is_some() {
            return Answer::Protocol(Mismatch {
                rule: "protocol.error",
                message: format!(
                    "HTTP {status} (a success status) with an error body: {value}; errors are 4xx"
                ),
            });
        }
        return Answer::Observed(Observation::Success(value));
    }
    // The Rust SDK prefers the header, botocore reads only the body: both must agree.
    let body_type = value
        .get("__type")
        .or_else(|| value.get("code"))
        .and_then(Value::as_str);
    let Some(raw) = body_type.or(error_type_header) else {
        return Answer::Protocol(Mismatch {
            rule: "protocol.error",
            message: format!("HTTP {status} error without a __type: {value}"),
        });
    };
    let name = error_name(raw);
    if THROTTLING.contains(&name) {
        return Answer::Throttled(format!("{name} (HTTP {status})"));
    }
    if AUTH_ERRORS.contains(&name) {
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        return Answer::AuthRefused(format!("{name} (HTTP {status}): {message}"));
    }
    if let (Some(b), Some(h)) = (body_type, error_type_header) {
        if error_name(b) != error_name(h) {
            return Answer::Protocol(Mismatch {
                rule: "protocol.error",
                message: format!("__type {b:?} and X-Amzn-Errortype {h:?} disagree"),
            });
        }
    }
    let kind = ErrorKind::from_name(name);
    if matches!(kind, ErrorKind::Other(_)) {
        return Answer::Protocol(Mismatch {
            rule: "protocol.error",
            message: format!(
                "HTTP {status} with error {name:?}, which {} does not document",
                op.name()
            ),
        });
    }
    if status != 400 {
        return Answer::Protocol(Mismatch {
            rule: "protocol.error",
            message: format!("{name} came with HTTP {status}; the service sends it with HTTP 400"),
        });
    }
    Answer::Observed(Observation::Error(kind))
}

/// Envelope error codes and the service errors they stand for.
pub const ENVELOPE_CODES: [(&str, ErrorKind); 4] = [
    ("VALIDATION_ERROR", ErrorKind::ValidationException),
    ("NOT_FOUND", ErrorKind::ResourceNotFoundException),
    ("INVALID_STATE", ErrorKind::InvalidStateException),
    ("LIMIT_EXCEEDED", ErrorKind::LimitExceededException),
];

fn decode_envelope(op: Operation, value: Value) -> Answer {
    match value.get("success").and_then(Value::as_bool) {
        Some(true) => {
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
                        rule: "protocol.success",
                        message: format!(
                            "envelope success data must have a string id and created_at: {data}"
                        ),
                    }),
                };
            }
            if !data.is_object() {
                return Answer::Protocol(Mismatch {
                    rule: "protocol.success",
                    message: format!("envelope success data is not an object: {data}"),
                });
            }
            Answer::Observed(Observation::Success(data))
        }
        Some(false) => {
            let code = value["error"]["code"].as_str().unwrap_or("");
            match ENVELOPE_CODES.iter().find(|(c, _)| *c == code) {
                Some((_, kind)) => Answer::Observed(Observation::Error(kind.clone())),
                None => Answer::Protocol(Mismatch {
                    rule: "protocol.error",
                    message: format!(
                        "unknown envelope error code {code:?} (known: VALIDATION_ERROR, NOT_FOUND, INVALID_STATE, LIMIT_EXCEEDED)"
                    ),
                }),
            }
        }
        None => Answer::Protocol(Mismatch {
            rule: "protocol.success",
            message: format!("envelope answer without a boolean \"success\": {value}"),
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_strip_namespace_and_suffix() {
        assert_eq!(
            error_name("com.amazonaws.opsworkscm#ValidationException"),
            "ValidationException"
        );
        assert_eq!(
            error_name("ValidationException:http://internal"),
            "ValidationException"
        );
        assert_eq!(error_name("InvalidStateException"), "InvalidStateException");
    }

    #[test]
    fn aws_json_errors_decode_to_kinds_and_protocol_faults() {
        let op = Operation::CreateBackup;
        let body = br#"{"__type":"com.amazonaws.opsworkscm#LimitExceededException","message":"x"}"#;
        assert_eq!(
            decode_response(Dialect::AwsJson, op, 400, None, body),
            Answer::Observed(Observation::Error(ErrorKind::LimitExceededException))
        );
        assert!(matches!(
            decode_response(Dialect::AwsJson, op, 500, None, b"<html>oops</html>"),
            Answer::Unavailable(_)
        ));
        assert!(matches!(
            decode_response(
                Dialect::AwsJson,
                op,
                500,
                None,
                br#"{"__type":"InternalFailure","message":"x"}"#
            ),
            Answer::Unavailable(_)
        ));
        // A modeled error with a 5xx status is a protocol divergence, not an outage.
        assert!(matches!(
            decode_response(
                Dialect::AwsJson,
                op,
                500,
                None,
                br#"{"__type":"InvalidStateException","message":"x"}"#
            ),
            Answer::Protocol(_)
        ));
        assert!(matches!(
            decode_response(
                Dialect::AwsJson,
                op,
                400,
                None,
                br#"{"__type":"ThrottlingException"}"#
            ),
            Answer::Throttled(_)
        ));
        assert!(matches!(
            decode_response(Dialect::AwsJson, op, 200, None, b"not json"),
            Answer::Protocol(_)
        ));
        assert!(matches!(
            decode_response(
                Dialect::AwsJson,
                op,
                404,
                None,
                br#"{"__type":"ValidationException"}"#
            ),
            Answer::Protocol(_)
        ));
        assert!(matches!(
            decode_response(Dialect::AwsJson, op, 400, None, br#"{"__type":"Boom"}"#),
            Answer::Protocol(_)
        ));
    }

    #[test]
    fn envelope_decodes_the_seed_examples() {
        let ok =
            br#"{"success": true, "data": {"id": "abc123", "created_at": "2025-01-01T00:00:00Z"}}"#;
        assert_eq!(
            decode_response(Dialect::Envelope, Operation::CreateBackup, 200, None, ok),
            Answer::Observed(Observation::CreatedEnvelope {
                id: "abc123".into(),
                created_at: "2025-01-01T00:00:00Z".into()
            })
        );
        let err = br#"{"success": false, "error": {"code": "VALIDATION_ERROR", "message": "Invalid request parameters"}}"#;
        assert_eq!(
            decode_response(Dialect::Envelope, Operation::CreateBackup, 400, None, err),
            Answer::Observed(Observation::Error(ErrorKind::ValidationException))
        );
        let unknown = br#"{"success": false, "error": {"code": "NOPE", "message": ""}}"#;
        assert!(matches!(
            decode_response(
                Dialect::Envelope,
                Operation::CreateBackup,
                400,
                None,
                unknown
            ),
            Answer::Protocol(_)
        ));
    }

    #[test]
    fn encoded_errors_round_trip() {
        for dialect in [Dialect::AwsJson, Dialect::Envelope] {
            let r = encode_error(dialect, "InvalidStateException", "busy");
            assert_eq!(r.status, 400);
            assert_eq!(
                decode_response(dialect, Operation::CreateBackup, r.status, None, &r.body),
                Answer::Observed(Observation::Error(ErrorKind::InvalidStateException))
            );
        }
    }
}
