//! Checks of an answer's shape against the service model: every member has the type, enum value
//! and constraints of its shape, and no member the shape does not have. Timestamps are epoch
//! seconds (a JSON number), as awsJson sends them (the Rust SDK cannot parse a string there).

use serde_json::Value;

use crate::model::service::{ServiceModel, Shape};
use crate::model::Operation;

/// Problems with an operation's output, each as `path: what is wrong`. Empty when it fits.
pub fn check_output(op: Operation, output: &Value) -> Vec<String> {
    let model = ServiceModel::get();
    let mut problems = Vec::new();
    if let Some(shape) = model.operation(op.name()).and_then(|o| o.output.clone()) {
        check(model, &shape, "", output, &mut problems);
    }
    problems
}

fn check(model: &ServiceModel, shape: &str, path: &str, v: &Value, out: &mut Vec<String>) {
    if v.is_null() {
        return;
    }
    let here = if path.is_empty() { "(answer)" } else { path };
    match model.shape(shape) {
        Shape::Structure { members, .. } => {
            let Some(obj) = v.as_object() else {
                return out.push(format!("{here}: expected an object ({shape}), got {v}"));
            };
            for (name, value) in obj {
                let p = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                match members.iter().find(|(m, _)| m == name) {
                    Some((_, member_shape)) => check(model, member_shape, &p, value, out),
                    None => out.push(format!("{p}: not a member of {shape}")),
                }
            }
        }
        Shape::List { member, .. } => {
            let Some(items) = v.as_array() else {
                return out.push(format!("{here}: expected a list ({shape}), got {v}"));
            };
            for (i, item) in items.iter().enumerate() {
                check(model, member, &format!("{path}[{i}]"), item, out);
            }
        }
        Shape::String {
            enumeration, max, ..
        } => match v.as_str() {
            None => out.push(format!("{here}: expected a string ({shape}), got {v}")),
            Some(s) => {
                if let Some(values) = enumeration {
                    if !values.iter().any(|e| e == s) {
                        out.push(format!(
                            "{here}: {s:?} is not a value of {shape} ({})",
                            values.join(", ")
                        ));
                    }
                }
                if max.is_some_and(|m| s.chars().count() as u64 > m) {
                    out.push(format!(
                        "{here}: longer than {shape}'s {} characters",
                        max.unwrap_or(0)
                    ));
                }
            }
        },
        Shape::Integer { .. } => {
            if v.as_i64().is_none() {
                out.push(format!("{here}: expected an integer ({shape}), got {v}"));
            }
        }
        Shape::Boolean => {
            if !v.is_boolean() {
                out.push(format!("{here}: expected a boolean, got {v}"));
            }
        }
        Shape::Timestamp => {
            if !v.is_number() {
                out.push(format!(
                    "{here}: expected a timestamp in epoch seconds (a JSON number), got {v}"
                ));
            }
        }
        Shape::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_good_backup_fits_and_bad_members_are_named() {
        let good = json!({"Backup": {"BackupId": "web-20250101000000000", "BackupType": "MANUAL",
            "CreatedAt": 1.7e9, "Status": "IN_PROGRESS", "ServerName": "web", "S3DataSize": 0,
            "SecurityGroupIds": ["sg-1"]}});
        assert!(check_output(Operation::CreateBackup, &good).is_empty());
        let bad = json!({"Backup": {"BackupType": "manual", "CreatedAt": "2025-01-01T00:00:00Z",
            "S3DataSize": "0", "Extra": 1}});
        let problems = check_output(Operation::CreateBackup, &bad);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("Backup.BackupType")));
        assert!(problems.iter().any(|p| p.starts_with("Backup.CreatedAt")));
        assert!(problems.iter().any(|p| p.starts_with("Backup.Extra")));
    }
}
