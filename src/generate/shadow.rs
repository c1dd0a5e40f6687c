//! Reading choices against the shadow state: what the generator believes the endpoint holds,
//! so that server names and backup ids are picked from what exists where a step stands.

use super::*;

/// A server as the generator believes it is.
#[derive(Debug, Clone)]
pub(super) struct ShadowServer {
    pub(super) name: String,
    pub(super) status: ServerStatus,
    /// The status before a backup began, while BACKING_UP.
    pub(super) previous: Option<ServerStatus>,
    pub(super) manual: u32,
    /// Backups the control plane made with the server (`${backup:NAME:N}`, N below this).
    pub(super) fixture_backups: usize,
}

/// What the generator believes the endpoint holds, after the steps so far. It follows the
/// model's reference reading; it only steers choices, it never judges.
#[derive(Debug)]
pub(super) struct Shadow<'a> {
    pub(super) config: &'a GenConfig,
    /// The names servers may have: [`SERVER_NAMES`] or the user's servers.
    pub(super) palette: Vec<String>,
    pub(super) servers: Vec<ShadowServer>,
    /// Server names, most recently put or named first.
    pub(super) recent: Vec<String>,
    /// The server of each backup this plan created (`${created:N}`), and whether it was deleted.
    pub(super) created: Vec<(String, bool)>,
    /// CreateBackups that could succeed on a named server (no control plane).
    pub(super) paid: usize,
    pub(super) steps: Vec<Step>,
}

impl<'a> Shadow<'a> {
    pub(super) fn new(config: &'a GenConfig) -> Shadow<'a> {
        // With a control plane the plan starts from nothing (the runner resets first); without
        // one, the user's servers exist, in a state the generator cannot know (HEALTHY assumed).
        let (palette, servers) = if config.control_plane {
            (
                SERVER_NAMES.iter().map(|s| s.to_string()).collect(),
                Vec::new(),
            )
        } else {
            let servers = config
                .servers
                .iter()
                .map(|name| ShadowServer {
                    name: name.clone(),
                    status: ServerStatus::Healthy,
                    previous: None,
                    manual: 0,
                    fixture_backups: 0,
                })
                .collect();
            (config.servers.clone(), servers)
        };
        let recent = servers
            .iter()
            .map(|s: &ShadowServer| s.name.clone())
            .collect();
        Shadow {
            config,
            palette,
            servers,
            recent,
            created: Vec::new(),
            paid: 0,
            steps: Vec::new(),
        }
    }

    pub(super) fn server(&self, name: &str) -> Option<&ShadowServer> {
        self.servers.iter().find(|s| s.name == name)
    }

    pub(super) fn server_mut(&mut self, name: &str) -> Option<&mut ShadowServer> {
        self.servers.iter_mut().find(|s| s.name == name)
    }

    pub(super) fn touch(&mut self, name: &str) {
        if self.server(name).is_some() {
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
        self.server(name)
            .map(|s| s.name.clone())
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
        let created =
            |k: usize| (!self.created.is_empty()).then(|| created_ref(k % self.created.len()));
        let fixture = |slot: usize, n: usize| {
            let preferred = self
                .palette
                .get(slot % self.palette.len().max(1))
                .and_then(|name| self.server(name))
                .filter(|s| s.fixture_backups > 0);
            let server = preferred.or_else(|| {
                self.recent
                    .iter()
                    .filter_map(|name| self.server(name))
                    .find(|s| s.fixture_backups > 0)
            })?;
            Some(backup_ref(&server.name, n % server.fixture_backups))
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
        self.steps.push(Step::call(op, input));
    }

    pub(super) fn server_call(&mut self, op: Operation, target: Target) -> String {
        let name = self.resolve(target);
        self.call(op, json!({ "ServerName": name }));
        name
    }

    /// Reads one choice: appends its step and updates the shadow.
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
            Choice::Settle(backup_status) => {
                for s in &mut self.servers {
                    if s.status == ServerStatus::BackingUp {
                        s.status = s.previous.take().unwrap_or(ServerStatus::Healthy);
                    }
                }
                self.steps.push(Step::Settle { backup_status });
            }
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
                let name = self.server_call(Operation::StartMaintenance, t);
                if let Some(s) = self.server_mut(&name) {
                    if matches!(s.status, ServerStatus::Healthy | ServerStatus::Unhealthy) {
                        s.status = ServerStatus::UnderMaintenance;
                    }
                }
            }
            Choice::DeleteServer(t) => {
                let name = self.server_call(Operation::DeleteServer, t);
                if let Some(s) = self.server_mut(&name) {
                    if matches!(
                        s.status,
                        ServerStatus::Healthy
                            | ServerStatus::Running
                            | ServerStatus::Unhealthy
                            | ServerStatus::ConnectionLost
                            | ServerStatus::Failed
                            | ServerStatus::Terminated
                    ) {
                        s.status = ServerStatus::Deleting;
                    }
                }
            }
            Choice::RestoreServer(t, r) => {
                let name = self.resolve(t);
                let id = self.resolve_backup(r);
                self.call(
                    Operation::RestoreServer,
                    json!({ "ServerName": name, "BackupId": id }),
                );
                if let Some(s) = self.server_mut(&name) {
                    if id.starts_with("${")
                        && matches!(
                            s.status,
                            ServerStatus::ConnectionLost
                                | ServerStatus::Healthy
                                | ServerStatus::Running
                                | ServerStatus::Unhealthy
                                | ServerStatus::Terminated
                        )
                    {
                        s.status = ServerStatus::Restoring;
                    }
                }
            }
            Choice::Parallel(ref calls) => self.parallel(calls),
            Choice::Reset => {
                self.servers.clear();
                self.recent.clear();
                for c in &mut self.created {
                    c.1 = true;
                }
                self.steps.push(Step::Reset {});
            }
        }
    }

    /// Reads a block's calls as if in order (the shadow only steers) and sends them at once; a
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
            1 => self.call(calls[0].operation, calls[0].input.clone()),
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
        self.servers.retain(|s| s.name != name);
        for c in &mut self.created {
            if c.0 == name {
                c.1 = true;
            }
        }
        self.servers.push(ShadowServer {
            name: name.clone(),
            status,
            previous: None,
            manual,
            fixture_backups: (manual + automated) as usize,
        });
        self.touch(&name);
        self.steps.push(Step::PutServer {
            server_name: name,
            status,
            engine: "ChefAutomate".to_string(),
            manual_backups: manual,
            automated_backups: automated,
        });
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
        // Validation is the costly part of reading a plan (10000 characters, 201 tags): run it
        // only when the answer matters.
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
        let limit = self.config.limit;
        let target = named_server(&input);
        let may_succeed = target
            .as_deref()
            .and_then(|n| self.server(n))
            .is_some_and(|s| s.status.may_back_up() && s.manual < limit);
        if may_succeed && model::validation_errors(Operation::CreateBackup, &input).is_empty() {
            let s = self
                .server_mut(target.as_deref().unwrap_or_default())
                .expect("the server exists");
            s.previous = Some(s.status);
            s.status = ServerStatus::BackingUp;
            s.manual += 1;
            let server = s.name.clone();
            self.created.push((server, false));
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
        if !self.config.control_plane {
            // Only backups this plan created; with none, look instead.
            if self.created.is_empty() {
                self.look();
                return;
            }
            let k = match r {
                BackupRef::Created(k) | BackupRef::Fixture(_, k) => k,
                BackupRef::Unknown(k) | BackupRef::Malformed(k) => k,
            };
            let id = created_ref(k % self.created.len());
            self.forget_created(k % self.created.len());
            self.call(Operation::DeleteBackup, json!({ "BackupId": id }));
            return;
        }
        let id = self.resolve_backup(r);
        if let Some(n) = id
            .strip_prefix("${created:")
            .and_then(|s| s.strip_suffix('}'))
            .and_then(|s| s.parse::<usize>().ok())
        {
            self.forget_created(n);
        } else if let Some(server) = id
            .strip_prefix("${backup:")
            .and_then(|s| s.rsplit_once(':'))
            .map(|(server, _)| server.to_string())
        {
            if let Some(s) = self.server_mut(&server) {
                s.manual = s.manual.saturating_sub(1);
            }
        }
        self.call(Operation::DeleteBackup, json!({ "BackupId": id }));
    }

    pub(super) fn forget_created(&mut self, n: usize) {
        let Some((server, deleted)) = self.created.get(n).cloned() else {
            return;
        };
        if deleted {
            return;
        }
        self.created[n].1 = true;
        if let Some(s) = self.server_mut(&server) {
            s.manual = s.manual.saturating_sub(1);
        }
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
