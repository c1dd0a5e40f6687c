//! One case: one plan run from a known state, step by step, each answer judged by the checker.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::check::{observation_name, Checker, StepVerdict};
use crate::model::{
    Action, BackupStatus, BackupType, CallWindow, Observation, Operation, Polarity, World,
};
use crate::plan::{self, IdRef, Plan, Step};
use crate::report::{Exchange, TimelineEntry};
use crate::wire::{self, Answer, Dialect};

use super::*;

/// A divergence found in one run of a plan.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) rule: &'static str,
    pub(super) message: String,
    pub(super) step_index: usize,
    pub(super) allowed: Vec<String>,
    pub(super) observed: String,
    pub(super) exchange: Option<Exchange>,
    pub(super) timeline: Vec<TimelineEntry>,
}

/// How one run of a plan ended.
#[derive(Debug, Clone)]
pub(super) enum CaseResult {
    Passed,
    Diverged(Box<Failure>),
    Unjudged(FaultInfo),
    /// A scenario whose `expect` the model does not allow (a broken scenario file).
    BadScenario(String),
    /// `--max-calls` was reached.
    Budget,
    Interrupted,
}

/// Ids learned while running one plan.
#[derive(Default)]
pub(super) struct Ids {
    pub(super) by_server: BTreeMap<String, Vec<String>>,
    pub(super) created: Vec<String>,
}

impl Ids {
    pub(super) fn learn(&mut self, server: &str, id: &str) {
        let list = self.by_server.entry(server.to_string()).or_default();
        if !list.iter().any(|x| x == id) {
            list.push(id.to_string());
        }
    }

    pub(super) fn lookup(&self, r: &IdRef) -> Option<String> {
        match r {
            IdRef::Backup { server, n } => self.by_server.get(server)?.get(*n).cloned(),
            IdRef::Created(n) => self.created.get(*n).cloned(),
        }
    }
}

impl Session {
    /// Runs one plan from a fresh state; returns its result and the readings still possible.
    pub(super) async fn run_plan(
        &mut self,
        plan: &Plan,
        check_expect: bool,
    ) -> (CaseResult, Vec<String>) {
        let mut checker = self.new_checker();
        let mut ids = Ids::default();
        let mut timeline = Vec::new();
        if self.control_plane {
            if let Err(f) = self.reset().await {
                return (CaseResult::Unjudged(f), vec![]);
            }
        } else {
            match self.discover_state().await {
                Ok(worlds) => checker = Checker::from_worlds(worlds),
                Err(CaseResult::Passed) => {}
                Err(other) => return (other, vec![]),
            }
        }
        let mut created_here: Vec<String> = Vec::new();
        let result = self
            .run_steps(
                plan,
                check_expect,
                &mut checker,
                &mut ids,
                &mut timeline,
                &mut created_here,
            )
            .await;
        let result = match result {
            // Without a control plane, wait (bounded) for the backups this plan made to finish,
            // judging every listing on the way: the endpoint must finish them by itself.
            CaseResult::Passed if !self.control_plane && !created_here.is_empty() => {
                self.await_settled(
                    plan.steps.len(),
                    &mut checker,
                    &mut ids,
                    &mut timeline,
                    &created_here,
                )
                .await
            }
            other => other,
        };
        if !self.control_plane {
            self.to_clean.extend(created_here);
            self.cleanup().await;
        }
        let readings = checker.readings();
        (result, readings)
    }

    pub(super) async fn run_steps(
        &mut self,
        plan: &Plan,
        check_expect: bool,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
        created_here: &mut Vec<String>,
    ) -> CaseResult {
        for (index, step) in plan.steps.iter().enumerate() {
            if self.interrupted.load(Ordering::SeqCst) {
                return CaseResult::Interrupted;
            }
            if self.max_calls.is_some_and(|m| self.calls >= m) {
                return CaseResult::Budget;
            }
            match step {
                Step::Call {
                    operation,
                    input,
                    expect,
                } => {
                    let resolved = plan::resolve_placeholders(input, &|r| ids.lookup(r));
                    let action = Action::Call {
                        op: *operation,
                        input: resolved.clone(),
                    };
                    if let (true, Some(expect)) = (check_expect, expect) {
                        let allowed = checker.documented_names(&action);
                        for want in expect.outcomes() {
                            if !allowed.contains(want) {
                                return CaseResult::BadScenario(format!(
                                    "step {} ({step}) expects {want}, but the model allows only {}",
                                    index + 1,
                                    allowed.into_iter().collect::<Vec<_>>().join(", ")
                                ));
                            }
                        }
                    }
                    let r = self
                        .call_step(
                            index,
                            step,
                            *operation,
                            &resolved,
                            checker,
                            ids,
                            timeline,
                            created_here,
                        )
                        .await;
                    if !matches!(r, CaseResult::Passed) {
                        return r;
                    }
                }
                _ => {
                    let r = self.fixture_step(index, step, checker, ids, timeline).await;
                    if !matches!(r, CaseResult::Passed) {
                        return r;
                    }
                }
            }
        }
        CaseResult::Passed
    }

    pub(super) async fn fixture_step(
        &mut self,
        index: usize,
        step: &Step,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
    ) -> CaseResult {
        if !self.control_plane {
            return CaseResult::BadScenario(format!(
                "step {} ({step}) needs the control plane",
                index + 1
            ));
        }
        let (method, path, body) = match step {
            Step::Reset {} => (
                reqwest::Method::POST,
                "/_conformance/v1/reset".to_string(),
                json!({}),
            ),
            Step::PutServer {
                server_name,
                status,
                engine,
                manual_backups,
                automated_backups,
            } => (
                reqwest::Method::PUT,
                format!("/_conformance/v1/servers/{server_name}"),
                json!({"Status": status, "Engine": engine, "ManualBackups": manual_backups, "AutomatedBackups": automated_backups}),
            ),
            Step::Settle { backup_status } => (
                reqwest::Method::POST,
                "/_conformance/v1/settle".to_string(),
                json!({"BackupStatus": backup_status.unwrap_or(BackupStatus::Ok)}),
            ),
            Step::Call { .. } => unreachable!("calls are not fixtures"),
        };
        self.calls += 1;
        let before = checker.representative().clone();
        let (t, _) = self.target.control(method, &path, Some(&body)).await;
        if let Err(f) = self.control_ok(t, &step.to_string()) {
            return CaseResult::Unjudged(f);
        }
        let action = step.action(None);
        match checker.observe(&action, &Observation::Success(json!({})), None) {
            StepVerdict::Consistent(info) => {
                for (rule, pol) in &info.exercised {
                    self.exercised(rule, *pol);
                }
                self.exercised("control-plane.contract", Polarity::Pass);
                if matches!(step, Step::Settle { .. }) {
                    self.exercised("ambiguity.status-after-backup", Polarity::Pass);
                }
                timeline.push(TimelineEntry {
                    index,
                    step: step.to_string(),
                    observed: "200".into(),
                    model_change: describe_change(&before, checker.representative()),
                    worlds: info.worlds,
                    diverged: false,
                });
            }
            StepVerdict::Diverged(d) => {
                return CaseResult::Diverged(Box::new(Failure {
                    rule: d.mismatch.rule,
                    message: d.mismatch.message,
                    step_index: index,
                    allowed: d.allowed,
                    observed: "200".into(),
                    exchange: None,
                    timeline: timeline.clone(),
                }))
            }
            StepVerdict::TooManyWorlds(n) => {
                return CaseResult::Unjudged(self.fault(
                    "too-many-worlds",
                    &format!("{n} possible worlds; the plan is too ambiguous to judge"),
                ))
            }
        }
        // Learn the ids of fixture backups through the public API (an observation like any other).
        if let Step::PutServer {
            server_name,
            manual_backups,
            automated_backups,
            ..
        } = step
        {
            if manual_backups + automated_backups > 0 {
                let probe = Step::call(
                    Operation::DescribeBackups,
                    json!({"ServerName": server_name}),
                );
                let r = self
                    .call_step(
                        index,
                        &probe,
                        Operation::DescribeBackups,
                        &json!({"ServerName": server_name}),
                        checker,
                        ids,
                        timeline,
                        &mut Vec::new(),
                    )
                    .await;
                if let Some(last) = timeline.last_mut() {
                    last.step = format!("(harness) {}", last.step);
                }
                return r;
            }
        }
        CaseResult::Passed
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call_step(
        &mut self,
        index: usize,
        step: &Step,
        op: Operation,
        input: &Value,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
        created_here: &mut Vec<String>,
    ) -> CaseResult {
        let action = Action::Call {
            op,
            input: input.clone(),
        };
        let before = checker.representative().clone();
        let sent_ms = chrono::Utc::now().timestamp_millis();
        let (answer, exchange) = self.api(op, input).await;
        let answered_ms = chrono::Utc::now().timestamp_millis();
        let window = Some(CallWindow {
            sent_ms,
            answered_ms,
        });
        let shown_step = match step {
            Step::Call { expect, .. } => Step::Call {
                operation: op,
                input: input.clone(),
                expect: expect.clone(),
            }
            .to_string(),
            other => other.to_string(),
        };
        let answer = match answer {
            Ok(a) => a,
            Err(f) if f.class == "budget" => return CaseResult::Budget,
            Err(f) => return CaseResult::Unjudged(f),
        };
        let diverge = |rule: &'static str,
                       message: String,
                       allowed: Vec<String>,
                       observed: String,
                       timeline: &Vec<TimelineEntry>| {
            let mut tl = timeline.clone();
            tl.push(TimelineEntry {
                index,
                step: shown_step.clone(),
                observed: observed.clone(),
                model_change: "(diverged)".into(),
                worlds: 0,
                diverged: true,
            });
            CaseResult::Diverged(Box::new(Failure {
                rule,
                message,
                step_index: index,
                allowed,
                observed,
                exchange: Some(exchange.clone()),
                timeline: tl,
            }))
        };
        let observation = match answer {
            Answer::Observed(o) => o,
            Answer::Protocol(m) => {
                let allowed: Vec<String> = checker.allowed_names(&action).into_iter().collect();
                let observed = format!(
                    "HTTP {} {}",
                    exchange.status.unwrap_or(0),
                    abbreviate(&exchange.response_body, 200)
                );
                return diverge(m.rule, m.message, allowed, observed, timeline);
            }
            Answer::Throttled(_) | Answer::Unavailable(_) | Answer::AuthRefused(_) => {
                unreachable!("handled in api()")
            }
        };
        // The shape of an aws-json success, member by member, against the service model.
        if let (Dialect::AwsJson, Observation::Success(body)) = (self.target.dialect, &observation)
        {
            let problems = wire::shape::check_output(op, body);
            if !problems.is_empty() {
                let allowed: Vec<String> = checker.allowed_names(&action).into_iter().collect();
                return diverge(
                    "response.shape",
                    format!(
                        "the answer does not fit the service model: {}",
                        problems.join("; ")
                    ),
                    allowed,
                    observed_line(&observation),
                    timeline,
                );
            }
        }
        match checker.observe(&action, &observation, window) {
            StepVerdict::Consistent(info) => {
                for (rule, pol) in &info.exercised {
                    self.exercised(rule, *pol);
                }
                self.wire_coverage(op, &observation);
                // Learn ids the endpoint chose.
                match (&observation, op) {
                    (Observation::Success(body), Operation::CreateBackup) => {
                        if let (Some(id), Some(server)) = (
                            body["Backup"]["BackupId"].as_str(),
                            input["ServerName"].as_str(),
                        ) {
                            ids.learn(server, id);
                            ids.created.push(id.to_string());
                            created_here.push(id.to_string());
                        }
                    }
                    (Observation::CreatedEnvelope { id, .. }, _) => {
                        if let Some(server) = input["ServerName"].as_str() {
                            ids.learn(server, id);
                        }
                        ids.created.push(id.clone());
                        created_here.push(id.clone());
                    }
                    (Observation::Success(body), Operation::DescribeBackups) => {
                        for b in body["Backups"].as_array().into_iter().flatten() {
                            if let (Some(id), Some(server)) =
                                (b["BackupId"].as_str(), b["ServerName"].as_str())
                            {
                                ids.learn(server, id);
                            }
                        }
                    }
                    _ => {}
                }
                timeline.push(TimelineEntry {
                    index,
                    step: shown_step,
                    observed: observed_line(&observation),
                    model_change: describe_change(&before, checker.representative()),
                    worlds: info.worlds,
                    diverged: false,
                });
                CaseResult::Passed
            }
            StepVerdict::Diverged(d) => diverge(
                d.mismatch.rule,
                d.mismatch.message,
                d.allowed,
                observed_line(&observation),
                timeline,
            ),
            StepVerdict::TooManyWorlds(n) => CaseResult::Unjudged(self.fault(
                "too-many-worlds",
                &format!(
                    "{n} possible worlds after {shown_step}; the plan is too ambiguous to judge"
                ),
            )),
        }
    }
}

/// One line of what a representative world changed: `web: HEALTHY -> BACKING_UP; web manual 0 -> 1`.
pub(super) fn describe_change(before: &World, after: &World) -> String {
    let mut parts = Vec::new();
    for (name, s) in &after.servers {
        match before.servers.get(name) {
            None => parts.push(format!("+server {name} {}", s.status)),
            Some(b) if b.status != s.status => {
                parts.push(format!("{name}: {} -> {}", b.status, s.status))
            }
            _ => {}
        }
    }
    for name in before.servers.keys() {
        if !after.servers.contains_key(name) {
            parts.push(format!("-server {name}"));
        }
    }
    let count = |w: &World, server: &str, kind: BackupType| {
        w.backups
            .iter()
            .filter(|b| b.server == server && b.kind == kind && b.status != BackupStatus::Deleting)
            .count()
    };
    let mut names: Vec<&String> = after.servers.keys().chain(before.servers.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        for kind in [BackupType::Manual, BackupType::Automated] {
            let (b, a) = (count(before, name, kind), count(after, name, kind));
            if a != b {
                parts.push(format!(
                    "{name} {} backups {b} -> {a}",
                    kind.as_str().to_lowercase()
                ));
            }
        }
    }
    let status_changes = after
        .backups
        .iter()
        .filter(|a| {
            a.id.is_some()
                && before
                    .backups
                    .iter()
                    .any(|b| b.id == a.id && b.status != a.status)
        })
        .map(|a| format!("{} {}", a.id.as_deref().unwrap_or("?"), a.status.as_str()))
        .collect::<Vec<_>>();
    parts.extend(status_changes);
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

/// One short line for an answer, for timelines (read, not serialized, so it stays cheap).
pub(super) fn observed_line(o: &Observation) -> String {
    match o {
        Observation::Success(v) => {
            if let Some(b) = v.get("Backup") {
                format!(
                    "success: Backup {} {} {}",
                    b["BackupId"].as_str().unwrap_or("(no BackupId)"),
                    b["BackupType"].as_str().unwrap_or("?"),
                    b["Status"].as_str().unwrap_or("?")
                )
            } else if let Some(list) = v.get("Backups").and_then(Value::as_array) {
                let items: Vec<String> = list
                    .iter()
                    .take(4)
                    .map(|b| {
                        format!(
                            "{} {}",
                            b["BackupId"].as_str().unwrap_or("?"),
                            b["Status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                let more = if list.len() > 4 {
                    format!(", ... {} more", list.len() - 4)
                } else {
                    String::new()
                };
                format!(
                    "success: {} backups [{}{more}]",
                    list.len(),
                    items.join(", ")
                )
            } else if let Some(list) = v.get("Servers").and_then(Value::as_array) {
                let items: Vec<String> = list
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {}",
                            s["ServerName"].as_str().unwrap_or("?"),
                            s["Status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                format!("success: {} servers [{}]", list.len(), items.join(", "))
            } else if let Some(s) = v.get("Server") {
                format!(
                    "success: Server {} {}",
                    s["ServerName"].as_str().unwrap_or("?"),
                    s["Status"].as_str().unwrap_or("?")
                )
            } else {
                "success".into()
            }
        }
        Observation::CreatedEnvelope { id, created_at } => {
            format!("success (envelope): id {id}, created_at {created_at}")
        }
        other => observation_name(other),
    }
}
