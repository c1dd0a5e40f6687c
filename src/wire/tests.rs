//! Tests of the codecs: requests and answers in both dialects, error names, protocol failures.

use super::*;
use crate::model::rules;

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

fn aws(status: u16, header: Option<&str>, body: &str) -> Answer {
    decode_response(
        Dialect::AwsJson,
        Operation::CreateBackup,
        status,
        header,
        body.as_bytes(),
    )
}

fn envelope(status: u16, body: &str) -> Answer {
    decode_response(
        Dialect::Envelope,
        Operation::CreateBackup,
        status,
        None,
        body.as_bytes(),
    )
}

fn rule_of(answer: &Answer) -> Option<rules::RuleId> {
    match answer {
        Answer::Protocol(m) => Some(m.rule),
        _ => None,
    }
}

#[test]
fn aws_json_success_is_http_200_exactly() {
    let backup = r#"{"Backup": {"BackupId": "web-1"}}"#;
    assert!(matches!(
        aws(200, None, backup),
        Answer::Observed(Observation::Success(_))
    ));
    for status in [201, 202, 204, 299] {
        let answer = aws(status, None, backup);
        assert_eq!(
            rule_of(&answer),
            Some(rules::PROTOCOL_SUCCESS),
            "{status}: {answer:?}"
        );
        let Answer::Protocol(m) = answer else {
            unreachable!()
        };
        assert!(m.message.contains("HTTP 200"), "{}", m.message);
    }
    // An empty 204 is no success either.
    assert_eq!(rule_of(&aws(204, None, "")), Some(rules::PROTOCOL_SUCCESS));
}

#[test]
fn aws_json_errors_need_a_type_in_the_body_whatever_the_header_says() {
    // botocore reads only __type: the header alone names nothing.
    for header in [None, Some("ValidationException")] {
        let answer = aws(400, header, r#"{"message": "bad name"}"#);
        assert_eq!(
            rule_of(&answer),
            Some(rules::PROTOCOL_ERROR),
            "{header:?}: {answer:?}"
        );
    }
    // Nor does a `code` member.
    assert_eq!(
        rule_of(&aws(400, None, r#"{"code": "ValidationException"}"#)),
        Some(rules::PROTOCOL_ERROR)
    );
    // Header and body agreeing (with a namespace on one side) is the normal case.
    assert_eq!(
        aws(
            400,
            Some("ValidationException"),
            r#"{"__type": "com.amazonaws.opsworkscm#ValidationException", "message": "m"}"#
        ),
        Answer::Observed(Observation::Error(ErrorKind::ValidationException))
    );
    // A refusal of the caller named only in the header still judges nothing.
    assert!(matches!(
        aws(
            403,
            Some("UnrecognizedClientException"),
            r#"{"message": "bad key"}"#
        ),
        Answer::AuthRefused(_)
    ));
}

#[test]
fn unknown_operation_means_not_served_in_aws_json() {
    for raw in [
        "UnknownOperationException",
        "com.amazon.coral.service#UnknownOperationException",
    ] {
        let body = json!({ "__type": raw }).to_string();
        match aws(400, None, &body) {
            Answer::NotServed(m) => assert!(m.message.contains("CreateBackup"), "{m:?}"),
            other => panic!("{raw}: {other:?}"),
        }
    }
    // Any other undocumented error is still a divergence.
    assert_eq!(
        rule_of(&aws(400, None, r#"{"__type": "UnknownThingException"}"#)),
        Some(rules::PROTOCOL_ERROR)
    );
}

#[test]
fn envelope_errors_are_the_body_s_code_whatever_the_status() {
    for (code, kind) in ENVELOPE_CODES.iter() {
        let body = json!({"success": false, "error": {"code": code, "message": "m"}});
        for status in [200, 400, 404, 409, 422, 429, 500, 503] {
            assert_eq!(
                envelope(status, &body.to_string()),
                Answer::Observed(Observation::Error(kind.clone())),
                "{code} with HTTP {status}"
            );
        }
    }
}

#[test]
fn envelope_429_without_a_documented_code_is_throttling() {
    for body in [
        "",
        "Too Many Requests",
        r#"{"success": false, "error": {"code": "RATE_LIMITED", "message": "slow down"}}"#,
        r#"{"message": "slow down"}"#,
    ] {
        assert!(
            matches!(envelope(429, body), Answer::Throttled(_)),
            "{body}: {:?}",
            envelope(429, body)
        );
    }
}

#[test]
fn envelope_404_without_a_documented_code_is_not_served() {
    for body in [
        "",
        "Cannot POST /",
        "<!DOCTYPE html><html><body>Not Found</body></html>",
        r#"{"success": false, "error": {"code": "UNKNOWN_OPERATION", "message": ""}}"#,
        r#"{"detail": "Not Found"}"#,
    ] {
        assert!(
            matches!(envelope(404, body), Answer::NotServed(_)),
            "{body}: {:?}",
            envelope(404, body)
        );
    }
    // NOT_FOUND with a 404 is the documented error, not a missing operation.
    assert_eq!(
        envelope(
            404,
            r#"{"success": false, "error": {"code": "NOT_FOUND", "message": "no such server"}}"#
        ),
        Answer::Observed(Observation::Error(ErrorKind::ResourceNotFoundException))
    );
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
