//! Without a control plane: learning the state through the public API, waiting for created
//! backups to settle, and deleting them afterwards.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::check::{observation_name, Checker};
use crate::model::{self, BackupStatus, BackupType, Observation, Operation, ServerStatus, World};
use crate::plan::Step;
use crate::report::TimelineEntry;
use crate::target::Transport;
use crate::wire::Answer;

use super::*;

impl Session {
    /// Without a control plane: polls DescribeBackups (every answer judged) until none of
    /// `created` is IN_PROGRESS, for at most `--settle-wait`.
    pub(super) async fn await_settled(
        &mut self,
        index: usize,
        checker: &mut Checker,
        ids: &mut Ids,
        timeline: &mut Vec<TimelineEntry>,
        created: &[String],
    ) -> CaseResult {
        let deadline = Instant::now() + self.settle_wait;
        let probe = Step::call(Operation::DescribeBackups, json!({}));
        loop {
            let before = timeline.len();
            let r = self
                .call_step(
                    index,
                    &probe,
                    Operation::DescribeBackups,
                    &json!({}),
                    checker,
                    ids,
                    timeline,
                    &mut Vec::new(),
                )
                .await;
            if !matches!(r, CaseResult::Passed) {
                return r;
            }
            if let Some(entry) = timeline.get_mut(before) {
                entry.step = format!("(harness, waiting for backups to finish) {}", entry.step);
            }
            let pending = checker.representative().backups.iter().any(|b| {
                b.status == BackupStatus::InProgress
                    && b.id.as_ref().is_some_and(|id| created.contains(id))
            });
            if pending && Instant::now() >= deadline && !self.stopped() {
                // Reported once; later cases do not wait for an endpoint that never finishes.
                let waited = self.settle_wait;
                self.fault(
                    "not-settled",
                    &format!(
                        "backups the run created were still IN_PROGRESS after {} (hint: raise --settle-wait; the cleanup deletes what it can)",
                        humantime::format_duration(waited)
                    ),
                );
                self.settle_wait = Duration::ZERO;
            }
            if !pending || Instant::now() >= deadline || self.stopped() {
                return CaseResult::Passed;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Without a control plane: learns every server and backup through the public API.
    pub(super) async fn discover_state(&mut self) -> Result<Vec<World>, CaseResult> {
        let (servers, servers_ex) = self.api(Operation::DescribeServers, &json!({})).await;
        let (backups, backups_ex) = self.api(Operation::DescribeBackups, &json!({})).await;
        for (answer, ex, op) in [
            (&servers, &servers_ex, "DescribeServers"),
            (&backups, &backups_ex, "DescribeBackups"),
        ] {
            if let Ok(Answer::Protocol(m)) = answer {
                // A broken answer is a divergence even while learning the state.
                return Err(CaseResult::Diverged(Box::new(Failure {
                    rule: m.rule,
                    message: format!("{op} (learning the endpoint's state): {}", m.message),
                    step_index: 0,
                    allowed: vec!["success".into()],
                    observed: format!(
                        "HTTP {} {}",
                        ex.status.unwrap_or(0),
                        abbreviate(&ex.response_body, 200)
                    ),
                    exchange: Some(ex.clone()),
                    timeline: vec![],
                })));
            }
        }
        let (servers, backups) = match (servers, backups) {
            (
                Ok(Answer::Observed(Observation::Success(s))),
                Ok(Answer::Observed(Observation::Success(b))),
            ) => (s, b),
            (Err(f), _) | (_, Err(f)) => {
                return Err(if f.class == "budget" {
                    CaseResult::Budget
                } else {
                    CaseResult::Unjudged(f)
                })
            }
            (s, b) => {
                let name = |a: &Result<Answer, FaultInfo>| match a {
                    Ok(Answer::Observed(o)) => observation_name(o),
                    _ => "no usable answer".into(),
                };
                let (s, b) = (name(&s), name(&b));
                return Err(CaseResult::Unjudged(self.fault(
                    "discovery",
                    &format!("cannot learn the endpoint's state: DescribeServers gave {s}, DescribeBackups gave {b}"),
                )));
            }
        };
        let mut worlds = World::all_readings(self.limit);
        for w in &mut worlds {
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
                std::sync::Arc::make_mut(&mut w.backups).push(model::Backup {
                    id: b["BackupId"].as_str().map(str::to_string),
                    server: b["ServerName"].as_str().unwrap_or("").into(),
                    kind,
                    status,
                    description: None,
                    seq: i as u64,
                    created_at_ms: None,
                });
                if status == BackupStatus::InProgress {
                    if let Some(s) = w.servers.get_mut(b["ServerName"].as_str().unwrap_or("")) {
                        if s.status == ServerStatus::BackingUp {
                            s.pending = Some(model::Pending::Backup { previous: None });
                        }
                    }
                }
            }
            w.next_seq = listed.len() as u64 + 1;
        }
        Ok(worlds)
    }

    /// Without a control plane: waits (bounded) for the backups this run created to finish, then
    /// deletes them. Best effort; what cannot be deleted is reported as a fault.
    pub(super) async fn cleanup(&mut self) {
        if self.control_plane || self.to_clean.is_empty() {
            return;
        }
        let deadline = Instant::now() + self.settle_wait;
        let budget = self.max_calls.take();
        let mut pending = std::mem::take(&mut self.to_clean);
        while !pending.is_empty() {
            let mut left = Vec::new();
            for id in pending {
                self.calls += 1;
                let (t, _) = self
                    .target
                    .call(Operation::DeleteBackup, &json!({"BackupId": id}))
                    .await;
                match t {
                    Transport::Answered { status: 200, .. } => {}
                    Transport::Answered { body, .. }
                        if String::from_utf8_lossy(&body).contains("ResourceNotFound") => {}
                    _ => left.push(id),
                }
            }
            if left.is_empty()
                || Instant::now() >= deadline
                || self.interrupted.load(Ordering::SeqCst) && Instant::now() >= deadline
            {
                if !left.is_empty() {
                    let ids = left.join(", ");
                    self.fault(
                        "cleanup",
                        &format!("could not delete backups the run created: {ids}"),
                    );
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            pending = left;
        }
        self.max_calls = budget;
    }
}
