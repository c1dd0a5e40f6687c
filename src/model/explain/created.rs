//! CreateBackup's answer: the Backup it returns (echoed members, BackupId and BackupArn,
//! CreatedAt near the call, A6's status), or the envelope dialect's id and time; the new
//! backup's id and time are bound into the world.

use std::sync::OnceLock;

use regex::Regex;

use super::*;

/// CreateBackup's answer: the new Backup as predicted; its id is bound into the world.
pub(super) fn created(
    world: World,
    body: &Value,
    server: &str,
    description: Option<&str>,
    finished: bool,
    window: Option<CallWindow>,
) -> Result<World, Mismatch> {
    let id = created_backup(body, server, description, window)?;
    let b = &body["Backup"];
    if finished && b["Status"].as_str() != Some("OK") {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_BACKING_UP,
            format!(
                "Backup.Status is {}: the backup is still in progress",
                b["Status"]
            ),
        ));
    }
    server_facts(&world, server, b)?;
    let at_ms = b["CreatedAt"].as_f64().map(|s| (s * 1000.0).round() as i64);
    let done = b["Status"].as_str() == Some("OK");
    bind_created(world, server, &id, at_ms, done)
}

/// The new backup (the last of the world) bound to the `id` and time the answer gave it (A7:
/// one id form per endpoint); when the answer says it is `done` (A6), it can never be
/// IN_PROGRESS again.
fn bind_created(
    world: World,
    server: &str,
    id: &str,
    at_ms: Option<i64>,
    done: bool,
) -> Result<World, Mismatch> {
    let mut world = id_form(world, server, id)?;
    bind_new_backup(&mut world, id, at_ms)?;
    if done {
        let new = std::sync::Arc::make_mut(&mut world.backups)
            .last_mut()
            .expect("the new backup is last");
        new.status = BackupStatus::Ok;
    }
    Ok(world)
}

impl Possible {
    /// The world once the endpoint has answered this CreateBackup outcome with a well-formed
    /// Backup whose id is `id` (no CreatedAt): what [`Possible::explain`] gives for such an
    /// answer, without writing it and checking it. The dry run of a scenario file binds its
    /// synthetic ids so.
    pub fn created_as(&self, id: &str) -> Result<World, Mismatch> {
        let Expected::CreatedBackup {
            server, finished, ..
        } = &self.expected
        else {
            return Ok(self.world.clone());
        };
        bind_created(self.world.clone(), server, id, None, *finished)
    }
}

/// A7: the BackupId's form is the endpoint's choice, the same for every backup.
fn id_form(world: World, server: &str, id: &str) -> Result<World, Mismatch> {
    let suffix = id
        .strip_prefix(server)
        .unwrap_or(id)
        .trim_start_matches('-');
    let pick = u8::from(suffix.contains('T'));
    if !world.readings.allows(Choice::IdForm, pick) {
        return Err(mismatch(
            rules::AMBIGUITY_BACKUP_ID_FORMAT,
            format!(
                "BackupId {id:?}: this endpoint gave its earlier backups the other form ({})",
                Choice::IdForm.reading(1 - pick)
            ),
        ));
    }
    Ok(world.picking(Choice::IdForm, pick))
}

/// Binds the new backup (the last of the world) to the id and time the endpoint gave it.
pub(super) fn bind_new_backup(
    world: &mut World,
    id: &str,
    at_ms: Option<i64>,
) -> Result<(), Mismatch> {
    if world.backup_index(id).is_some() || world.gone.contains(id) {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_BACKUP_ID,
            format!("BackupId {id} was already given to another backup"),
        ));
    }
    let new = std::sync::Arc::make_mut(&mut world.backups)
        .last_mut()
        .expect("the new backup is last");
    new.id = Some(id.to_string());
    new.created_at_ms = at_ms;
    Ok(())
}

fn backup_arn() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^arn:aws(?:-cn|-us-gov)?:opsworks-cm:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:backup/(.+)$",
        )
        .expect("regex")
    })
}

fn backup_id_suffix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:\d{17}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)$").expect("regex")
    })
}

fn backup_id_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9\-\.\:]*$").expect("regex"))
}

/// Checks CreateBackup's answer; returns the new BackupId.
fn created_backup(
    body: &Value,
    server: &str,
    description: Option<&str>,
    window: Option<CallWindow>,
) -> Result<String, Mismatch> {
    let b = &body["Backup"];
    if !b.is_object() {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_RESPONSE,
            "the answer has no Backup object",
        ));
    }
    echoed_members(b, server, description)?;
    let id = backup_id(b, server)?;
    if let Some(w) = window {
        created_at_near(b, w)?;
    }
    Ok(id.to_string())
}

/// The members CreateBackup's Backup echoes or fixes: ServerName, BackupType, Status (A6),
/// Description.
fn echoed_members(b: &Value, server: &str, description: Option<&str>) -> Result<(), Mismatch> {
    const RESPONSE: RuleId = rules::CREATE_BACKUP_EFFECT_RESPONSE;
    if b["ServerName"].as_str() != Some(server) {
        return Err(mismatch(
            RESPONSE,
            format!(
                "Backup.ServerName is {}, expected {server:?}",
                b["ServerName"]
            ),
        ));
    }
    if b["BackupType"].as_str() != Some("MANUAL") {
        return Err(mismatch(
            RESPONSE,
            format!(
                "Backup.BackupType is {}, expected \"MANUAL\"",
                b["BackupType"]
            ),
        ));
    }
    match b["Status"].as_str() {
        Some("IN_PROGRESS") | Some("OK") => {}
        _ => {
            return Err(mismatch(
                rules::AMBIGUITY_CREATED_STATUS,
                format!(
                    "Backup.Status is {}, expected \"IN_PROGRESS\" (or \"OK\", A6)",
                    b["Status"]
                ),
            ))
        }
    }
    let echoed = b.get("Description").filter(|v| !v.is_null());
    if echoed.and_then(Value::as_str) != description || echoed.is_some() != description.is_some() {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_DESCRIPTION,
            match description {
                Some(d) => format!(
                    "Backup.Description is {}, expected the description sent ({} characters)",
                    abbreviate(&b["Description"]),
                    d.chars().count()
                ),
                None => format!(
                    "Backup.Description is {}, but none was sent",
                    abbreviate(&b["Description"])
                ),
            },
        ));
    }
    Ok(())
}

/// The new backup's BackupId (its form) and BackupArn (naming the id).
fn backup_id<'a>(b: &'a Value, server: &str) -> Result<&'a str, Mismatch> {
    let Some(id) = b["BackupId"].as_str() else {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_BACKUP_ID,
            format!("Backup.BackupId is {}, expected a string", b["BackupId"]),
        ));
    };
    let suffix = id.strip_prefix(server).and_then(|r| r.strip_prefix('-'));
    let well_formed = id.chars().count() <= 79
        && backup_id_pattern().is_match(id)
        && suffix.is_some_and(|s| backup_id_suffix().is_match(s));
    if !well_formed {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_BACKUP_ID,
            format!("BackupId {id:?} is not {server}-yyyyMMddHHmmssSSS nor {server}-yyyy-MM-ddTHH:mm:ss.SSSZ (at most 79 characters)"),
        ));
    }
    let arn = b["BackupArn"].as_str().unwrap_or_default();
    let arn_id = backup_arn().captures(arn).and_then(|c| c.get(1));
    if arn_id.map(|m| m.as_str()) != Some(id) {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_ARN,
            format!(
                "Backup.BackupArn is {}, expected arn:aws:opsworks-cm:<region>:<12-digit account>:backup/{id}",
                b["BackupArn"]
            ),
        ));
    }
    Ok(id)
}

/// CreatedAt is epoch seconds within the call's window (give or take the clock skew).
fn created_at_near(b: &Value, w: CallWindow) -> Result<(), Mismatch> {
    let Some(secs) = b["CreatedAt"].as_f64() else {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_CREATED_AT,
            format!(
                "Backup.CreatedAt is {}, expected epoch seconds",
                b["CreatedAt"]
            ),
        ));
    };
    let ms = (secs * 1000.0) as i64;
    if ms < w.sent_ms - CLOCK_SKEW_MS || ms > w.answered_ms + CLOCK_SKEW_MS {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_CREATED_AT,
            format!(
                "Backup.CreatedAt is {secs}, but the call was made at {:.3} (more than {} s apart)",
                w.sent_ms as f64 / 1000.0,
                CLOCK_SKEW_MS / 1000
            ),
        ));
    }
    Ok(())
}

/// The envelope's CreateBackup answer: any non-empty id, an RFC 3339 `created_at` near the call.
pub(super) fn created_envelope(
    id: &str,
    created_at: &str,
    window: Option<CallWindow>,
) -> Result<i64, Mismatch> {
    if id.trim().is_empty() {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_BACKUP_ID,
            "the envelope id is empty",
        ));
    }
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(created_at) else {
        return Err(mismatch(
            rules::CREATE_BACKUP_EFFECT_CREATED_AT,
            format!("created_at {created_at:?} is not an RFC 3339 time"),
        ));
    };
    if let Some(w) = window {
        let ms = at.timestamp_millis();
        if ms < w.sent_ms - CLOCK_SKEW_MS || ms > w.answered_ms + CLOCK_SKEW_MS {
            return Err(mismatch(
                rules::CREATE_BACKUP_EFFECT_CREATED_AT,
                format!(
                    "created_at {created_at} is more than {} s from the time of the call ({})",
                    CLOCK_SKEW_MS / 1000,
                    chrono::DateTime::from_timestamp_millis(w.sent_ms)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default()
                ),
            ));
        }
    }
    Ok(at.timestamp_millis())
}
