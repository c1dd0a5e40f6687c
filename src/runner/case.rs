//! One case: one plan run from a known state, step by step, each answer judged by the checker.
//! A [`Case`] owns what the plan's run accumulates: the checker, the ids the endpoint chose, the
//! timeline and the backups it created.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashSet;

use serde_json::{json, Value};

use crate::check::{Checker, StepVerdict};
use crate::model::{Action, BackupStatus, CallWindow, Observation, Operation, Polarity, Readings};
use crate::plan::{self, IdRef, Plan, Step};
use crate::readings::Flip;
use crate::wire::{self, Answer, Dialect, Exchange};

use super::event::RunEvent;
use super::outcome::{FaultClass, TimelineEntry};
use super::session::{FaultInfo, Session};
use super::timeline::{abbreviate, describe_change, observed_line};
use crate::model::rules::{self, RuleId};

/// A divergence found in one run of a plan.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) rule: RuleId,
    pub(super) message: String,
    pub(super) step_index: usize,
    pub(super) allowed: Vec<String>,
    pub(super) observed: String,
    pub(super) exchange: Option<Exchange>,
    pub(super) timeline: Vec<TimelineEntry>,
    /// When the step flipped a reading the endpoint kept to before: which, and both answers.
    pub(super) flip: Option<Flip>,
    /// For calls sent at once that no order explains: every rule some order breaks (a smaller
    /// plan failing on any of them shows the same bug). Empty for a sequential step.
    pub(super) others: Vec<RuleId>,
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
    /// The plan called an operation (not CreateBackup) the endpoint does not serve: not a
    /// divergence; the operation is recorded and the plan is skipped (or redrawn).
    NotServed(Operation),
    Interrupted,
}

impl CaseResult {
    /// A fault that ends a case: `--max-calls` is its own ending, the rest cannot be judged.
    pub(super) fn from_fault(f: FaultInfo) -> CaseResult {
        if f.class == FaultClass::Budget {
            CaseResult::Budget
        } else {
            CaseResult::Unjudged(f)
        }
    }
}

/// Ids learned while running one plan.
#[derive(Default)]
pub(super) struct Ids {
    /// Each server's backup ids in the order learned, and the same ids to look up (a listing
    /// names every backup again).
    by_server: BTreeMap<String, (Vec<String>, FxHashSet<String>)>,
    /// The backups this plan created, in order (deleted at its end without a control plane).
    pub(super) created: Vec<String>,
}

impl Ids {
    fn learn(&mut self, server: &str, id: &str) {
        let (list, known) = match self.by_server.get_mut(server) {
            Some(ids) => ids,
            None => self.by_server.entry(server.to_string()).or_default(),
        };
        if !known.contains(id) {
            known.insert(id.to_string());
            list.push(id.to_string());
        }
    }

    pub(super) fn lookup(&self, r: &IdRef) -> Option<String> {
        match r {
            IdRef::Backup { server, n } => self.by_server.get(server)?.0.get(*n).cloned(),
            IdRef::Created(n) => self.created.get(*n).cloned(),
        }
    }

    /// Learns the ids an answer names: a created backup, or every backup of a listing.
    fn learn_from(&mut self, op: Operation, input: &Value, observation: &Observation) {
        match (observation, op) {
            (Observation::Success(body), Operation::CreateBackup) => {
                if let (Some(id), Some(server)) = (
                    body["Backup"]["BackupId"].as_str(),
                    input["ServerName"].as_str(),
                ) {
                    self.learn(server, id);
                    self.created.push(id.to_string());
                }
            }
            (Observation::CreatedEnvelope { id, .. }, _) => {
                if let Some(server) = input["ServerName"].as_str() {
                    self.learn(server, id);
                }
                self.created.push(id.clone());
            }
            (Observation::Listing(listed), _) => {
                for b in listed.entries.iter().flatten() {
                    if let (Some(id), Some(server)) = (&b.id, &b.server) {
                        self.learn(server, id);
                    }
                }
            }
            (Observation::Success(body), Operation::DescribeBackups) => {
                for b in body["Backups"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(server)) =
                        (b["BackupId"].as_str(), b["ServerName"].as_str())
                    {
                        self.learn(server, id);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One call as sent: where it stands in the plan, how the timeline shows it, what went over
/// the wire.
pub(super) struct Sent {
    pub(super) index: usize,
    pub(super) shown: String,
    pub(super) exchange: Exchange,
}

/// One plan's run in progress.
pub(super) struct Case<'s, 'e> {
    pub(super) session: &'s mut Session<'e>,
    pub(super) checker: Checker,
    pub(super) ids: Ids,
    pub(super) timeline: Vec<TimelineEntry>,
}

impl<'s, 'e> Case<'s, 'e> {
    /// A case that starts from the session's idea of a fresh endpoint.
    pub(super) fn new(session: &'s mut Session<'e>) -> Self {
        session.tally.start_case();
        Case {
            checker: session.new_checker(),
            session,
            ids: Ids::default(),
            timeline: Vec::new(),
        }
    }

    /// Runs one plan from a fresh state; returns its result and the readings still possible.
    pub(super) async fn run(session: &mut Session<'_>, plan: &Plan) -> (CaseResult, Vec<Readings>) {
        let mut case = Case::new(session);
        if let Err(stop) = case.start().await {
            return (stop, vec![]);
        }
        let result = match case.steps(plan).await {
            // Without a control plane, wait (bounded) for the backups this plan made to finish,
            // judging every listing on the way: the endpoint must finish them by itself.
            CaseResult::Passed if !case.session.control_plane && !case.ids.created.is_empty() => {
                case.await_settled(plan.steps.len()).await
            }
            other => other,
        };
        if !case.session.control_plane {
            case.session.to_clean.append(&mut case.ids.created);
            case.session.cleanup().await;
        }
        (result, case.checker.surviving_readings())
    }

    /// A fresh state: reset through the control plane, or learned through the public API.
    async fn start(&mut self) -> Result<(), CaseResult> {
        if self.session.control_plane {
            return self.session.reset().await.map_err(CaseResult::Unjudged);
        }
        match self.session.discover_state().await {
            Ok(worlds) => self.checker = Checker::from_worlds(worlds),
            Err(CaseResult::Passed) => {}
            Err(other) => return Err(other),
        }
        Ok(())
    }

    async fn steps(&mut self, plan: &Plan) -> CaseResult {
        for (index, step) in plan.steps.iter().enumerate() {
            if self.session.interrupted() {
                return CaseResult::Interrupted;
            }
            if self.session.out_of_calls() {
                return CaseResult::Budget;
            }
            let seen = self.timeline.len();
            let r = match step {
                Step::Call {
                    operation, input, ..
                } => {
                    let resolved = plan::resolve_placeholders(input, &|r| self.ids.lookup(r));
                    self.call_step(index, step, *operation, resolved).await
                }
                Step::Parallel { calls } => self.parallel_step(index, calls).await,
                _ => self.fixture_step(index, step).await,
            };
            for entry in &self.timeline[seen..] {
                self.session.emit(RunEvent::StepObserved(entry));
            }
            if !matches!(r, CaseResult::Passed) {
                return r;
            }
        }
        CaseResult::Passed
    }

    /// Runs a fixture step through the control plane and has the model follow it.
    pub(super) async fn fixture_step(&mut self, index: usize, step: &Step) -> CaseResult {
        if !self.session.control_plane {
            return CaseResult::BadScenario(format!(
                "step {} ({step}) needs the control plane",
                index + 1
            ));
        }
        let (method, path, body) = fixture_request(step);
        let before = self.checker.representative().clone();
        if let Err(f) = self.session.control(method, &path, body, step).await {
            return CaseResult::Unjudged(f);
        }
        let action = step.action(None);
        match self
            .checker
            .observe(&action, &Observation::Success(json!({})), None)
        {
            StepVerdict::Consistent(info) => {
                for (rule, pol) in &info.exercised {
                    self.session.exercised(*rule, *pol);
                }
                self.session
                    .exercised(rules::CONTROL_PLANE_CONTRACT, Polarity::Pass);
                if matches!(step, Step::Settle { .. }) {
                    self.session
                        .exercised(rules::AMBIGUITY_STATUS_AFTER_BACKUP, Polarity::Pass);
                }
                self.timeline.push(TimelineEntry {
                    index,
                    step: step.to_string(),
                    observed: "200".into(),
                    model_change: describe_change(&before, self.checker.representative()),
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
                    timeline: self.timeline.clone(),
                    flip: d.flip,
                    others: vec![],
                }))
            }
            StepVerdict::TooManyWorlds(n) => {
                let m = format!("{n} possible worlds; the plan is too ambiguous to judge");
                return CaseResult::Unjudged(self.session.fault(FaultClass::TooManyWorlds, &m));
            }
        }
        self.learn_fixture_ids(index, step).await
    }

    /// Learns the ids of fixture backups through the public API (an observation like any other).
    async fn learn_fixture_ids(&mut self, index: usize, step: &Step) -> CaseResult {
        let Step::PutServer {
            server_name,
            manual_backups,
            automated_backups,
            ..
        } = step
        else {
            return CaseResult::Passed;
        };
        if manual_backups + automated_backups == 0
            || !self.session.served.serves(Operation::DescribeBackups)
        {
            return CaseResult::Passed;
        }
        let input = json!({"ServerName": server_name});
        let probe = Step::call(Operation::DescribeBackups, input.clone());
        let r = self
            .call_step(index, &probe, Operation::DescribeBackups, input)
            .await;
        if let Some(last) = self.timeline.last_mut() {
            last.step = format!("(harness) {}", last.step);
        }
        r
    }

    /// Sends one API call and judges its answer: its form (the wire layer, the service model's
    /// shapes), then its outcome against every world the model still allows.
    pub(super) async fn call_step(
        &mut self,
        index: usize,
        step: &Step,
        op: Operation,
        input: Value,
    ) -> CaseResult {
        let sent_ms = chrono::Utc::now().timestamp_millis();
        let (answer, exchange) = self.session.api(op, &input).await;
        let window = Some(CallWindow {
            sent_ms,
            answered_ms: chrono::Utc::now().timestamp_millis(),
        });
        let sent = Sent {
            index,
            shown: shown_step(step, op, &input),
            exchange,
        };
        match self.observation(&sent, op, &input, answer) {
            Ok(observation) => {
                let action = Action::Call { op, input };
                self.judge(&sent, step, &action, &observation, window)
            }
            Err(stop) => stop,
        }
    }

    /// What an answer showed, or how the case ends there: a wire-protocol divergence, or a
    /// fault that cannot be judged.
    pub(super) fn observation(
        &mut self,
        sent: &Sent,
        op: Operation,
        input: &Value,
        answer: Result<Answer, FaultInfo>,
    ) -> Result<Observation, CaseResult> {
        match answer {
            Ok(Answer::Observed(o)) => Ok(o),
            Ok(Answer::NotServed(_)) if op != Operation::CreateBackup => {
                Err(CaseResult::NotServed(op))
            }
            Ok(Answer::Protocol(m) | Answer::NotServed(m)) => {
                let observed = format!(
                    "HTTP {} {}",
                    sent.exchange.status.unwrap_or(0),
                    abbreviate(&sent.exchange.response_body, 200)
                );
                let action = Action::Call {
                    op,
                    input: input.clone(),
                };
                Err(self.diverge(sent, m.rule, m.message, &action, observed))
            }
            // Only calls sent at once get here: `Session::api` retries the others.
            Ok(Answer::Throttled(m)) => Err(CaseResult::Unjudged(
                self.session.fault(FaultClass::Throttled, &m),
            )),
            Ok(other) => unreachable!("the session turns {other:?} into a fault"),
            Err(f) => Err(CaseResult::from_fault(f)),
        }
    }

    /// Judges one answer: its shape, then its outcome against every world the model still
    /// allows; a consistent answer is learned from and added to the timeline.
    pub(super) fn judge(
        &mut self,
        sent: &Sent,
        step: &Step,
        action: &Action,
        observation: &Observation,
        window: Option<CallWindow>,
    ) -> CaseResult {
        self.judge_by(sent, step, action, observation, |checker, action| {
            checker.observe(action, observation, window)
        })
    }

    /// [`judge`](Self::judge), the outcome judged by `observe` (which narrows the checker it
    /// is given): a search that judged the call already passes on its verdict.
    pub(super) fn judge_by(
        &mut self,
        sent: &Sent,
        step: &Step,
        action: &Action,
        observation: &Observation,
        observe: impl FnOnce(&mut Checker, &Action) -> StepVerdict,
    ) -> CaseResult {
        let Action::Call { op, input } = action else {
            unreachable!("a judged step is a call");
        };
        let op = *op;
        let before = self.checker.representative().clone();
        if let Some(m) = self.misshapen(op, observation) {
            let observed = observed_line(observation);
            return self.diverge(sent, rules::RESPONSE_SHAPE, m, action, observed);
        }
        match observe(&mut self.checker, action) {
            StepVerdict::Consistent(info) => {
                if let Some((message, listed)) = outside_expect(step, observation) {
                    let rule = info
                        .exercised
                        .last()
                        .map_or(rules::PROTOCOL_SUCCESS, |(r, _)| *r);
                    let failure = self.failure(sent, rule, message, observed_line(observation));
                    return CaseResult::Diverged(Box::new(Failure {
                        allowed: listed,
                        ..failure
                    }));
                }
                for (rule, pol) in &info.exercised {
                    self.session.exercised(*rule, *pol);
                }
                self.session.wire_coverage(op, observation);
                self.session.tally.call(op, input, &before);
                self.ids.learn_from(op, input, observation);
                self.timeline.push(TimelineEntry {
                    index: sent.index,
                    step: sent.shown.clone(),
                    observed: observed_line(observation),
                    model_change: describe_change(&before, self.checker.representative()),
                    worlds: info.worlds,
                    diverged: false,
                });
                CaseResult::Passed
            }
            StepVerdict::Diverged(d) => {
                let observed = observed_line(observation);
                let failure = self.failure(sent, d.mismatch.rule, d.mismatch.message, observed);
                CaseResult::Diverged(Box::new(Failure {
                    allowed: d.allowed,
                    flip: d.flip,
                    others: vec![],
                    ..failure
                }))
            }
            StepVerdict::TooManyWorlds(n) => {
                let m = format!(
                    "{n} possible worlds after {}; the plan is too ambiguous to judge",
                    sent.shown
                );
                CaseResult::Unjudged(self.session.fault(FaultClass::TooManyWorlds, &m))
            }
        }
    }

    /// The shape of an aws-json success, member by member, against the service model: what
    /// does not fit, if anything.
    fn misshapen(&self, op: Operation, observation: &Observation) -> Option<String> {
        let (Dialect::AwsJson, Observation::Success(body)) =
            (self.session.target.dialect, observation)
        else {
            return None;
        };
        let problems = wire::shape::check_output(op, body);
        (!problems.is_empty()).then(|| {
            format!(
                "the answer does not fit the service model: {}",
                problems.join("; ")
            )
        })
    }

    /// A divergence at a sent call, with the outcomes the model allowed for `action`.
    fn diverge(
        &self,
        sent: &Sent,
        rule: RuleId,
        message: String,
        action: &Action,
        observed: String,
    ) -> CaseResult {
        CaseResult::Diverged(Box::new(Failure {
            allowed: self.checker.allowed_names(action).into_iter().collect(),
            ..self.failure(sent, rule, message, observed)
        }))
    }

    /// A divergence at a sent call; its timeline ends with the call (the allowed outcomes are
    /// left for the caller).
    fn failure(&self, sent: &Sent, rule: RuleId, message: String, observed: String) -> Failure {
        let mut timeline = self.timeline.clone();
        timeline.push(TimelineEntry {
            index: sent.index,
            step: sent.shown.clone(),
            observed: observed.clone(),
            model_change: "(diverged)".into(),
            worlds: 0,
            diverged: true,
        });
        Failure {
            rule,
            message,
            step_index: sent.index,
            allowed: vec![],
            observed,
            exchange: Some(sent.exchange.clone()),
            timeline,
            flip: None,
            others: vec![],
        }
    }
}

/// A call step in one line, as sent (placeholders resolved).
pub(super) fn shown_step(step: &Step, op: Operation, input: &Value) -> String {
    match step {
        Step::Call { .. } => plan::CallLine(op, input).to_string(),
        other => other.to_string(),
    }
}

/// The control-plane request of a fixture step: method, path and body.
fn fixture_request(step: &Step) -> (reqwest::Method, Cow<'static, str>, Value) {
    match step {
        Step::Reset {} => (
            reqwest::Method::POST,
            "/_conformance/v1/reset".into(),
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
            format!("/_conformance/v1/servers/{server_name}").into(),
            json!({"Status": status, "Engine": engine, "ManualBackups": manual_backups, "AutomatedBackups": automated_backups}),
        ),
        Step::Settle { backup_status } => (
            reqwest::Method::POST,
            "/_conformance/v1/settle".into(),
            json!({"BackupStatus": backup_status.unwrap_or(BackupStatus::Ok)}),
        ),
        Step::Call { .. } | Step::Parallel { .. } => unreachable!("calls are not fixtures"),
    }
}

/// A scenario step's answer outside the outcomes its file lists (which the dry run made equal
/// to what the documents allow): the message and the listed outcomes.
fn outside_expect(step: &Step, observation: &Observation) -> Option<(String, Vec<String>)> {
    let Step::Call {
        expect: Some(expect),
        ..
    } = step
    else {
        return None;
    };
    let seen = crate::check::observation_name(observation);
    let listed = expect.outcomes();
    if *observation == Observation::Unknown || listed.contains(&seen.as_str()) {
        return None;
    }
    let listed: Vec<String> = listed.into_iter().map(str::to_string).collect();
    let message = format!(
        "observed {seen}, but the scenario lists {} (what the documents allow here)",
        listed.join(" or ")
    );
    Some((message, listed))
}
