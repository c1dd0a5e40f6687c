//! The values a generated plan is made of: server names and backup ids (known, unknown,
//! invalid), descriptions, tags, malformed members, and the `Choice` each step is drawn as.

use super::*;

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
pub(super) const UNKNOWN_BACKUP_IDS: [&str; 2] = [
    "conformance-ghost-20160101000000000",
    "conformance-ghost-2016-11-19T23:42:40.240Z",
];

/// Backup ids BackupId's pattern or length refuses.
pub(super) const MALFORMED_BACKUP_IDS: [&str; 4] = [
    "1-20160101000000000",
    "web_20160101000000000",
    "",
    // 80 characters, one over the limit.
    "web-20160101000000000-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

/// Short descriptions: plain, multibyte, with JSON escapes.
pub(super) const SHORT_DESCRIPTIONS: [&str; 3] = [
    "nightly",
    "sauvegarde \u{e9}t\u{e9} \u{1f4be}",
    "a \"quoted\"\nline",
];

/// The longest Description the service model allows.
pub(super) const DESCRIPTION_MAX: usize = 10_000;

/// Valid tag-list lengths at the boundaries: 50 (the prose) and 200 (the shape), and one more.
pub(super) const TAG_COUNTS: [usize; 4] = [50, 51, 200, 201];

/// One step, before it is read against the model's world. Alternatives are ordered simplest
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
    pub(super) const ALL: [Malformed; 10] = [
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

    pub(super) fn apply(self, input: &mut Map<String, Value>) {
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
pub(super) fn update_member(i: usize) -> (&'static str, Value) {
    pub(super) const N: usize = 10;
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
pub(super) fn paging_members(i: usize) -> Value {
    match i % 4 {
        0 => json!({"MaxResults": 1}),
        1 => json!({"NextToken": "conformance-token"}),
        2 => json!({"MaxResults": 0}),
        _ => json!({"MaxResults": "1"}),
    }
}

pub(super) fn tag(key: impl Into<String>, value: impl Into<String>) -> Value {
    json!({"Key": key.into(), "Value": value.into()})
}

/// A tag list with one tag at or past a limit, or with an odd character.
pub(super) fn odd_tag(i: usize) -> Value {
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
pub(super) const ODD_TAGS: usize = 17;

impl Description {
    pub(super) fn value(self) -> Option<Value> {
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
    pub(super) fn value(self) -> Option<Value> {
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
