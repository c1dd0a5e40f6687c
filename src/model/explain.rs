//! Explaining an observation: does an answer fit one possibility, and which world does it prove?
//!
//! A success is held to the facts the model predicts (the ServerName and Description echoed,
//! BackupType MANUAL, the BackupId format, CreatedAt near the call, listings consistent with what
//! was created and deleted, newest first). Ids the endpoint chose are bound into the world.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::*;
use crate::model::rules::{self, RuleId};

mod created;
mod listing;

use created::{bind_new_backup, created, created_envelope};
use listing::{backups, listed_entries, value_entries, Entry};
pub use listing::{ListedBackup, ListedBackups};

/// What checking one observation against some possibilities found so far, for the next ones: a
/// listing's check reads only a world's backups, and most worlds of a checker share them (they
/// differ in a reading), so each distinct list of backups is checked once. Use one memo per
/// observation.
#[derive(Default)]
pub struct ExplainMemo {
    /// By the addresses of the backups and gone lists (the entries hold both alive).
    listings: FxHashMap<(usize, usize), Vec<ListingMemo>>,
    /// DescribeServers, UpdateServer and StartMaintenance answers read and change only the
    /// servers: by their address (the entries hold them alive).
    servers: FxHashMap<usize, Vec<ServersMemo>>,
}

type Servers = Arc<BTreeMap<String, Server>>;

struct ServersMemo {
    servers: Servers,
    expected: Expected,
    rule: RuleId,
    after: Result<Servers, Mismatch>,
}

/// A world's backups and its gone list, as a listing leaves them.
type ListingAfter = (Arc<Vec<Backup>>, Arc<BTreeSet<String>>);

struct ListingMemo {
    backups: Arc<Vec<Backup>>,
    gone: Arc<BTreeSet<String>>,
    listed: Vec<usize>,
    maybe_gone: Vec<usize>,
    /// The backups and gone lists after, or what differs.
    after: Result<ListingAfter, Mismatch>,
}

impl ExplainMemo {
    /// `check` of `world`'s servers (an answer about servers), once per distinct servers.
    fn servers(
        &mut self,
        world: &World,
        expected: &Expected,
        rule: RuleId,
        check: impl FnOnce(World) -> Result<World, Mismatch>,
    ) -> Result<World, Mismatch> {
        let same = self
            .servers
            .entry(Arc::as_ptr(&world.servers) as usize)
            .or_default();
        let known = same.iter().find(|m| {
            Arc::ptr_eq(&m.servers, &world.servers) && m.expected == *expected && m.rule == rule
        });
        let after = match known {
            Some(m) => m.after.clone(),
            None => {
                let after = check(world.clone()).map(|w| w.servers);
                same.push(ServersMemo {
                    servers: world.servers.clone(),
                    expected: expected.clone(),
                    rule,
                    after: after.clone(),
                });
                after
            }
        };
        Ok(World {
            servers: after?,
            ..world.clone()
        })
    }

    /// [`backups`] of `world`, checked once per distinct backups and gone lists.
    fn listing<E: Entry>(
        &mut self,
        world: &World,
        observed: Result<&[E], Mismatch>,
        listed: &[usize],
        maybe_gone: &[usize],
    ) -> Result<World, Mismatch> {
        let key = (
            Arc::as_ptr(&world.backups) as usize,
            Arc::as_ptr(&world.gone) as usize,
        );
        let same = self.listings.entry(key).or_default();
        let known = same.iter().find(|m| {
            Arc::ptr_eq(&m.backups, &world.backups)
                && Arc::ptr_eq(&m.gone, &world.gone)
                && m.listed == listed
                && m.maybe_gone == maybe_gone
        });
        let after = match known {
            Some(m) => m.after.clone(),
            None => {
                let after = observed
                    .clone()
                    .and_then(|o| backups(world, o, listed, maybe_gone))
                    .map(|w| (w.backups, w.gone));
                same.push(ListingMemo {
                    backups: world.backups.clone(),
                    gone: world.gone.clone(),
                    listed: listed.to_vec(),
                    maybe_gone: maybe_gone.to_vec(),
                    after: after.clone(),
                });
                after
            }
        };
        let (backups, gone) = after?;
        Ok(World {
            backups,
            gone,
            ..world.clone()
        })
    }
}

impl Possible {
    /// Checks `observed` against this possibility. On a fit, returns the world it proves (with
    /// the endpoint's ids bound); otherwise the broken rule and what differs.
    pub fn explain(
        &self,
        observed: &Observation,
        window: Option<CallWindow>,
    ) -> Result<World, Mismatch> {
        self.explain_in(observed, window, &mut ExplainMemo::default())
    }

    /// [`explain`](Self::explain), reusing what `memo` found for the same observation.
    pub fn explain_in(
        &self,
        observed: &Observation,
        window: Option<CallWindow>,
        memo: &mut ExplainMemo,
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
            (Observation::Success(_) | Observation::Listing(_), Expected::Error(want)) => Err(
                mismatch(self.rule, format!("expected {want}, observed success")),
            ),
            (Observation::Success(body), expected) => {
                self.explain_success(expected, body, window, memo)
            }
            (Observation::Listing(l), Expected::Backups { listed, maybe_gone }) => {
                memo.listing(&self.world, listed_entries(l), listed, maybe_gone)
            }
            (Observation::Listing(l), expected) => {
                self.explain_success(expected, &l.to_value(), window, memo)
            }
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
        memo: &mut ExplainMemo,
    ) -> Result<World, Mismatch> {
        match expected {
            Expected::Error(_) => unreachable!("handled by explain"),
            Expected::Done => Ok(self.world.clone()),
            Expected::CreatedBackup {
                server,
                description,
                finished,
            } => created(
                self.world.clone(),
                body,
                server,
                description.as_deref(),
                *finished,
                window,
            ),
            Expected::Backups { listed, maybe_gone } => {
                memo.listing(&self.world, value_entries(body), listed, maybe_gone)
            }
            Expected::Servers(names) => memo.servers(&self.world, expected, self.rule, |w| {
                servers(w, body, names)
            }),
            Expected::Server(name) => memo.servers(&self.world, expected, self.rule, |w| {
                server(w, body, name, self.rule)
            }),
            Expected::AccountAttributes { used, maximum } => {
                account_attributes(body, *used, *maximum, self.rule)?;
                Ok(self.world.clone())
            }
        }
    }
}

/// DescribeServers: exactly the servers that exist, each once, with a status they may have.
fn servers(mut world: World, body: &Value, names: &[String]) -> Result<World, Mismatch> {
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
    Ok(world)
}

/// UpdateServer / StartMaintenance: the server as it is after.
fn server(mut world: World, body: &Value, name: &str, rule: RuleId) -> Result<World, Mismatch> {
    let s = &body["Server"];
    if s["ServerName"].as_str() != Some(name) {
        return Err(mismatch(
            rule,
            format!(
                "Server.ServerName is {}, expected {name:?}",
                s["ServerName"]
            ),
        ));
    }
    server_status(&world, name, s)?;
    record_facts(&mut world, name, s);
    Ok(world)
}

/// DescribeAccountAttributes: ManualBackupLimit with Used in range and the limit as Maximum.
fn account_attributes(
    body: &Value,
    used: (u32, u32),
    maximum: u32,
    rule: RuleId,
) -> Result<(), Mismatch> {
    let attrs = array(body, "Attributes", rule)?;
    let Some(a) = attrs
        .iter()
        .find(|a| a["Name"].as_str() == Some("ManualBackupLimit"))
    else {
        return Err(mismatch(rule, "no ManualBackupLimit attribute"));
    };
    if a["Maximum"].as_u64() != Some(u64::from(maximum)) {
        return Err(mismatch(
            rule,
            format!(
                "ManualBackupLimit Maximum is {}, expected {maximum}",
                a["Maximum"]
            ),
        ));
    }
    let u = a["Used"].as_u64().unwrap_or(u64::MAX);
    if u < u64::from(used.0) || u > u64::from(used.1) {
        return Err(mismatch(
            rule,
            format!(
                "ManualBackupLimit Used is {}, expected {}..={}",
                a["Used"], used.0, used.1
            ),
        ));
    }
    Ok(())
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
    let Some(server) = world.server_mut(name) else {
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

fn abbreviate(v: &Value) -> String {
    abbreviate_json(v.to_string())
}

/// JSON text cut to 40 characters, saying how long it was.
fn abbreviate_json(s: String) -> String {
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
