//! One-line descriptions for timelines: what a world changed, what an answer said, and long
//! text abbreviated.

use serde_json::Value;

use crate::check::observation_name;
use crate::model::{BackupStatus, BackupType, Observation, World};

/// One line of what a representative world changed: `web: HEALTHY -> BACKING_UP; web manual 0 -> 1`.
pub(super) fn describe_change(before: &World, after: &World) -> String {
    let mut parts = Vec::new();
    for (name, s) in after.servers.iter() {
        match before.servers.get(name) {
            None => parts.push(format!("+server {name} {}", s.status)),
            Some(b) if b.status != s.status => {
                parts.push(format!("{name}: {} -> {}", b.status, s.status))
            }
            _ => {}
        }
    }
    for name in before.servers.keys() {
        if !after.servers.contains_key(name) {
            parts.push(format!("-server {name}"));
        }
    }
    let count = |w: &World, server: &str, kind: BackupType| {
        w.backups
            .iter()
            .filter(|b| b.server == server && b.kind == kind && b.status != BackupStatus::Deleting)
            .count()
    };
    let mut names: Vec<&String> = after.servers.keys().chain(before.servers.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        for kind in [BackupType::Manual, BackupType::Automated] {
            let (b, a) = (count(before, name, kind), count(after, name, kind));
            if a != b {
                parts.push(format!(
                    "{name} {} backups {b} -> {a}",
                    kind.as_str().to_lowercase()
                ));
            }
        }
    }
    let status_changes = after
        .backups
        .iter()
        .filter(|a| {
            a.id.is_some()
                && before
                    .backups
                    .iter()
                    .any(|b| b.id == a.id && b.status != a.status)
        })
        .map(|a| format!("{} {}", a.id.as_deref().unwrap_or("?"), a.status.as_str()))
        .collect::<Vec<_>>();
    parts.extend(status_changes);
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

/// One short line for an answer, for timelines (read, not serialized, so it stays cheap).
pub(super) fn observed_line(o: &Observation) -> String {
    match o {
        Observation::Success(v) => {
            if let Some(b) = v.get("Backup") {
                format!(
                    "success: Backup {} {} {}",
                    b["BackupId"].as_str().unwrap_or("(no BackupId)"),
                    b["BackupType"].as_str().unwrap_or("?"),
                    b["Status"].as_str().unwrap_or("?")
                )
            } else if let Some(list) = v.get("Backups").and_then(Value::as_array) {
                let items: Vec<String> = list
                    .iter()
                    .take(4)
                    .map(|b| {
                        format!(
                            "{} {}",
                            b["BackupId"].as_str().unwrap_or("?"),
                            b["Status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                let more = if list.len() > 4 {
                    format!(", ... {} more", list.len() - 4)
                } else {
                    String::new()
                };
                format!(
                    "success: {} backups [{}{more}]",
                    list.len(),
                    items.join(", ")
                )
            } else if let Some(list) = v.get("Servers").and_then(Value::as_array) {
                let items: Vec<String> = list
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {}",
                            s["ServerName"].as_str().unwrap_or("?"),
                            s["Status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                format!("success: {} servers [{}]", list.len(), items.join(", "))
            } else if let Some(s) = v.get("Server") {
                format!(
                    "success: Server {} {}",
                    s["ServerName"].as_str().unwrap_or("?"),
                    s["Status"].as_str().unwrap_or("?")
                )
            } else {
                "success".into()
            }
        }
        Observation::CreatedEnvelope { id, created_at } => {
            format!("success (envelope): id {id}, created_at {created_at}")
        }
        other => observation_name(other),
    }
}

/// `s` cut to `max` characters, saying how long it was.
pub(super) fn abbreviate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!(
            "{}... ({} characters)",
            s.chars().take(max).collect::<String>(),
            s.chars().count()
        )
    } else {
        s.to_string()
    }
}
