//! Generated plans: the proptest strategies behind the `property::generated-sequences` cases.
//!
//! A plan is generated in two stages, so that every plan proptest shrinks to is still a plan
//! whose steps make sense where they stand:
//!
//! 1. A list of small `Choice`s (enums and indices, no names, no ids) is drawn. Each choice
//!    becomes exactly one step, so removing a choice removes one step.
//! 2. The list is read front to back against a `Shadow` of what the endpoint holds (servers,
//!    their status, manual/automated/fixture backup counts, the backups this plan created).
//!    Server names and backup ids are picked from what exists at that point, as
//!    proptest-state-machine's `select(ids)` does: a choice says "the server touched most
//!    recently" or "the second server", never a name, and a DeleteBackup says "one this plan
//!    created", which becomes `${created:N}` only when the plan has created one.
//!
//! Unknown, case-changed and invalid names are chosen on purpose (their own `Target` kinds)
//! and are never names a server of the plan can have, so a shrunk plan never calls a
//! vanished server by accident: it falls back to an existing server or, when none exists, to an
//! unknown name.
//!
//! Shrinking (`ChoiceListTree`) deletes choices one at a time, pass after pass, until no
//! deletion keeps the failure, then simplifies each remaining choice (towards read-only calls,
//! 0 backups, HEALTHY, valid input and the most recent server), and deletes again whenever a
//! simplification was kept. proptest's own `Vec` tree makes one deletion pass only, which leaves
//! steps behind whenever a deletion is needed before another one can succeed.
//!
//! A plan may hold parallel blocks (2 to 8 calls sent at once: CreateBackups on one server,
//! with UpdateServer, DescribeBackups and the like), so that a check-then-act race shows inside
//! an ordinary generated case. A block is one choice holding its own list of call choices,
//! which shrinks the same way: whole blocks are deleted like any step, then calls from a
//! block, and a block left with one call becomes that call.
//!
//! Without a control plane (real AWS) nothing is generated that changes a server or costs much:
//! no fixture steps, no UpdateServer/StartMaintenance/DeleteServer/RestoreServer, DeleteBackup
//! only of backups the plan created, and at most [`MAX_PAID_BACKUPS`] CreateBackups that could
//! succeed on a named server (each one is a real, billed backup).

use std::fmt;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::{NewTree, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};

use crate::model::{self, BackupStatus, Operation, ServerStatus, DEFAULT_LIMIT};
use crate::plan::{backup_ref, created_ref, ParallelCall, Plan, Step};

/// What the generator may do against one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// The manual-backup limit of the endpoint (50 by default).
    pub limit: u32,
    /// Whether fixture steps (put-server, settle, reset) are allowed.
    pub control_plane: bool,
    /// Without a control plane: the existing servers the user named (`--server`).
    pub servers: Vec<String>,
    /// The most steps a plan has.
    pub max_steps: usize,
    /// The API operations the endpoint serves: no other is called (CreateBackup always is).
    pub operations: Vec<Operation>,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            limit: DEFAULT_LIMIT,
            control_plane: true,
            servers: Vec::new(),
            max_steps: 24,
            operations: Operation::ALL.to_vec(),
        }
    }
}

/// The most CreateBackups a plan without a control plane sends that could succeed on a named
/// server: each one is a real backup on a real account.
pub const MAX_PAID_BACKUPS: usize = 2;

/// The names a control plane's servers get. `Web-2` differs from `web` by more than case, so
/// case-changed names (`Web`, `WEB`) stay unknown.
pub const SERVER_NAMES: [&str; 3] = ["web", "db", "Web-2"];

/// Valid server names no server of a plan has (the 40-character one is the longest valid
/// name). Distinctive, so that a real account is unlikely to have them.
pub const UNKNOWN_NAMES: [&str; 3] = [
    "conformance-ghost",
    "conformance-ghost-with-forty-characters0",
    "Ghost-1",
];

/// Names ServerName's length or pattern refuses.
pub const INVALID_NAMES: [&str; 8] = [
    "",
    "conformance-ghost-with-forty-one-characte",
    "1web",
    "web_1",
    "web 1",
    " web",
    "-web",
    "w\u{e9}b",
];

/// Well-formed backup ids no backup has.
const UNKNOWN_BACKUP_IDS: [&str; 2] = [
    "conformance-ghost-20160101000000000",
    "conformance-ghost-2016-11-19T23:42:40.240Z",
];

/// Backup ids BackupId's pattern or length refuses.
const MALFORMED_BACKUP_IDS: [&str; 4] = [
    "1-20160101000000000",
    "web_20160101000000000",
    "",
    // 80 characters, one over the limit.
    "web-20160101000000000-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

/// Short descriptions: plain, multibyte, with JSON escapes.
const SHORT_DESCRIPTIONS: [&str; 3] = [
    "nightly",
    "sauvegarde \u{e9}t\u{e9} \u{1f4be}",
    "a \"quoted\"\nline",
];

/// The longest Description the service model allows.
const DESCRIPTION_MAX: usize = 10_000;

/// Valid tag-list lengths at the boundaries: 50 (the prose) and 200 (the shape), and one more.
const TAG_COUNTS: [usize; 4] = [50, 51, 200, 201];

/// One step, before it is read against the shadow state. Alternatives are ordered simplest
/// first: proptest shrinks a choice towards earlier alternatives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Choice {
    DescribeAccountAttributes,
    /// All servers, or one.
    DescribeServers(Option<Target>),
    DescribeBackups(BackupsFilter),
    CreateBackup(CreateInput),
    PutServer {
        /// Index into [`SERVER_NAMES`].
        slot: usize,
        status: ServerStatus,
        manual: u32,
        automated: u32,
    },
    Settle(Option<BackupStatus>),
    DeleteBackup(BackupRef),
    UpdateServer(Target, usize),
    StartMaintenance(Target),
    DeleteServer(Target),
    RestoreServer(Target, BackupRef),
    Reset,
    /// Calls sent at once ([`block_call`] choices only).
    Parallel(Vec<Choice>),
}

/// Which server a call names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The server put or named most recently.
    Recent,
    /// The n-th server name, if that server exists; otherwise the most recent one.
    Slot(usize),
    /// A valid name no server has ([`UNKNOWN_NAMES`]).
    Unknown(usize),
    /// A server's name with its case changed (`Web` for `web`).
    CaseChanged(usize, usize),
    /// A name the length or pattern refuses ([`INVALID_NAMES`]).
    Invalid(usize),
}

/// Which backup a call names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackupRef {
    /// One this plan created (`${created:N}`), else a fixture backup, else an unknown id.
    Created(usize),
    /// A fixture backup of a server (`${backup:SERVER:N}`), else one created, else unknown.
    Fixture(usize, usize),
    /// A well-formed id no backup has.
    Unknown(usize),
    /// An id BackupId's pattern or length refuses.
    Malformed(usize),
}

/// DescribeBackups' filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackupsFilter {
    All,
    Server(Target),
    Id(BackupRef),
    /// MaxResults / NextToken, which the service ignores (or refuses when invalid).
    Paging(usize),
}

/// CreateBackup's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CreateInput {
    pub target: Target,
    pub description: Description,
    pub tags: Tags,
    pub malformed: Option<Malformed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Description {
    Absent,
    Short(usize),
    Empty,
    /// Exactly 10000 characters.
    Max,
    /// Exactly 10000 characters of two bytes each (lengths count characters).
    MaxMultibyte,
    /// 10001 characters.
    TooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tags {
    Absent,
    /// 1 to 3 valid tags.
    Few(usize),
    Empty,
    /// [`TAG_COUNTS`]`[i]` valid tags.
    Count(usize),
    /// One tag at or past a limit ([`odd_tag`]).
    Odd(usize),
}

/// A member of the wrong JSON type, or a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    ServerNameMissing,
    ServerNameNull,
    ServerNameNumber,
    ServerNameList,
    DescriptionList,
    DescriptionNumber,
    TagsObject,
    TagsString,
    TagNotObject,
    TagKeyNumber,
}

impl Malformed {
    const ALL: [Malformed; 10] = [
        Malformed::ServerNameMissing,
        Malformed::ServerNameNull,
        Malformed::ServerNameNumber,
        Malformed::ServerNameList,
        Malformed::DescriptionList,
        Malformed::DescriptionNumber,
        Malformed::TagsObject,
        Malformed::TagsString,
        Malformed::TagNotObject,
        Malformed::TagKeyNumber,
    ];

    fn apply(self, input: &mut Map<String, Value>) {
        let mut set = |k: &str, v: Value| {
            input.insert(k.to_string(), v);
        };
        match self {
            Malformed::ServerNameMissing => {
                input.remove("ServerName");
            }
            Malformed::ServerNameNull => set("ServerName", Value::Null),
            Malformed::ServerNameNumber => set("ServerName", json!(42)),
            Malformed::ServerNameList => set("ServerName", json!(["web"])),
            Malformed::DescriptionList => set("Description", json!(["nightly"])),
            Malformed::DescriptionNumber => set("Description", json!(7)),
            Malformed::TagsObject => set("Tags", json!({"Key": "env", "Value": "prod"})),
            Malformed::TagsString => set("Tags", json!("env=prod")),
            Malformed::TagNotObject => set("Tags", json!(["env"])),
            Malformed::TagKeyNumber => set("Tags", json!([{"Key": 1, "Value": "prod"}])),
        }
    }
}

/// UpdateServer's changes: valid ones first, then refused ones.
fn update_member(i: usize) -> (&'static str, Value) {
    const N: usize = 10;
    match i % N {
        0 => ("BackupRetentionCount", json!(1)),
        1 => ("PreferredBackupWindow", json!("08:00")),
        2 => ("PreferredBackupWindow", json!("Mon:08:00")),
        3 => ("DisableAutomatedBackup", json!(true)),
        4 => ("PreferredMaintenanceWindow", json!("Sun:03:30")),
        5 => ("BackupRetentionCount", json!(0)),
        6 => ("PreferredBackupWindow", json!("24:00")),
        7 => ("PreferredBackupWindow", json!("Monday:08:00")),
        8 => ("PreferredBackupWindow", json!("")),
        _ => ("BackupRetentionCount", json!("5")),
    }
}

/// DescribeBackups' paging members: ignored by the service when valid.
fn paging_members(i: usize) -> Value {
    match i % 4 {
        0 => json!({"MaxResults": 1}),
        1 => json!({"NextToken": "conformance-token"}),
        2 => json!({"MaxResults": 0}),
        _ => json!({"MaxResults": "1"}),
    }
}

fn tag(key: impl Into<String>, value: impl Into<String>) -> Value {
    json!({"Key": key.into(), "Value": value.into()})
}

/// A tag list with one tag at or past a limit, or with an odd character.
fn odd_tag(i: usize) -> Value {
    let k = |n: usize| "k".repeat(n);
    let v = |n: usize| "v".repeat(n);
    let one = match i % ODD_TAGS {
        0 => tag(k(127), "prod"),
        1 => tag(k(128), "prod"),
        2 => tag(k(129), "prod"),
        3 => tag("env", v(255)),
        4 => tag("env", v(256)),
        5 => tag("env", v(257)),
        6 => tag("env*", "prod"),
        7 => tag("env", "prod!"),
        8 => tag("owner@team", "ops@example"),
        9 => tag(" env", "prod"),
        10 => tag("env", "prod "),
        11 => tag("aws:env", "prod"),
        12 => json!({"Value": "prod"}),
        13 => json!({"Key": "env"}),
        14 => tag("", "prod"),
        15 => tag("env", ""),
        _ => tag("\u{74b0}\u{5883}", "\u{672c}\u{756a} 1"),
    };
    Value::Array(vec![one])
}
const ODD_TAGS: usize = 17;

impl Description {
    fn value(self) -> Option<Value> {
        let s = match self {
            Description::Absent => return None,
            Description::Short(i) => SHORT_DESCRIPTIONS[i % SHORT_DESCRIPTIONS.len()].to_string(),
            Description::Empty => String::new(),
            Description::Max => "d".repeat(DESCRIPTION_MAX),
            Description::MaxMultibyte => "\u{e9}".repeat(DESCRIPTION_MAX),
            Description::TooLong => "d".repeat(DESCRIPTION_MAX + 1),
        };
        Some(Value::String(s))
    }
}

impl Tags {
    fn value(self) -> Option<Value> {
        let n = match self {
            Tags::Absent => return None,
            Tags::Odd(i) => return Some(odd_tag(i)),
            Tags::Few(n) => n,
            Tags::Empty => 0,
            Tags::Count(i) => TAG_COUNTS[i % TAG_COUNTS.len()],
        };
        Some(Value::Array(
            (0..n)
                .map(|i| tag(format!("k{i}"), format!("v{i}")))
                .collect(),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies for the choices
// ---------------------------------------------------------------------------------------------

fn weighted<T: fmt::Debug + 'static>(arms: Vec<(u32, BoxedStrategy<T>)>) -> BoxedStrategy<T> {
    Union::new_weighted(arms).boxed()
}

fn target() -> BoxedStrategy<Target> {
    weighted(vec![
        (12, Just(Target::Recent).boxed()),
        (5, (0..8usize).prop_map(Target::Slot).boxed()),
        (
            2,
            (0..UNKNOWN_NAMES.len()).prop_map(Target::Unknown).boxed(),
        ),
        (
            2,
            (0..8usize, 0..4usize)
                .prop_map(|(s, v)| Target::CaseChanged(s, v))
                .boxed(),
        ),
        (
            2,
            (0..INVALID_NAMES.len()).prop_map(Target::Invalid).boxed(),
        ),
    ])
}

fn backup_ref_strategy() -> BoxedStrategy<BackupRef> {
    weighted(vec![
        (4, (0..4usize).prop_map(BackupRef::Created).boxed()),
        (
            4,
            (0..8usize, 0..64usize)
                .prop_map(|(s, n)| BackupRef::Fixture(s, n))
                .boxed(),
        ),
        (
            1,
            (0..UNKNOWN_BACKUP_IDS.len())
                .prop_map(BackupRef::Unknown)
                .boxed(),
        ),
        (
            1,
            (0..MALFORMED_BACKUP_IDS.len())
                .prop_map(BackupRef::Malformed)
                .boxed(),
        ),
    ])
}

fn create_input() -> BoxedStrategy<CreateInput> {
    let description = weighted(vec![
        (12, Just(Description::Absent).boxed()),
        (
            4,
            (0..SHORT_DESCRIPTIONS.len())
                .prop_map(Description::Short)
                .boxed(),
        ),
        (1, Just(Description::Empty).boxed()),
        (1, Just(Description::Max).boxed()),
        (1, Just(Description::MaxMultibyte).boxed()),
        (1, Just(Description::TooLong).boxed()),
    ]);
    let tags = weighted(vec![
        (12, Just(Tags::Absent).boxed()),
        (4, (1..=3usize).prop_map(Tags::Few).boxed()),
        (1, Just(Tags::Empty).boxed()),
        (2, (0..TAG_COUNTS.len()).prop_map(Tags::Count).boxed()),
        (4, (0..ODD_TAGS).prop_map(Tags::Odd).boxed()),
    ]);
    let malformed = weighted(vec![
        (14, Just(None).boxed()),
        (
            2,
            (0..Malformed::ALL.len())
                .prop_map(|i| Some(Malformed::ALL[i]))
                .boxed(),
        ),
    ]);
    (target(), description, tags, malformed)
        .prop_map(|(target, description, tags, malformed)| CreateInput {
            target,
            description,
            tags,
            malformed,
        })
        .boxed()
}

fn status() -> BoxedStrategy<ServerStatus> {
    let mut arms: Vec<(u32, BoxedStrategy<ServerStatus>)> = vec![
        (8, Just(ServerStatus::Healthy).boxed()),
        (3, Just(ServerStatus::Running).boxed()),
        (3, Just(ServerStatus::Unhealthy).boxed()),
        (5, Just(ServerStatus::BackingUp).boxed()),
    ];
    for s in ServerStatus::ALL {
        if !s.may_back_up() && s != ServerStatus::BackingUp {
            arms.push((1, Just(s).boxed()));
        }
    }
    weighted(arms)
}

fn put_server(limit: u32) -> BoxedStrategy<Choice> {
    let slot = weighted(vec![
        (4, Just(0usize).boxed()),
        (2, Just(1usize).boxed()),
        (1, Just(2usize).boxed()),
    ]);
    let manual = weighted(vec![
        (4, Just(0u32).boxed()),
        (3, Just(limit.saturating_sub(1)).boxed()),
        (3, Just(limit).boxed()),
        (2, (0..=limit).boxed()),
        (1, (1..=3u32).boxed()),
    ]);
    let automated = weighted(vec![(4, Just(0u32).boxed()), (1, (1..=3u32).boxed())]);
    (slot, status(), manual, automated)
        .prop_map(|(slot, status, manual, automated)| Choice::PutServer {
            slot,
            status,
            manual,
            automated,
        })
        .boxed()
}

/// Choices for any position of a plan.
fn choice(config: &GenConfig) -> BoxedStrategy<Choice> {
    let describe_servers = weighted(vec![
        (1, Just(Choice::DescribeServers(None)).boxed()),
        (
            2,
            target()
                .prop_map(|t| Choice::DescribeServers(Some(t)))
                .boxed(),
        ),
    ]);
    let describe_backups = weighted(vec![
        (2, Just(BackupsFilter::All).boxed()),
        (3, target().prop_map(BackupsFilter::Server).boxed()),
        (3, backup_ref_strategy().prop_map(BackupsFilter::Id).boxed()),
        (1, (0..4usize).prop_map(BackupsFilter::Paging).boxed()),
    ])
    .prop_map(Choice::DescribeBackups)
    .boxed();
    // Each arm with the operation it calls (None: a fixture step).
    let mut arms: Vec<(u32, Option<Operation>, BoxedStrategy<Choice>)> = vec![
        (
            2,
            Some(Operation::DescribeAccountAttributes),
            Just(Choice::DescribeAccountAttributes).boxed(),
        ),
        (6, Some(Operation::DescribeServers), describe_servers),
        (9, Some(Operation::DescribeBackups), describe_backups),
        (
            30,
            None,
            create_input().prop_map(Choice::CreateBackup).boxed(),
        ),
    ];
    if config.control_plane {
        arms.extend(control_plane_arms(config.limit, &config.operations));
    } else {
        // Only backups this plan created are ever deleted (read against the shadow).
        arms.push((
            4,
            Some(Operation::DeleteBackup),
            (0..4usize)
                .prop_map(|n| Choice::DeleteBackup(BackupRef::Created(n)))
                .boxed(),
        ));
    }
    let served = |op: &Option<Operation>| op.is_none_or(|op| config.operations.contains(&op));
    weighted(
        arms.into_iter()
            .filter(|(_, op, _)| served(op))
            .map(|(w, _, s)| (w, s))
            .collect(),
    )
}

/// The choices only a control plane allows, each with the operation it calls (None: fixture).
fn control_plane_arms(
    limit: u32,
    operations: &[Operation],
) -> Vec<(u32, Option<Operation>, BoxedStrategy<Choice>)> {
    let call = Some;
    vec![
        (16, None, put_server(limit)),
        (
            7,
            None,
            weighted(vec![
                (3, Just(None).boxed()),
                (1, Just(Some(BackupStatus::Ok)).boxed()),
                (2, Just(Some(BackupStatus::Failed)).boxed()),
            ])
            .prop_map(Choice::Settle)
            .boxed(),
        ),
        (
            8,
            call(Operation::DeleteBackup),
            backup_ref_strategy().prop_map(Choice::DeleteBackup).boxed(),
        ),
        (
            6,
            call(Operation::UpdateServer),
            (target(), 0..10usize)
                .prop_map(|(t, u)| Choice::UpdateServer(t, u))
                .boxed(),
        ),
        (
            2,
            call(Operation::StartMaintenance),
            target().prop_map(Choice::StartMaintenance).boxed(),
        ),
        (
            2,
            call(Operation::DeleteServer),
            target().prop_map(Choice::DeleteServer).boxed(),
        ),
        (
            2,
            call(Operation::RestoreServer),
            (target(), backup_ref_strategy())
                .prop_map(|(t, b)| Choice::RestoreServer(t, b))
                .boxed(),
        ),
        (1, None, Just(Choice::Reset).boxed()),
        (6, None, parallel_block(operations)),
    ]
}

/// A call of a parallel block: mostly plain CreateBackups on the server in use (the calls a
/// check-then-act race lets through together), with calls that read or change the same state;
/// only calls of `operations` (CreateBackup always).
fn block_call(operations: &[Operation]) -> BoxedStrategy<Choice> {
    let near = weighted(vec![
        (8, Just(Target::Recent).boxed()),
        (2, (0..8usize).prop_map(Target::Slot).boxed()),
        (
            1,
            (0..UNKNOWN_NAMES.len()).prop_map(Target::Unknown).boxed(),
        ),
    ]);
    let create = near.clone().prop_map(|target| {
        Choice::CreateBackup(CreateInput {
            target,
            description: Description::Absent,
            tags: Tags::Absent,
            malformed: None,
        })
    });
    let arms: Vec<(u32, Option<Operation>, BoxedStrategy<Choice>)> = vec![
        (
            2,
            Some(Operation::DescribeServers),
            Just(Choice::DescribeServers(None)).boxed(),
        ),
        (
            2,
            Some(Operation::DescribeBackups),
            near.clone()
                .prop_map(|t| Choice::DescribeBackups(BackupsFilter::Server(t)))
                .boxed(),
        ),
        (14, None, create.boxed()),
        (
            3,
            Some(Operation::UpdateServer),
            (near.clone(), 0..10usize)
                .prop_map(|(t, u)| Choice::UpdateServer(t, u))
                .boxed(),
        ),
        (
            1,
            Some(Operation::StartMaintenance),
            near.clone().prop_map(Choice::StartMaintenance).boxed(),
        ),
        (
            1,
            Some(Operation::DeleteServer),
            near.prop_map(Choice::DeleteServer).boxed(),
        ),
    ];
    let served = |op: &Option<Operation>| op.is_none_or(|op| operations.contains(&op));
    weighted(
        arms.into_iter()
            .filter(|(_, op, _)| served(op))
            .map(|(w, _, s)| (w, s))
            .collect(),
    )
}

/// The most calls of a generated block. Judging a block visits every set of its calls that
/// real time allows (2^n, each with its worlds): 4 calls catch a check-then-act race as well
/// as 8 and cost 16 sets, not 256. A scenario's block may hold up to
/// [`MAX_PARALLEL`](crate::plan::MAX_PARALLEL).
const GENERATED_BLOCK_MAX: usize = 4;

/// A parallel block of 2 to [`GENERATED_BLOCK_MAX`] calls of `operations`.
fn parallel_block(operations: &[Operation]) -> BoxedStrategy<Choice> {
    let call = block_call(operations);
    ChoiceList {
        head: call.clone(),
        head_len: Just(0usize).boxed(),
        body: call,
        min_len: 2,
        max_len: GENERATED_BLOCK_MAX,
    }
    .prop_map(Choice::Parallel)
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// The choice list and its shrinking
// ---------------------------------------------------------------------------------------------

/// Draws a list of choices; the first few come from `head` (put-servers, with a control plane,
/// so most plans have servers to call).
#[derive(Debug)]
struct ChoiceList {
    head: BoxedStrategy<Choice>,
    head_len: BoxedStrategy<usize>,
    body: BoxedStrategy<Choice>,
    min_len: usize,
    max_len: usize,
}

impl Strategy for ChoiceList {
    type Tree = ChoiceListTree;
    type Value = Vec<Choice>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let len = (self.min_len..=self.max_len).new_tree(runner)?.current();
        let head = self.head_len.new_tree(runner)?.current().min(len);
        let mut elements = Vec::with_capacity(len);
        for i in 0..len {
            let strategy = if i < head { &self.head } else { &self.body };
            elements.push(strategy.new_tree(runner)?);
        }
        Ok(ChoiceListTree::new(elements))
    }
}

/// What the last `simplify` (or `complicate`) changed, not yet known to keep the failure.
#[derive(Debug, Clone, Copy)]
enum Change {
    Deleted(usize),
    Shrunk(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Deleting choices, trying this index next.
    Delete(usize),
    /// Simplifying this choice.
    Shrink(usize),
    Done,
}

/// A list of choice trees that shrinks to a fixpoint: deletion passes until none keeps the
/// failure, then a pass simplifying each choice, and deletion again after any kept
/// simplification.
///
/// `simplify` after a change means the runner kept it (the case still failed); `complicate`
/// means it did not. `complicate` undoes the change and at once proposes the next one, so no
/// run is spent re-checking a case already known to fail; it returns false only when nothing
/// is left to try, with `current()` back at the last failing list.
pub(crate) struct ChoiceListTree {
    elements: Vec<Box<dyn ValueTree<Value = Choice>>>,
    included: Vec<bool>,
    phase: Phase,
    pending: Option<Change>,
    /// The last list known to fail, to tell whether a kept change changed anything.
    accepted: Vec<Choice>,
    /// Whether the current pass kept a change.
    progress: bool,
}

impl ChoiceListTree {
    fn new(elements: Vec<Box<dyn ValueTree<Value = Choice>>>) -> ChoiceListTree {
        let included = vec![true; elements.len()];
        let mut tree = ChoiceListTree {
            elements,
            included,
            phase: Phase::Delete(0),
            pending: None,
            accepted: Vec::new(),
            progress: false,
        };
        tree.accepted = tree.current();
        tree
    }

    fn len(&self) -> usize {
        self.included.iter().filter(|&&b| b).count()
    }

    /// Proposes the next change from the last failing list.
    fn advance(&mut self) -> bool {
        loop {
            match self.phase {
                Phase::Done => return false,
                Phase::Delete(ix) if ix >= self.elements.len() => {
                    self.phase = if self.progress {
                        Phase::Delete(0)
                    } else {
                        Phase::Shrink(0)
                    };
                    self.progress = false;
                }
                Phase::Delete(ix) => {
                    self.phase = Phase::Delete(ix + 1);
                    if self.included[ix] && self.len() > 1 {
                        self.included[ix] = false;
                        self.pending = Some(Change::Deleted(ix));
                        return true;
                    }
                }
                Phase::Shrink(ix) if ix >= self.elements.len() => {
                    if self.progress {
                        self.progress = false;
                        self.phase = Phase::Delete(0);
                    } else {
                        self.phase = Phase::Done;
                        return false;
                    }
                }
                Phase::Shrink(ix) => {
                    if self.included[ix] && self.elements[ix].simplify() {
                        self.pending = Some(Change::Shrunk(ix));
                        return true;
                    }
                    self.phase = Phase::Shrink(ix + 1);
                }
            }
        }
    }
}

impl ValueTree for ChoiceListTree {
    type Value = Vec<Choice>;

    fn current(&self) -> Vec<Choice> {
        self.elements
            .iter()
            .zip(&self.included)
            .filter(|(_, &inc)| inc)
            .map(|(e, _)| e.current())
            .collect()
    }

    fn simplify(&mut self) -> bool {
        if self.pending.take().is_some() {
            // The runner kept the last change: it still fails.
            let now = self.current();
            if now != self.accepted {
                self.progress = true;
                self.accepted = now;
            }
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        match self.pending {
            None => false,
            Some(Change::Deleted(ix)) => {
                self.included[ix] = true;
                self.pending = None;
                self.advance()
            }
            Some(Change::Shrunk(ix)) => {
                if self.elements[ix].complicate() {
                    true
                } else {
                    // Back at its last failing value. It may still simplify another way (a
                    // union tries earlier alternatives once its current one is exhausted), so
                    // `advance` asks it again before moving on.
                    self.pending = None;
                    self.advance()
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading choices against the shadow state
// ---------------------------------------------------------------------------------------------

/// A server as the generator believes it is.
#[derive(Debug, Clone)]
struct ShadowServer {
    name: String,
    status: ServerStatus,
    /// The status before a backup began, while BACKING_UP.
    previous: Option<ServerStatus>,
    manual: u32,
    /// Backups the control plane made with the server (`${backup:NAME:N}`, N below this).
    fixture_backups: usize,
}

/// What the generator believes the endpoint holds, after the steps so far. It follows the
/// model's reference reading; it only steers choices, it never judges.
#[derive(Debug)]
struct Shadow<'a> {
    config: &'a GenConfig,
    /// The names servers may have: [`SERVER_NAMES`] or the user's servers.
    palette: Vec<String>,
    servers: Vec<ShadowServer>,
    /// Server names, most recently put or named first.
    recent: Vec<String>,
    /// The server of each backup this plan created (`${created:N}`), and whether it was deleted.
    created: Vec<(String, bool)>,
    /// CreateBackups that could succeed on a named server (no control plane).
    paid: usize,
    steps: Vec<Step>,
}

impl<'a> Shadow<'a> {
    fn new(config: &'a GenConfig) -> Shadow<'a> {
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

    fn server(&self, name: &str) -> Option<&ShadowServer> {
        self.servers.iter().find(|s| s.name == name)
    }

    fn server_mut(&mut self, name: &str) -> Option<&mut ShadowServer> {
        self.servers.iter_mut().find(|s| s.name == name)
    }

    fn touch(&mut self, name: &str) {
        if self.server(name).is_some() {
            self.recent.retain(|n| n != name);
            self.recent.insert(0, name.to_string());
        }
    }

    /// A name that no server of the plan can have.
    fn unknown_name(&self, i: usize) -> String {
        let taken = |n: &str| self.palette.iter().any(|p| p.eq_ignore_ascii_case(n));
        (0..UNKNOWN_NAMES.len())
            .map(|k| UNKNOWN_NAMES[(i + k) % UNKNOWN_NAMES.len()])
            .find(|n| !taken(n))
            .unwrap_or("conformance-ghost-x")
            .to_string()
    }

    fn existing_at(&self, slot: usize) -> Option<String> {
        if self.palette.is_empty() {
            return None;
        }
        let name = &self.palette[slot % self.palette.len()];
        self.server(name)
            .map(|s| s.name.clone())
            .or_else(|| self.recent.first().cloned())
    }

    /// The name a call uses, and whether it names an existing server.
    fn resolve(&mut self, target: Target) -> String {
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
    fn case_changed(&self, slot: usize, variant: usize) -> Option<String> {
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
    fn resolve_backup(&self, r: BackupRef) -> String {
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
    fn look(&mut self) {
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

    fn call(&mut self, op: Operation, input: Value) {
        self.steps.push(Step::call(op, input));
    }

    fn server_call(&mut self, op: Operation, target: Target) -> String {
        let name = self.resolve(target);
        self.call(op, json!({ "ServerName": name }));
        name
    }

    /// Reads one choice: appends its step and updates the shadow.
    fn read(&mut self, choice: &Choice) {
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
    fn parallel(&mut self, choices: &[Choice]) {
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

    fn put_server(&mut self, slot: usize, status: ServerStatus, manual: u32, automated: u32) {
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

    fn create_backup(&mut self, choice: CreateInput) {
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

    fn is_named_server_ignoring_case(&self, name: &str) -> bool {
        self.config
            .servers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
    }

    fn delete_backup(&mut self, r: BackupRef) {
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

    fn forget_created(&mut self, n: usize) {
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

fn choice_allowed_without_control_plane(choice: &Choice) -> bool {
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

/// Reads a list of choices into a plan. Any list gives a plan whose steps respect what exists
/// where they stand, which is what keeps shrunk plans meaningful.
pub(crate) fn plan_from_choices(config: &GenConfig, choices: &[Choice]) -> Plan {
    let mut shadow = Shadow::new(config);
    for c in choices {
        shadow.read(c);
    }
    let mut plan = Plan::new("generated", shadow.steps);
    plan.description = if config.control_plane {
        "A generated sequence of fixture steps and calls, checked step by step against the model."
            .to_string()
    } else {
        "A generated sequence of calls on existing servers, checked step by step against the model."
            .to_string()
    };
    plan
}

/// The strategy for whole plans. Each plan has 1 to `max_steps` steps; with a control plane,
/// most start with a put-server or two.
pub fn plan_strategy(config: &GenConfig) -> BoxedStrategy<Plan> {
    let config = Arc::new(config.clone());
    let body = choice(&config);
    let (head, head_len) = if config.control_plane {
        (
            put_server(config.limit),
            weighted(vec![
                (1, Just(0usize).boxed()),
                (4, Just(1usize).boxed()),
                (2, Just(2usize).boxed()),
                (1, Just(3usize).boxed()),
            ]),
        )
    } else {
        (body.clone(), Just(0usize).boxed())
    };
    ChoiceList {
        head,
        head_len,
        body,
        min_len: 1,
        max_len: config.max_steps.max(1),
    }
    .prop_map(move |choices| plan_from_choices(&config, &choices))
    .boxed()
}

/// The test runner whose random numbers a seed fixes: the same seed gives the same plans.
pub fn runner_for_seed(seed: u64) -> TestRunner {
    // Spread the seed over ChaCha's 32-byte key (splitmix64).
    let mut state = seed;
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
}

/// The first `n` plans for `seed`, the ones a runner made with [`runner_for_seed`] draws.
pub fn plans_for_seed(config: &GenConfig, seed: u64, n: usize) -> Vec<Plan> {
    let strategy = plan_strategy(config);
    let mut runner = runner_for_seed(seed);
    (0..n)
        .map(|i| {
            let mut plan = strategy
                .new_tree(&mut runner)
                .expect("plan strategies never reject")
                .current();
            plan.origin = Some(format!("seed {seed}, case {i}"));
            plan
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::model::{validate::Violation, World};
    use crate::plan::{parse_plan, resolve_placeholders, IdRef};

    fn with_control_plane() -> GenConfig {
        GenConfig::default()
    }

    fn without_control_plane(servers: &[&str]) -> GenConfig {
        GenConfig {
            control_plane: false,
            servers: servers.iter().map(|s| s.to_string()).collect(),
            ..GenConfig::default()
        }
    }

    fn call_parts(step: &Step) -> Option<(Operation, &Value)> {
        match step {
            Step::Call {
                operation, input, ..
            } => Some((*operation, input)),
            _ => None,
        }
    }

    fn violations(op: Operation, input: &Value) -> Vec<Violation> {
        model::validation_errors(op, input)
    }

    /// The plan with each parallel block's calls in its written order (as the shadow read them).
    fn in_order(plan: &Plan) -> Plan {
        let steps = plan
            .steps
            .iter()
            .flat_map(|s| match s {
                Step::Parallel { calls } => calls.iter().map(ParallelCall::as_step).collect(),
                other => vec![other.clone()],
            })
            .collect();
        Plan::new(plan.name.clone(), steps)
    }

    /// Whether the plan calls CreateBackup on a server last put with `limit` manual backups.
    fn creates_on_full_server(plan: &Plan, limit: u32) -> bool {
        let mut manual: BTreeMap<&str, u32> = BTreeMap::new();
        for step in &plan.steps {
            match step {
                Step::Reset {} => manual.clear(),
                Step::PutServer {
                    server_name,
                    manual_backups,
                    ..
                } => {
                    manual.insert(server_name, *manual_backups);
                }
                Step::Call {
                    operation: Operation::CreateBackup,
                    input,
                    ..
                } => {
                    let name = input.get("ServerName").and_then(Value::as_str);
                    if name.and_then(|n| manual.get(n)) == Some(&limit) {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    #[test]
    fn the_same_seed_gives_the_same_plans() {
        for config in [with_control_plane(), without_control_plane(&["web"])] {
            let a = plans_for_seed(&config, 7, 40);
            assert_eq!(a, plans_for_seed(&config, 7, 40));
            assert_ne!(a, plans_for_seed(&config, 8, 40));
            let distinct: BTreeSet<String> = a.iter().map(Plan::to_json_pretty).collect();
            assert!(distinct.len() > 35, "plans of one seed should differ");
        }
    }

    #[test]
    fn every_plan_round_trips_through_json() {
        let configs = [
            with_control_plane(),
            without_control_plane(&["web", "chef-prod"]),
            without_control_plane(&[]),
        ];
        for (k, (config, n)) in configs.iter().zip([200, 100, 50]).enumerate() {
            for plan in plans_for_seed(config, 100 + k as u64, n) {
                assert!(!plan.steps.is_empty());
                assert!(plan.steps.len() <= config.max_steps);
                let text = plan.to_json_pretty();
                let back = parse_plan("generated.json", &text).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(back, plan);
            }
        }
    }

    /// Every server name a plan calls is an existing server, or one chosen not to be: unknown,
    /// invalid or a case-changed name of a server, none of which exists at that point. Every
    /// placeholder names a backup the plan can have.
    fn check_references(config: &GenConfig, plan: &Plan) {
        let plan = &in_order(plan);
        let palette: Vec<String> = if config.control_plane {
            SERVER_NAMES.iter().map(|s| s.to_string()).collect()
        } else {
            config.servers.clone()
        };
        let mut existing: BTreeMap<String, usize> = if config.control_plane {
            BTreeMap::new()
        } else {
            config.servers.iter().map(|s| (s.clone(), 0)).collect()
        };
        let mut creates = 0;
        for (i, step) in plan.steps.iter().enumerate() {
            match step {
                Step::Reset {} => existing.clear(),
                Step::PutServer {
                    server_name,
                    manual_backups,
                    automated_backups,
                    ..
                } => {
                    assert!(palette.contains(server_name));
                    existing.insert(
                        server_name.clone(),
                        (manual_backups + automated_backups) as usize,
                    );
                }
                Step::Settle { .. } => {}
                Step::Parallel { .. } => unreachable!("in_order took the blocks apart"),
                Step::Call {
                    operation, input, ..
                } => {
                    let at = || format!("step {i} ({step}) of\n{}", plan.to_json_pretty());
                    if let Some(name) = input.get("ServerName").and_then(Value::as_str) {
                        let deliberate = UNKNOWN_NAMES.contains(&name)
                            || INVALID_NAMES.contains(&name)
                            || palette
                                .iter()
                                .any(|p| p.eq_ignore_ascii_case(name) && p != name);
                        if palette.iter().any(|p| p == name) {
                            assert!(
                                existing.contains_key(name),
                                "{name} does not exist: {}",
                                at()
                            );
                        } else {
                            assert!(deliberate, "{name} is not a chosen unknown name: {}", at());
                            assert!(!existing.contains_key(name), "{}", at());
                        }
                    }
                    if let Some(id) = input.get("BackupId").and_then(Value::as_str) {
                        match IdRef::parse(id) {
                            Some(IdRef::Created(n)) => assert!(n < creates, "{}", at()),
                            Some(IdRef::Backup { server, n }) => {
                                let count = existing.get(&server).copied().unwrap_or(0);
                                assert!(n < count, "{}", at());
                            }
                            None => assert!(!id.contains("${"), "{}", at()),
                        }
                    }
                    if *operation == Operation::CreateBackup {
                        creates += 1;
                    }
                }
            }
        }
    }

    #[test]
    fn plans_name_only_what_exists_unless_on_purpose() {
        let configs = [
            with_control_plane(),
            without_control_plane(&["web", "chef-prod"]),
            without_control_plane(&[]),
        ];
        for (k, (config, n)) in configs.iter().zip([300, 150, 50]).enumerate() {
            for plan in plans_for_seed(config, 200 + k as u64, n) {
                check_references(config, &plan);
            }
        }
    }

    #[test]
    fn the_model_takes_every_generated_step() {
        let config = with_control_plane();
        for plan in plans_for_seed(&config, 300, 150) {
            let mut world = World::new(config.limit, model::Readings::REFERENCE);
            for step in &in_order(&plan).steps {
                let resolved = match step {
                    Step::Call { input, .. } => Some(resolve_placeholders(input, &|_| None)),
                    _ => None,
                };
                let possible = model::step(&world, &step.action(resolved));
                assert!(!possible.is_empty(), "no outcome for {step}");
                world = possible[0].world.clone();
            }
        }
    }

    /// Counts, over many plans, the situations the generator is meant to reach often.
    #[derive(Debug, Default)]
    struct Hits {
        create_at_limit: usize,
        create_below_limit: usize,
        create_while_backing_up: usize,
        create_twice: usize,
        delete_then_create_at_limit: usize,
        settle_then_describe: usize,
        statuses: BTreeSet<ServerStatus>,
        description_lengths: BTreeSet<usize>,
        tag_counts: BTreeSet<usize>,
        wrong_type: usize,
        missing_member: usize,
        delete_placeholder: usize,
        operations: BTreeSet<Operation>,
    }

    fn count_hits(plans: &[Plan], limit: u32) -> Hits {
        let mut hits = Hits::default();
        for plan in &plans.iter().map(in_order).collect::<Vec<_>>() {
            // name -> (status, manual backups as put, deleted since)
            let mut servers: BTreeMap<String, (ServerStatus, u32, bool)> = BTreeMap::new();
            let mut previous: Option<&Step> = None;
            for step in &plan.steps {
                match step {
                    Step::Reset {} => servers.clear(),
                    Step::PutServer {
                        server_name,
                        status,
                        manual_backups,
                        ..
                    } => {
                        hits.statuses.insert(*status);
                        servers.insert(server_name.clone(), (*status, *manual_backups, false));
                    }
                    Step::Settle { .. } => {
                        for s in servers.values_mut() {
                            if s.0 == ServerStatus::BackingUp {
                                s.0 = ServerStatus::Healthy;
                            }
                        }
                    }
                    Step::Parallel { .. } => unreachable!("in_order took the blocks apart"),
                    Step::Call {
                        operation, input, ..
                    } => {
                        hits.operations.insert(*operation);
                        let v = violations(*operation, input);
                        if v.iter().any(|v| v.rule == "validation.type") {
                            hits.wrong_type += 1;
                        }
                        if v.iter().any(|v| v.rule == "validation.required") {
                            hits.missing_member += 1;
                        }
                        if matches!(previous, Some(Step::Settle { .. }))
                            && matches!(
                                operation,
                                Operation::DescribeServers | Operation::DescribeBackups
                            )
                        {
                            hits.settle_then_describe += 1;
                        }
                        let name = input.get("ServerName").and_then(Value::as_str);
                        let id = input.get("BackupId").and_then(Value::as_str);
                        if *operation == Operation::DeleteBackup {
                            if let Some(r) = id.and_then(IdRef::parse) {
                                hits.delete_placeholder += 1;
                                if let IdRef::Backup { server, .. } = r {
                                    if let Some(s) = servers.get_mut(&server) {
                                        s.2 = true;
                                    }
                                }
                            }
                        }
                        if *operation != Operation::CreateBackup {
                            previous = Some(step);
                            continue;
                        }
                        if let Some(d) = input.get("Description").and_then(Value::as_str) {
                            hits.description_lengths.insert(d.chars().count());
                        }
                        if let Some(t) = input.get("Tags").and_then(Value::as_array) {
                            hits.tag_counts.insert(t.len());
                        }
                        if let Some(prev) = previous.and_then(call_parts) {
                            if prev.0 == Operation::CreateBackup
                                && prev.1.get("ServerName").and_then(Value::as_str) == name
                                && name.is_some_and(|n| servers.contains_key(n))
                            {
                                hits.create_twice += 1;
                            }
                        }
                        if let Some(s) = name.and_then(|n| servers.get_mut(n)) {
                            if s.1 == limit {
                                hits.create_at_limit += 1;
                                if s.2 {
                                    hits.delete_then_create_at_limit += 1;
                                }
                            }
                            if s.1 + 1 == limit {
                                hits.create_below_limit += 1;
                            }
                            if s.0 == ServerStatus::BackingUp {
                                hits.create_while_backing_up += 1;
                            }
                            if v.is_empty() && s.0.may_back_up() {
                                s.0 = ServerStatus::BackingUp;
                            }
                        }
                    }
                }
                previous = Some(step);
            }
        }
        hits
    }

    #[test]
    fn plans_reach_the_boundaries() {
        let config = with_control_plane();
        let plans = plans_for_seed(&config, 400, 500);
        let hits = count_hits(&plans, config.limit);
        println!("{hits:#?}");
        assert!(hits.create_at_limit >= 5, "{hits:?}");
        assert!(hits.create_below_limit >= 5, "{hits:?}");
        assert!(hits.create_while_backing_up >= 5, "{hits:?}");
        assert!(hits.create_twice >= 5, "{hits:?}");
        assert!(hits.delete_then_create_at_limit >= 1, "{hits:?}");
        assert!(hits.settle_then_describe >= 5, "{hits:?}");
        assert_eq!(hits.statuses.len(), 13, "{hits:?}");
        for n in [DESCRIPTION_MAX, DESCRIPTION_MAX + 1] {
            assert!(hits.description_lengths.contains(&n), "{hits:?}");
        }
        for n in TAG_COUNTS {
            assert!(hits.tag_counts.contains(&n), "{hits:?}");
        }
        assert!(hits.wrong_type >= 5, "{hits:?}");
        assert!(hits.missing_member >= 5, "{hits:?}");
        assert!(hits.delete_placeholder >= 5, "{hits:?}");
        assert_eq!(hits.operations.len(), Operation::ALL.len(), "{hits:?}");
    }

    #[test]
    fn plans_call_only_the_operations_the_endpoint_serves() {
        let partial = GenConfig {
            operations: vec![
                Operation::CreateBackup,
                Operation::DescribeBackups,
                Operation::DeleteBackup,
                Operation::DescribeServers,
                Operation::UpdateServer,
            ],
            ..with_control_plane()
        };
        let create_only = GenConfig {
            operations: vec![Operation::CreateBackup],
            ..without_control_plane(&["web"])
        };
        // Parallel blocks too: no UpdateServer, StartMaintenance or DeleteServer inside them.
        let read_only = GenConfig {
            operations: vec![
                Operation::CreateBackup,
                Operation::DescribeServers,
                Operation::DescribeBackups,
            ],
            ..with_control_plane()
        };
        for config in [partial, create_only, read_only] {
            let mut seen = std::collections::BTreeSet::new();
            for plan in plans_for_seed(&config, 11, 200) {
                for (op, _) in in_order(&plan).steps.iter().filter_map(call_parts) {
                    assert!(config.operations.contains(&op), "{op} in {plan:?}");
                    seen.insert(op);
                }
            }
            assert_eq!(seen.len(), config.operations.len(), "{seen:?}");
        }
    }

    #[test]
    fn without_a_control_plane_plans_change_nothing_but_their_own_backups() {
        let safe = [
            Operation::CreateBackup,
            Operation::DescribeBackups,
            Operation::DeleteBackup,
            Operation::DescribeServers,
            Operation::DescribeAccountAttributes,
        ];
        let mut named_creates = 0;
        for (servers, n) in [(&["web", "chef-prod"][..], 300), (&[][..], 100)] {
            let config = without_control_plane(servers);
            for plan in plans_for_seed(&config, 500, n) {
                assert!(!plan.needs_control_plane(), "{}", plan.to_json_pretty());
                let mut creates = 0;
                let mut paid = 0;
                for step in &plan.steps {
                    let (op, input) = call_parts(step).expect("only calls");
                    assert!(safe.contains(&op), "{op} in {}", plan.to_json_pretty());
                    if op == Operation::DeleteBackup {
                        let id = input["BackupId"].as_str().unwrap_or_default();
                        assert!(
                            matches!(IdRef::parse(id), Some(IdRef::Created(n)) if n < creates),
                            "{id} in {}",
                            plan.to_json_pretty()
                        );
                    }
                    if op == Operation::CreateBackup {
                        creates += 1;
                        let name = input.get("ServerName").and_then(Value::as_str);
                        let named = name.is_some_and(|n| {
                            config.servers.iter().any(|s| s.eq_ignore_ascii_case(n))
                        });
                        if named && !model::has_definite(&violations(op, input)) {
                            paid += 1;
                        }
                    }
                }
                assert!(paid <= MAX_PAID_BACKUPS, "{}", plan.to_json_pretty());
                named_creates += paid;
                if servers.is_empty() {
                    assert_eq!(paid, 0);
                }
            }
        }
        assert!(
            named_creates > 50,
            "named servers should get valid CreateBackups"
        );
    }

    /// Shrinks as a runner does: keep a change while the case fails, undo it when it passes.
    fn shrink(
        tree: &mut impl ValueTree<Value = Plan>,
        fails: impl Fn(&Plan) -> bool,
    ) -> (Plan, usize) {
        let mut last = tree.current();
        assert!(fails(&last));
        let mut runs = 0;
        if tree.simplify() {
            loop {
                let plan = tree.current();
                runs += 1;
                if fails(&plan) {
                    last = plan;
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        // The tree ends at the last failing plan, as proptest expects.
        assert_eq!(tree.current(), last);
        (last, runs)
    }

    #[test]
    fn a_failure_shrinks_to_put_server_and_create_backup() {
        let config = with_control_plane();
        let strategy = plan_strategy(&config);
        let mut runner = runner_for_seed(600);
        let fails = |p: &Plan| creates_on_full_server(p, config.limit);
        let mut shrunk = 0;
        let mut max_runs = 0;
        while shrunk < 25 {
            let mut tree = strategy.new_tree(&mut runner).unwrap();
            if !fails(&tree.current()) || tree.current().steps.len() < 6 {
                continue;
            }
            let original = tree.current();
            let (plan, runs) = shrink(&mut tree, fails);
            max_runs = max_runs.max(runs);
            let shown = || {
                format!(
                    "from\n{}\nto\n{}",
                    original.to_json_pretty(),
                    plan.to_json_pretty()
                )
            };
            assert_eq!(plan.steps.len(), 2, "{}", shown());
            let Step::PutServer {
                server_name,
                status,
                manual_backups,
                automated_backups,
                ..
            } = &plan.steps[0]
            else {
                panic!("{}", shown());
            };
            assert_eq!(*manual_backups, config.limit);
            // Everything the failure does not need is as simple as it gets.
            assert_eq!(server_name, "web", "{}", shown());
            assert_eq!(*status, ServerStatus::Healthy, "{}", shown());
            assert_eq!(*automated_backups, 0, "{}", shown());
            assert_eq!(
                plan.steps[1],
                Step::call(Operation::CreateBackup, json!({"ServerName": "web"})),
                "{}",
                shown()
            );
            shrunk += 1;
        }
        println!("shrunk {shrunk} plans, at most {max_runs} runs each");
    }

    /// Whether a parallel block sends two CreateBackups to one server the plan put.
    fn races_two_creates(plan: &Plan) -> bool {
        let mut put = BTreeSet::new();
        plan.steps.iter().any(|s| match s {
            Step::PutServer { server_name, .. } => {
                put.insert(server_name.clone());
                false
            }
            Step::Parallel { calls } => {
                let mut per_server: BTreeMap<&str, usize> = BTreeMap::new();
                for c in calls
                    .iter()
                    .filter(|c| c.operation == Operation::CreateBackup)
                {
                    if let Some(n) = c.input["ServerName"].as_str().filter(|n| put.contains(*n)) {
                        *per_server.entry(n).or_default() += 1;
                    }
                }
                per_server.values().any(|&n| n >= 2)
            }
            _ => false,
        })
    }

    #[test]
    fn plans_hold_parallel_blocks_that_race_creates() {
        let config = with_control_plane();
        let plans = plans_for_seed(&config, 800, 300);
        let mut blocks = 0;
        for plan in &plans {
            for s in &plan.steps {
                if let Step::Parallel { calls } = s {
                    blocks += 1;
                    assert!((2..=GENERATED_BLOCK_MAX).contains(&calls.len()), "{s}");
                }
            }
        }
        let racing = plans.iter().filter(|p| races_two_creates(p)).count();
        println!("{blocks} blocks, {racing} of 300 plans race two creates");
        assert!(blocks >= 60, "{blocks} blocks");
        assert!(racing >= 30, "{racing} plans race two creates");
    }

    #[test]
    fn a_race_shrinks_to_put_server_and_a_block_of_two_creates() {
        let config = with_control_plane();
        let strategy = plan_strategy(&config);
        let mut runner = runner_for_seed(900);
        let mut shrunk = 0;
        while shrunk < 10 {
            let mut tree = strategy.new_tree(&mut runner).unwrap();
            if !races_two_creates(&tree.current()) || tree.current().steps.len() < 4 {
                continue;
            }
            let (plan, _) = shrink(&mut tree, races_two_creates);
            let create = ParallelCall::new(Operation::CreateBackup, json!({"ServerName": "web"}));
            let expected = vec![
                Step::PutServer {
                    server_name: "web".into(),
                    status: ServerStatus::Healthy,
                    engine: "ChefAutomate".into(),
                    manual_backups: 0,
                    automated_backups: 0,
                },
                Step::Parallel {
                    calls: vec![create.clone(), create],
                },
            ];
            assert_eq!(plan.steps, expected, "{}", plan.to_json_pretty());
            shrunk += 1;
        }
    }

    #[test]
    fn a_one_call_failure_shrinks_to_one_simple_call() {
        let config = with_control_plane();
        let strategy = plan_strategy(&config);
        let mut runner = runner_for_seed(700);
        let fails = |p: &Plan| {
            p.steps.iter().any(|s| {
                call_parts(s).is_some_and(|(op, input)| {
                    op == Operation::CreateBackup
                        && input["Description"]
                            .as_str()
                            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
                })
            })
        };
        let mut shrunk = 0;
        while shrunk < 10 {
            let mut tree = strategy.new_tree(&mut runner).unwrap();
            if !fails(&tree.current()) {
                continue;
            }
            let (plan, _) = shrink(&mut tree, fails);
            let expected = Step::call(
                Operation::CreateBackup,
                json!({"ServerName": UNKNOWN_NAMES[0], "Description": "d".repeat(DESCRIPTION_MAX + 1)}),
            );
            assert_eq!(plan.steps, vec![expected]);
            shrunk += 1;
        }
    }
}
