//! Response shape, protocol and control plane.

use super::*;
use crate::model::rules;

// ------------------------------------------------------------------------------------------------
// Response shape, protocol, control plane
// ------------------------------------------------------------------------------------------------

#[test]
fn response_shape_of_a_create_backup_answer() {
    // response.shape
    let good = backup_body("web", "web-20250101000000000", "IN_PROGRESS", Some("d"));
    assert!(wire::shape::check_output(Operation::CreateBackup, &good).is_empty());
    let mut bad_enum = good.clone();
    bad_enum["Backup"]["Status"] = json!("DONE");
    let mut string_time = good.clone();
    string_time["Backup"]["CreatedAt"] = json!("2025-01-01T00:00:00Z");
    let mut unknown = good.clone();
    unknown["Backup"]["Colour"] = json!("blue");
    for body in [bad_enum, string_time, unknown] {
        assert!(
            !wire::shape::check_output(Operation::CreateBackup, &body).is_empty(),
            "{body}"
        );
    }
}

#[test]
fn protocol_error_bodies_name_a_documented_error_with_http_400() {
    // protocol.error
    let decode = |status: u16, header: Option<&str>, body: &str| {
        wire::decode_response(
            Dialect::AwsJson,
            Operation::CreateBackup,
            status,
            header,
            body.as_bytes(),
        )
    };
    assert_eq!(
        decode(
            400,
            None,
            r#"{"__type": "LimitExceededException", "message": "m"}"#
        ),
        Answer::Observed(Observation::Error(ErrorKind::LimitExceededException))
    );
    for (status, header, body) in [
        (400, None, r#"{"message": "no type"}"#),
        (400, None, r#"{"__type": "TeapotException"}"#),
        (404, None, r#"{"__type": "ResourceNotFoundException"}"#),
        (
            400,
            Some("InvalidStateException"),
            r#"{"__type": "LimitExceededException"}"#,
        ),
        (200, None, r#"{"__type": "ValidationException"}"#),
    ] {
        match decode(status, header, body) {
            Answer::Protocol(m) => assert_eq!(m.rule, rules::PROTOCOL_ERROR, "{body}"),
            other => panic!("{status} {body}: {other:?}"),
        }
    }
}

#[test]
fn protocol_success_is_a_json_object() {
    // protocol.success
    let decode = |body: &str| {
        wire::decode_response(
            Dialect::AwsJson,
            Operation::DescribeServers,
            200,
            None,
            body.as_bytes(),
        )
    };
    assert_eq!(
        decode(r#"{"Servers": []}"#),
        Answer::Observed(Observation::Success(json!({"Servers": []})))
    );
    for body in ["not json", "[1, 2]"] {
        match decode(body) {
            Answer::Protocol(m) => assert_eq!(m.rule, rules::PROTOCOL_SUCCESS),
            other => panic!("{body}: {other:?}"),
        }
    }
    // An envelope CreateBackup answer where the model expects a listing.
    let ps = step(&healthy_web(), &call(Operation::DescribeServers, json!({})));
    let env = Observation::CreatedEnvelope {
        id: "abc123".into(),
        created_at: "2025-01-01T00:00:00Z".into(),
    };
    assert_eq!(
        ps[0].explain(&env, None).unwrap_err().rule,
        rules::PROTOCOL_SUCCESS
    );
}

#[test]
fn control_plane_contract_reset_put_and_settle() {
    // control-plane.contract
    let w = put(&reference(), "web", ServerStatus::Healthy, 2, 3);
    assert_eq!(w.backups.len(), 5);
    assert!(w.backups.iter().all(|b| b.status == BackupStatus::Ok));
    // Put replaces the server and its backups.
    let ps = step(
        &w,
        &Action::PutServer(spec("web", ServerStatus::Running, 1, 0)),
    );
    assert_eq!(rules_of(&ps), [rules::CONTROL_PLANE_CONTRACT]);
    assert_eq!(ps[0].world.backups.len(), 1);
    assert_eq!(ps[0].world.servers["web"].status, ServerStatus::Running);
    // Reset removes everything but keeps the limit and readings.
    let ps = step(&w, &Action::Reset);
    assert_eq!(rules_of(&ps), [rules::CONTROL_PLANE_CONTRACT]);
    assert_eq!(ps[0].expected, Expected::Done);
    assert_eq!(ps[0].world, reference());
}
