//! What the endpoint offers, learned before the first trial: the fixture control plane (and
//! whether asynchronous work ends only through its settle), and the manual-backup limit.

use serde_json::{json, Value};

use crate::model::{Observation, Operation};
use crate::target::{self, EndpointSpec, Transport};
use crate::wire::Answer;

use super::event::RunEvent;
use super::outcome::FaultClass;
use super::session::{FaultInfo, Session};
use super::{ControlPlaneMode, RunConfig};

impl Session<'_> {
    /// Finds the control plane and the limit; without one, learns the limit from
    /// DescribeAccountAttributes. Returns where the limit came from.
    pub(super) async fn discover(&mut self, config: &RunConfig) -> Result<String, FaultInfo> {
        if config.control_plane == ControlPlaneMode::Auto && !target::is_aws_host(&self.target.base)
        {
            if let Some(source) = self.capabilities(config).await? {
                return Ok(source);
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
            // Not served (learned by the session): no attribute, the default limit.
            Ok(Answer::NotServed(_)) => {
                Ok("default 50 (DescribeAccountAttributes is not served)".into())
            }
            Err(f) if f.class == FaultClass::Unreachable => Err(f),
            _ => Ok("default 50".into()),
        }
    }

    /// Asks for the control plane's capabilities; `Some(where the limit came from)` when it
    /// answers, `None` when the endpoint has no control plane.
    async fn capabilities(&mut self, config: &RunConfig) -> Result<Option<String>, FaultInfo> {
        self.calls += 1;
        let (t, ex) = self
            .target
            .control(reqwest::Method::GET, "/_conformance/v1/capabilities", None)
            .await;
        self.emit(RunEvent::Sent(&ex));
        match t {
            Transport::Answered {
                status: 200, body, ..
            } => {
                let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                    return Ok(None);
                };
                if v["version"].as_u64() != Some(1) {
                    return Ok(None);
                }
                self.control_plane = true;
                self.settle_only = v["settleOnly"].as_bool() == Some(true);
                let unknown = self.served.declare(&v["operations"]);
                if !unknown.is_empty() {
                    self.not_exercised(format!(
                        "the capabilities' \"operations\" name operations this harness does not call: {}",
                        unknown.join(", ")
                    ));
                }
                if let Some(limit) = v["maxManualBackups"].as_u64() {
                    self.limit = limit.clamp(1, 10_000) as u32;
                    return Ok(Some("control plane capabilities (maxManualBackups)".into()));
                }
                Ok(Some(
                    "default (the control plane does not advertise one)".into(),
                ))
            }
            Transport::Unreachable(m) => {
                let hint = if matches!(config.endpoint, EndpointSpec::Embedded) {
                    String::new()
                } else {
                    " (hint: start `opsworkscm-conformance emulate`, or use --endpoint embedded)"
                        .into()
                };
                Err(self.fault(
                    FaultClass::Unreachable,
                    &format!("cannot connect to {}: {m}{hint}", self.target.base),
                ))
            }
            _ => Ok(None),
        }
    }
}
