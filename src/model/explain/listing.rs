//! A DescribeBackups listing: exactly the backups the model has (some being deleted may be
//! gone), each once, as the model has them, newest first with stable CreatedAt; ids the model
//! has not seen are bound to the unbound backups they must be.
//!
//! A listing is read either from a JSON value or, on the common path, from the members the
//! wire layer kept of an answer that fits the service model ([`ListedBackups`]): both are
//! [`Entry`]s, checked by the same code.

use rustc_hash::FxHashMap;

use super::*;

/// A DescribeBackups answer that fits the service model's shape, kept as the members the
/// checker compares (the wire layer reads it without building a JSON value).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedBackups {
    /// `Backups`, None when absent or null.
    pub entries: Option<Vec<ListedBackup>>,
    /// The answer's JSON text, for the rare reader that wants a JSON value.
    pub text: Box<str>,
}

impl ListedBackups {
    /// The answer as a JSON value (parsed again from its text).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| json!({}))
    }
}

/// One listed backup's members the checker compares (None when absent or null).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedBackup {
    pub id: Option<String>,
    pub server: Option<String>,
    pub kind: Option<BackupType>,
    pub status: Option<BackupStatus>,
    pub description: Option<String>,
    pub created_at: Option<serde_json::Number>,
}

/// The members of a listed backup the checker reads.
#[derive(Clone, Copy)]
pub(super) enum Member {
    BackupId,
    ServerName,
    BackupType,
    Status,
    Description,
}

/// A listed backup, as a JSON value or as [`ListedBackup`].
pub(super) trait Entry {
    /// A string member, None when absent or not a string.
    fn text(&self, m: Member) -> Option<&str>;
    /// CreatedAt as epoch seconds, when a number.
    fn created_at(&self) -> Option<f64>;
    /// A member as JSON text, `null` when absent (as a message shows it).
    fn json(&self, m: Member) -> String;
    /// CreatedAt as JSON text.
    fn created_at_json(&self) -> String;
}

impl Member {
    fn name(self) -> &'static str {
        match self {
            Member::BackupId => "BackupId",
            Member::ServerName => "ServerName",
            Member::BackupType => "BackupType",
            Member::Status => "Status",
            Member::Description => "Description",
        }
    }
}

impl Entry for Value {
    fn text(&self, m: Member) -> Option<&str> {
        self[m.name()].as_str()
    }
    fn created_at(&self) -> Option<f64> {
        self["CreatedAt"].as_f64()
    }
    fn json(&self, m: Member) -> String {
        self[m.name()].to_string()
    }
    fn created_at_json(&self) -> String {
        self["CreatedAt"].to_string()
    }
}

impl Entry for ListedBackup {
    fn text(&self, m: Member) -> Option<&str> {
        match m {
            Member::BackupId => self.id.as_deref(),
            Member::ServerName => self.server.as_deref(),
            Member::BackupType => self.kind.map(BackupType::as_str),
            Member::Status => self.status.map(BackupStatus::as_str),
            Member::Description => self.description.as_deref(),
        }
    }
    fn created_at(&self) -> Option<f64> {
        self.created_at
            .as_ref()
            .and_then(serde_json::Number::as_f64)
    }
    fn json(&self, m: Member) -> String {
        self.text(m)
            .map_or_else(|| "null".into(), |s| Value::from(s).to_string())
    }
    fn created_at_json(&self) -> String {
        self.created_at
            .as_ref()
            .map_or_else(|| "null".into(), ToString::to_string)
    }
}

/// The entries of a listing answer as a JSON value.
pub(super) fn value_entries(body: &Value) -> Result<&[Value], Mismatch> {
    array(body, "Backups", LISTING).map(Vec::as_slice)
}

/// The entries of a listing read by the wire layer.
pub(super) fn listed_entries(listed: &ListedBackups) -> Result<&[ListedBackup], Mismatch> {
    listed
        .entries
        .as_deref()
        .ok_or_else(|| mismatch(LISTING, "the answer has no Backups list"))
}

/// Checks a DescribeBackups listing against the model, binding unbound backups to the ids shown.
pub(super) fn backups<E: Entry>(
    before: &World,
    observed: &[E],
    listed: &[usize],
    maybe_gone: &[usize],
) -> Result<World, Mismatch> {
    let mut world = before.clone();
    let candidates: Vec<usize> = listed.iter().chain(maybe_gone).copied().collect();
    let mut claims = claim_known(&world, observed, &candidates)?;
    bind_unknown(&mut world, observed, &candidates, &mut claims)?;
    for (o, i) in observed.iter().zip(&claims.claimed) {
        entry(o, &world.backups[i.expect("every entry claimed")])?;
    }
    all_listed(&world, listed, &claims.taken)?;
    world = created_at_stable(world, observed, &claims.claimed)?;
    newest_first(&world, observed, &claims.claimed)?;
    forget_gone(&mut world, maybe_gone, &claims.taken);
    Ok(world)
}

const LISTING: RuleId = rules::DESCRIBE_BACKUPS_LISTING;

/// Which model backup each observed entry is (`claimed`), and which backups an entry is
/// (`taken`).
struct Claims {
    claimed: Vec<Option<usize>>,
    taken: Vec<bool>,
}

/// Claims the entries whose ids the model knows: each must be a candidate, listed once, and not
/// gone for good.
fn claim_known<E: Entry>(
    world: &World,
    observed: &[E],
    candidates: &[usize],
) -> Result<Claims, Mismatch> {
    // Every world of every step is checked against the listing: look ids up by hash and
    // backups by index, never by scanning.
    let index: FxHashMap<&str, usize> = world
        .backups
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.id.as_deref().map(|id| (id, i)))
        .collect();
    let mut candidate = vec![false; world.backups.len()];
    for &i in candidates {
        candidate[i] = true;
    }
    let mut claimed: Vec<Option<usize>> = vec![None; observed.len()];
    let mut taken = vec![false; world.backups.len()];
    for (j, o) in observed.iter().enumerate() {
        let Some(id) = o.text(Member::BackupId) else {
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
    Ok(Claims { claimed, taken })
}

/// Binds entries with ids the model has not seen to unbound backups of the same kind.
fn bind_unknown<E: Entry>(
    world: &mut World,
    observed: &[E],
    candidates: &[usize],
    claims: &mut Claims,
) -> Result<(), Mismatch> {
    let Claims { claimed, taken } = claims;
    let mut bound_here: Vec<&str> = Vec::new();
    for (j, o) in observed.iter().enumerate() {
        if claimed[j].is_some() {
            continue;
        }
        let id = o.text(Member::BackupId).unwrap_or_default();
        if bound_here.contains(&id) {
            return Err(mismatch(LISTING, format!("backup {id} is listed twice")));
        }
        bound_here.push(id);
        let fits = |b: &Backup| {
            b.id.is_none()
                && Some(b.server.as_str()) == o.text(Member::ServerName)
                && Some(b.kind.as_str()) == o.text(Member::BackupType)
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
                    o.text(Member::BackupType).unwrap_or("?"),
                    o.text(Member::Status).unwrap_or("?"),
                    o.text(Member::ServerName).unwrap_or("?")
                ),
                ))
            }
        }
    }
    Ok(())
}

/// One listed entry: type, server, status and description as the model has them.
fn entry(o: &impl Entry, b: &Backup) -> Result<(), Mismatch> {
    let id = b.id.clone().unwrap_or_default();
    if o.text(Member::ServerName) != Some(b.server.as_str()) {
        return Err(mismatch(
            LISTING,
            format!(
                "backup {id} has ServerName {}, expected {:?}",
                o.json(Member::ServerName),
                b.server
            ),
        ));
    }
    if o.text(Member::BackupType) != Some(b.kind.as_str()) {
        return Err(mismatch(
            LISTING,
            format!(
                "backup {id} has BackupType {}, expected {}",
                o.json(Member::BackupType),
                b.kind.as_str()
            ),
        ));
    }
    let seen = o.text(Member::Status).unwrap_or("(none)");
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
        if o.text(Member::Description) != Some(d.as_str()) {
            return Err(mismatch(
                LISTING,
                format!(
                    "backup {id} has Description {}, not the one it was created with",
                    abbreviate_json(o.json(Member::Description))
                ),
            ));
        }
    }
    Ok(())
}

/// Every backup that must be listed is.
fn all_listed(world: &World, listed: &[usize], taken: &[bool]) -> Result<(), Mismatch> {
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
    Ok(())
}

/// Backups being deleted that are not listed are gone for good.
fn forget_gone(world: &mut World, maybe_gone: &[usize], taken: &[bool]) {
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
}

/// The CreatedAt a listing shows (epoch milliseconds), if it shows one as a number.
fn created_at_ms(entry: &impl Entry) -> Option<i64> {
    entry.created_at().map(|s| (s * 1000.0).round() as i64)
}

/// The same backup always shows the same CreatedAt: binds the first one seen, checks the rest.
fn created_at_stable<E: Entry>(
    mut world: World,
    observed: &[E],
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
                        o.created_at_json(),
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
fn newest_first<E: Entry>(
    world: &World,
    observed: &[E],
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
