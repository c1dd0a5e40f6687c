//! Checks of an answer's shape against the service model: every member has the type, enum value
//! and constraints of its shape, and no member the shape does not have. Timestamps are epoch
//! seconds (a JSON number), as awsJson sends them (the Rust SDK cannot parse a string there).
//!
//! Every answer of a run is checked member by member (a listing has hundreds), so the service
//! model's shapes are compiled once into nodes that point at each other (members found by hash,
//! not by name in a list) and a member's path is written out only when something is wrong.

use std::fmt;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
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
enum Node {
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
struct Compiled {
    nodes: Vec<Node>,
    outputs: FxHashMap<&'static str, usize>,
}

impl Compiled {
    fn get() -> &'static Compiled {
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
