//! Checks of an answer's shape against the service model: every member has the type, enum value
//! and constraints of its shape, and no member the shape does not have. Timestamps are epoch
//! seconds (a JSON number), as awsJson sends them (the Rust SDK cannot parse a string there).
//!
//! Every answer of a run is checked member by member (a listing has hundreds), so the service
//! model's shapes are compiled once into nodes that point at each other (members found by hash,
//! not by name in a list) and a member's path is written out only when something is wrong.
//!
//! [`Fits`] checks the same rules while a JSON text is parsed, without building a value: the
//! common path of an answer that fits (what does not fit is then checked as a value, for the
//! problems' wording).

use std::fmt;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::model::service::{ServiceModel, Shape};
use crate::model::Operation;

/// Problems with an operation's output, each as `path: what is wrong`. Empty when it fits.
pub fn check_output(op: Operation, output: &Value) -> Vec<String> {
    let shapes = Compiled::get();
    let mut problems = Vec::new();
    if let Some(&node) = shapes.outputs.get(op.name()) {
        shapes.check(node, Path::Root, output, &mut problems);
    }
    problems
}

/// Where a value stands in the answer; written out only for a problem.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

impl Path<'_> {
    /// The path as a problem names it (`(answer)` for the whole answer).
    fn here(&self) -> String {
        match self {
            Path::Root => "(answer)".to_string(),
            other => other.to_string(),
        }
    }
}

/// A shape of the service model with its references resolved to node indices.
pub(super) enum Node {
    Structure {
        name: &'static str,
        members: FxHashMap<&'static str, usize>,
    },
    List {
        name: &'static str,
        member: usize,
    },
    String {
        name: &'static str,
        enumeration: Option<&'static [String]>,
        max: Option<u64>,
    },
    Integer {
        name: &'static str,
    },
    Boolean,
    Timestamp,
    Other,
}

/// The service model's shapes as nodes, and each operation's output node.
pub(super) struct Compiled {
    pub(super) nodes: Vec<Node>,
    outputs: FxHashMap<&'static str, usize>,
}

impl Compiled {
    pub(super) fn get() -> &'static Compiled {
        static COMPILED: OnceLock<Compiled> = OnceLock::new();
        COMPILED.get_or_init(|| Compiled::new(ServiceModel::get()))
    }

    fn new(model: &'static ServiceModel) -> Compiled {
        // Shapes refer to each other by name: each name is its index in the model's order; a
        // name the model lacks is the last node, accepted as is (as `ServiceModel::shape` does).
        let index: FxHashMap<&'static str, usize> = model
            .shapes
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let missing = model.shapes.len();
        let node_of = |name: &str| index.get(name).copied().unwrap_or(missing);
        let mut nodes: Vec<Node> = model
            .shapes
            .iter()
            .map(|(name, shape)| {
                let name = name.as_str();
                match shape {
                    Shape::Structure { members, .. } => Node::Structure {
                        name,
                        members: members
                            .iter()
                            .map(|(m, s)| (m.as_str(), node_of(s)))
                            .collect(),
                    },
                    Shape::List { member, .. } => Node::List {
                        name,
                        member: node_of(member),
                    },
                    Shape::String {
                        enumeration, max, ..
                    } => Node::String {
                        name,
                        enumeration: enumeration.as_deref(),
                        max: *max,
                    },
                    Shape::Integer { .. } => Node::Integer { name },
                    Shape::Boolean => Node::Boolean,
                    Shape::Timestamp => Node::Timestamp,
                    Shape::Other => Node::Other,
                }
            })
            .collect();
        nodes.push(Node::Other);
        let outputs = model
            .operations
            .iter()
            .filter_map(|(op, o)| Some((op.as_str(), node_of(o.output.as_deref()?))))
            .collect();
        Compiled { nodes, outputs }
    }

    /// The output node of `op`, if it has one.
    pub(super) fn output(&self, op: Operation) -> Option<usize> {
        self.outputs.get(op.name()).copied()
    }

    /// A structure node's member `name` (as the model spells it) and its node, if it has it.
    pub(super) fn member(&self, node: usize, name: &str) -> Option<(&'static str, usize)> {
        match &self.nodes[node] {
            Node::Structure { members, .. } => members.get_key_value(name).map(|(n, m)| (*n, *m)),
            _ => None,
        }
    }

    /// A list node's item node.
    pub(super) fn item(&self, node: usize) -> Option<usize> {
        match &self.nodes[node] {
            Node::List { member, .. } => Some(*member),
            _ => None,
        }
    }

    /// True when the string `s` fits `node` (as [`Compiled::check`] would find it).
    pub(super) fn string_fits(&self, node: usize, s: &str) -> bool {
        match &self.nodes[node] {
            Node::String {
                enumeration, max, ..
            } => {
                enumeration.is_none_or(|values| values.iter().any(|e| e == s))
                    && !max.is_some_and(|m| s.len() as u64 > m && s.chars().count() as u64 > m)
            }
            Node::Other => true,
            _ => false,
        }
    }

    fn check(&self, node: usize, path: Path<'_>, v: &Value, out: &mut Vec<String>) {
        if v.is_null() {
            return;
        }
        match &self.nodes[node] {
            Node::Structure { name, members } => {
                let Some(obj) = v.as_object() else {
                    let here = path.here();
                    return out.push(format!("{here}: expected an object ({name}), got {v}"));
                };
                for (member, value) in obj {
                    let p = Path::Member(&path, member);
                    match members.get(member.as_str()) {
                        Some(&m) => self.check(m, p, value, out),
                        None => out.push(format!("{p}: not a member of {name}")),
                    }
                }
            }
            Node::List { name, member } => {
                let Some(items) = v.as_array() else {
                    let here = path.here();
                    return out.push(format!("{here}: expected a list ({name}), got {v}"));
                };
                for (i, item) in items.iter().enumerate() {
                    self.check(*member, Path::Item(&path, i), item, out);
                }
            }
            Node::String {
                name,
                enumeration,
                max,
            } => match v.as_str() {
                None => out.push(format!(
                    "{}: expected a string ({name}), got {v}",
                    path.here()
                )),
                Some(s) => {
                    if let Some(values) = enumeration {
                        if !values.iter().any(|e| e == s) {
                            out.push(format!(
                                "{}: {s:?} is not a value of {name} ({})",
                                path.here(),
                                values.join(", ")
                            ));
                        }
                    }
                    // Characters are counted only when the bytes could exceed the maximum.
                    if max.is_some_and(|m| s.len() as u64 > m && s.chars().count() as u64 > m) {
                        out.push(format!(
                            "{}: longer than {name}'s {} characters",
                            path.here(),
                            max.unwrap_or(0)
                        ));
                    }
                }
            },
            Node::Integer { name } => {
                if v.as_i64().is_none() {
                    out.push(format!(
                        "{}: expected an integer ({name}), got {v}",
                        path.here()
                    ));
                }
            }
            Node::Boolean => {
                if !v.is_boolean() {
                    out.push(format!("{}: expected a boolean, got {v}", path.here()));
                }
            }
            Node::Timestamp => {
                if !v.is_number() {
                    out.push(format!(
                        "{}: expected a timestamp in epoch seconds (a JSON number), got {v}",
                        path.here()
                    ));
                }
            }
            Node::Other => {}
        }
    }
}

/// Parses a JSON value of shape `node` without keeping it: an error as soon as something does
/// not fit (what [`check_output`] would report a problem for), `()` when it all fits.
#[derive(Clone, Copy)]
pub(super) struct Fits {
    pub(super) shapes: &'static Compiled,
    pub(super) node: usize,
}

/// The error that stops a parse at the first thing that does not fit.
pub(super) fn misfit<E: de::Error>() -> E {
    E::custom("does not fit the service model")
}

impl Fits {
    fn when<E: de::Error>(self, fits: bool) -> Result<(), E> {
        if fits {
            Ok(())
        } else {
            Err(misfit())
        }
    }

    fn node(self) -> &'static Node {
        &self.shapes.nodes[self.node]
    }
}

impl<'de> DeserializeSeed<'de> for Fits {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Fits {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value that fits the service model")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.when(matches!(self.node(), Node::Boolean | Node::Other))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.when(matches!(
            self.node(),
            Node::Integer { .. } | Node::Timestamp | Node::Other
        ))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match self.node() {
            Node::Integer { .. } => self.when(i64::try_from(v).is_ok()),
            node => self.when(matches!(node, Node::Timestamp | Node::Other)),
        }
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.when(matches!(self.node(), Node::Timestamp | Node::Other))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.when(self.shapes.string_fits(self.node, s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.node() {
            Node::List { member, .. } => {
                let item = Fits {
                    node: *member,
                    ..self
                };
                while seq.next_element_seed(item)?.is_some() {}
                Ok(())
            }
            Node::Other => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(())
            }
            _ => Err(misfit()),
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.node() {
            Node::Structure { .. } => {
                while let Some((_, node)) = map.next_key_seed(MemberOf(self))? {
                    map.next_value_seed(Fits { node, ..self })?;
                }
                Ok(())
            }
            Node::Other => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(())
            }
            _ => Err(misfit()),
        }
    }
}

/// A member name of the structure `Fits` is at, read as the model's name and the node of its
/// shape (an error for a name the structure does not have).
pub(super) struct MemberOf(pub(super) Fits);

type Member = (&'static str, usize);

impl<'de> DeserializeSeed<'de> for MemberOf {
    type Value = Member;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberOf {
    type Value = Member;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<Member, E> {
        self.0.shapes.member(self.0.node, name).ok_or_else(misfit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_good_backup_fits_and_bad_members_are_named() {
        let good = json!({"Backup": {"BackupId": "web-20250101000000000", "BackupType": "MANUAL",
            "CreatedAt": 1.7e9, "Status": "IN_PROGRESS", "ServerName": "web", "S3DataSize": 0,
            "SecurityGroupIds": ["sg-1"]}});
        assert!(check_output(Operation::CreateBackup, &good).is_empty());
        let bad = json!({"Backup": {"BackupType": "manual", "CreatedAt": "2025-01-01T00:00:00Z",
            "S3DataSize": "0", "Extra": 1}});
        let problems = check_output(Operation::CreateBackup, &bad);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("Backup.BackupType")));
        assert!(problems.iter().any(|p| p.starts_with("Backup.CreatedAt")));
        assert!(problems.iter().any(|p| p.starts_with("Backup.Extra")));
    }

    #[test]
    fn a_problem_names_its_path_through_lists_and_the_answer_itself() {
        let body = json!({"Backups": [
            {"BackupId": "web-1", "Status": "OK"},
            {"BackupId": "web-2", "Status": "DONE", "Extra": true}
        ]});
        let problems = check_output(Operation::DescribeBackups, &body);
        assert!(
            problems.iter().any(
                |p| p.starts_with("Backups[1].Status: \"DONE\" is not a value of BackupStatus")
            ),
            "{problems:?}"
        );
        assert!(problems.contains(&"Backups[1].Extra: not a member of Backup".to_string()));
        assert_eq!(problems.len(), 2, "{problems:?}");
        let not_an_object = check_output(Operation::DescribeBackups, &json!([1]));
        assert_eq!(
            not_an_object,
            vec!["(answer): expected an object (DescribeBackupsResponse), got [1]".to_string()]
        );
    }
}
