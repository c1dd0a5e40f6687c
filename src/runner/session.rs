//! The per-run state: the target, the call budget, retries, fault classification, the
//! control-plane client and where the run's events go. Every transport result becomes an answer in one place, [`Session::decode`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::check::Checker;
use crate::model::rules::{RuleId, RULES};
use crate::model::{Observation, Operation, DEFAULT_LIMIT};
use crate::target::{Target, Transport};
use crate::wire::{self, Answer, Exchange};

use super::coverage::Coverage;
use super::event::{EventSink, RunEvent};
use super::held::HeldReadings;
use super::outcome::FaultClass;
use super::served::Served;
use super::RunConfig;

/// Why a case could not be judged.
#[derive(Debug, Clone)]
pub(super) struct FaultInfo {
    pub(super) class: FaultClass,
    pub(super) message: String,
}

/// Per-run mutable state: the target, counters, coverage, the events' sink.
pub(super) struct Session<'e> {
    pub(super) target: Target,
    pub(super) control_plane: bool,
    pub(super) limit: u32,
    pub(super) calls: u64,
    pub(super) max_calls: Option<u64>,
    pub(super) coverage: BTreeMap<RuleId, Coverage>,
    /// Input features and transitions exercised (the matrices next to rule coverage).
    pub(super) tally: crate::coverage::Tally,
    pub(super) faults: BTreeMap<(FaultClass, String), u64>,
    pub(super) settle_wait: Duration,
    pub(super) interrupted: Arc<AtomicBool>,
    /// Backups created without a control plane that still need deleting.
    pub(super) to_clean: Vec<String>,
    /// API answers that could be judged (not timeouts, not faults).
    pub(super) judged: u64,
    /// The control plane says asynchronous work ends only through settle.
    pub(super) settle_only: bool,
    events: &'e mut (dyn EventSink + Send),
    /// The readings the endpoint has kept to so far: every case starts from them.
    pub(super) held: HeldReadings,
    /// The operations the endpoint does not serve.
    pub(super) served: Served,
    /// The servers named with `--server` (no control plane).
    pub(super) named_servers: Vec<String>,
    /// What the run could not exercise, one line each, in the order found.
    pub(super) not_exercised: Vec<String>,
}

impl<'e> Session<'e> {
    /// A session on `target` that stops when `interrupted` is set (Ctrl-C) and sends what
    /// happens to `events`.
    pub(super) fn new(
        target: Target,
        config: &RunConfig,
        interrupted: Arc<AtomicBool>,
        events: &'e mut (dyn EventSink + Send),
    ) -> Self {
        Session {
            target,
            control_plane: false,
            limit: DEFAULT_LIMIT,
            calls: 0,
            max_calls: config.max_calls,
            coverage: RULES.iter().map(|r| (r.id, Coverage::default())).collect(),
            tally: Default::default(),
            faults: BTreeMap::new(),
            settle_wait: config.settle_wait,
            interrupted,
            to_clean: Vec::new(),
            judged: 0,
            settle_only: false,
            events,
            held: HeldReadings::default(),
            served: Served::default(),
            named_servers: config.servers.clone(),
            not_exercised: Vec::new(),
        }
    }

    pub(super) fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    pub(super) fn out_of_calls(&self) -> bool {
        self.max_calls.is_some_and(|m| self.calls >= m)
    }

    pub(super) fn stopped(&self) -> bool {
        self.interrupted() || self.out_of_calls()
    }

    /// Why the run stopped early, for messages.
    pub(super) fn stop_reason(&self) -> &'static str {
        if self.interrupted() {
            "interrupted"
        } else {
            "--max-calls reached"
        }
    }

    pub(super) fn emit(&mut self, event: RunEvent<'_>) {
        self.events.event(&event);
    }

    /// One scenario file or generated case is done.
    pub(super) fn case_finished(&mut self, divergences: usize) {
        let calls = self.calls;
        self.emit(RunEvent::CaseFinished { calls, divergences });
    }

    /// Counts a fault (reported once per class and message) and returns it.
    pub(super) fn fault(&mut self, class: FaultClass, message: &str) -> FaultInfo {
        *self.faults.entry((class, message.to_string())).or_default() += 1;
        self.emit(RunEvent::Fault { class, message });
        FaultInfo {
            class,
            message: message.to_string(),
        }
    }

    /// The first fault recorded, as `class: message`, or `otherwise`.
    pub(super) fn first_fault(&self, otherwise: &str) -> String {
        self.faults
            .keys()
            .next()
            .map(|(c, m)| format!("{c}: {m}"))
            .unwrap_or_else(|| otherwise.to_string())
    }

    pub(super) fn new_checker(&self) -> Checker {
        let checker = Checker::with_readings(self.limit, &self.held.set);
        if self.control_plane && self.settle_only {
            checker.settle_only()
        } else {
            checker
        }
    }

    /// Sends one API call, retrying throttling with backoff (never a verdict).
    pub(super) async fn api(
        &mut self,
        op: Operation,
        input: &Value,
    ) -> (Result<Answer, FaultInfo>, Exchange) {
        let mut delay = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            if self.out_of_calls() {
                let budget = FaultInfo {
                    class: FaultClass::Budget,
                    message: "--max-calls reached".into(),
                };
                return (Err(budget), Exchange::default());
            }
            self.calls += 1;
            let (t, ex) = self.target.call(op, input).await;
            self.emit(RunEvent::Sent(&ex));
            match self.decode(op, t) {
                Ok(Answer::Throttled(m)) if attempt < 4 => {
                    self.fault(FaultClass::Throttled, &m);
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Ok(Answer::Throttled(m)) => {
                    let m = format!("still throttled after {attempt} retries: {m}");
                    return (Err(self.fault(FaultClass::Throttled, &m)), ex);
                }
                other => return (other, ex),
            }
        }
    }

    /// What the transport brought, as an answer to judge: the one decoding of a transport
    /// result. What cannot be judged is counted as a fault and returned as the error; a
    /// throttling answer is left to the caller (which may retry it).
    pub(super) fn decode(&mut self, op: Operation, t: Transport) -> Result<Answer, FaultInfo> {
        let answer = match t {
            Transport::Answered {
                status,
                headers,
                body,
            } => {
                let error_type = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
                    .map(|(_, v)| v.as_str());
                wire::decode_response(self.target.dialect, op, status, error_type, &body)
            }
            Transport::Unreachable(m) => {
                let hint = " (hint: is the endpoint running? start `opsworkscm-conformance emulate`, or use --endpoint embedded)";
                let m = format!("cannot connect to {}: {m}{hint}", self.target.base);
                return Err(self.fault(FaultClass::Unreachable, &m));
            }
            Transport::NoAnswer(m) => {
                // Indeterminate: the model allows either outcome, so it is judged as unknown.
                self.fault(FaultClass::NoAnswer, &m);
                Answer::Observed(Observation::Unknown)
            }
            Transport::TooLarge(n) => {
                let m = format!("the answer to {op} is larger than {n} bytes");
                return Err(self.fault(FaultClass::TooLarge, &m));
            }
        };
        match answer {
            Answer::NotServed(_) if op != Operation::CreateBackup => {
                // Learned once: the generator stops calling it, scenarios that need it skip.
                self.served.learn(op);
                Ok(answer)
            }
            Answer::Unavailable(m) => Err(self.fault(FaultClass::Unavailable, &m)),
            Answer::AuthRefused(m) => {
                let hint = if self.target.signed() {
                    "check the credentials (AWS_ACCESS_KEY_ID, --profile) and --region"
                } else {
                    "no credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile"
                };
                let m = format!("the endpoint refused the request: {m} (hint: {hint})");
                Err(self.fault(FaultClass::Auth, &m))
            }
            other => {
                if !matches!(
                    other,
                    Answer::Throttled(_) | Answer::Observed(Observation::Unknown)
                ) {
                    self.judged += 1;
                }
                Ok(other)
            }
        }
    }

    /// Notes once that something could not be exercised.
    pub(super) fn not_exercised(&mut self, line: String) {
        if !self.not_exercised.contains(&line) {
            self.not_exercised.push(line);
        }
    }

    /// Resets the endpoint through the control plane.
    pub(super) async fn reset(&mut self) -> Result<(), FaultInfo> {
        let path = "/_conformance/v1/reset";
        self.control(reqwest::Method::POST, path, json!({}), &"reset")
            .await
    }

    /// Sends one control-plane request; anything but HTTP 200 is a fault (its answer is not
    /// read further). `what` names the request in a fault's message.
    pub(super) async fn control(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Value,
        what: &dyn std::fmt::Display,
    ) -> Result<(), FaultInfo> {
        self.calls += 1;
        let (t, ex) = self.target.control(method, path, Some(&body)).await;
        self.emit(RunEvent::Sent(&ex));
        let (class, message) = match t {
            Transport::Answered { status: 200, .. } => return Ok(()),
            Transport::Answered { status, body, .. } => (
                FaultClass::ControlPlane,
                format!(
                    "control plane {what} answered HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            ),
            Transport::Unreachable(m) => (
                FaultClass::Unreachable,
                format!("control plane {what}: {m}"),
            ),
            Transport::NoAnswer(m) => (FaultClass::NoAnswer, format!("control plane {what}: {m}")),
            Transport::TooLarge(n) => (
                FaultClass::TooLarge,
                format!("control plane {what}: larger than {n} bytes"),
            ),
        };
        Err(self.fault(class, &message))
    }
}
