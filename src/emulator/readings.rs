//! The legal readings the emulator can serve (`emulate --reading NAME`), and the decisions they
//! make.
//!
//! Where the documents leave a choice (`rules-and-ambiguities.md` A1-A18, and what the control
//! plane's contract leaves to the endpoint), the model accepts every reading and the emulator
//! serves its reference reading. A reading served here is written from the documents, not
//! picked among the model's outcomes: the limit counts what the reading counts, a wrong JSON
//! type is found by walking the service model's shapes, and so on. So a run against a reading
//! checks the model against a second, independent realization of the same text.
//!
//! A reading is a property of the endpoint: the emulator serves the same ones for the whole run.

use std::sync::Arc;

use serde_json::Value;

use crate::exit::ConfigError;
use crate::model::rules::{self, RuleId};
use crate::model::service::{ServiceModel, Shape};
use crate::model::{
    self, Action, BackupStatus, BackupType, ErrorKind, Expected, Operation, Pending, Possible,
    ServerStatus, World,
};

/// One reading of an ambiguous rule, as the emulator serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reading {
    LimitPerAccount,
    LimitTen,
    CountOkOnly,
    LimitBeforeState,
    FreshHealthAfterBackup,
    CreatedOk,
    IsoBackupId,
    DeleteServerValidation,
    ErrorTypeNamespaced,
    ErrorTypeSuffixed,
    ErrorTypeHeader,
    DescribeUnknownServerEmpty,
    TypeErrorSerialization,
    RetentionZeroRefused,
    DeleteInProgressKeepsBackingUp,
    AsyncDelete,
    SeededInThePast,
    PartialOperationsDeclared,
    PartialOperations,
}

/// Readings that cannot be served together: `all` serves the first of each group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive {
    /// Both set `__type`.
    ErrorTypeForm,
    /// `created-ok` leaves no backup in progress, so no backup can be deleted while it runs
    /// and the server is never BACKING_UP through the API.
    BackupInProgress,
    /// DeleteServer is not served under a partial operation set.
    OperationSet,
}

/// What `--list-readings` prints about a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadingInfo {
    /// The `--reading` value.
    pub name: &'static str,
    /// What the emulator does under it, in one line.
    pub description: &'static str,
    /// Where the documents leave the choice: `A1`-`A18`, `rule 2`, or `interfaces 4`.
    pub ambiguity: &'static str,
    pub exclusive: Option<Exclusive>,
}

const fn info(
    name: &'static str,
    ambiguity: &'static str,
    exclusive: Option<Exclusive>,
    description: &'static str,
) -> ReadingInfo {
    ReadingInfo {
        name,
        description,
        ambiguity,
        exclusive,
    }
}

impl Reading {
    /// Every reading, in `--list-readings` order; within an exclusive group, the one `all`
    /// serves comes first.
    pub const ALL: [Reading; 19] = [
        Reading::LimitPerAccount,
        Reading::LimitTen,
        Reading::CountOkOnly,
        Reading::LimitBeforeState,
        Reading::FreshHealthAfterBackup,
        Reading::DeleteInProgressKeepsBackingUp,
        Reading::CreatedOk,
        Reading::IsoBackupId,
        Reading::ErrorTypeNamespaced,
        Reading::ErrorTypeSuffixed,
        Reading::ErrorTypeHeader,
        Reading::DescribeUnknownServerEmpty,
        Reading::TypeErrorSerialization,
        Reading::RetentionZeroRefused,
        Reading::AsyncDelete,
        Reading::SeededInThePast,
        Reading::PartialOperationsDeclared,
        Reading::PartialOperations,
        Reading::DeleteServerValidation,
    ];

    pub fn info(self) -> ReadingInfo {
        use Exclusive::*;
        match self {
            Reading::LimitPerAccount => info("limit-per-account", "A1", None, "the manual-backup limit counts every server's manual backups (per account and region)"),
            Reading::LimitTen => info("limit-10", "A2", None, "the limit is 10 (the user guide); capabilities and DescribeAccountAttributes say 10"),
            Reading::CountOkOnly => info("count-ok-only", "A3", None, "only OK manual backups count toward the limit (IN_PROGRESS, FAILED, DELETING do not)"),
            Reading::LimitBeforeState => info("limit-before-state", "A4", None, "at the limit and in a status that cannot back up (BACKING_UP): LimitExceededException before InvalidStateException"),
            Reading::FreshHealthAfterBackup => info("fresh-health-after-backup", "A5", None, "a backup that finishes by itself leaves the server HEALTHY, not in its earlier status (settle still restores it)"),
            Reading::DeleteInProgressKeepsBackingUp => info("delete-in-progress-keeps-backing-up", "A17", Some(BackupInProgress), "DeleteBackup of the backup still IN_PROGRESS is accepted; the server stays BACKING_UP until the job ends"),
            Reading::CreatedOk => info("created-ok", "A6", Some(BackupInProgress), "CreateBackup answers Status OK: the backup is finished at once and the server is not BACKING_UP"),
            Reading::IsoBackupId => info("iso-backup-id", "A7", None, "BackupIds look like ServerName-2016-11-19T23:42:40.240Z"),
            Reading::DeleteServerValidation => info("delete-server-validation", "A10", Some(OperationSet), "DeleteServer while an operation is in progress gives ValidationException (\"Cannot delete the server ...\")"),
            Reading::ErrorTypeNamespaced => info("error-type-namespaced", "A12", Some(ErrorTypeForm), "errors say __type com.amazonaws.opsworkscm#Name with Message (capital M), no X-Amzn-Errortype"),
            Reading::ErrorTypeSuffixed => info("error-type-suffixed", "A12", Some(ErrorTypeForm), "errors say __type Name:http://internal.amazon.com/coral/com.amazonaws.opsworkscm/, no X-Amzn-Errortype"),
            Reading::ErrorTypeHeader => info("error-type-header", "rule 2", None, "errors carry X-Amzn-Errortype in AWS's long form Name:http://internal.amazon.com/coral/com.amazonaws.opsworkscm/"),
            Reading::DescribeUnknownServerEmpty => info("describe-unknown-server-empty", "A13", None, "DescribeBackups with an unknown ServerName answers an empty list"),
            Reading::TypeErrorSerialization => info("type-error-serialization", "A15", None, "a member of the wrong JSON type gives SerializationException (before any validation)"),
            Reading::RetentionZeroRefused => info("retention-zero-refused", "A16", None, "UpdateServer BackupRetentionCount 0 gives ValidationException"),
            Reading::AsyncDelete => info("async-delete", "interfaces 4", None, "DeleteBackup leaves the backup listed as DELETING until the deletion ends by itself (--backup-duration) or at the next settle"),
            Reading::SeededInThePast => info("seeded-in-the-past", "interfaces 4", None, "control-plane backups are dated a day in the past, one second apart"),
            Reading::PartialOperationsDeclared => info("partial-operations-declared", "interfaces 4", Some(OperationSet), "RestoreServer, StartMaintenance, DeleteServer, DescribeAccountAttributes give UnknownOperationException; capabilities list the served operations"),
            Reading::PartialOperations => info("partial-operations", "interfaces 4", Some(OperationSet), "RestoreServer, StartMaintenance, DeleteServer, DescribeAccountAttributes give UnknownOperationException, without saying so in capabilities"),
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn from_name(name: &str) -> Option<Reading> {
        Reading::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// Every reading, for `--list-readings`.
pub fn readings() -> Vec<ReadingInfo> {
    Reading::ALL.iter().map(|r| r.info()).collect()
}

/// The readings an emulator serves (empty: the reference readings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ReadingSet(u32);

impl ReadingSet {
    pub const REFERENCE: ReadingSet = ReadingSet(0);

    pub fn of(readings: &[Reading]) -> ReadingSet {
        ReadingSet(readings.iter().fold(0, |bits, r| bits | 1 << *r as u32))
    }

    /// Every reading that can be combined: the first of each exclusive group.
    pub fn all() -> ReadingSet {
        let mut taken: Vec<Exclusive> = Vec::new();
        let mut chosen = Vec::new();
        for r in Reading::ALL {
            match r.info().exclusive {
                Some(group) if taken.contains(&group) => continue,
                Some(group) => taken.push(group),
                None => {}
            }
            chosen.push(r);
        }
        ReadingSet::of(&chosen)
    }

    /// [`all`](Self::all) with every operation served: the set mutants run on top of (a bug in
    /// an operation the endpoint does not serve cannot show).
    pub fn all_served() -> ReadingSet {
        let partial = ReadingSet::of(&[
            Reading::PartialOperationsDeclared,
            Reading::PartialOperations,
        ]);
        ReadingSet(ReadingSet::all().0 & !partial.0)
    }

    pub fn contains(self, r: Reading) -> bool {
        self.0 & (1 << r as u32) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Reading> {
        Reading::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The `--reading` values, `all` included; refuses unknown names and exclusive pairs.
    pub fn parse(names: &[String]) -> Result<ReadingSet, ConfigError> {
        let mut set = ReadingSet::REFERENCE;
        for name in names {
            let add = if name == "all" {
                ReadingSet::all()
            } else {
                let r = Reading::from_name(name).ok_or_else(|| ConfigError {
                    message: format!("unknown reading {name:?}"),
                    hint: "`opsworkscm-conformance emulate --list-readings` lists them; `all` \
                           serves every one that can be served together"
                        .into(),
                })?;
                ReadingSet::of(&[r])
            };
            set = ReadingSet(set.0 | add.0);
        }
        for a in set.iter() {
            let clash = set.iter().find(|b| {
                *b > a && b.info().exclusive.is_some() && b.info().exclusive == a.info().exclusive
            });
            if let Some(b) = clash {
                let group = a.info().exclusive;
                let served = Reading::ALL
                    .into_iter()
                    .find(|r| r.info().exclusive == group)
                    .unwrap_or(a);
                return Err(ConfigError {
                    message: format!(
                        "readings {} and {} cannot be served together",
                        a.name(),
                        b.name()
                    ),
                    hint: format!("pick one; `all` serves {}", served.name()),
                });
            }
        }
        Ok(set)
    }

    /// The names, comma-separated (`reference` when empty).
    pub fn label(self) -> String {
        if self == ReadingSet::all() {
            return "all".into();
        }
        if self == ReadingSet::all_served() {
            return "all-served".into();
        }
        let names: Vec<&str> = self.iter().map(Reading::name).collect();
        if names.is_empty() {
            "reference".into()
        } else {
            names.join(",")
        }
    }

    /// The manual-backup limit served: 10 under `limit-10`, else `configured`.
    pub fn limit(self, configured: u32) -> u32 {
        if self.contains(Reading::LimitTen) {
            10
        } else {
            configured
        }
    }

    /// The model's endpoint-wide readings that match these (for a coherent world).
    pub fn model_readings(self) -> model::Readings {
        model::Readings {
            limit_scope: if self.contains(Reading::LimitPerAccount) {
                model::LimitScope::PerAccount
            } else {
                model::LimitScope::PerServer
            },
            after_backup: if self.contains(Reading::FreshHealthAfterBackup) {
                model::AfterBackup::FreshHealth
            } else {
                model::AfterBackup::Previous
            },
            picks: Default::default(),
        }
    }

    /// Whether the endpoint serves `op` (interfaces.md 4: an endpoint may serve part of the API).
    pub fn serves(self, op: Operation) -> bool {
        let partial = self.contains(Reading::PartialOperations)
            || self.contains(Reading::PartialOperationsDeclared);
        !(partial && UNSERVED.contains(&op))
    }

    /// The operations the capabilities answer declares (None: it says nothing).
    pub fn declared_operations(self) -> Option<Vec<&'static str>> {
        self.contains(Reading::PartialOperationsDeclared).then(|| {
            Operation::ALL
                .into_iter()
                .filter(|op| self.serves(*op))
                .map(Operation::name)
                .collect()
        })
    }

    /// The status a server takes when its backup finishes by itself (A5).
    pub fn after_backup(self, previous: Option<ServerStatus>) -> ServerStatus {
        match previous {
            Some(p) if !self.contains(Reading::FreshHealthAfterBackup) => p,
            _ => ServerStatus::Healthy,
        }
    }

    /// How errors are written on the wire (A12, rule 2).
    pub fn error_form(self) -> ErrorForm {
        let type_form = if self.contains(Reading::ErrorTypeNamespaced) {
            TypeForm::Namespaced
        } else if self.contains(Reading::ErrorTypeSuffixed) {
            TypeForm::Suffixed
        } else {
            TypeForm::Plain
        };
        let header = if self.contains(Reading::ErrorTypeHeader) {
            HeaderForm::Long
        } else if type_form == TypeForm::Plain {
            HeaderForm::Plain
        } else {
            HeaderForm::Absent
        };
        ErrorForm { type_form, header }
    }
}

/// The operations a partial endpoint does not serve.
const UNSERVED: [Operation; 4] = [
    Operation::RestoreServer,
    Operation::StartMaintenance,
    Operation::DeleteServer,
    Operation::DescribeAccountAttributes,
];

/// The service's namespace in `__type`.
const NAMESPACE: &str = "com.amazonaws.opsworkscm";
/// The suffix AWS's Coral services append to error names.
const CORAL_SUFFIX: &str = "http://internal.amazon.com/coral/com.amazonaws.opsworkscm/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeForm {
    /// `Name`, with `message`.
    Plain,
    /// `com.amazonaws.opsworkscm#Name`, with `Message`.
    Namespaced,
    /// `Name:http://internal.amazon.com/coral/com.amazonaws.opsworkscm/`, with `message`.
    Suffixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderForm {
    /// `X-Amzn-Errortype: Name`.
    Plain,
    /// `X-Amzn-Errortype: Name:http://internal.amazon.com/coral/...`.
    Long,
    Absent,
}

/// How an endpoint writes its errors (aws-json only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorForm {
    pub type_form: TypeForm,
    pub header: HeaderForm,
}

impl ErrorForm {
    pub const PLAIN: ErrorForm = ErrorForm {
        type_form: TypeForm::Plain,
        header: HeaderForm::Plain,
    };

    /// The `__type` value and the message member's name.
    pub fn body(self, name: &str) -> (String, &'static str) {
        match self.type_form {
            TypeForm::Plain => (name.to_string(), "message"),
            TypeForm::Namespaced => (format!("{NAMESPACE}#{name}"), "Message"),
            TypeForm::Suffixed => (format!("{name}:{CORAL_SUFFIX}"), "message"),
        }
    }

    /// The `X-Amzn-Errortype` value, if sent.
    pub fn header(self, name: &str) -> Option<String> {
        match self.header {
            HeaderForm::Plain => Some(name.to_string()),
            HeaderForm::Long => Some(format!("{name}:{CORAL_SUFFIX}")),
            HeaderForm::Absent => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// The outcome the emulator serves for one call under `readings`: the reference path of the
/// model, except where a reading decides, from the documents, otherwise.
pub(crate) fn decide(
    world: &World,
    op: Operation,
    input: &Value,
    readings: ReadingSet,
) -> Possible {
    if readings.contains(Reading::TypeErrorSerialization) && wrong_json_type(op, input) {
        // A15: AWS's JSON services fail to deserialize before they validate anything.
        return error(
            world,
            ErrorKind::SerializationException,
            rules::AMBIGUITY_TYPE_ERROR_KIND,
        );
    }
    // Only the readings below need the input's validity: the reference reading leaves it to
    // the model's step (which validates anyway), so it is not validated twice.
    let valid = || !model::has_definite(&model::validation_errors(op, input));
    let name = input.get("ServerName").and_then(Value::as_str);
    let server = name.and_then(|n| world.servers.get(n));
    match op {
        Operation::UpdateServer
            if readings.contains(Reading::RetentionZeroRefused)
                && input.get("BackupRetentionCount").and_then(Value::as_i64) == Some(0)
                && valid() =>
        {
            // A16: CreateServer's BackupRetentionCount is `min 1`; an endpoint may hold
            // UpdateServer's to the same bound.
            return error(world, ErrorKind::ValidationException, RETENTION_ZERO);
        }
        Operation::DeleteServer
            if readings.contains(Reading::DeleteServerValidation)
                && server.is_some_and(|s| s.status.has_operation_in_progress())
                && valid() =>
        {
            // A10: AWS's CloudFormation handler expects ValidationException here.
            return error(
                world,
                ErrorKind::ValidationException,
                rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS,
            );
        }
        Operation::DescribeBackups
            if readings.contains(Reading::DescribeUnknownServerEmpty)
                && input.get("BackupId").is_none()
                && name.is_some()
                && server.is_none()
                && valid() =>
        {
            return empty_listing(world);
        }
        Operation::DeleteBackup
            if readings.contains(Reading::DeleteInProgressKeepsBackingUp) && valid() =>
        {
            if let Some(p) = delete_in_progress(world, input) {
                return p;
            }
        }
        Operation::CreateBackup => return create_backup(world, input, readings),
        _ => {}
    }
    reference(world, op, input)
}

/// The rule (and message key) of `retention-zero-refused`'s ValidationException.
pub(crate) const RETENTION_ZERO: RuleId = rules::AMBIGUITY_RETENTION_ZERO;

/// The model's reference reading: its first outcome.
pub(crate) fn reference(world: &World, op: Operation, input: &Value) -> Possible {
    first(model::step(
        world,
        &Action::Call {
            op,
            input: input.clone(),
        },
    ))
}

pub(crate) fn first(possibles: Vec<Possible>) -> Possible {
    possibles
        .into_iter()
        .next()
        .expect("the model allows at least one outcome for every action")
}

pub(crate) fn error(world: &World, kind: ErrorKind, rule: RuleId) -> Possible {
    Possible {
        expected: Expected::Error(kind),
        world: world.clone(),
        rule,
        exercised: vec![],
    }
}

/// CreateBackup with the limit counted the emulator's way (rule 7 with A1, A2, A3, A4): the
/// model answers everything but the limit (validation, not-found, the state gate, the effect),
/// and the emulator refuses when its own count reaches the limit.
fn create_backup(world: &World, input: &Value, readings: ReadingSet) -> Possible {
    let mut unlimited = world.clone();
    unlimited.limit = u32::MAX;
    let mut p = reference(&unlimited, Operation::CreateBackup, input);
    p.world.limit = world.limit;
    let name = input
        .get("ServerName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let at_limit = || counted(world, name, readings) >= world.limit;
    match &p.expected {
        Expected::Error(ErrorKind::InvalidStateException)
            if readings.contains(Reading::LimitBeforeState) && at_limit() =>
        {
            error(
                world,
                ErrorKind::LimitExceededException,
                rules::AMBIGUITY_ERROR_PRECEDENCE,
            )
        }
        Expected::CreatedBackup { .. } if at_limit() => error(
            world,
            ErrorKind::LimitExceededException,
            rules::CREATE_BACKUP_LIMIT,
        ),
        Expected::CreatedBackup { .. } if readings.contains(Reading::CreatedOk) => {
            // A6: the backup is done by the time the answer is sent.
            finish_at_once(&mut p.world, name, readings);
            p
        }
        _ => p,
    }
}

/// The manual backups that count toward `server`'s limit: the server's (or, per account, every
/// server's), in every status, or only OK ones under `count-ok-only`.
pub(crate) fn counted(world: &World, server: &str, readings: ReadingSet) -> u32 {
    let per_account = readings.contains(Reading::LimitPerAccount);
    let ok_only = readings.contains(Reading::CountOkOnly);
    world
        .backups
        .iter()
        .filter(|b| b.kind == BackupType::Manual)
        .filter(|b| per_account || b.server == server)
        .filter(|b| !ok_only || b.status == BackupStatus::Ok)
        .count() as u32
}

/// `created-ok`: the new backup (the last) is OK and the server out of BACKING_UP.
fn finish_at_once(world: &mut World, server: &str, readings: ReadingSet) {
    let previous = match world.servers.get(server).and_then(|s| s.pending.clone()) {
        Some(Pending::Backup { previous }) => previous,
        _ => return,
    };
    world.finish_backup(server, BackupStatus::Ok, readings.after_backup(previous));
}

/// `describe-unknown-server-empty` (A13): no server by that name, so no backups to list.
fn empty_listing(world: &World) -> Possible {
    Possible {
        expected: Expected::Backups {
            listed: vec![],
            maybe_gone: vec![],
        },
        world: world.clone(),
        rule: rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER,
        exercised: vec![],
    }
}

/// `delete-in-progress-keeps-backing-up` (A17): the backup still being made is deleted, but the
/// backup job goes on, so its server stays BACKING_UP until the job ends. None when the backup
/// is not IN_PROGRESS (the reference path decides).
fn delete_in_progress(world: &World, input: &Value) -> Option<Possible> {
    let id = input.get("BackupId").and_then(Value::as_str)?;
    let i = world
        .backups
        .iter()
        .position(|b| b.id.as_deref() == Some(id))?;
    if world.backups[i].status != BackupStatus::InProgress {
        return None;
    }
    let mut after = world.clone();
    Arc::make_mut(&mut after.backups)[i].status = BackupStatus::Deleting;
    let server = world.backups[i].server.clone();
    if let Some(s) = after.server_mut(&server) {
        s.freed_slots += 1;
    }
    Some(Possible {
        expected: Expected::Done,
        world: after,
        rule: rules::DELETE_BACKUP_EFFECT,
        exercised: vec![],
    })
}

/// Whether some member of `input` has the wrong JSON type for its shape (an object where a
/// string belongs, a string where a number does, ...), walking the service model's input shape.
pub(crate) fn wrong_json_type(op: Operation, input: &Value) -> bool {
    let model = ServiceModel::get();
    match model.operation(op.name()).and_then(|o| o.input.clone()) {
        Some(shape) => mistyped(model, &shape, input),
        None => !input.is_object(),
    }
}

fn mistyped(model: &ServiceModel, shape: &str, v: &Value) -> bool {
    match model.shape(shape) {
        Shape::Structure { members, .. } => match v.as_object() {
            None => true,
            Some(obj) => members.iter().any(|(name, member)| {
                obj.get(name)
                    .filter(|v| !v.is_null())
                    .is_some_and(|v| mistyped(model, member, v))
            }),
        },
        Shape::List { member, .. } => match v.as_array() {
            None => true,
            Some(items) => items.iter().any(|item| mistyped(model, member, item)),
        },
        Shape::String { .. } => !v.is_string(),
        Shape::Integer { .. } => !(v.is_i64() || v.is_u64()),
        Shape::Boolean => !v.is_boolean(),
        Shape::Timestamp => !(v.is_number() || v.is_string()),
        Shape::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reading_has_a_unique_kebab_case_name_and_an_ambiguity() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Reading::ALL {
            let i = r.info();
            assert!(seen.insert(i.name), "duplicate {}", i.name);
            assert!(i
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(!i.ambiguity.is_empty() && !i.description.contains('\n'));
            assert_eq!(Reading::from_name(i.name), Some(r));
        }
    }

    #[test]
    fn all_takes_the_first_of_each_exclusive_group() {
        let all = ReadingSet::all();
        assert!(all.contains(Reading::ErrorTypeNamespaced));
        assert!(!all.contains(Reading::ErrorTypeSuffixed));
        assert!(all.contains(Reading::DeleteInProgressKeepsBackingUp));
        assert!(!all.contains(Reading::CreatedOk));
        assert!(all.contains(Reading::PartialOperationsDeclared));
        assert!(!all.contains(Reading::PartialOperations));
        assert!(!all.contains(Reading::DeleteServerValidation));
        assert_eq!(ReadingSet::parse(&["all".into()]), Ok(all));
        assert_eq!(all.label(), "all");
        let served = ReadingSet::all_served();
        assert!(!served.contains(Reading::PartialOperationsDeclared));
        let others: Vec<Reading> = all
            .iter()
            .filter(|r| *r != Reading::PartialOperationsDeclared)
            .collect();
        assert_eq!(served.iter().collect::<Vec<_>>(), others);
        assert_eq!(served.label(), "all-served");
    }

    #[test]
    fn exclusive_readings_and_unknown_names_are_refused_with_a_hint() {
        let err =
            ReadingSet::parse(&["error-type-namespaced".into(), "error-type-suffixed".into()])
                .unwrap_err();
        assert!(err.message.contains("cannot be served together"), "{err}");
        assert!(err.hint.contains("pick one"), "{err}");
        let err = ReadingSet::parse(&["limit-eleven".into()]).unwrap_err();
        assert!(err.hint.contains("--list-readings"), "{err}");
        // One hint, said once.
        assert_eq!(err.to_string().matches("hint").count(), 1, "{err}");
    }

    #[test]
    fn wrong_json_types_are_found_by_shape() {
        let op = Operation::CreateBackup;
        assert!(wrong_json_type(op, &serde_json::json!({"ServerName": 5})));
        assert!(wrong_json_type(
            op,
            &serde_json::json!({"ServerName": "web", "Tags": [{"Key": 1, "Value": "v"}]})
        ));
        assert!(!wrong_json_type(
            op,
            &serde_json::json!({"ServerName": "web", "Description": "x"})
        ));
        assert!(!wrong_json_type(op, &serde_json::json!({})));
        assert!(wrong_json_type(
            Operation::UpdateServer,
            &serde_json::json!({"ServerName": "w", "BackupRetentionCount": "3"})
        ));
    }
}
