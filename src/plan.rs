//! Plans: the sequence of steps a case runs, in the same JSON form as scenario files and shrunk
//! counterexamples (`scenarios/**/*.json`).
//!
//! A step is a fixture change through the control plane (`reset`, `put-server`, `settle`) or an
//! API call with its raw JSON input. A call may state the outcomes it expects (`expect`); the
//! model must allow each of them, which keeps hand-written scenarios honest. A `parallel` step
//! sends 2 to [`MAX_PARALLEL`] calls at once; their answers must be explained by some order of
//! the same calls that respects real time (a linearizability check).
//!
//! Inputs may refer to ids the endpoint chooses: the string `${backup:SERVER:N}` stands for the
//! N-th backup id (from 0, in the order the harness learned them) of server SERVER, and
//! `${created:N}` for the id of the N-th backup this plan created with CreateBackup.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Action, BackupStatus, Operation, ServerSpec, ServerStatus};

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Remove every server and backup (control plane).
    Reset {},
    /// Create or replace a server with that many OK backups of each type (control plane).
    PutServer {
        #[serde(rename = "ServerName")]
        server_name: String,
        #[serde(rename = "Status")]
        status: ServerStatus,
        #[serde(rename = "Engine", default = "default_engine")]
        engine: String,
        #[serde(rename = "ManualBackups", default)]
        manual_backups: u32,
        #[serde(rename = "AutomatedBackups", default)]
        automated_backups: u32,
    },
    /// Every IN_PROGRESS backup ends with this status (default OK) (control plane).
    Settle {
        #[serde(
            rename = "BackupStatus",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        backup_status: Option<BackupStatus>,
    },
    /// An API call.
    Call {
        operation: Operation,
        #[serde(default = "empty_object")]
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<Expect>,
    },
    /// API calls sent at once (2 to [`MAX_PARALLEL`]).
    Parallel { calls: Vec<ParallelCall> },
}

/// The most calls a parallel block sends at once (the linearizability search tries at most
/// 8! orders).
pub const MAX_PARALLEL: usize = 8;

/// One call of a parallel block: as a call step, with its outcomes if stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParallelCall {
    pub operation: Operation,
    #[serde(default = "empty_object")]
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

impl ParallelCall {
    pub fn new(operation: Operation, input: Value) -> ParallelCall {
        ParallelCall {
            operation,
            input,
            expect: None,
        }
    }

    /// The call as a sequential step.
    pub fn as_step(&self) -> Step {
        Step::Call {
            operation: self.operation,
            input: self.input.clone(),
            expect: self.expect.clone(),
        }
    }
}

fn default_engine() -> String {
    "ChefAutomate".to_string()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// The outcomes a step states: `"success"` or an error name, or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    One(String),
    Any(Vec<String>),
}

impl Expect {
    pub fn outcomes(&self) -> Vec<&str> {
        match self {
            Expect::One(s) => vec![s.as_str()],
            Expect::Any(list) => list.iter().map(String::as_str).collect(),
        }
    }
}

impl Step {
    pub fn call(op: Operation, input: Value) -> Step {
        Step::Call {
            operation: op,
            input,
            expect: None,
        }
    }

    /// Whether the step needs the control plane.
    pub fn is_fixture(&self) -> bool {
        !matches!(self, Step::Call { .. } | Step::Parallel { .. })
    }

    /// The model action, with placeholders already resolved in `input`. A parallel block is
    /// not one action: take its calls' ([`ParallelCall::as_step`]).
    pub fn action(&self, resolved_input: Option<Value>) -> Action {
        match self {
            Step::Parallel { .. } => unreachable!("a parallel block is judged call by call"),
            Step::Reset {} => Action::Reset,
            Step::PutServer {
                server_name,
                status,
                engine,
                manual_backups,
                automated_backups,
            } => Action::PutServer(ServerSpec {
                name: server_name.clone(),
                status: *status,
                engine: engine.clone(),
                manual_backups: *manual_backups,
                automated_backups: *automated_backups,
            }),
            Step::Settle { backup_status } => {
                Action::Settle(backup_status.unwrap_or(BackupStatus::Ok))
            }
            Step::Call {
                operation, input, ..
            } => Action::Call {
                op: *operation,
                input: resolved_input.unwrap_or_else(|| input.clone()),
            },
        }
    }
}

impl fmt::Display for Step {
    /// One line: `CreateBackup {"ServerName":"web"}`, `put-server web HEALTHY (50 manual, 0 automated)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Reset {} => write!(f, "reset"),
            Step::PutServer {
                server_name,
                status,
                manual_backups,
                automated_backups,
                ..
            } => write!(
                f,
                "put-server {server_name} {status} ({manual_backups} manual, {automated_backups} automated)"
            ),
            Step::Settle { backup_status } => write!(
                f,
                "settle (backups end {})",
                backup_status.unwrap_or(BackupStatus::Ok).as_str()
            ),
            Step::Call {
                operation, input, ..
            } => CallLine(*operation, input).fmt(f),
            Step::Parallel { calls } => {
                let shown: Vec<String> = calls.iter().map(|c| c.as_step().to_string()).collect();
                write!(f, "at once [{}]", shown.join(" | "))
            }
        }
    }
}

/// A call step in one line as [`Step`] shows it (`CreateBackup {"ServerName":"web"}`), from
/// borrowed parts: a timeline shows every call sent so.
pub struct CallLine<'a>(pub Operation, pub &'a Value);

impl fmt::Display for CallLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CallLine(operation, input) = self;
        let text = input.to_string();
        // At most 160 bytes is at most 160 characters: counted only when longer.
        let count = if text.len() > 160 {
            text.chars().count()
        } else {
            0
        };
        if count > 160 {
            let short: String = text.chars().take(150).collect();
            write!(f, "{operation} {short}... ({count} characters)")
        } else {
            write!(f, "{operation} {text}")
        }
    }
}

/// A named sequence of steps: a scenario file, a generated case, or a shrunk counterexample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    /// One line saying what the plan shows, quoting the documented rule.
    #[serde(default)]
    pub description: String,
    /// The rule ids the plan is about (for the scenario library and coverage).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Seed and case that produced a generated or shrunk plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub steps: Vec<Step>,
    /// The file's steps as written, when they count in terms of the limit (`"${limit}"`,
    /// `"${limit-1}"`, `"${limit+1}"` for `ManualBackups`/`AutomatedBackups`): the plan is
    /// made again for the limit the endpoint advertises ([`Plan::for_limit`]).
    #[serde(skip)]
    pub template: Option<Value>,
}

impl Plan {
    pub fn new(name: impl Into<String>, steps: Vec<Step>) -> Plan {
        Plan {
            name: name.into(),
            description: String::new(),
            rules: Vec::new(),
            origin: None,
            steps,
            template: None,
        }
    }

    /// This plan for an endpoint whose manual-backup limit is `limit` (the same plan when its
    /// counts do not depend on the limit).
    pub fn for_limit(&self, limit: u32) -> Result<Plan, String> {
        let Some(template) = &self.template else {
            return Ok(self.clone());
        };
        let steps = with_limit(template, limit)?;
        let steps: Vec<Step> = serde_json::from_value(steps).map_err(|e| e.to_string())?;
        Ok(Plan {
            steps,
            ..self.clone()
        })
    }

    /// Whether any step needs the control plane.
    pub fn needs_control_plane(&self) -> bool {
        self.steps.iter().any(Step::is_fixture)
    }

    /// Number of API calls (fixture steps not counted, each call of a parallel block counted).
    pub fn call_count(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Parallel { calls } => calls.len(),
                s if s.is_fixture() => 0,
                _ => 1,
            })
            .sum()
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serializes")
    }
}

/// A scenario file that could not be read: names the file, line and problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}:{line}:{column}: {problem}")]
pub struct PlanFileError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub problem: String,
}

/// Reads one plan file.
pub fn load_plan(path: &Path) -> Result<Plan, PlanFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PlanFileError {
        path: shown.clone(),
        line: 0,
        column: 0,
        problem: format!("cannot read the file: {e}"),
    })?;
    parse_plan(&shown, &text)
}

/// Parses plan JSON; `path` only names the source in errors.
pub fn parse_plan(path: &str, text: &str) -> Result<Plan, PlanFileError> {
    let err = |e: serde_json::Error| PlanFileError {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        problem: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    };
    // Parse in two passes so a bad step is reported at its own line, not the file's end.
    let mut value: Value = serde_json::from_str(text).map_err(err)?;
    let template = value
        .get("steps")
        .filter(|s| s.to_string().contains("${limit"))
        .cloned();
    if let Some(t) = &template {
        value["steps"] =
            with_limit(t, crate::model::DEFAULT_LIMIT).map_err(|problem| PlanFileError {
                path: path.to_string(),
                line: 1,
                column: 1,
                problem,
            })?;
    }
    let steps = value.get("steps").and_then(Value::as_array).cloned();
    let plan: Result<Plan, _> = serde_json::from_value(value);
    match plan {
        Ok(mut plan) => {
            plan.template = template;
            let problem = |line: usize, problem: String| PlanFileError {
                path: path.to_string(),
                line,
                column: 1,
                problem,
            };
            if plan.steps.is_empty() {
                return Err(problem(1, "the plan has no steps".into()));
            }
            if let Some((i, n)) = plan.steps.iter().enumerate().find_map(|(i, s)| match s {
                Step::Parallel { calls } if !(2..=MAX_PARALLEL).contains(&calls.len()) => {
                    Some((i, calls.len()))
                }
                _ => None,
            }) {
                let why = format!(
                    "step {} (parallel): {n} calls; a parallel block sends 2 to {MAX_PARALLEL} calls at once",
                    i + 1
                );
                return Err(problem(step_line(text, i).unwrap_or(1), why));
            }
            Ok(plan)
        }
        Err(e) => {
            // Find the first bad step and its line.
            for (i, step) in steps.into_iter().flatten().enumerate() {
                if let Err(se) = serde_json::from_value::<Step>(step.clone()) {
                    let line = step_line(text, i).unwrap_or(0);
                    return Err(PlanFileError {
                        path: path.to_string(),
                        line,
                        column: 1,
                        problem: format!("step {} ({}): {se}", i + 1, step_kind(&step)),
                    });
                }
            }
            Err(PlanFileError {
                path: path.to_string(),
                line: 1,
                column: 1,
                problem: e.to_string(),
            })
        }
    }
}

/// `steps` with every `"${limit}"`, `"${limit-N}"` and `"${limit+N}"` count made a number.
fn with_limit(steps: &Value, limit: u32) -> Result<Value, String> {
    let mut out = steps.clone();
    for step in out.as_array_mut().into_iter().flatten() {
        for member in ["ManualBackups", "AutomatedBackups"] {
            let Some(text) = step.get(member).and_then(Value::as_str) else {
                continue;
            };
            let n = limit_count(text, limit).ok_or_else(|| {
                format!("{member} {text:?}: write a number, \"${{limit}}\", \"${{limit-N}}\" or \"${{limit+N}}\"")
            })?;
            step[member] = Value::from(n);
        }
    }
    Ok(out)
}

/// `${limit}`, `${limit-N}`, `${limit+N}` for a limit.
fn limit_count(text: &str, limit: u32) -> Option<u32> {
    let inner = text.strip_prefix("${limit")?.strip_suffix('}')?;
    let offset: i64 = match inner.chars().next() {
        None => 0,
        Some('+') => inner[1..].parse().ok()?,
        Some('-') => -inner[1..].parse::<i64>().ok()?,
        Some(_) => return None,
    };
    u32::try_from(i64::from(limit) + offset).ok()
}

fn step_kind(step: &Value) -> String {
    step.get("step")
        .map(|s| s.to_string())
        .unwrap_or_else(|| "no \"step\" member".to_string())
}

/// The line on which the `index`-th element of the `steps` array starts.
fn step_line(text: &str, index: usize) -> Option<usize> {
    let start = text.find("\"steps\"")?;
    let bytes = text.as_bytes();
    let mut i = start + text[start..].find('[')? + 1;
    let (mut depth, mut in_str, mut escaped, mut seen) = (0usize, false, false, 0usize);
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => {
                    if depth == 0 {
                        if seen == index {
                            return Some(text[..i].matches('\n').count() + 1);
                        }
                        seen += 1;
                    }
                    depth += 1;
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return None;
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// A reference to an id the endpoint chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRef {
    /// `${backup:SERVER:N}`: the N-th backup id learned for SERVER.
    Backup { server: String, n: usize },
    /// `${created:N}`: the N-th backup this plan created.
    Created(usize),
}

impl IdRef {
    /// Parses a placeholder string.
    pub fn parse(s: &str) -> Option<IdRef> {
        let inner = s.strip_prefix("${")?.strip_suffix('}')?;
        if let Some(n) = inner.strip_prefix("created:") {
            return n.parse().ok().map(IdRef::Created);
        }
        let (server, n) = inner.strip_prefix("backup:")?.rsplit_once(':')?;
        Some(IdRef::Backup {
            server: server.to_string(),
            n: n.parse().ok()?,
        })
    }

    /// A well-formed id that no backup has, used when a reference cannot be resolved (after
    /// shrinking removed the step that made the backup).
    pub fn dangling(&self) -> String {
        match self {
            IdRef::Backup { server, .. } if !server.is_empty() => {
                format!("{server}-19700101000000000")
            }
            _ => "unknown-19700101000000000".to_string(),
        }
    }
}

/// Expands placeholders in an input with `lookup`; one that cannot be resolved becomes a
/// well-formed id no backup has.
pub fn resolve_placeholders(input: &Value, lookup: &dyn Fn(&IdRef) -> Option<String>) -> Value {
    resolved(input, lookup).into_owned()
}

/// [`resolve_placeholders`], borrowing `input` when it holds no placeholder (a copy would
/// rebuild its members' index, hashing every name again).
pub fn resolved<'a>(
    input: &'a Value,
    lookup: &dyn Fn(&IdRef) -> Option<String>,
) -> std::borrow::Cow<'a, Value> {
    if has_placeholders(input) {
        std::borrow::Cow::Owned(expand(input, lookup))
    } else {
        std::borrow::Cow::Borrowed(input)
    }
}

fn expand(input: &Value, lookup: &dyn Fn(&IdRef) -> Option<String>) -> Value {
    match input {
        Value::String(s) => match IdRef::parse(s) {
            Some(r) => Value::String(lookup(&r).unwrap_or_else(|| r.dangling())),
            None => input.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| expand(v, lookup)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand(v, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether some string of `input` is a placeholder (else resolving it changes nothing).
fn has_placeholders(input: &Value) -> bool {
    match input {
        Value::String(s) => s.starts_with("${") && IdRef::parse(s).is_some(),
        Value::Array(items) => items.iter().any(has_placeholders),
        Value::Object(map) => map.values().any(has_placeholders),
        _ => false,
    }
}

/// The placeholder for the `n`-th backup this plan created.
pub fn created_ref(n: usize) -> String {
    format!("${{created:{n}}}")
}

/// The placeholder for the `n`-th backup of `server`.
pub fn backup_ref(server: &str, n: usize) -> String {
    format!("${{backup:{server}:{n}}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_round_trip_through_json() {
        let plan = Plan::new(
            "limit",
            vec![
                Step::Reset {},
                Step::PutServer {
                    server_name: "web".into(),
                    status: ServerStatus::Healthy,
                    engine: "ChefAutomate".into(),
                    manual_backups: 50,
                    automated_backups: 0,
                },
                Step::Call {
                    operation: Operation::CreateBackup,
                    input: json!({"ServerName": "web"}),
                    expect: Some(Expect::One("LimitExceededException".into())),
                },
                Step::Settle {
                    backup_status: None,
                },
            ],
        );
        let text = plan.to_json_pretty();
        assert_eq!(parse_plan("x.json", &text).unwrap(), plan);
    }

    #[test]
    fn a_bad_step_is_reported_at_its_line() {
        let text = "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"step\": \"reset\"},\n    {\"step\": \"put-server\", \"ServerName\": \"a\", \"Status\": \"SLEEPING\"}\n  ]\n}\n";
        let e = parse_plan("bad.json", text).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.problem.contains("SLEEPING"), "{e}");
        let e = parse_plan("bad.json", "{\"name\": \"x\",\n \"steps\": [}").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse_plan(
            "bad.json",
            "{\"name\": \"x\", \"steps\": [{\"step\": \"dance\"}]}",
        )
        .unwrap_err();
        assert!(e.problem.contains("dance"), "{e}");
    }

    #[test]
    fn a_parallel_block_reads_shows_and_counts_its_calls() {
        let text = r#"{"name": "x", "steps": [
            {"step": "parallel", "calls": [
                {"operation": "CreateBackup", "input": {"ServerName": "web"}},
                {"operation": "DescribeServers", "expect": "success"}]}]}"#;
        let plan = parse_plan("x.json", text).unwrap();
        assert_eq!(plan.call_count(), 2);
        assert!(!plan.needs_control_plane());
        assert_eq!(
            plan.steps[0].to_string(),
            r#"at once [CreateBackup {"ServerName":"web"} | DescribeServers {}]"#
        );
        assert_eq!(parse_plan("x.json", &plan.to_json_pretty()).unwrap(), plan);
        let one = r#"{"name": "x", "steps": [
            {"step": "parallel", "calls": [{"operation": "DescribeServers"}]}]}"#;
        let e = parse_plan("x.json", one).unwrap_err();
        assert!(e.problem.contains("2 to 8 calls"), "{e}");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn placeholders_resolve_to_learned_ids() {
        let input =
            json!({"BackupId": "${backup:web:1}", "Other": ["${backup:db:0}", "${created:0}"]});
        let lookup = |r: &IdRef| match r {
            IdRef::Backup { server, n: 1 } if server == "web" => Some("web-1".to_string()),
            IdRef::Created(0) => Some("web-2".to_string()),
            _ => None,
        };
        let out = resolve_placeholders(&input, &lookup);
        assert_eq!(
            out,
            json!({"BackupId": "web-1", "Other": ["db-19700101000000000", "web-2"]})
        );
    }
}
