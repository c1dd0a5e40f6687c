//! Input features: for each member of the requests the harness sends, which kinds of value it
//! was sent (empty, one character, the model's maximum and one more, whitespace at an edge,
//! non-ASCII, the wrong JSON type; for lists 0, 1, the maximum and one more items), and each
//! combination of DescribeBackups' filters. Constraints come from the service model
//! ([`ServiceModel`]); a feature the model gives no meaning to (the maximum of a member without
//! one) is not counted as allowed.

use std::sync::OnceLock;

use serde_json::Value;

use crate::model::service::{ServiceModel, Shape};
use crate::model::Operation;

/// The members the harness's requests carry, as paths into the operation's input
/// (`Tags[].Key` is the `Key` of every element of `Tags`).
pub const SENT_MEMBERS: [(Operation, &str); 17] = [
    (Operation::CreateBackup, "ServerName"),
    (Operation::CreateBackup, "Description"),
    (Operation::CreateBackup, "Tags"),
    (Operation::CreateBackup, "Tags[].Key"),
    (Operation::CreateBackup, "Tags[].Value"),
    (Operation::DescribeBackups, "BackupId"),
    (Operation::DescribeBackups, "ServerName"),
    (Operation::DescribeBackups, "NextToken"),
    (Operation::DeleteBackup, "BackupId"),
    (Operation::DescribeServers, "ServerName"),
    (Operation::UpdateServer, "ServerName"),
    (Operation::UpdateServer, "PreferredBackupWindow"),
    (Operation::UpdateServer, "PreferredMaintenanceWindow"),
    (Operation::StartMaintenance, "ServerName"),
    (Operation::DeleteServer, "ServerName"),
    (Operation::RestoreServer, "ServerName"),
    (Operation::RestoreServer, "BackupId"),
];

/// What kind of value a member was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Empty,
    Length1,
    Max,
    MaxPlus1,
    LeadingSpace,
    TrailingSpace,
    NonAscii,
    WrongType,
    Items0,
    Items1,
    ItemsMax,
    ItemsMaxPlus1,
    /// A DescribeBackups filter combination: which of BackupId, ServerName, MaxResults and
    /// NextToken are present.
    Filters(Filters),
}

/// Which of DescribeBackups' filter and paging members a request holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Filters {
    pub backup_id: bool,
    pub server_name: bool,
    pub max_results: bool,
    pub next_token: bool,
}

/// The kinds a string member may be sent, in the report's column order.
pub const STRING_KINDS: [Kind; 8] = [
    Kind::Empty,
    Kind::Length1,
    Kind::Max,
    Kind::MaxPlus1,
    Kind::LeadingSpace,
    Kind::TrailingSpace,
    Kind::NonAscii,
    Kind::WrongType,
];

/// The kinds a list member may be sent.
pub const LIST_KINDS: [Kind; 4] = [
    Kind::Items0,
    Kind::Items1,
    Kind::ItemsMax,
    Kind::ItemsMaxPlus1,
];

/// The member of the filter combinations' row.
pub const FILTERS_MEMBER: &str = "filters";

impl Kind {
    /// The report's column label.
    pub fn label(self) -> String {
        match self {
            Kind::Empty => "empty".into(),
            Kind::Length1 => "length 1".into(),
            Kind::Max => "max".into(),
            Kind::MaxPlus1 => "max+1".into(),
            Kind::LeadingSpace => "leading space".into(),
            Kind::TrailingSpace => "trailing space".into(),
            Kind::NonAscii => "non-ASCII".into(),
            Kind::WrongType => "wrong type".into(),
            Kind::Items0 => "0 items".into(),
            Kind::Items1 => "1 item".into(),
            Kind::ItemsMax => "max items".into(),
            Kind::ItemsMaxPlus1 => "max+1 items".into(),
            Kind::Filters(f) => match (f.max_results, f.next_token) {
                (false, false) => "no paging".into(),
                (true, false) => "MaxResults".into(),
                (false, true) => "NextToken".into(),
                (true, true) => "MaxResults+NextToken".into(),
            },
        }
    }
}

impl Filters {
    /// The row label of a filter combination (its paging is the column).
    pub fn row_label(self) -> &'static str {
        match (self.backup_id, self.server_name) {
            (false, false) => "neither",
            (false, true) => "ServerName",
            (true, false) => "BackupId",
            (true, true) => "BackupId+ServerName",
        }
    }
}

/// One input feature: an operation's member sent a kind of value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Feature {
    pub op: Operation,
    pub member: &'static str,
    pub kind: Kind,
}

/// The shape a member path names, through lists (`Tags[].Key`).
pub fn member_shape(op: Operation, path: &str) -> Option<&'static Shape> {
    let model = ServiceModel::get();
    let mut shape = model.shape(model.operation(op.name())?.input.as_deref()?);
    for part in path.split('.') {
        let (name, each) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        let Shape::Structure { members, .. } = shape else {
            return None;
        };
        let (_, target) = members.iter().find(|(m, _)| m == name)?;
        shape = model.shape(target);
        if each {
            let Shape::List { member, .. } = shape else {
                return None;
            };
            shape = model.shape(member);
        }
    }
    Some(shape)
}

/// [`member_shape`] of each of [`SENT_MEMBERS`], in its order: looked up once, not per call.
fn sent_member_shapes() -> &'static [Option<&'static Shape>] {
    static SHAPES: OnceLock<Vec<Option<&'static Shape>>> = OnceLock::new();
    SHAPES.get_or_init(|| {
        SENT_MEMBERS
            .iter()
            .map(|(op, member)| member_shape(*op, member))
            .collect()
    })
}

/// The members of `op`'s input shape in the service model.
fn input_members(op: Operation) -> Vec<String> {
    let model = ServiceModel::get();
    let input = model.operation(op.name()).and_then(|o| o.input.as_deref());
    match input.map(|name| model.shape(name)) {
        Some(Shape::Structure { members, .. }) => members.iter().map(|(m, _)| m.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The filter combinations of DescribeBackups the model allows: BackupId and ServerName each
/// present or not, and MaxResults and NextToken each present or not when the model has them.
fn filter_combinations() -> Vec<Filters> {
    let members = input_members(Operation::DescribeBackups);
    let has = |m: &str| members.iter().any(|x| x == m);
    let mut out = Vec::new();
    for bits in 0u8..16 {
        let f = Filters {
            backup_id: bits & 1 != 0,
            server_name: bits & 2 != 0,
            max_results: bits & 4 != 0,
            next_token: bits & 8 != 0,
        };
        let possible = (has("BackupId") || !f.backup_id)
            && (has("ServerName") || !f.server_name)
            && (has("MaxResults") || !f.max_results)
            && (has("NextToken") || !f.next_token);
        if possible {
            out.push(f);
        }
    }
    out
}

/// Every feature the model allows to be sent for `operations`, in the report's order.
pub fn allowed(operations: &[Operation]) -> Vec<Feature> {
    let mut out = Vec::new();
    for (op, member) in SENT_MEMBERS {
        if !operations.contains(&op) {
            continue;
        }
        let kinds: Vec<Kind> = match member_shape(op, member) {
            Some(Shape::String { max, .. }) => STRING_KINDS
                .into_iter()
                .filter(|k| max.is_some() || !matches!(k, Kind::Max | Kind::MaxPlus1))
                .collect(),
            Some(Shape::List { max, .. }) => LIST_KINDS
                .into_iter()
                .filter(|k| max.is_some() || !matches!(k, Kind::ItemsMax | Kind::ItemsMaxPlus1))
                .collect(),
            _ => Vec::new(),
        };
        out.extend(kinds.into_iter().map(|kind| Feature { op, member, kind }));
    }
    if operations.contains(&Operation::DescribeBackups) {
        out.extend(filter_combinations().into_iter().map(|f| Feature {
            op: Operation::DescribeBackups,
            member: FILTERS_MEMBER,
            kind: Kind::Filters(f),
        }));
    }
    out
}

/// The rows of the feature matrix for `operations`: a row per member with every kind of its
/// type (allowed or not), and a row per combination of DescribeBackups' BackupId and ServerName
/// with its paging combinations as the kinds.
pub fn layout(operations: &[Operation]) -> Vec<(String, Vec<Feature>)> {
    let mut rows = Vec::new();
    for (op, member) in SENT_MEMBERS {
        if !operations.contains(&op) {
            continue;
        }
        let kinds: &[Kind] = match member_shape(op, member) {
            Some(Shape::String { .. }) => &STRING_KINDS,
            Some(Shape::List { .. }) => &LIST_KINDS,
            _ => &[],
        };
        let row = kinds.iter().map(|&kind| Feature { op, member, kind });
        rows.push((format!("{op}.{member}"), row.collect()));
    }
    if operations.contains(&Operation::DescribeBackups) {
        for (backup_id, server_name) in [(false, false), (false, true), (true, false), (true, true)]
        {
            let row: Vec<Feature> = [(false, false), (true, false), (false, true), (true, true)]
                .into_iter()
                .map(|(max_results, next_token)| Feature {
                    op: Operation::DescribeBackups,
                    member: FILTERS_MEMBER,
                    kind: Kind::Filters(Filters {
                        backup_id,
                        server_name,
                        max_results,
                        next_token,
                    }),
                })
                .collect();
            let Kind::Filters(f) = row[0].kind else {
                unreachable!("a filters row holds filter kinds")
            };
            rows.push((format!("DescribeBackups filters: {}", f.row_label()), row));
        }
    }
    rows
}

/// The values of a member path in an input (every element's, through `[]`).
fn values_at<'v>(input: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut current = vec![input];
    for part in path.split('.') {
        let (name, each) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        let next = current.iter().filter_map(|v| v.get(name));
        current = if each {
            next.filter_map(Value::as_array).flatten().collect()
        } else {
            next.collect()
        };
    }
    current
}

/// The kinds of one string member's value under its model constraints.
fn string_kinds(value: &Value, max: Option<u64>) -> Vec<Kind> {
    let Some(s) = value.as_str() else {
        return vec![Kind::WrongType];
    };
    let len = s.chars().count() as u64;
    let mut kinds = size_kinds(
        len,
        max,
        [Kind::Empty, Kind::Length1, Kind::Max, Kind::MaxPlus1],
    );
    if s.starts_with(char::is_whitespace) {
        kinds.push(Kind::LeadingSpace);
    }
    if s.ends_with(char::is_whitespace) {
        kinds.push(Kind::TrailingSpace);
    }
    if !s.is_ascii() {
        kinds.push(Kind::NonAscii);
    }
    kinds
}

/// The kinds of one list member's value under its model constraints.
fn list_kinds(value: &Value, max: Option<u64>) -> Vec<Kind> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    size_kinds(items.len() as u64, max, LIST_KINDS)
}

/// Which of `[none, one, max, max+1]` a size of `n` is, for a model maximum `max`.
fn size_kinds(n: u64, max: Option<u64>, [none, one, at_max, over]: [Kind; 4]) -> Vec<Kind> {
    let mut kinds = Vec::new();
    match n {
        0 => kinds.push(none),
        1 => kinds.push(one),
        _ => {}
    }
    if max == Some(n) {
        kinds.push(at_max);
    }
    if max.is_some_and(|m| n == m + 1) {
        kinds.push(over);
    }
    kinds
}

/// The features one request's input shows (each once, however many elements show it).
pub fn observe(op: Operation, input: &Value) -> Vec<Feature> {
    let mut out = Vec::new();
    let sent = SENT_MEMBERS.iter().zip(sent_member_shapes());
    for ((_, member), shape) in sent.filter(|((o, _), _)| *o == op) {
        let kinds = |v: &Value| match shape {
            Some(Shape::String { max, .. }) => string_kinds(v, *max),
            Some(Shape::List { max, .. }) => list_kinds(v, *max),
            _ => Vec::new(),
        };
        for value in values_at(input, member) {
            for kind in kinds(value) {
                let f = Feature { op, member, kind };
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
    }
    if op == Operation::DescribeBackups {
        let has = |m: &str| input.get(m).is_some_and(|v| !v.is_null());
        out.push(Feature {
            op,
            member: FILTERS_MEMBER,
            kind: Kind::Filters(Filters {
                backup_id: has("BackupId"),
                server_name: has("ServerName"),
                max_results: has("MaxResults"),
                next_token: has("NextToken"),
            }),
        });
    }
    out
}

/// A value of `kind` for a string member with the model's `max` (None when the kind has no
/// meaning for it): `base` (a valid value) stands for the rest of the string.
pub fn string_sample(kind: Kind, max: Option<u64>, base: &str) -> Option<Value> {
    let repeat = |n: u64| Value::String("a".repeat(n as usize));
    Some(match kind {
        Kind::Empty => Value::String(String::new()),
        Kind::Length1 => Value::String("a".into()),
        Kind::Max => repeat(max?),
        Kind::MaxPlus1 => repeat(max? + 1),
        Kind::LeadingSpace => Value::String(format!(" {base}")),
        Kind::TrailingSpace => Value::String(format!("{base} ")),
        Kind::NonAscii => Value::String(format!("{base}\u{e9}")),
        Kind::WrongType => Value::from(42),
        _ => return None,
    })
}

/// The number of items `kind` stands for in a list with the model's `max`.
pub fn list_len(kind: Kind, max: Option<u64>) -> Option<usize> {
    Some(match kind {
        Kind::Items0 => 0,
        Kind::Items1 => 1,
        Kind::ItemsMax => max? as usize,
        Kind::ItemsMaxPlus1 => max? as usize + 1,
        _ => return None,
    })
}
