//! One-line descriptions for timelines: what a world changed, what an answer said, and long
//! text abbreviated.

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::check::observation_name;
use crate::model::{BackupStatus, BackupType, Observation, World};

/// One line of what a representative world changed: `web: HEALTHY -> BACKING_UP; web manual 0 -> 1`.
pub(super) fn describe_change(before: &World, after: &World) -> String {
    if std::sync::Arc::ptr_eq(&before.servers, &after.servers)
        && std::sync::Arc::ptr_eq(&before.backups, &after.backups)
    {
        // The same servers and backups (a world's backup ids are unique: the model refuses a
        // second backup with an id already given).
        return "no change".into();
    }
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
    if !std::sync::Arc::ptr_eq(&before.backups, &after.backups) {
        parts.extend(count_changes(before, after));
    }
    parts.extend(status_changes(before, after));
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

/// `server kind backups 1 -> 2` for each server and kind whose count of backups (not being
/// deleted) changed, servers in name order.
fn count_changes(before: &World, after: &World) -> Vec<String> {
    let (was, now) = (backup_counts(before), backup_counts(after));
    let mut names: Vec<&String> = after.servers.keys().chain(before.servers.keys()).collect();
    names.sort();
    names.dedup();
    let mut parts = Vec::new();
    for name in names {
        for kind in [BackupType::Manual, BackupType::Automated] {
            let key = (name.as_str(), kind);
            let b = was.get(&key).copied().unwrap_or(0);
            let a = now.get(&key).copied().unwrap_or(0);
            if a != b {
                parts.push(format!(
                    "{name} {} backups {b} -> {a}",
                    kind.as_str().to_lowercase()
                ));
            }
        }
    }
    parts
}

/// How many backups (not being deleted) each server has of each kind.
fn backup_counts(w: &World) -> FxHashMap<(&str, BackupType), usize> {
    let mut n: FxHashMap<(&str, BackupType), usize> = FxHashMap::default();
    for b in w.backups.iter() {
        if b.status != BackupStatus::Deleting {
            *n.entry((b.server.as_str(), b.kind)).or_default() += 1;
        }
    }
    n
}

/// `id STATUS` for each backup of `after` whose id `before` has with another status. Ids are
/// looked up by hash (a world can hold hundreds of backups).
fn status_changes(before: &World, after: &World) -> Vec<String> {
    if let Some(changes) = aligned_status_changes(before, after) {
        return changes;
    }
    // Each id's statuses before, as bits (an id is normally listed once).
    let bit = |s: BackupStatus| 1u8 << (s as u8);
    let mut statuses: FxHashMap<&str, u8> = FxHashMap::default();
    for b in before.backups.iter() {
        if let Some(id) = b.id.as_deref() {
            *statuses.entry(id).or_default() |= bit(b.status);
        }
    }
    after
        .backups
        .iter()
        .filter_map(|a| {
            let id = a.id.as_deref()?;
            let was = *statuses.get(id)?;
            (was & !bit(a.status) != 0).then(|| format!("{id} {}", a.status.as_str()))
        })
        .collect()
}

/// [`status_changes`] without hashing, when `after`'s backups are `before`'s in the same places
/// (ids bound since allowed) with new ones after them, as most calls leave them: an id is then
/// nowhere else in `before` (ids are unique in a world).
fn aligned_status_changes(before: &World, after: &World) -> Option<Vec<String>> {
    let (was, now) = (&before.backups, &after.backups);
    let aligned = now.len() >= was.len()
        && was
            .iter()
            .zip(now.iter())
            .all(|(b, a)| b.id.is_none() || b.id == a.id);
    aligned.then(|| {
        was.iter()
            .zip(now.iter())
            .filter(|(b, a)| b.id.is_some() && b.status != a.status)
            .map(|(_, a)| format!("{} {}", a.id.as_deref().unwrap_or("?"), a.status.as_str()))
            .collect()
    })
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
                backups_line(
                    list.iter()
                        .map(|b| (b["BackupId"].as_str(), b["Status"].as_str())),
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
        Observation::Listing(listed) => match &listed.entries {
            Some(list) => backups_line(list.iter().map(|b| {
                (
                    b.id.as_deref(),
                    b.status.map(crate::model::BackupStatus::as_str),
                )
            })),
            None => "success".into(),
        },
        Observation::CreatedEnvelope { id, created_at } => {
            format!("success (envelope): id {id}, created_at {created_at}")
        }
        other => observation_name(other),
    }
}

/// A listing's line: how many backups, the first four by id and status.
fn backups_line<'a>(
    list: impl ExactSizeIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> String {
    let n = list.len();
    let items: Vec<String> = list
        .take(4)
        .map(|(id, status)| format!("{} {}", id.unwrap_or("?"), status.unwrap_or("?")))
        .collect();
    let more = if n > 4 {
        format!(", ... {} more", n - 4)
    } else {
        String::new()
    };
    format!("success: {n} backups [{}{more}]", items.join(", "))
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn backup(id: Option<&str>, status: BackupStatus) -> crate::model::Backup {
        crate::model::Backup {
            id: id.map(str::to_string),
            server: "web".into(),
            kind: BackupType::Manual,
            status,
            description: None,
            seq: 0,
            created_at_ms: None,
        }
    }

    fn with(backups: Vec<crate::model::Backup>) -> World {
        let mut w = World::all_readings(50).remove(0);
        w.backups = Arc::new(backups);
        w
    }

    #[test]
    fn a_status_change_is_named_whether_the_backups_stay_in_place_or_move() {
        use BackupStatus::{InProgress, Ok};
        let before = with(vec![backup(Some("a"), InProgress), backup(None, Ok)]);
        // In place: an id bound, a status changed, a backup added.
        let after = with(vec![
            backup(Some("a"), Ok),
            backup(Some("b"), Ok),
            backup(Some("c"), InProgress),
        ]);
        assert_eq!(status_changes(&before, &after), ["a OK"]);
        // Moved (the first one gone): found by id.
        let moved = with(vec![backup(Some("b"), Ok), backup(Some("a"), Ok)]);
        assert_eq!(aligned_status_changes(&before, &moved), None);
        assert_eq!(status_changes(&before, &moved), ["a OK"]);
        // (No server in these worlds: only the status shows.)
        assert_eq!(describe_change(&before, &after), "a OK");
    }
}
