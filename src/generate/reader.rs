//! Reading choices into steps against the model: the generator's state is the model's own
//! [`World`], advanced by the reference reading of every step (the outcome the bundled emulator
//! serves), so server names and backup ids are picked from what exists where a step stands and
//! no state gate is written twice.
//!
//! The model finds a backup by id, and a placeholder is no valid BackupId, so the world's
//! backups get ids that stand for the placeholders a plan names them by ([`model_id`]): a
//! fixture backup's for `${backup:SERVER:N}` (N in the order a listing shows them, newest first,
//! the order the runner learns them in), a created one's for `${created:N}`. A call's
//! placeholders become those ids before the model takes it.

use super::*;
use crate::model::{ServerSpec, World};
use crate::plan::{resolved, IdRef};

/// The engine of the servers a plan puts.
const ENGINE: &str = "ChefAutomate";

/// The id the reader's world gives the backup a placeholder stands for: a valid BackupId, so
/// that validation lets the call through to the model.
pub(super) fn model_id(r: &IdRef) -> String {
    match r {
        IdRef::Backup { server, n } => format!("fixture-{n}-{server}"),
        IdRef::Created(n) => format!("created-{n}"),
    }
}

/// Reads a list of choices into steps. It follows the model's reference reading; it only
/// steers choices, it never judges.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    pub(super) config: &'a GenConfig,
    /// The names servers may have: [`SERVER_NAMES`] or the user's servers.
    pub(super) palette: Vec<String>,
    /// What the endpoint holds after the steps so far, as the reference reading has it.
    pub(super) world: World,
    /// Server names, most recently put or named first.
    pub(super) recent: Vec<String>,
    /// How many backups this plan created (`${created:N}`, N below this).
    pub(super) created: usize,
    /// CreateBackups that could succeed on a named server (no control plane).
    pub(super) paid: usize,
    pub(super) steps: Vec<Step>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(config: &'a GenConfig) -> Reader<'a> {
        // With a control plane the plan starts from nothing (the runner resets first); without
        // one, the user's servers exist, in a state the generator cannot know (HEALTHY assumed).
        let mut world = World::new(config.limit, model::Readings::REFERENCE);
        let palette: Vec<String> = if config.control_plane {
            SERVER_NAMES.iter().map(|s| s.to_string()).collect()
        } else {
            for name in config.servers.iter() {
                let spec = ServerSpec {
                    name: name.clone(),
                    status: ServerStatus::Healthy,
                    engine: ENGINE.to_string(),
                    manual_backups: 0,
                    automated_backups: 0,
                };
                world.put_server(&spec, None);
            }
            config.servers.clone()
        };
        let recent = if config.control_plane {
            Vec::new()
        } else {
            palette.clone()
        };
        Reader {
            config,
            palette,
            world,
            recent,
            created: 0,
            paid: 0,
            steps: Vec::new(),
        }
    }

    pub(super) fn exists(&self, name: &str) -> bool {
        self.world.servers.contains_key(name)
    }

    /// How many fixture backups of `name` the plan may name (`${backup:NAME:N}`, N below this).
    pub(super) fn fixture_backups(&self, name: &str) -> usize {
        self.world
            .backups
            .iter()
            .filter(|b| b.server == name)
            .filter(|b| b.id.as_deref().is_some_and(|id| id.starts_with("fixture-")))
            .count()
    }

    pub(super) fn touch(&mut self, name: &str) {
        if self.exists(name) {
            self.recent.retain(|n| n != name);
            self.recent.insert(0, name.to_string());
        }
    }

    /// A name that no server of the plan can have.
    pub(super) fn unknown_name(&self, i: usize) -> String {
        let taken = |n: &str| self.palette.iter().any(|p| p.eq_ignore_ascii_case(n));
        (0..UNKNOWN_NAMES.len())
            .map(|k| UNKNOWN_NAMES[(i + k) % UNKNOWN_NAMES.len()])
            .find(|n| !taken(n))
            .unwrap_or("conformance-ghost-x")
            .to_string()
    }

    pub(super) fn existing_at(&self, slot: usize) -> Option<String> {
        if self.palette.is_empty() {
            return None;
        }
        let name = &self.palette[slot % self.palette.len()];
        Some(name)
            .filter(|n| self.exists(n))
            .cloned()
            .or_else(|| self.recent.first().cloned())
    }

    /// The name a call uses, and whether it names an existing server.
    pub(super) fn resolve(&mut self, target: Target) -> String {
        let name = match target {
            Target::Recent => self.recent.first().cloned(),
            Target::Slot(slot) => self.existing_at(slot),
            Target::Unknown(i) => Some(self.unknown_name(i)),
            Target::CaseChanged(slot, variant) => self.case_changed(slot, variant),
            Target::Invalid(i) => Some(INVALID_NAMES[i % INVALID_NAMES.len()].to_string()),
        };
        let name = name.unwrap_or_else(|| self.unknown_name(0));
        self.touch(&name);
        name
    }

    /// An existing server's name (or a palette name) with its case changed, unless every
    /// variant is some server's name.
    pub(super) fn case_changed(&self, slot: usize, variant: usize) -> Option<String> {
        let base = self
            .existing_at(slot)
            .or_else(|| self.palette.get(slot % self.palette.len().max(1)).cloned())?;
        let flip = |c: char| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        };
        let variants = [
            base.chars()
                .enumerate()
                .map(|(i, c)| if i == 0 { flip(c) } else { c })
                .collect::<String>(),
            base.to_ascii_uppercase(),
            base.to_ascii_lowercase(),
            base.chars().map(flip).collect(),
        ];
        (0..variants.len())
            .map(|k| &variants[(variant + k) % variants.len()])
            .find(|v| **v != base && !self.palette.contains(v))
            .cloned()
    }

    /// The id a call uses for a backup: a placeholder when the plan has such a backup.
    pub(super) fn resolve_backup(&self, r: BackupRef) -> String {
        let created = |k: usize| (self.created > 0).then(|| created_ref(k % self.created));
        let fixture = |slot: usize, n: usize| {
            let with_backups = |name: &&String| self.fixture_backups(name) > 0;
            let preferred = self
                .palette
                .get(slot % self.palette.len().max(1))
                .filter(with_backups);
            let server = preferred.or_else(|| self.recent.iter().find(with_backups))?;
            Some(backup_ref(server, n % self.fixture_backups(server)))
        };
        let unknown = |i: usize| UNKNOWN_BACKUP_IDS[i % UNKNOWN_BACKUP_IDS.len()].to_string();
        match r {
            BackupRef::Created(k) => created(k)
                .or_else(|| fixture(k, k))
                .unwrap_or_else(|| unknown(0)),
            BackupRef::Fixture(slot, n) => fixture(slot, n)
                .or_else(|| created(n))
                .unwrap_or_else(|| unknown(0)),
            BackupRef::Unknown(i) => unknown(i),
            BackupRef::Malformed(i) => {
                MALFORMED_BACKUP_IDS[i % MALFORMED_BACKUP_IDS.len()].to_string()
            }
        }
    }

    /// A call that changes nothing, in place of one that cannot be made: a listing, or (when
    /// the endpoint serves no listing) a CreateBackup on a server that does not exist.
    pub(super) fn look(&mut self) {
        let serves = |op| self.config.operations.contains(&op);
        if serves(Operation::DescribeBackups) {
            self.call(Operation::DescribeBackups, json!({}));
        } else if serves(Operation::DescribeServers) {
            self.call(Operation::DescribeServers, json!({}));
        } else {
            let name = self.unknown_name(0);
            self.call(Operation::CreateBackup, json!({ "ServerName": name }));
        }
    }

    pub(super) fn call(&mut self, op: Operation, input: Value) {
        self.push(Step::call(op, input));
    }

    /// Appends `step` and advances the world by the step's reference reading (the outcome
    /// the bundled emulator serves).
    pub(super) fn push(&mut self, step: Step) {
        let possible = match &step {
            Step::Call {
                operation, input, ..
            } => {
                let input = resolved(input, &|r| Some(model_id(r)));
                model::call_first(&self.world, *operation, &input)
            }
            _ => model::step_first(&self.world, &step.action(None)),
        };
        self.world = possible.world;
        // The bundled emulator's deletions are immediate.
        self.world.forget_deleting();
        self.bind_ids(&step);
        self.steps.push(step);
    }

    /// Gives the backups `step` made the ids of the placeholders the plan names them by.
    pub(super) fn bind_ids(&mut self, step: &Step) {
        let put = match step {
            Step::PutServer { server_name, .. } => Some(server_name.as_str()),
            _ => None,
        };
        let mut n = 0;
        // Newest first, as a listing shows them.
        for b in Arc::make_mut(&mut self.world.backups).iter_mut().rev() {
            if b.id.is_some() {
                continue;
            }
            b.id = Some(model_id(&match put {
                Some(server) => IdRef::Backup {
                    server: server.to_string(),
                    n,
                },
                None => IdRef::Created(self.created + n),
            }));
            n += 1;
        }
        if put.is_none() {
            self.created += n;
        }
    }

    pub(super) fn server_call(&mut self, op: Operation, target: Target) -> String {
        let name = self.resolve(target);
        self.call(op, json!({ "ServerName": name }));
        name
    }

    /// Reads one choice: appends its step and advances the world by it.
    pub(super) fn read(&mut self, choice: &Choice) {
        if !self.config.control_plane && !choice_allowed_without_control_plane(choice) {
            // Never reached through `plan_strategy`; kept so a hand-made choice list is safe.
            self.look();
            return;
        }
        match *choice {
            Choice::DescribeAccountAttributes => {
                self.call(Operation::DescribeAccountAttributes, json!({}))
            }
            Choice::DescribeServers(None) => self.call(Operation::DescribeServers, json!({})),
            Choice::DescribeServers(Some(t)) => {
                self.server_call(Operation::DescribeServers, t);
            }
            Choice::DescribeBackups(filter) => {
                let input = match filter {
                    BackupsFilter::All => json!({}),
                    BackupsFilter::Server(t) => json!({ "ServerName": self.resolve(t) }),
                    BackupsFilter::Id(r) => json!({ "BackupId": self.resolve_backup(r) }),
                    BackupsFilter::Paging(i) => paging_members(i),
                };
                self.call(Operation::DescribeBackups, input);
            }
            Choice::CreateBackup(input) => self.create_backup(input),
            Choice::PutServer {
                slot,
                status,
                manual,
                automated,
            } => self.put_server(slot, status, manual, automated),
            Choice::Settle(backup_status) => self.push(Step::Settle { backup_status }),
            Choice::DeleteBackup(r) => self.delete_backup(r),
            Choice::UpdateServer(t, u) => {
                let name = self.resolve(t);
                let (member, value) = update_member(u);
                self.call(
                    Operation::UpdateServer,
                    json!({ "ServerName": name, member: value }),
                );
            }
            Choice::StartMaintenance(t) => {
                self.server_call(Operation::StartMaintenance, t);
            }
            Choice::DeleteServer(t) => {
                self.server_call(Operation::DeleteServer, t);
            }
            Choice::RestoreServer(t, r) => {
                let name = self.resolve(t);
                let id = self.resolve_backup(r);
                self.call(
                    Operation::RestoreServer,
                    json!({ "ServerName": name, "BackupId": id }),
                );
            }
            Choice::Parallel(ref calls) => self.parallel(calls),
            Choice::Reset => {
                self.recent.clear();
                self.push(Step::Reset {});
            }
        }
    }

    /// Reads a block's calls as if in order (the world only steers) and sends them at once; a
    /// block shrunk to one call is that call.
    pub(super) fn parallel(&mut self, choices: &[Choice]) {
        let start = self.steps.len();
        for c in choices {
            self.read(c);
        }
        let calls: Vec<ParallelCall> = self
            .steps
            .drain(start..)
            .filter_map(|s| match s {
                Step::Call {
                    operation, input, ..
                } => Some(ParallelCall::new(operation, input)),
                _ => None,
            })
            .collect();
        match calls.len() {
            0 => {}
            // Read already: the world has advanced by it.
            1 => self
                .steps
                .push(Step::call(calls[0].operation, calls[0].input.clone())),
            _ => self.steps.push(Step::Parallel { calls }),
        }
    }

    pub(super) fn put_server(
        &mut self,
        slot: usize,
        status: ServerStatus,
        manual: u32,
        automated: u32,
    ) {
        let name = SERVER_NAMES[slot % SERVER_NAMES.len()].to_string();
        self.push(Step::PutServer {
            server_name: name.clone(),
            status,
            engine: ENGINE.to_string(),
            manual_backups: manual,
            automated_backups: automated,
        });
        self.touch(&name);
    }

    pub(super) fn create_backup(&mut self, choice: CreateInput) {
        let mut name = self.resolve(choice.target);
        let build = |name: &str| {
            let mut input = Map::new();
            input.insert("ServerName".into(), json!(name));
            if let Some(d) = choice.description.value() {
                input.insert("Description".into(), d);
            }
            if let Some(t) = choice.tags.value() {
                input.insert("Tags".into(), t);
            }
            if let Some(m) = choice.malformed {
                m.apply(&mut input);
            }
            Value::Object(input)
        };
        let mut input = build(&name);
        let named_server = |input: &Value| {
            input
                .get("ServerName")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if !self.config.control_plane
            && named_server(&input).is_some_and(|n| self.is_named_server_ignoring_case(&n))
            && !model::has_definite(&model::validation_errors(Operation::CreateBackup, &input))
        {
            // A backup that may really be made, and billed.
            if self.paid >= MAX_PAID_BACKUPS {
                name = self.unknown_name(0);
                input = build(&name);
            } else {
                self.paid += 1;
            }
        }
        self.call(Operation::CreateBackup, input);
    }

    pub(super) fn is_named_server_ignoring_case(&self, name: &str) -> bool {
        self.config
            .servers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
    }

    pub(super) fn delete_backup(&mut self, r: BackupRef) {
        let id = if self.config.control_plane {
            self.resolve_backup(r)
        } else {
            // Only backups this plan created; with none, look instead.
            if self.created == 0 {
                self.look();
                return;
            }
            let k = match r {
                BackupRef::Created(k) | BackupRef::Fixture(_, k) => k,
                BackupRef::Unknown(k) | BackupRef::Malformed(k) => k,
            };
            created_ref(k % self.created)
        };
        self.call(Operation::DeleteBackup, json!({ "BackupId": id }));
    }
}

pub(super) fn choice_allowed_without_control_plane(choice: &Choice) -> bool {
    !matches!(
        choice,
        Choice::PutServer { .. }
            | Choice::Settle(_)
            | Choice::Reset
            | Choice::Parallel(_)
            | Choice::UpdateServer(..)
            | Choice::StartMaintenance(_)
            | Choice::DeleteServer(_)
            | Choice::RestoreServer(..)
    )
}
