//! The state the documents describe: servers, backups, the limit and the readings, with the
//! fixture changes the control plane makes (put a server, settle) and the limit's counting.

use super::*;

/// An asynchronous operation a server is going through.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Pending {
    /// A backup; `previous` is the status before it began (None for a server the control plane
    /// put straight into BACKING_UP).
    Backup {
        previous: Option<ServerStatus>,
    },
    Maintenance,
    Restore,
    Deletion,
}

/// A server as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    pub status: ServerStatus,
    pub engine: String,
    pub pending: Option<Pending>,
    pub disable_automated_backup: bool,
    pub backup_retention_count: i64,
    pub preferred_backup_window: Option<String>,
    pub preferred_maintenance_window: Option<String>,
    /// Creation time, epoch milliseconds (the emulator's clock; None in a checker's world).
    pub created_at_ms: Option<i64>,
    /// Manual backups deleted from this server (for coverage of `create-backup.limit.delete-frees-slot`).
    pub freed_slots: u32,
    /// What an answer showed of this server (DescribeServers, the control plane's PUT): member
    /// name to its JSON text. A checker's knowledge; empty in the emulator.
    pub facts: BTreeMap<String, String>,
    /// The settings UpdateServer changed since (member name to its JSON text): DescribeServers
    /// must show them.
    pub updated: BTreeMap<String, String>,
}

/// A backup as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Backup {
    /// The id the endpoint chose; None until an answer shows it.
    pub id: Option<String>,
    pub server: String,
    pub kind: BackupType,
    pub status: BackupStatus,
    /// The description given to CreateBackup; None for fixture backups (not checked).
    pub description: Option<Option<String>>,
    /// Logical creation order; fixture backups made together share one.
    pub seq: u64,
    /// Creation time, epoch milliseconds (the emulator's clock; None in a checker's world).
    pub created_at_ms: Option<i64>,
}

/// The whole state the documents describe.
///
/// Fields are compared in the order written: the cheap ones that tell worlds apart most often
/// (a checker's worlds differ mostly in a reading) come before the servers and backups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct World {
    /// The manual-backup limit (50 by default; `ambiguity.limit-value`).
    pub limit: u32,
    pub readings: Readings,
    pub next_seq: u64,
    /// Shared between worlds until one changes it, as `backups` is: change it through
    /// [`World::server_mut`] or [`World::servers_mut`].
    pub servers: Arc<BTreeMap<String, Server>>,
    /// In creation order (oldest first). Shared between worlds until one changes it (a checker
    /// keeps many worlds that differ only in a reading, so cloning must be cheap).
    pub backups: Arc<Vec<Backup>>,
    /// BackupIds a listing showed gone for good: they never come back.
    pub gone: Arc<BTreeSet<String>>,
}

/// The default manual-backup limit.
pub const DEFAULT_LIMIT: u32 = 50;

impl World {
    /// The servers, to change (copied first if another world shares them).
    pub fn servers_mut(&mut self) -> &mut BTreeMap<String, Server> {
        Arc::make_mut(&mut self.servers)
    }

    /// One server, to change (the servers are copied first if another world shares them).
    pub fn server_mut(&mut self, name: &str) -> Option<&mut Server> {
        if !self.servers.contains_key(name) {
            return None;
        }
        self.servers_mut().get_mut(name)
    }

    pub fn new(limit: u32, readings: Readings) -> World {
        World {
            servers: Arc::new(BTreeMap::new()),
            backups: Arc::new(Vec::new()),
            limit,
            readings,
            next_seq: 0,
            gone: Arc::new(BTreeSet::new()),
        }
    }

    /// One world per reading of the endpoint-wide ambiguities.
    pub fn all_readings(limit: u32) -> Vec<World> {
        World::with_readings(limit, &Readings::all())
    }

    /// One empty world per reading in `readings` (the readings an endpoint has kept to so far).
    pub fn with_readings(limit: u32, readings: &[Readings]) -> Vec<World> {
        // The worlds share their (empty) servers and backups, as worlds that differ only in a
        // reading do (see `WorldSet`).
        let empty = World::new(limit, Readings::REFERENCE);
        readings
            .iter()
            .map(|r| World {
                readings: r.clone(),
                ..empty.clone()
            })
            .collect()
    }

    /// This world with `choice` answered `pick`.
    pub fn picking(mut self, choice: Choice, pick: u8) -> World {
        self.readings.picks.insert(choice, pick);
        self
    }

    /// The (lowest, highest) number of manual backups that count toward `server`'s limit:
    /// OK ones always count; IN_PROGRESS, FAILED and DELETING ones may (ambiguity A3), unless
    /// the endpoint has already shown whether they do. A DELETING one may also be gone by now
    /// (a deletion ends whenever it ends), so it never counts for certain.
    pub fn manual_count(&self, server: &str) -> (u32, u32) {
        let mut low = 0;
        let mut high = 0;
        for b in self.manual_in_scope(Some(server)) {
            match self.counts(b.status) {
                Some(true) if b.status == BackupStatus::Deleting => high += 1,
                Some(true) => {
                    low += 1;
                    high += 1;
                }
                Some(false) => {}
                None => high += 1,
            }
        }
        (low, high)
    }

    /// OK manual backups in `server`'s scope: they count whatever the endpoint's A3 choices.
    pub fn manual_in_ok(&self, server: &str) -> u32 {
        self.manual_in_scope(Some(server))
            .filter(|b| b.status == BackupStatus::Ok)
            .count() as u32
    }

    /// Manual backups that count toward `server`'s limit under this world's scope (all of the
    /// account's when `server` is None).
    fn manual_in_scope<'a>(&'a self, server: Option<&'a str>) -> impl Iterator<Item = &'a Backup> {
        let per_server = self.readings.limit_scope == LimitScope::PerServer;
        self.backups.iter().filter(move |b| {
            b.kind == BackupType::Manual && (!per_server || server.is_none_or(|s| b.server == s))
        })
    }

    /// Whether a manual backup in `status` counts toward the limit: always for OK, per the
    /// endpoint's choice (A3) for the others, None while that choice is open.
    fn counts(&self, status: BackupStatus) -> Option<bool> {
        match Self::count_choice(status) {
            None => Some(true),
            Some(c) => self.readings.pick(c).map(|p| p == 1),
        }
    }

    fn count_choice(status: BackupStatus) -> Option<Choice> {
        match status {
            BackupStatus::Ok => None,
            BackupStatus::InProgress => Some(Choice::CountsInProgress),
            BackupStatus::Failed => Some(Choice::CountsFailed),
            BackupStatus::Deleting => Some(Choice::CountsDeleting),
        }
    }

    /// The exact count toward `server`'s limit under each way of answering the A3 choices that
    /// are still open and matter here: (count, the answers that give it).
    pub fn count_forks(&self, server: &str) -> Vec<(u32, Vec<(Choice, u8)>)> {
        let mut open: Vec<Choice> = Vec::new();
        for b in self.manual_in_scope(Some(server)) {
            if let Some(c) = Self::count_choice(b.status) {
                if self.readings.pick(c).is_none() && !open.contains(&c) {
                    open.push(c);
                }
            }
        }
        let mut out = Vec::new();
        // All counting first: the reference reading (the bundled emulator counts them all).
        for bits in (0..(1u32 << open.len())).rev() {
            let picks: Vec<(Choice, u8)> = open
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, ((bits >> i) & 1) as u8))
                .collect();
            let count = self
                .manual_in_scope(Some(server))
                .filter(|b| match Self::count_choice(b.status) {
                    None => true,
                    Some(c) => self.counts_under(&picks, c),
                })
                .count() as u32;
            out.push((count, picks));
        }
        out
    }

    /// Whether the A3 choice `c` says "counts" under `picks`, else under this world's answer.
    fn counts_under(&self, picks: &[(Choice, u8)], c: Choice) -> bool {
        picks
            .iter()
            .find(|(pc, _)| *pc == c)
            .map_or_else(|| self.readings.pick(c) == Some(1), |(_, p)| *p == 1)
    }

    /// How many DELETING backups count toward `server`'s limit under `picks` (else this
    /// world's A3 answer): the slots that may free themselves at any time.
    pub fn deleting_counted(&self, server: &str, picks: &[(Choice, u8)]) -> u32 {
        if !self.counts_under(picks, Choice::CountsDeleting) {
            return 0;
        }
        self.manual_in_scope(Some(server))
            .filter(|b| b.status == BackupStatus::Deleting)
            .count() as u32
    }

    pub(super) fn backup_index(&self, id: &str) -> Option<usize> {
        self.backups
            .iter()
            .position(|b| b.id.as_deref() == Some(id))
    }

    /// Fixture: creates or replaces a server with `manual` and `automated` OK backups
    /// (control plane `PUT /_conformance/v1/servers/{name}`).
    pub fn put_server(&mut self, spec: &ServerSpec, now_ms: Option<i64>) {
        let replaced = |b: &Backup| b.server == spec.name;
        if let Some(backups) = Arc::get_mut(&mut self.backups) {
            backups.retain(|b| !replaced(b));
        } else if self.backups.iter().any(replaced) {
            // Shared: copy only the backups that stay.
            let kept = self.backups.iter().filter(|b| !replaced(b)).cloned();
            self.backups = Arc::new(kept.collect());
        }
        let pending =
            (spec.status == ServerStatus::BackingUp).then_some(Pending::Backup { previous: None });
        self.servers_mut().insert(
            spec.name.clone(),
            Server {
                name: spec.name.clone(),
                status: spec.status,
                engine: spec.engine.clone(),
                pending,
                disable_automated_backup: false,
                backup_retention_count: 10,
                preferred_backup_window: None,
                preferred_maintenance_window: None,
                created_at_ms: now_ms,
                freed_slots: 0,
                facts: BTreeMap::new(),
                updated: BTreeMap::new(),
            },
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        for (kind, n) in [
            (BackupType::Automated, spec.automated_backups),
            (BackupType::Manual, spec.manual_backups),
        ] {
            for _ in 0..n {
                std::sync::Arc::make_mut(&mut self.backups).push(Backup {
                    id: None,
                    server: spec.name.clone(),
                    kind,
                    status: BackupStatus::Ok,
                    description: None,
                    seq,
                    created_at_ms: now_ms,
                });
            }
        }
    }

    /// Fixture: every IN_PROGRESS backup ends with `status`; every BACKING_UP server returns to
    /// its earlier status (control plane `POST /_conformance/v1/settle`). A server put straight
    /// into BACKING_UP has no earlier status; it may take any status that can back up, so this
    /// returns every world that allows.
    pub fn settle(&self, status: BackupStatus) -> Vec<World> {
        self.settle_with(|w, name, to| w.finish_backup(name, status, to))
    }

    /// [`settle`](Self::settle), each server's backup ended by `finish(world, server, to)`
    /// (which must do what [`finish_backup`](Self::finish_backup) does).
    pub fn settle_with<'w>(
        &'w self,
        mut finish: impl FnMut(&mut World, &'w str, ServerStatus),
    ) -> Vec<World> {
        let mut worlds = vec![self.clone()];
        for (name, server) in self.servers.iter() {
            let Some(Pending::Backup { previous }) = &server.pending else {
                continue;
            };
            let targets = match previous {
                Some(p) => vec![*p],
                None => vec![
                    ServerStatus::Healthy,
                    ServerStatus::Running,
                    ServerStatus::Unhealthy,
                ],
            };
            let mut next = Vec::new();
            for w in &worlds {
                for t in &targets {
                    let mut w = w.clone();
                    finish(&mut w, name, *t);
                    next.push(w);
                }
            }
            worlds = next;
        }
        worlds
    }

    /// Ends `server`'s backup in progress with `status`, and moves the server to `to`.
    pub fn finish_backup(&mut self, server: &str, status: BackupStatus, to: ServerStatus) {
        for b in std::sync::Arc::make_mut(&mut self.backups).iter_mut() {
            if b.server == server && b.status == BackupStatus::InProgress {
                b.status = status;
            }
        }
        if let Some(s) = self.server_mut(server) {
            s.status = to;
            s.pending = None;
        }
    }

    /// Deleting backups that are gone for good (the emulator removes them at once; a checker
    /// drops them when an answer shows them gone).
    pub fn forget_deleting(&mut self) {
        std::sync::Arc::make_mut(&mut self.backups).retain(|b| b.status != BackupStatus::Deleting);
    }
}
