//! Ambiguities: every reading is a possibility.

use super::*;
use crate::model::rules;

// ------------------------------------------------------------------------------------------------
// Ambiguities: every reading is a possibility
// ------------------------------------------------------------------------------------------------

#[test]
fn ambiguity_limit_scope_per_server_or_per_account() {
    // ambiguity.limit-scope (A1): web 30 + db 20 manual backups; web's 31st is fine per server,
    // the account's 51st per account.
    let mut outcomes = BTreeMap::new();
    for w in World::all_readings(DEFAULT_LIMIT) {
        let w = put(&w, "web", ServerStatus::Healthy, 30, 0);
        let w = put(&w, "db", ServerStatus::Healthy, 20, 0);
        let ps = step(&w, &create_backup("web"));
        outcomes.insert(w.readings.limit_scope, names(&ps));
    }
    assert_eq!(outcomes[&LimitScope::PerServer], ["success"]);
    assert_eq!(
        outcomes[&LimitScope::PerAccount],
        ["LimitExceededException"]
    );
    assert_eq!(Readings::REFERENCE.limit_scope, LimitScope::PerServer);
}

#[test]
fn ambiguity_limit_value_follows_the_advertised_limit() {
    // ambiguity.limit-value (A2): 50 by the API, 10 by the user guide; the world carries the
    // endpoint's advertised limit.
    for limit in [10, 50] {
        let w = World::new(limit, Readings::REFERENCE);
        let below = put(&w, "web", ServerStatus::Healthy, limit - 1, 0);
        assert_eq!(names(&step(&below, &create_backup("web"))), ["success"]);
        let at = put(&w, "web", ServerStatus::Healthy, limit, 0);
        assert_eq!(
            names(&step(&at, &create_backup("web"))),
            ["LimitExceededException"]
        );
        let ps = step(&at, &call(Operation::DescribeAccountAttributes, json!({})));
        assert_eq!(
            ps[0].expected,
            Expected::AccountAttributes {
                used: (limit, limit),
                maximum: limit
            }
        );
    }
    assert_eq!(DEFAULT_LIMIT, 50);
}

#[test]
fn ambiguity_counted_statuses_failed_backup_at_the_limit() {
    // ambiguity.counted-statuses (A3): 49 OK + 1 FAILED: refused or accepted.
    let w = put(&reference(), "web", ServerStatus::Healthy, 49, 0);
    let (w, _) = created(&w, "web");
    let w = settled(&w, BackupStatus::Failed);
    assert_eq!(w.manual_count("web"), (49, 50));
    let ps = step(&w, &create_backup("web"));
    assert_eq!(names(&ps), ["LimitExceededException", "success"]);
    assert_eq!(ps[0].rule, rules::AMBIGUITY_COUNTED_STATUSES);
    // Both answers fit their possibility.
    assert!(ps[0]
        .explain(&Observation::Error(ErrorKind::LimitExceededException), None)
        .is_ok());
    let body = backup_body("web", &new_id(&w, "web"), "IN_PROGRESS", None);
    assert!(ps[1].explain(&Observation::Success(body), None).is_ok());
}

#[test]
fn ambiguity_error_precedence_state_or_limit() {
    // ambiguity.error-precedence (A4): BACKING_UP at the limit: InvalidState or LimitExceeded.
    let w = put(&reference(), "web", ServerStatus::BackingUp, 50, 0);
    let ps = step(&w, &create_backup("web"));
    assert_eq!(
        names(&ps),
        ["InvalidStateException", "LimitExceededException"]
    );
    assert_eq!(
        rules_of(&ps),
        [
            rules::CREATE_BACKUP_STATE_BACKING_UP,
            rules::AMBIGUITY_ERROR_PRECEDENCE
        ]
    );
    // A refused status at the limit too.
    let w = put(&reference(), "web", ServerStatus::ConnectionLost, 50, 0);
    assert_eq!(
        rules_of(&step(&w, &create_backup("web"))),
        [
            rules::CREATE_BACKUP_STATE_REFUSED,
            rules::AMBIGUITY_ERROR_PRECEDENCE
        ]
    );
    // Validation before not-found: only ValidationException.
    let ps = step(
        &reference(),
        &call(
            Operation::CreateBackup,
            json!({"ServerName": "ghost", "Description": "x".repeat(10001)}),
        ),
    );
    assert_eq!(names(&ps), ["ValidationException"]);
}

#[test]
fn ambiguity_status_after_backup_previous_or_fresh_health() {
    // ambiguity.status-after-backup (A5)
    let statuses = |after_backup: AfterBackup| {
        let w = World::new(
            DEFAULT_LIMIT,
            Readings {
                limit_scope: LimitScope::PerServer,
                after_backup,
                picks: Default::default(),
            },
        );
        let w = put(&w, "web", ServerStatus::Running, 0, 0);
        let (w, _) = created(&w, "web");
        let ends = spontaneous(&w);
        assert_eq!(ends[0], w);
        let mut seen: Vec<_> = ends[1..]
            .iter()
            .map(|e| (e.servers["web"].status, e.backups.last().unwrap().status))
            .collect();
        seen.sort();
        seen
    };
    assert_eq!(
        statuses(AfterBackup::Previous),
        [
            (ServerStatus::Running, BackupStatus::Ok),
            (ServerStatus::Running, BackupStatus::Failed)
        ]
    );
    assert_eq!(
        statuses(AfterBackup::FreshHealth),
        [
            (ServerStatus::Healthy, BackupStatus::Ok),
            (ServerStatus::Healthy, BackupStatus::Failed),
            (ServerStatus::Unhealthy, BackupStatus::Ok),
            (ServerStatus::Unhealthy, BackupStatus::Failed)
        ]
    );
}

#[test]
fn ambiguity_created_status_in_progress_or_ok() {
    // ambiguity.created-status (A6)
    let w = healthy_web();
    let ps = step(&w, &create_backup("web"));
    let id = new_id(&w, "web");
    for status in ["IN_PROGRESS", "OK"] {
        let body = backup_body("web", &id, status, None);
        assert!(
            ps[0].explain(&Observation::Success(body), None).is_ok(),
            "{status}"
        );
    }
    for status in ["FAILED", "DELETING", "DONE"] {
        let body = backup_body("web", &id, status, None);
        let m = ps[0]
            .explain(&Observation::Success(body), None)
            .unwrap_err();
        assert_eq!(m.rule, rules::AMBIGUITY_CREATED_STATUS, "{status}");
    }
}

#[test]
fn ambiguity_backup_id_format_both_documented_forms() {
    // ambiguity.backup-id-format (A7)
    let w = healthy_web();
    let ps = step(&w, &create_backup("web"));
    for id in ["web-20161119234240240", "web-2016-11-19T23:42:40.240Z"] {
        let body = backup_body("web", id, "IN_PROGRESS", None);
        let after = ps[0].explain(&Observation::Success(body), None).unwrap();
        assert_eq!(after.backups.last().unwrap().id.as_deref(), Some(id));
    }
    let body = backup_body("web", "web-2016/11/19", "IN_PROGRESS", None);
    let m = ps[0]
        .explain(&Observation::Success(body), None)
        .unwrap_err();
    assert_eq!(m.rule, rules::CREATE_BACKUP_EFFECT_BACKUP_ID);
}

#[test]
fn ambiguity_tag_limits_each_reading_allowed() {
    // ambiguity.tag-limits (A8): key 128, value 256, 51 tags, @, untrimmed whitespace.
    for input in [
        tag(&"k".repeat(128), "v"),
        tag("k", &"v".repeat(256)),
        json!({"ServerName": "web", "Tags": tags(51)}),
        tag("a@b", "v"),
        tag("   ", "v"),
        tag(&format!(" {} ", "k".repeat(128)), "v"),
    ] {
        let ps = create_with(input.clone());
        assert_eq!(
            names(&ps),
            ["ValidationException", "success"],
            "{}",
            &input.to_string()[..60.min(input.to_string().len())]
        );
        assert!(exercised(
            &ps[1],
            rules::AMBIGUITY_TAG_LIMITS,
            Polarity::Pass
        ));
    }
}

#[test]
fn ambiguity_pattern_anchoring_inside_match() {
    // ambiguity.pattern-anchoring (A9)
    let ps = create_with(json!({"ServerName": "web_1"}));
    assert_eq!(
        names(&ps),
        ["ValidationException", "ResourceNotFoundException"]
    );
    assert!(exercised(
        &ps[1],
        rules::AMBIGUITY_PATTERN_ANCHORING,
        Polarity::Pass
    ));
    // An existing server whose name only matches inside (the control plane takes any name).
    let w = put(&reference(), "1web", ServerStatus::Healthy, 0, 0);
    let ps = step(&w, &create_backup("1web"));
    assert_eq!(names(&ps), ["ValidationException", "success"]);
}

#[test]
fn ambiguity_delete_server_in_progress_invalid_state_or_validation() {
    // ambiguity.delete-server-in-progress (A10)
    for status in [
        ServerStatus::Creating,
        ServerStatus::Modifying,
        ServerStatus::Restoring,
        ServerStatus::Setup,
        ServerStatus::UnderMaintenance,
    ] {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(
            &w,
            &call(Operation::DeleteServer, json!({"ServerName": "web"})),
        );
        assert_eq!(
            names(&ps),
            ["InvalidStateException", "ValidationException"],
            "{status}"
        );
        assert_eq!(ps[0].rule, rules::DELETE_SERVER_IN_PROGRESS);
    }
    let w = put(&reference(), "web", ServerStatus::BackingUp, 0, 0);
    let ps = step(
        &w,
        &call(Operation::DeleteServer, json!({"ServerName": "web"})),
    );
    assert_eq!(
        rules_of(&ps),
        [
            rules::SERVER_BACKING_UP_LOCKED,
            rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS
        ]
    );
}

#[test]
fn ambiguity_unnamed_states_update_server_outside_backing_up() {
    // ambiguity.unnamed-states (A11)
    for status in ServerStatus::ALL {
        let w = put(&reference(), "web", status, 0, 0);
        let ps = step(
            &w,
            &call(Operation::UpdateServer, json!({"ServerName": "web"})),
        );
        let want: &[&str] = match status {
            ServerStatus::BackingUp => &["InvalidStateException"],
            s if s.may_back_up() => &["success"],
            _ => &["InvalidStateException", "success"],
        };
        assert_eq!(names(&ps), want, "{status}");
        if want.len() == 2 {
            assert_eq!(ps[0].rule, rules::AMBIGUITY_UNNAMED_STATES);
        }
    }
}

#[test]
fn ambiguity_error_type_form_plain_or_namespaced() {
    // ambiguity.error-type-form (A12)
    for raw in [
        "InvalidStateException",
        "com.amazonaws.opsworkscm#InvalidStateException",
        "InvalidStateException:http://internal.amazon.com/coral/com.amazonaws.opsworkscm/",
    ] {
        assert_eq!(wire::error_name(raw), "InvalidStateException");
        let body = json!({"__type": raw, "message": "m"}).to_string();
        assert_eq!(
            wire::decode_response(
                Dialect::AwsJson,
                Operation::CreateBackup,
                400,
                None,
                body.as_bytes()
            ),
            Answer::Observed(Observation::Error(ErrorKind::InvalidStateException)),
            "{raw}"
        );
    }
}

#[test]
fn ambiguity_describe_unknown_server_not_found_or_empty() {
    // ambiguity.describe-unknown-server (A13)
    let ps = step(
        &healthy_web(),
        &call(Operation::DescribeBackups, json!({"ServerName": "ghost"})),
    );
    assert_eq!(names(&ps), ["ResourceNotFoundException", "success"]);
    assert_eq!(
        rules_of(&ps),
        [
            rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER,
            rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER
        ]
    );
    assert!(ps[1]
        .explain(&Observation::Success(json!({"Backups": []})), None)
        .is_ok());
}

#[test]
fn ambiguity_tag_reserved_prefix_aws_colon() {
    // ambiguity.tag-reserved-prefix (A14)
    for key in ["aws:stage", "AWS:stage", "aws:"] {
        let ps = create_with(tag(key, "v"));
        assert_eq!(names(&ps), ["ValidationException", "success"], "{key}");
        assert_eq!(ps[0].rule, rules::VALIDATION_TAG_KEY_PATTERN);
        assert!(exercised(
            &ps[1],
            rules::AMBIGUITY_TAG_RESERVED_PREFIX,
            Polarity::Pass
        ));
    }
    assert_eq!(names(&create_with(tag("awsstage", "v"))), ["success"]);
}

#[test]
fn ambiguity_type_error_kind_validation_or_serialization() {
    // ambiguity.type-error-kind (A15)
    let ps = create_with(json!({"ServerName": "web", "Description": false}));
    assert_eq!(
        names(&ps),
        ["ValidationException", "SerializationException"]
    );
    assert_eq!(ps[1].rule, rules::AMBIGUITY_TYPE_ERROR_KIND);
    assert!(ps[1]
        .explain(&Observation::Error(ErrorKind::SerializationException), None)
        .is_ok());
}
