//! Explaining an observation: does an answer fit one possibility, and which world does it prove?
//!
//! A success is held to the facts the model predicts (the ServerName and Description echoed,
//! BackupType MANUAL, the BackupId format, CreatedAt near the call, listings consistent with what
//! was created and deleted, newest first). Ids the endpoint chose are bound into the world.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use rustc_hash::FxHashMap;
use serde_json::Value;

use super::*;
use crate::model::rules::{self, RuleId};

impl Possible {
    /// Checks `observed` against this possibility. On a fit, returns the world it proves (with
    /// the endpoint's ids bound); otherwise the broken rule and what differs.
    pub fn explain(
        &self,
        observed: &Observation,
        window: Option<CallWindow>,
    ) -> Result<World, Mismatch> {
        match (observed, &self.expected) {
            (Observation::Unknown, _) => Ok(self.world.clone()),
            (Observation::Error(seen), Expected::Error(want)) if seen == want => {
                Ok(self.world.clone())
            }
            (Observation::Error(seen), want) => Err(mismatch(
                self.blame(seen),
                format!("expected {}, observed {seen}", want.summary()),
            )),
            (Observation::CreatedEnvelope { id, created_at }, Expected::CreatedBackup { .. }) => {
                let mut world = self.world.clone();
                let at_ms = created_envelope(id, created_at, window)?;
                bind_new_backup(&mut world, id, Some(at_ms))?;
                Ok(world)
            }
            (Observation::CreatedEnvelope { .. }, Expected::Error(want)) => Err(mismatch(
                self.rule,
                format!("expected {want}, observed success"),
            )),
            (Observation::CreatedEnvelope { .. }, want) => Err(mismatch(
                rules::PROTOCOL_SUCCESS,
                format!(
                    "expected {}, observed a CreateBackup answer",
                    want.summary()
                ),
            )),
            (Observation::Success(_), Expected::Error(want)) => Err(mismatch(
                self.rule,
                format!("expected {want}, observed success"),
            )),
            (Observation::Success(body), expected) => self.explain_success(expected, body, window),
        }
    }

    /// The rule an unexpected error breaks: the most specific rule this possibility applied
    /// that lets the call through where the endpoint said `seen`.
    fn blame(&self, seen: &ErrorKind) -> RuleId {
        let preference: &[RuleId] = match seen {
            ErrorKind::LimitExceededException => &[
                rules::CREATE_BACKUP_LIMIT_DELETE_FREES_SLOT,
                rules::CREATE_BACKUP_LIMIT_AUTOMATED_NOT_COUNTED,
                rules::CREATE_BACKUP_LIMIT,
            ],
            ErrorKind::InvalidStateException => &[
                rules::CREATE_BACKUP_STATE_ALLOWED,
                rules::SERVER_BACKING_UP_LOCKED,
                rules::DELETE_BACKUP_ALREADY_DELETING,
                rules::RESTORE_SERVER_STATE,
            ],
            ErrorKind::ResourceNotFoundException => &[
                rules::CREATE_BACKUP_NOT_FOUND,
                rules::DELETE_BACKUP_NOT_FOUND,
                rules::DESCRIBE_SERVERS_NOT_FOUND,
                rules::UPDATE_SERVER_NOT_FOUND,
            ],
            _ => &[],
        };
        let passed = |id: RuleId| {
            self.exercised
                .iter()
                .any(|(r, p)| *r == id && *p == Polarity::Pass)
        };
        if let Some(rule) = preference.iter().find(|r| passed(**r)) {
            return *rule;
        }
        if matches!(
            seen,
            ErrorKind::ValidationException | ErrorKind::SerializationException
        ) {
            // The input met every validation rule it was checked against: blame the first.
            if let Some((rule, _)) = self.exercised.iter().find(|(r, p)| {
                r.as_str().starts_with("validation.")
                    && *p == Polarity::Pass
                    && *r != rules::VALIDATION_REQUIRED
                    && *r != rules::VALIDATION_TYPE
            }) {
                return *rule;
            }
        }
        self.rule
    }

    fn explain_success(
        &self,
        expected: &Expected,
        body: &Value,
        window: Option<CallWindow>,
    ) -> Result<World, Mismatch> {
        let mut world = self.world.clone();
        match expected {
            Expected::Error(_) => unreachable!("handled by explain"),
            Expected::Done => {}
            Expected::CreatedBackup {
                server,
                description,
                finished,
            } => {
                let id = created_backup(body, server, description.as_deref(), window)?;
                let b = &body["Backup"];
                if *finished && b["Status"].as_str() != Some("OK") {
                    return Err(mismatch(
                        rules::CREATE_BACKUP_EFFECT_BACKING_UP,
                        format!(
                            "Backup.Status is {}: the backup is still in progress",
                            b["Status"]
                        ),
                    ));
                }
                server_facts(&world, server, b)?;
                world = id_form(world, server, &id)?;
                let at_ms = b["CreatedAt"].as_f64().map(|s| (s * 1000.0).round() as i64);
                bind_new_backup(&mut world, &id, at_ms)?;
                if b["Status"].as_str() == Some("OK") {
                    // A6: the answer says the backup is done; it can never be IN_PROGRESS again.
                    let new = std::sync::Arc::make_mut(&mut world.backups)
                        .last_mut()
                        .expect("the new backup is last");
                    new.status = BackupStatus::Ok;
                }
            }
            Expected::Backups { listed, maybe_gone } => {
                world = backups(&world, body, listed, maybe_gone)?;
            }
            Expected::Servers(names) => {
                let servers = array(body, "Servers", rules::DESCRIBE_SERVERS_LISTING)?;
                let mut seen = BTreeSet::new();
                for s in servers {
                    let name = s["ServerName"].as_str().unwrap_or_default();
                    if !names.iter().any(|n| n == name) {
                        return Err(mismatch(
                            rules::DESCRIBE_SERVERS_LISTING,
                            format!("server {name:?} is listed but does not exist"),
                        ));
                    }
                    if !seen.insert(name.to_string()) {
                        return Err(mismatch(
                            rules::DESCRIBE_SERVERS_LISTING,
                            format!("server {name} is listed twice"),
                        ));
                    }
                    server_status(&world, name, s)?;
                    record_facts(&mut world, name, s);
                }
                if let Some(missing) = names.iter().find(|n| !seen.contains(*n)) {
                    return Err(mismatch(
                        rules::DESCRIBE_SERVERS_LISTING,
                        format!("server {missing} exists but is not listed"),
                    ));
                }
            }
            Expected::Server(name) => {
                let s = &body["Server"];
                if s["ServerName"].as_str() != Some(name) {
                    return Err(mismatch(
                        self.rule,
                        format!(
                            "Server.ServerName is {}, expected {name:?}",
                            s["ServerName"]
                        ),
                    ));
                }
                server_status(&world, name, s)?;
                record_facts(&mut world, name, s);
            }
            Expected::AccountAttributes { used, maximum } => {
                let attrs = array(body, "Attributes", self.rule)?;
                let Some(a) = attrs
                    .iter()
                    .find(|a| a["Name"].as_str() == Some("ManualBackupLimit"))
                else {
                    return Err(mismatch(self.rule, "no ManualBackupLimit attribute"));
                };
                if a["Maximum"].as_u64() != Some(u64::from(*maximum)) {
                    return Err(mismatch(
                        self.rule,
                        format!(
                            "ManualBackupLimit Maximum is {}, expected {maximum}",
                            a["Maximum"]
                        ),
                    ));
                }
                let u = a["Used"].as_u64().unwrap_or(u64::MAX);
                if u < u64::from(used.0) || u > u64::from(used.1) {
                    return Err(mismatch(
                        self.rule,
                        format!(
                            "ManualBackupLimit Used is {}, expected {}..={}",
                            a["Used"], used.0, used.1
                        ),
                    ));
                }
            }
        }
        Ok(world)
    }
}

fn array<'a>(body: &'a Value, member: &str, rule: RuleId) -> Result<&'a Vec<Value>, Mismatch> {
    body[member]
        .as_array()
        .ok_or_else(|| mismatch(rule, format!("the answer has no {member} list")))
}

fn server_status(world: &World, name: &str, s: &Value) -> Result<(), Mismatch> {
    let server = &world.servers[name];
    for (member, want) in &server.updated {
        let seen = s.get(member.as_str()).map(Value::to_string);
        if seen.as_deref() != Some(want.as_str()) {
            return Err(mismatch(
                rules::UPDATE_SERVER_OBSERVABLE,
                format!(
                    "server {name} shows {member} {}, but UpdateServer set it to {want}",
                    seen.as_deref().unwrap_or("(absent)")
                ),
            ));
        }
    }
    let want = server.status;
    let seen = s["Status"].as_str().unwrap_or("(none)");
    if seen == want.as_str() {
        return Ok(());
    }
    let rule = match (want, ServerStatus::parse(seen)) {
        (ServerStatus::BackingUp, _) => rules::CREATE_BACKUP_EFFECT_BACKING_UP,
        (_, Some(ServerStatus::BackingUp)) => rules::BACKUP_COMPLETION,
        _ => rules::DESCRIBE_SERVERS_LISTING,
    };
    Err(mismatch(
        rule,
        format!("server {name} is {seen}, expected {want}"),
    ))
}

/// The members a Backup copies from its server when it is made.
const SNAPSHOT: &[&str] = &[
    "Engine",
    "EngineModel",
    "EngineVersion",
    "InstanceProfileArn",
    "InstanceType",
    "KeyPair",
    "PreferredBackupWindow",
    "PreferredMaintenanceWindow",
    "SecurityGroupIds",
    "ServiceRoleArn",
    "SubnetIds",
];

/// Remembers what an answer showed of a server (its snapshot members).
fn record_facts(world: &mut World, name: &str, s: &Value) {
    let Some(server) = world.servers.get_mut(name) else {
        return;
    };
    for member in SNAPSHOT {
        if let Some(v) = s.get(*member).filter(|v| !v.is_null()) {
            server.facts.insert(member.to_string(), v.to_string());
        }
    }
}

/// The Backup's server members agree with the server: Engine always, the others with what the
/// endpoint showed of the server (settings UpdateServer changed since count as shown).
fn server_facts(world: &World, name: &str, b: &Value) -> Result<(), Mismatch> {
    const RULE: RuleId = rules::CREATE_BACKUP_EFFECT_SERVER_FACTS;
    let server = &world.servers[name];
    if b["Engine"].as_str() != Some(server.engine.as_str()) {
        return Err(mismatch(
            RULE,
            format!(
                "Backup.Engine is {}, but server {name} runs {:?}",
                b["Engine"], server.engine
            ),
        ));
    }
    for member in SNAPSHOT {
        let known = server.updated.get(*member).or(server.facts.get(*member));
        let (Some(want), Some(seen)) = (known, b.get(*member).filter(|v| !v.is_null())) else {
            continue;
        };
        if serde_json::from_str::<Value>(want).ok().as_ref() != Some(seen) {
            return Err(mismatch(
                RULE,
                format!("Backup.{member} is {seen}, but server {name} shows {want}"),
            ));
        }
    }
    Ok(())
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
fn bind_new_backup(world: &mut World, id: &str, at_ms: Option<i64>) -> Result<(), Mismatch> {
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
    const RESPONSE: RuleId = rules::CREATE_BACKUP_EFFECT_RESPONSE;
    let b = &body["Backup"];
    if !b.is_object() {
        return Err(mismatch(RESPONSE, "the answer has no Backup object"));
    }
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
    if let Some(w) = window {
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
    }
    Ok(id.to_string())
}

/// The envelope's CreateBackup answer: any non-empty id, an RFC 3339 `created_at` near the call.
fn created_envelope(
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

fn abbreviate(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!(
            "{}... ({} characters)",
            s.chars().take(40).collect::<String>(),
            s.chars().count()
        )
    } else {
        s
    }
}

/// Checks a DescribeBackups listing against the model, binding unbound backups to the ids shown.
fn backups(
    before: &World,
    body: &Value,
    listed: &[usize],
    maybe_gone: &[usize],
) -> Result<World, Mismatch> {
    const LISTING: RuleId = rules::DESCRIBE_BACKUPS_LISTING;
    let observed = array(body, "Backups", LISTING)?;
    // Every world of every step is checked against the listing: look ids up by hash and
    // backups by index, never by scanning.
    let index: FxHashMap<&str, usize> = before
        .backups
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.id.as_deref().map(|id| (id, i)))
        .collect();
    let mut world = before.clone();
    let candidates: Vec<usize> = listed.iter().chain(maybe_gone).copied().collect();
    let mut candidate = vec![false; world.backups.len()];
    for &i in &candidates {
        candidate[i] = true;
    }
    // Which model backup each observed entry is, and which backups an entry is.
    let mut claimed: Vec<Option<usize>> = vec![None; observed.len()];
    let mut taken = vec![false; world.backups.len()];
    for (j, o) in observed.iter().enumerate() {
        let Some(id) = o["BackupId"].as_str() else {
            return Err(mismatch(
                LISTING,
                format!("listed backup #{j} has no BackupId"),
            ));
        };
        if world.gone.contains(id) {
            return Err(mismatch(
                rules::BACKUP_STATUS_MONOTONIC,
                format!("backup {id} is listed again after a listing showed it gone"),
            ));
        }
        if let Some(&i) = index.get(id) {
            if !candidate[i] {
                let b = &world.backups[i];
                let rule = if b.status == BackupStatus::Deleting {
                    rules::DELETE_BACKUP_EFFECT
                } else {
                    rules::DESCRIBE_BACKUPS_FILTER
                };
                return Err(mismatch(
                    rule,
                    format!(
                        "backup {id} (of server {}) should not be listed here",
                        b.server
                    ),
                ));
            }
            if taken[i] {
                return Err(mismatch(LISTING, format!("backup {id} is listed twice")));
            }
            taken[i] = true;
            claimed[j] = Some(i);
        }
    }
    // Bind entries with ids the model has not seen to unbound backups of the same kind.
    let mut bound_here: Vec<&str> = Vec::new();
    for (j, o) in observed.iter().enumerate() {
        if claimed[j].is_some() {
            continue;
        }
        let id = o["BackupId"].as_str().unwrap_or_default();
        if bound_here.contains(&id) {
            return Err(mismatch(LISTING, format!("backup {id} is listed twice")));
        }
        bound_here.push(id);
        let fits = |b: &Backup| {
            b.id.is_none()
                && Some(b.server.as_str()) == o["ServerName"].as_str()
                && Some(b.kind.as_str()) == o["BackupType"].as_str()
        };
        let free = candidates
            .iter()
            .copied()
            .find(|&i| fits(&world.backups[i]) && !taken[i]);
        match free {
            Some(i) => {
                std::sync::Arc::make_mut(&mut world.backups)[i].id = Some(id.to_string());
                taken[i] = true;
                claimed[j] = Some(i);
            }
            None => {
                return Err(mismatch(
                    LISTING,
                    format!(
                    "backup {id} ({} {} of server {}) is listed, but no such backup was created",
                    o["BackupType"].as_str().unwrap_or("?"),
                    o["Status"].as_str().unwrap_or("?"),
                    o["ServerName"].as_str().unwrap_or("?")
                ),
                ))
            }
        }
    }
    // Each listed entry: type, server and status as the model has them.
    for (j, o) in observed.iter().enumerate() {
        let i = claimed[j].expect("every entry claimed");
        let b = &world.backups[i];
        let id = b.id.clone().unwrap_or_default();
        if o["ServerName"].as_str() != Some(b.server.as_str()) {
            return Err(mismatch(
                LISTING,
                format!(
                    "backup {id} has ServerName {}, expected {:?}",
                    o["ServerName"], b.server
                ),
            ));
        }
        if o["BackupType"].as_str() != Some(b.kind.as_str()) {
            return Err(mismatch(
                LISTING,
                format!(
                    "backup {id} has BackupType {}, expected {}",
                    o["BackupType"],
                    b.kind.as_str()
                ),
            ));
        }
        let seen = o["Status"].as_str().unwrap_or("(none)");
        if seen != b.status.as_str() {
            let rule = match (b.status, seen) {
                (BackupStatus::Ok | BackupStatus::Failed, "IN_PROGRESS") => {
                    rules::BACKUP_STATUS_MONOTONIC
                }
                (BackupStatus::InProgress, _) | (_, "IN_PROGRESS") => rules::BACKUP_COMPLETION,
                (BackupStatus::Deleting, _) | (_, "DELETING") => rules::DELETE_BACKUP_EFFECT,
                _ => LISTING,
            };
            return Err(mismatch(
                rule,
                format!("backup {id} is {seen}, expected {}", b.status.as_str()),
            ));
        }
        if let Some(Some(d)) = &b.description {
            if o["Description"].as_str() != Some(d.as_str()) {
                return Err(mismatch(
                    LISTING,
                    format!(
                        "backup {id} has Description {}, not the one it was created with",
                        abbreviate(&o["Description"])
                    ),
                ));
            }
        }
    }
    // Every backup that must be listed is.
    for &i in listed {
        if !taken[i] {
            let b = &world.backups[i];
            let rule = if b.kind == BackupType::Manual && b.description.is_some() {
                rules::CREATE_BACKUP_EFFECT_RESPONSE
            } else {
                LISTING
            };
            return Err(mismatch(
                rule,
                format!(
                    "backup {} ({} {} of server {}) exists but is not listed",
                    b.id.as_deref().unwrap_or("(id not yet seen)"),
                    b.kind.as_str(),
                    b.status.as_str(),
                    b.server
                ),
            ));
        }
    }
    world = created_at_stable(world, observed, &claimed)?;
    newest_first(&world, observed, &claimed)?;
    // Backups being deleted that are not listed are gone for good.
    let gone: Vec<usize> = maybe_gone
        .iter()
        .copied()
        .filter(|&i| !taken[i] && world.backups[i].status == BackupStatus::Deleting)
        .collect();
    for &i in &gone {
        if let Some(id) = world.backups[i].id.clone() {
            std::sync::Arc::make_mut(&mut world.gone).insert(id);
        }
    }
    if !gone.is_empty() {
        let mut i = 0;
        std::sync::Arc::make_mut(&mut world.backups).retain(|_| {
            let keep = !gone.contains(&i);
            i += 1;
            keep
        });
    }
    Ok(world)
}

/// The CreatedAt a listing shows (epoch milliseconds), if it shows one as a number.
fn created_at_ms(entry: &Value) -> Option<i64> {
    entry["CreatedAt"]
        .as_f64()
        .map(|s| (s * 1000.0).round() as i64)
}

/// The same backup always shows the same CreatedAt: binds the first one seen, checks the rest.
fn created_at_stable(
    mut world: World,
    observed: &[Value],
    claimed: &[Option<usize>],
) -> Result<World, Mismatch> {
    for (j, o) in observed.iter().enumerate() {
        let i = claimed[j].expect("every entry claimed");
        let Some(at) = created_at_ms(o) else {
            continue;
        };
        match world.backups[i].created_at_ms {
            Some(known) if (known - at).abs() > 1 => {
                return Err(mismatch(
                    rules::BACKUP_CREATED_AT_STABLE,
                    format!(
                        "backup {} shows CreatedAt {}, but showed {:.3} before",
                        world.backups[i].id.as_deref().unwrap_or("?"),
                        o["CreatedAt"],
                        known as f64 / 1000.0
                    ),
                ))
            }
            Some(_) => {}
            None => std::sync::Arc::make_mut(&mut world.backups)[i].created_at_ms = Some(at),
        }
    }
    Ok(world)
}

/// Newest first: by the CreatedAt each entry shows, and a backup created through the API comes
/// before every backup that existed before its call (seeded backups' times are the
/// endpoint's choice, so their order among themselves is judged by CreatedAt alone).
fn newest_first(
    world: &World,
    observed: &[Value],
    claimed: &[Option<usize>],
) -> Result<(), Mismatch> {
    let entries: Vec<(&Backup, Option<i64>)> = observed
        .iter()
        .enumerate()
        .map(|(j, o)| {
            (
                &world.backups[claimed[j].expect("claimed")],
                created_at_ms(o),
            )
        })
        .collect();
    for (k, (b, at)) in entries.iter().enumerate() {
        for (earlier, earlier_at) in &entries[..k] {
            let newer_time = matches!((at, earlier_at), (Some(a), Some(e)) if a > e);
            let newer_call = b.description.is_some() && b.seq > earlier.seq;
            if newer_time || newer_call {
                return Err(mismatch(
                    rules::DESCRIBE_BACKUPS_ORDER,
                    format!(
                        "backup {} is listed after the older backup {}; the newest must come first",
                        b.id.as_deref().unwrap_or("?"),
                        earlier.id.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
    }
    Ok(())
}
