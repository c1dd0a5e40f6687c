//! The per-run state: the target, the call budget, retries, fault classification and the
//! control-plane client.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::{json, Value};

use crate::check::Checker;
use crate::model::{Observation, Operation};
use crate::report::Exchange;
use crate::target::{self, EndpointSpec, Target, Transport};
use crate::wire::{self, Answer};

use super::*;

/// Why a case could not be judged.
#[derive(Debug, Clone)]
pub(super) struct FaultInfo {
    pub(super) class: &'static str,
    pub(super) message: String,
}

/// Per-run mutable state: the target, counters, coverage.
pub(super) struct Session {
    pub(super) target: Target,
    pub(super) control_plane: bool,
    pub(super) limit: u32,
    pub(super) calls: u64,
    pub(super) max_calls: Option<u64>,
    pub(super) coverage: BTreeMap<&'static str, (u64, u64, u64)>,
    pub(super) faults: BTreeMap<(String, String), u64>,
    pub(super) settle_wait: Duration,
    pub(super) interrupted: Arc<AtomicBool>,
    /// Backups created without a control plane that still need deleting.
    pub(super) to_clean: Vec<String>,
    /// API answers that could be judged (not timeouts, not faults).
    pub(super) judged: u64,
    /// The control plane says asynchronous work ends only through settle.
    pub(super) settle_only: bool,
    pub(super) progress: Option<ProgressBar>,
}

impl Session {
    pub(super) fn stopped(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst) || self.max_calls.is_some_and(|m| self.calls >= m)
    }

    pub(super) fn tick(&self, divergences: usize) {
        if let Some(bar) = &self.progress {
            bar.inc(1);
            bar.set_message(format!("{} calls, {divergences} divergences", self.calls));
        }
    }

    pub(super) fn fault(&mut self, class: &'static str, message: &str) -> FaultInfo {
        *self
            .faults
            .entry((class.to_string(), message.to_string()))
            .or_default() += 1;
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
        let checker = Checker::new(self.limit);
        if self.control_plane && self.settle_only {
            checker.settle_only()
        } else {
            checker
        }
    }

    /// Finds the control plane and the limit; without one, learns the limit from
    /// DescribeAccountAttributes. Returns where the limit came from.
    pub(super) async fn discover(&mut self, config: &RunConfig) -> Result<String, FaultInfo> {
        if config.control_plane == ControlPlaneMode::Auto && !target::is_aws_host(&self.target.base)
        {
            self.calls += 1;
            let (t, _) = self
                .target
                .control(reqwest::Method::GET, "/_conformance/v1/capabilities", None)
                .await;
            match t {
                Transport::Answered {
                    status: 200, body, ..
                } => {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        if v["version"].as_u64() == Some(1) {
                            self.control_plane = true;
                            self.settle_only = v["settleOnly"].as_bool() == Some(true);
                            if let Some(limit) = v["maxManualBackups"].as_u64() {
                                self.limit = limit.clamp(1, 10_000) as u32;
                                return Ok("control plane capabilities (maxManualBackups)".into());
                            }
                            return Ok("default (the control plane does not advertise one)".into());
                        }
                    }
                }
                Transport::Unreachable(m) => {
                    let hint = if matches!(config.endpoint, EndpointSpec::Embedded) {
                        String::new()
                    } else {
                        " (hint: start `opsworkscm-conformance emulate`, or use --endpoint embedded)".into()
                    };
                    return Err(self.fault(
                        "unreachable",
                        &format!("cannot connect to {}: {m}{hint}", self.target.base),
                    ));
                }
                _ => {}
            }
        }
        // No control plane: the account attribute, if the endpoint has it.
        let (answer, _) = self
            .api(Operation::DescribeAccountAttributes, &json!({}))
            .await;
        match answer {
            Ok(Answer::Observed(Observation::Success(v))) => {
                let max = v["Attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["Name"] == "ManualBackupLimit")
                    .and_then(|a| a["Maximum"].as_u64());
                if let Some(m) = max {
                    self.limit = m.clamp(1, 10_000) as u32;
                    return Ok("DescribeAccountAttributes (ManualBackupLimit Maximum)".into());
                }
                Ok("default 50 (DescribeAccountAttributes has no ManualBackupLimit)".into())
            }
            Err(f) if f.class == "unreachable" => Err(f),
            _ => Ok("default 50".into()),
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
            if self.max_calls.is_some_and(|m| self.calls >= m) {
                return (
                    Err(FaultInfo {
                        class: "budget",
                        message: "--max-calls reached".into(),
                    }),
                    Exchange::default(),
                );
            }
            self.calls += 1;
            let (t, ex) = self.target.call(op, input).await;
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
                    return (
                        Err(self.fault(
                            "unreachable",
                            &format!("cannot connect to {}: {m}{hint}", self.target.base),
                        )),
                        ex,
                    );
                }
                Transport::NoAnswer(m) => {
                    Answer::Observed(Observation::Unknown).tap_fault(self, "no-answer", &m)
                }
                Transport::TooLarge(n) => {
                    return (
                        Err(self.fault(
                            "too-large",
                            &format!("the answer to {op} is larger than {n} bytes"),
                        )),
                        ex,
                    );
                }
            };
            match answer {
                Answer::Throttled(m) if attempt < 4 => {
                    self.fault("throttled", &m);
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Answer::Throttled(m) => {
                    return (
                        Err(self.fault(
                            "throttled",
                            &format!("still throttled after {attempt} retries: {m}"),
                        )),
                        ex,
                    )
                }
                Answer::Unavailable(m) => return (Err(self.fault("unavailable", &m)), ex),
                Answer::AuthRefused(m) => {
                    let hint = if self.target.signed() {
                        "check the credentials (AWS_ACCESS_KEY_ID, --profile) and --region"
                    } else {
                        "no credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile"
                    };
                    return (
                        Err(self.fault(
                            "auth",
                            &format!("the endpoint refused the request: {m} (hint: {hint})"),
                        )),
                        ex,
                    );
                }
                other => {
                    if !matches!(other, Answer::Observed(Observation::Unknown)) {
                        self.judged += 1;
                    }
                    return (Ok(other), ex);
                }
            }
        }
    }

    /// Resets the endpoint through the control plane.
    pub(super) async fn reset(&mut self) -> Result<(), FaultInfo> {
        self.calls += 1;
        let (t, _) = self
            .target
            .control(
                reqwest::Method::POST,
                "/_conformance/v1/reset",
                Some(&json!({})),
            )
            .await;
        self.control_ok(t, "reset").map(|_| ())
    }

    pub(super) fn control_ok(&mut self, t: Transport, what: &str) -> Result<Value, FaultInfo> {
        match t {
            Transport::Answered {
                status: 200, body, ..
            } => Ok(serde_json::from_slice(&body).unwrap_or(json!({}))),
            Transport::Answered { status, body, .. } => Err(self.fault(
                "control-plane",
                &format!(
                    "control plane {what} answered HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            )),
            Transport::Unreachable(m) => {
                Err(self.fault("unreachable", &format!("control plane {what}: {m}")))
            }
            Transport::NoAnswer(m) => {
                Err(self.fault("no-answer", &format!("control plane {what}: {m}")))
            }
            Transport::TooLarge(n) => Err(self.fault(
                "too-large",
                &format!("control plane {what}: larger than {n} bytes"),
            )),
        }
    }
}

/// A tiny extension to count a fault while passing an answer through.
pub(super) trait TapFault {
    fn tap_fault(self, session: &mut Session, class: &'static str, message: &str) -> Self;
}

impl TapFault for Answer {
    fn tap_fault(self, session: &mut Session, class: &'static str, message: &str) -> Self {
        session.fault(class, message);
        self
    }
}
