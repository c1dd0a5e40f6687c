//! Input validation driven by the service model: every member of an operation's input is
//! checked against its shape (type, required members, length, pattern, range, enum), plus the
//! stricter limits that AWS's prose states for tags.
//!
//! Where the documents disagree (tag limits, anchoring, the `aws:` prefix, the error for a wrong
//! JSON type) a violation is `Ambiguous`: refusing is one legal reading, accepting another.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::service::{Pattern, ServiceModel, Shape};
use word::Word;

mod word;
use crate::model::rules::{self, RuleId};

/// How sure a violation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certainty {
    /// Every reading refuses the input.
    Definite,
    /// Some readings refuse it; the named ambiguity allows accepting it too.
    Ambiguous(RuleId),
}

/// One broken input constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the input, e.g. `Tags[3].Key`.
    pub path: String,
    /// The rule id, e.g. `validation.tag-key.length`.
    pub rule: RuleId,
    pub certainty: Certainty,
    pub message: String,
}

impl Violation {
    pub fn is_definite(&self) -> bool {
        self.certainty == Certainty::Definite
    }
}

/// Validates an operation's input JSON against its input shape.
pub fn validate_input(operation: &str, input: &Value) -> Vec<Violation> {
    validate(operation, input).0
}

/// [`validate_input`], and when nothing is wrong the validation rules the input exercised too
/// (every rule whose member is present, so coverage can count inputs that satisfied a rule as
/// well as inputs that broke it), in one walk.
pub fn validate(operation: &str, input: &Value) -> (Vec<Violation>, Vec<RuleId>) {
    let compiled = Compiled::get();
    let Some(node) = compiled.input(operation) else {
        return (Vec::new(), compiled.rules_of(0));
    };
    if !input.is_object() {
        let violation = Violation {
            path: String::new(),
            rule: rules::VALIDATION_TYPE,
            certainty: Certainty::Definite,
            message: format!(
                "the request body must be a JSON object, not {}",
                kind(input)
            ),
        };
        return (vec![violation], Vec::new());
    }
    let mut walk = Walk::default();
    walk.check(compiled, node, &Path::Root, input);
    if walk.out.is_empty() {
        (walk.out, compiled.rules_of(walk.checked))
    } else {
        (walk.out, Vec::new())
    }
}

/// The service model's input shapes compiled once for validation: each shape where it sits (its
/// rule family depends on the member it sits under) with its constraints and the rules it
/// exercises, so that a walk looks nothing up by name.
struct Compiled {
    nodes: Vec<Node>,
    /// Operation name to its input shape's node.
    inputs: BTreeMap<&'static str, usize>,
    /// Every rule a walk may name as checked, sorted: bit i of a mask stands for `table[i]`.
    table: Vec<RuleId>,
}

/// One shape under one member.
struct Node {
    shape_name: &'static str,
    member: &'static str,
    fam: &'static str,
    shape: &'static Shape,
    /// A string's pattern.
    matcher: Option<Matcher>,
    /// A structure's members (name, node) in the model's order; a list's item (one, unnamed).
    children: Vec<(&'static str, usize)>,
    /// The rules an input that reaches this node exercises (bits into [`Compiled::table`]).
    checked: u64,
}

/// The pattern that allows every string: no rule of its own.
const EVERYTHING: &str = "(?s).*";

/// A pattern, decided without its regex when it matches every string (`(?s).*`) or is a
/// word of ASCII classes (see [`word`]).
struct Matcher {
    pattern: &'static Pattern,
    everything: bool,
    word: Option<Word>,
}

impl Matcher {
    fn new(pattern: &'static Pattern) -> Matcher {
        Matcher {
            pattern,
            everything: pattern.source == EVERYTHING,
            word: Word::parse(&pattern.source),
        }
    }

    fn matches_whole(&self, s: &str) -> bool {
        if self.everything {
            return true;
        }
        let word = self.word.as_ref().and_then(|w| w.matches_whole(s));
        word.unwrap_or_else(|| self.pattern.anchored.is_match(s))
    }

    fn matches_part(&self, s: &str) -> bool {
        self.everything || self.pattern.unanchored.is_match(s)
    }
}

impl Compiled {
    fn get() -> &'static Compiled {
        static COMPILED: OnceLock<Compiled> = OnceLock::new();
        COMPILED.get_or_init(|| Compiled::build(ServiceModel::get()))
    }

    fn build(model: &'static ServiceModel) -> Compiled {
        let mut builder = Builder {
            model,
            nodes: Vec::new(),
            node_rules: Vec::new(),
            at: BTreeMap::new(),
        };
        let inputs = model
            .operations
            .iter()
            .filter_map(|(name, op)| Some((name.as_str(), builder.node(op.input.as_deref()?, ""))))
            .collect();
        let mut table: Vec<RuleId> = builder.node_rules.iter().flatten().copied().collect();
        table.extend([rules::VALIDATION_REQUIRED, rules::VALIDATION_TYPE]);
        table.sort();
        table.dedup();
        assert!(table.len() <= 64, "a mask holds at most 64 checked rules");
        let bit = |r: &RuleId| 1u64 << table.iter().position(|t| t == r).expect("in the table");
        let nodes = builder
            .nodes
            .into_iter()
            .zip(builder.node_rules)
            .map(|(mut node, rules)| {
                node.checked = rules.iter().map(bit).fold(0, |a, b| a | b);
                node
            })
            .collect();
        Compiled {
            nodes,
            inputs,
            table,
        }
    }

    fn input(&self, operation: &str) -> Option<&Node> {
        self.inputs.get(operation).map(|&i| &self.nodes[i])
    }

    /// The rules of a mask, sorted, with the two every input exercises.
    fn rules_of(&self, mask: u64) -> Vec<RuleId> {
        let always = [rules::VALIDATION_REQUIRED, rules::VALIDATION_TYPE];
        self.table
            .iter()
            .enumerate()
            .filter(|(i, r)| mask & (1 << i) != 0 || always.contains(r))
            .map(|(_, r)| *r)
            .collect()
    }
}

/// Compiles shapes into nodes, each (shape, member) once.
struct Builder {
    model: &'static ServiceModel,
    nodes: Vec<Node>,
    /// The rules each node exercises (as its mask, once the table is known).
    node_rules: Vec<Vec<RuleId>>,
    at: BTreeMap<(&'static str, &'static str), usize>,
}

impl Builder {
    fn node(&mut self, shape_name: &'static str, member: &'static str) -> usize {
        if let Some(&i) = self.at.get(&(shape_name, member)) {
            return i;
        }
        let i = self.nodes.len();
        self.at.insert((shape_name, member), i);
        let fam = family(shape_name, member);
        let shape = self.model.shape(shape_name);
        self.nodes.push(Node {
            shape_name,
            member,
            fam,
            shape,
            matcher: match shape {
                Shape::String {
                    pattern: Some(p), ..
                } => Some(Matcher::new(p)),
                _ => None,
            },
            children: Vec::new(),
            checked: 0,
        });
        self.node_rules.push(Vec::new());
        let children = match shape {
            Shape::Structure { members, .. } => members
                .iter()
                .map(|(name, shape)| (name.as_str(), self.node(shape, name)))
                .collect(),
            Shape::List { member: m, .. } => vec![("", self.node(m, member))],
            _ => vec![],
        };
        let rules = exercised_rules(shape, fam);
        self.nodes[i].children = children;
        self.node_rules[i] = rules;
        i
    }
}

/// The rules a member present exercises: its constraints.
fn exercised_rules(shape: &Shape, fam: &str) -> Vec<RuleId> {
    match shape {
        Shape::List { .. } => vec![rule_id(fam, "count")],
        Shape::String {
            enumeration: Some(_),
            ..
        } => vec![rules::VALIDATION_TYPE],
        Shape::String {
            min, max, pattern, ..
        } => {
            let mut rules = vec![];
            if min.is_some() || max.is_some() {
                rules.push(rule_id(fam, "length"));
            }
            if pattern.as_ref().is_some_and(|p| p.source != EVERYTHING) {
                rules.push(rule_id(fam, "pattern"));
            }
            rules
        }
        Shape::Integer { min, max } if min.is_some() || max.is_some() => {
            vec![rule_id(fam, "range")]
        }
        _ => vec![],
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The rule family of a member, named after the domain rather than the generic shape.
fn family(shape_name: &str, member: &str) -> &'static str {
    match (shape_name, member) {
        ("ServerName", _) => "server-name",
        ("BackupId", _) => "backup-id",
        ("TagKey", _) => "tag-key",
        ("TagValue", _) => "tag-value",
        ("TagList", _) => "tags",
        ("MaxResults", _) => "max-results",
        ("TimeWindowDefinition", _) => "time-window",
        (_, "Description") => "description",
        _ => "string",
    }
}

fn rule_id(family: &str, constraint: &str) -> RuleId {
    match (family, constraint) {
        ("server-name", "length") => rules::VALIDATION_SERVER_NAME_LENGTH,
        ("server-name", "pattern") => rules::VALIDATION_SERVER_NAME_PATTERN,
        ("backup-id", "length") => rules::VALIDATION_BACKUP_ID_LENGTH,
        ("backup-id", "pattern") => rules::VALIDATION_BACKUP_ID_PATTERN,
        ("tag-key", "length") => rules::VALIDATION_TAG_KEY_LENGTH,
        ("tag-key", "pattern") => rules::VALIDATION_TAG_KEY_PATTERN,
        ("tag-value", "length") => rules::VALIDATION_TAG_VALUE_LENGTH,
        ("tag-value", "pattern") => rules::VALIDATION_TAG_VALUE_PATTERN,
        ("tags", _) => rules::VALIDATION_TAGS_COUNT,
        ("description", "length") => rules::VALIDATION_DESCRIPTION_LENGTH,
        ("max-results", _) => rules::VALIDATION_MAX_RESULTS_RANGE,
        ("time-window", _) => rules::VALIDATION_TIME_WINDOW_PATTERN,
        (_, "enum") => rules::VALIDATION_TYPE,
        _ => rules::VALIDATION_STRING_LENGTH,
    }
}

fn push(out: &mut Vec<Violation>, path: &Path, rule: RuleId, c: Certainty, msg: String) {
    out.push(Violation {
        path: path.to_string(),
        rule,
        certainty: c,
        message: msg,
    });
}

/// One walk of an input: the violations found, and the rules it exercised (a mask).
#[derive(Default)]
struct Walk {
    out: Vec<Violation>,
    checked: u64,
}

impl Walk {
    fn check(&mut self, compiled: &Compiled, node: &Node, path: &Path, v: &Value) {
        let site = Site {
            path,
            shape_name: node.shape_name,
            fam: node.fam,
        };
        let out = &mut self.out;
        let type_error = |out: &mut Vec<Violation>, want: &str| {
            push(
                out,
                path,
                rules::VALIDATION_TYPE,
                Certainty::Definite,
                format!("{path} must be {want}, not {}", kind(v)),
            )
        };
        self.checked |= node.checked;
        match node.shape {
            Shape::Structure { required, .. } => {
                let Some(obj) = v.as_object() else {
                    return type_error(out, "an object");
                };
                for r in required {
                    if member(obj, r).is_none_or(Value::is_null) {
                        let p = Path::Member(path, r);
                        let (rule, c) = (rules::VALIDATION_REQUIRED, Certainty::Definite);
                        push(out, &p, rule, c, format!("{p} is required"));
                    }
                }
                for (name, i) in &node.children {
                    if let Some(value) = member(obj, name).filter(|v| !v.is_null()) {
                        let child = &compiled.nodes[*i];
                        self.check(compiled, child, &Path::Member(path, name), value);
                    }
                }
            }
            Shape::List { min, max, .. } => {
                let Some(items) = v.as_array() else {
                    return type_error(out, "a list");
                };
                check_count(&site, items.len() as u64, (*min, *max), out);
                let item = &compiled.nodes[node.children[0].1];
                for (i, value) in items.iter().enumerate() {
                    self.check(compiled, item, &Path::Item(path, i), value);
                }
            }
            Shape::String {
                min,
                max,
                enumeration,
                ..
            } => {
                let Some(s) = v.as_str() else {
                    return type_error(out, "a string");
                };
                let shape = StringShape {
                    min: *min,
                    max: *max,
                    pattern: node.matcher.as_ref(),
                    enumeration,
                };
                check_string(&site, s, &shape, out);
            }
            Shape::Integer { min, max } => {
                let Some(n) = v.as_i64() else {
                    return type_error(out, "an integer");
                };
                check_range(&site, node.member, n, (*min, *max), out);
            }
            Shape::Boolean => {
                if !v.is_boolean() {
                    type_error(out, "a boolean")
                }
            }
            Shape::Timestamp => {
                if !(v.is_number() || v.is_string()) {
                    type_error(out, "a timestamp")
                }
            }
            Shape::Other => {}
        }
    }
}

/// A member of an input object: found by comparing names while the object is small (cheaper
/// than hashing the name), by its index beyond.
fn member<'v>(obj: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v Value> {
    if obj.len() <= 8 {
        obj.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    } else {
        obj.get(name)
    }
}

/// Where a value sits: its path in the input, its shape and its rule family.
struct Site<'a> {
    path: &'a Path<'a>,
    shape_name: &'a str,
    fam: &'a str,
}

/// A string shape's constraints.
struct StringShape<'a> {
    min: Option<u64>,
    max: Option<u64>,
    pattern: Option<&'a Matcher>,
    enumeration: &'a Option<Vec<String>>,
}

/// A list's item count: the shape's bounds, and for tags the prose's 50 (A8).
fn check_count(
    site: &Site,
    n: u64,
    (min, max): (Option<u64>, Option<u64>),
    out: &mut Vec<Violation>,
) {
    let (path, shape_name, fam) = (site.path, site.shape_name, site.fam);
    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
        push(
            out,
            path,
            rule_id(fam, "count"),
            Certainty::Definite,
            format!("{path} has {n} items; the shape allows {min:?} to {max:?}"),
        );
    } else if shape_name == "TagList" && n > 50 {
        push(
            out,
            path,
            rules::VALIDATION_TAGS_COUNT,
            Certainty::Ambiguous(rules::AMBIGUITY_TAG_LIMITS),
            format!("{path} has {n} tags; the prose allows at most 50"),
        );
    }
}

/// An integer's range, and BackupRetentionCount's CreateServer bound (A16).
fn check_range(
    site: &Site,
    member: &str,
    n: i64,
    (min, max): (Option<i64>, Option<i64>),
    out: &mut Vec<Violation>,
) {
    let (path, fam) = (site.path, site.fam);
    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
        push(
            out,
            path,
            rule_id(fam, "range"),
            Certainty::Definite,
            format!("{path} is {n}; the shape allows {min:?} to {max:?}"),
        );
    } else if member == "BackupRetentionCount" && n < 1 {
        // A16: UpdateServer's member is a plain Integer, CreateServer's has min 1.
        push(
            out,
            path,
            rules::VALIDATION_BACKUP_RETENTION_COUNT,
            Certainty::Ambiguous(rules::AMBIGUITY_RETENTION_ZERO),
            format!("{path} is {n}; CreateServer's shape allows at least 1"),
        );
    }
}

fn check_string(site: &Site, s: &str, shape: &StringShape, out: &mut Vec<Violation>) {
    let path = site.path;
    if let Some(values) = shape.enumeration {
        if !values.iter().any(|e| e == s) {
            push(
                out,
                path,
                rules::VALIDATION_TYPE,
                Certainty::Definite,
                format!("{path} is {s:?}, not one of {values:?}"),
            );
        }
        return;
    }
    check_length(site, s, shape, out);
    check_pattern(site, s, shape.pattern, out);
}

/// The shape's length, and for tags the prose's stricter limits (A8).
fn check_length(site: &Site, s: &str, shape: &StringShape, out: &mut Vec<Violation>) {
    let Site {
        path,
        shape_name,
        fam,
    } = *site;
    let (min, max) = (shape.min, shape.max);
    // Lengths count Unicode scalar values.
    let len = s.chars().count() as u64;
    let is_tag = matches!(shape_name, "TagKey" | "TagValue");
    let trimmed = s.trim();
    let trimmed_len = trimmed.chars().count() as u64;
    if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
        // A tag whose length is out of range only before trimming: ambiguous (A8).
        let certainty = if is_tag
            && !(min.is_some_and(|m| trimmed_len < m) || max.is_some_and(|m| trimmed_len > m))
        {
            Certainty::Ambiguous(rules::AMBIGUITY_TAG_LIMITS)
        } else {
            Certainty::Definite
        };
        push(
            out,
            path,
            rule_id(fam, "length"),
            certainty,
            format!("{path} has {len} characters; the shape allows {min:?} to {max:?}"),
        );
    } else if is_tag {
        // The prose: key at most 127, value at most 255, the key cannot be empty (after trimming).
        let prose_max = if shape_name == "TagKey" { 127 } else { 255 };
        if len > prose_max || (shape_name == "TagKey" && trimmed_len == 0) {
            push(
                out,
                path,
                rule_id(fam, "length"),
                Certainty::Ambiguous(rules::AMBIGUITY_TAG_LIMITS),
                format!("{path} has {len} characters ({trimmed_len} trimmed); the prose allows at most {prose_max} and no empty key"),
            );
        }
    }
}

/// The shape's pattern (A9's anchoring), the prose's `@` for tags (A8), and the reserved `aws:`
/// prefix (A14).
fn check_pattern(site: &Site, s: &str, pattern: Option<&Matcher>, out: &mut Vec<Violation>) {
    let Site {
        path,
        shape_name,
        fam,
    } = *site;
    let is_tag = matches!(shape_name, "TagKey" | "TagValue");
    let trimmed = s.trim();
    if let Some(p) = pattern {
        if !p.matches_whole(s) {
            let certainty = if p.matches_part(s) && !is_tag {
                Certainty::Ambiguous(rules::AMBIGUITY_PATTERN_ANCHORING)
            } else {
                Certainty::Definite
            };
            push(
                out,
                path,
                rule_id(fam, "pattern"),
                certainty,
                format!("{path} is {s:?}, which does not match {}", p.pattern.source),
            );
        } else if is_tag && s.contains('@') {
            push(
                out,
                path,
                rule_id(fam, "pattern"),
                Certainty::Ambiguous(rules::AMBIGUITY_TAG_LIMITS),
                format!("{path} contains @, allowed by the pattern but not by the prose"),
            );
        }
    }
    let reserved = |t: &str| {
        t.as_bytes()
            .get(..4)
            .is_some_and(|b| b.eq_ignore_ascii_case(b"aws:"))
    };
    if shape_name == "TagKey" && reserved(trimmed) {
        push(
            out,
            path,
            rules::VALIDATION_TAG_KEY_PATTERN,
            Certainty::Ambiguous(rules::AMBIGUITY_TAG_RESERVED_PREFIX),
            format!("{path} starts with the reserved prefix aws:"),
        );
    }
}

/// Where a value sits in the input, built on the stack as the walk goes down and written out
/// (`Tags[0].Key`) only for a violation.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, m) => f.write_str(m),
            Path::Member(parent, m) => write!(f, "{parent}.{m}"),
            Path::Item(list, i) => write!(f, "{list}[{i}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(op: &str, input: Value) -> Vec<(RuleId, bool)> {
        validate_input(op, &input)
            .into_iter()
            .map(|v| (v.rule, v.is_definite()))
            .collect()
    }

    #[test]
    fn validation_required() {
        assert_eq!(
            rules("CreateBackup", json!({})),
            [(rules::VALIDATION_REQUIRED, true)]
        );
        assert_eq!(
            rules("DeleteBackup", json!({"BackupId": null})),
            [(rules::VALIDATION_REQUIRED, true)]
        );
    }

    #[test]
    fn validation_type() {
        assert_eq!(
            rules("CreateBackup", json!({"ServerName": 5})),
            [(rules::VALIDATION_TYPE, true)]
        );
        assert_eq!(
            rules(
                "CreateBackup",
                json!({"ServerName": "a", "Tags": {"k": "v"}})
            ),
            [(rules::VALIDATION_TYPE, true)]
        );
        assert_eq!(
            rules("CreateBackup", json!([1])),
            [(rules::VALIDATION_TYPE, true)]
        );
    }

    #[test]
    fn validation_server_name_length_and_pattern() {
        assert!(rules("CreateBackup", json!({"ServerName": "a".repeat(40)})).is_empty());
        assert_eq!(
            rules("CreateBackup", json!({"ServerName": "a".repeat(41)})),
            [(rules::VALIDATION_SERVER_NAME_LENGTH, true)]
        );
        assert_eq!(
            rules("CreateBackup", json!({"ServerName": ""})),
            [
                (rules::VALIDATION_SERVER_NAME_LENGTH, true),
                (rules::VALIDATION_SERVER_NAME_PATTERN, true)
            ]
        );
        // Matches only somewhere inside: ambiguous (A9).
        assert_eq!(
            rules("CreateBackup", json!({"ServerName": "1web"})),
            [(rules::VALIDATION_SERVER_NAME_PATTERN, false)]
        );
        assert_eq!(
            rules("CreateBackup", json!({"ServerName": "123"})),
            [(rules::VALIDATION_SERVER_NAME_PATTERN, true)]
        );
    }

    #[test]
    fn validation_description_length() {
        let ok = json!({"ServerName": "a", "Description": "é".repeat(10000)});
        assert!(rules("CreateBackup", ok).is_empty());
        let long = json!({"ServerName": "a", "Description": "x".repeat(10001)});
        assert_eq!(
            rules("CreateBackup", long),
            [(rules::VALIDATION_DESCRIPTION_LENGTH, true)]
        );
    }

    #[test]
    fn validation_tags_count() {
        let tags = |n: usize| {
            (0..n)
                .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
                .collect::<Vec<_>>()
        };
        assert!(rules("CreateBackup", json!({"ServerName": "a", "Tags": tags(50)})).is_empty());
        assert_eq!(
            rules("CreateBackup", json!({"ServerName": "a", "Tags": tags(51)})),
            [(rules::VALIDATION_TAGS_COUNT, false)]
        );
        assert_eq!(
            rules(
                "CreateBackup",
                json!({"ServerName": "a", "Tags": tags(201)})
            ),
            [(rules::VALIDATION_TAGS_COUNT, true)]
        );
    }

    #[test]
    fn validation_tag_key_and_value() {
        let tag =
            |k: String, v: String| json!({"ServerName": "a", "Tags": [{"Key": k, "Value": v}]});
        assert!(rules("CreateBackup", tag("k".repeat(127), "v".repeat(255))).is_empty());
        assert_eq!(
            rules("CreateBackup", tag("k".repeat(128), "v".into())),
            [(rules::VALIDATION_TAG_KEY_LENGTH, false)]
        );
        assert_eq!(
            rules("CreateBackup", tag("k".repeat(129), "v".into())),
            [(rules::VALIDATION_TAG_KEY_LENGTH, true)]
        );
        assert_eq!(
            rules("CreateBackup", tag("k".into(), "v".repeat(256))),
            [(rules::VALIDATION_TAG_VALUE_LENGTH, false)]
        );
        assert_eq!(
            rules("CreateBackup", tag("k".into(), "v".repeat(257))),
            [(rules::VALIDATION_TAG_VALUE_LENGTH, true)]
        );
        assert_eq!(
            rules("CreateBackup", tag("".into(), "v".into())),
            [(rules::VALIDATION_TAG_KEY_LENGTH, true)]
        );
        assert_eq!(
            rules("CreateBackup", tag("a*b".into(), "v".into())),
            [(rules::VALIDATION_TAG_KEY_PATTERN, true)]
        );
        assert_eq!(
            rules("CreateBackup", tag("k".into(), "a!".into())),
            [(rules::VALIDATION_TAG_VALUE_PATTERN, true)]
        );
        assert_eq!(
            rules("CreateBackup", tag("a@b".into(), "v".into())),
            [(rules::VALIDATION_TAG_KEY_PATTERN, false)]
        );
        assert_eq!(
            rules("CreateBackup", tag("aws:x".into(), "v".into())),
            [(rules::VALIDATION_TAG_KEY_PATTERN, false)]
        );
        assert_eq!(
            rules("CreateBackup", tag("   ".into(), "v".into())),
            [(rules::VALIDATION_TAG_KEY_LENGTH, false)]
        );
        assert_eq!(
            rules(
                "CreateBackup",
                json!({"ServerName": "a", "Tags": [{"Key": "k"}]})
            ),
            [(rules::VALIDATION_REQUIRED, true)]
        );
    }

    #[test]
    fn validation_backup_id() {
        assert!(rules("DeleteBackup", json!({"BackupId": "web-20250101000000000"})).is_empty());
        assert_eq!(
            rules("DeleteBackup", json!({"BackupId": "a".repeat(80)})),
            [(rules::VALIDATION_BACKUP_ID_LENGTH, true)]
        );
        assert_eq!(
            rules("DeleteBackup", json!({"BackupId": "9abc"})),
            [(rules::VALIDATION_BACKUP_ID_PATTERN, false)]
        );
        assert_eq!(
            rules("DeleteBackup", json!({"BackupId": "!!"})),
            [(rules::VALIDATION_BACKUP_ID_PATTERN, true)]
        );
    }

    #[test]
    fn validation_other_members() {
        assert_eq!(
            rules("DescribeBackups", json!({"MaxResults": 0})),
            [(rules::VALIDATION_MAX_RESULTS_RANGE, true)]
        );
        assert_eq!(
            rules(
                "UpdateServer",
                json!({"ServerName": "a", "PreferredBackupWindow": "25:00"})
            ),
            [(rules::VALIDATION_TIME_WINDOW_PATTERN, true)]
        );
        assert!(rules(
            "UpdateServer",
            json!({"ServerName": "a", "PreferredBackupWindow": "Mon:08:00"})
        )
        .is_empty());
        assert_eq!(
            rules(
                "UpdateServer",
                json!({"ServerName": "a", "DisableAutomatedBackup": "yes"})
            ),
            [(rules::VALIDATION_TYPE, true)]
        );
    }
}
