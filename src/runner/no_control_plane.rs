//! Without a control plane: learning the state through the public API, waiting for created
//! backups to settle, and deleting them afterwards.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::check::observation_name;
use crate::model::rules::RuleId;
use crate::model::{self, BackupStatus, BackupType, Observation, Operation, ServerStatus, World};
use crate::plan::Step;
use crate::target::Transport;
use crate::wire::{Answer, Exchange};

use super::case::{Case, CaseResult, Failure};
use super::event::RunEvent;
use super::outcome::FaultClass;
use super::served;
use super::session::{FaultInfo, Session};
use super::timeline::abbreviate;

impl Case<'_, '_> {
    /// Polls DescribeBackups (every answer judged) until none of the backups this case created
    /// is IN_PROGRESS, for at most `--settle-wait`.
    pub(super) async fn await_settled(&mut self, index: usize) -> CaseResult {
        if !self.session.served.serves(Operation::DescribeBackups) {
            return CaseResult::Passed;
        }
        let deadline = Instant::now() + self.session.settle_wait;
        let probe = Step::call(Operation::DescribeBackups, json!({}));
        loop {
            let before = self.timeline.len();
            let r = self
                .call_step(index, &probe, Operation::DescribeBackups, json!({}))
                .await;
            if !matches!(r, CaseResult::Passed) {
                return r;
            }
            if let Some(entry) = self.timeline.get_mut(before) {
                entry.step = format!("(harness, waiting for backups to finish) {}", entry.step);
            }
            let created = &self.ids.created;
            let pending = self.checker.representative().backups.iter().any(|b| {
                b.status == BackupStatus::InProgress
                    && b.id.as_ref().is_some_and(|id| created.contains(id))
            });
            let late = Instant::now() >= deadline;
            if pending && late && !self.session.stopped() {
                self.session.never_settled();
            }
            if !pending || late || self.session.stopped() {
                return CaseResult::Passed;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Session<'_> {
    /// Reported once; later cases do not wait for an endpoint that never finishes.
    fn never_settled(&mut self) {
        let m = format!(
            "backups the run created were still IN_PROGRESS after {} (hint: raise --settle-wait; the cleanup deletes what it can)",
            humantime::format_duration(self.settle_wait)
        );
        self.fault(FaultClass::NotSettled, &m);
        self.settle_wait = Duration::ZERO;
    }

    /// Learns every server and backup through the public API.
    pub(super) async fn discover_state(&mut self) -> Result<Vec<World>, CaseResult> {
        if !self.observable() {
            return self.unobserved_state();
        }
        let (servers, servers_ex) = self.api(Operation::DescribeServers, &json!({})).await;
        let (backups, backups_ex) = self.api(Operation::DescribeBackups, &json!({})).await;
        if !self.observable() {
            return self.unobserved_state();
        }
        for (answer, ex, op) in [
            (&servers, &servers_ex, "DescribeServers"),
            (&backups, &backups_ex, "DescribeBackups"),
        ] {
            if let Ok(Answer::Protocol(m) | Answer::NotServed(m)) = answer {
                // A broken answer is a divergence even while learning the state.
                return Err(CaseResult::Diverged(Box::new(learning_failure(
                    op, m.rule, &m.message, ex,
                ))));
            }
        }
        let (servers, backups) = match (servers, backups) {
            (
                Ok(Answer::Observed(Observation::Success(s))),
                Ok(Answer::Observed(Observation::Success(b))),
            ) => (s, b),
            (
                Ok(Answer::Observed(Observation::Success(s))),
                Ok(Answer::Observed(Observation::Listing(b))),
            ) => (s, b.to_value()),
            (Err(f), _) | (_, Err(f)) => return Err(CaseResult::from_fault(f)),
            (s, b) => {
                let name = |a: &Result<Answer, FaultInfo>| match a {
                    Ok(Answer::Observed(o)) => observation_name(o),
                    _ => "no usable answer".into(),
                };
                let (s, b) = (name(&s), name(&b));
                let m = format!("cannot learn the endpoint's state: DescribeServers gave {s}, DescribeBackups gave {b}");
                return Err(CaseResult::Unjudged(self.fault(FaultClass::Discovery, &m)));
            }
        };
        let mut worlds = World::with_readings(self.limit, &self.held.set);
        for w in &mut worlds {
            add_servers(w, &servers);
            add_backups(w, &backups);
        }
        Ok(worlds)
    }

    /// Waits (bounded) for the backups this run created to finish, then deletes them. Best
    /// effort; what cannot be deleted is reported as a fault.
    pub(super) async fn cleanup(&mut self) {
        if self.control_plane || self.to_clean.is_empty() {
            return;
        }
        if !self.served.serves(Operation::DeleteBackup) {
            self.left_behind();
            return;
        }
        let deadline = Instant::now() + self.settle_wait;
        let budget = self.max_calls.take();
        let mut pending = std::mem::take(&mut self.to_clean);
        while !pending.is_empty() {
            let mut left = Vec::new();
            for id in pending {
                self.calls += 1;
                let (t, ex) = self
                    .target
                    .call(Operation::DeleteBackup, &json!({"BackupId": id}))
                    .await;
                self.emit(RunEvent::Sent(&ex));
                match t {
                    Transport::Answered { status: 200, .. } => {}
                    Transport::Answered { body, .. }
                        if String::from_utf8_lossy(&body).contains("ResourceNotFound") => {}
                    Transport::Answered { status, body, .. }
                        if served::not_served(
                            self.target.dialect,
                            Operation::DeleteBackup,
                            status,
                            &body,
                        ) =>
                    {
                        self.served.learn(Operation::DeleteBackup);
                        self.to_clean.push(id);
                    }
                    _ => left.push(id),
                }
            }
            if !self.served.serves(Operation::DeleteBackup) {
                self.to_clean.extend(left);
                self.left_behind();
                break;
            }
            if left.is_empty() || Instant::now() >= deadline {
                if !left.is_empty() {
                    let ids = left.join(", ");
                    let m = format!("could not delete backups the run created: {ids}");
                    self.fault(FaultClass::Cleanup, &m);
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            pending = left;
        }
        self.max_calls = budget;
    }
}

/// A broken answer while learning the state (before the plan's first step).
fn learning_failure(op: &str, rule: RuleId, message: &str, ex: &Exchange) -> Failure {
    Failure {
        rule,
        message: format!("{op} (learning the endpoint's state): {message}"),
        step_index: 0,
        allowed: vec!["success".into()],
        observed: format!(
            "HTTP {} {}",
            ex.status.unwrap_or(0),
            abbreviate(&ex.response_body, 200)
        ),
        exchange: Some(ex.clone()),
        timeline: vec![],
        flip: None,
        others: vec![],
    }
}

/// Puts every server a DescribeServers answer lists into `w`.
fn add_servers(w: &mut World, servers: &Value) {
    for s in servers["Servers"].as_array().into_iter().flatten() {
        let (Some(name), Some(status)) = (
            s["ServerName"].as_str(),
            s["Status"].as_str().and_then(ServerStatus::parse),
        ) else {
            continue;
        };
        w.put_server(
            &model::ServerSpec {
                name: name.into(),
                status,
                engine: s["Engine"].as_str().unwrap_or("").into(),
                manual_backups: 0,
                automated_backups: 0,
            },
            None,
        );
    }
}

/// Puts every backup a DescribeBackups answer lists (newest first) into `w`, oldest first.
fn add_backups(w: &mut World, backups: &Value) {
    let listed: Vec<&Value> = backups["Backups"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for (i, b) in listed.iter().rev().enumerate() {
        let kind = if b["BackupType"] == "AUTOMATED" {
            BackupType::Automated
        } else {
            BackupType::Manual
        };
        let status = b["Status"]
            .as_str()
            .and_then(BackupStatus::parse)
            .unwrap_or(BackupStatus::Ok);
        let server = b["ServerName"].as_str().unwrap_or("");
        std::sync::Arc::make_mut(&mut w.backups).push(model::Backup {
            id: b["BackupId"].as_str().map(str::to_string),
            server: server.into(),
            kind,
            status,
            description: None,
            seq: i as u64,
            created_at_ms: None,
        });
        if status == BackupStatus::InProgress {
            if let Some(s) = w.server_mut(server) {
                if s.status == ServerStatus::BackingUp {
                    s.pending = Some(model::Pending::Backup { previous: None });
                }
            }
        }
    }
    w.next_seq = listed.len() as u64 + 1;
}
