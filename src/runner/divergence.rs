//! A divergence, finished: reproduced, saved, with its replay and curl commands and a diff.

use std::path::Path;

use serde_json::Value;

use crate::model::rules::rule_by_id;
use crate::plan::Plan;
use crate::report::{self, Divergence, Reproduction};
use crate::target::EndpointSpec;

use super::*;

impl Session {
    /// Re-runs the minimal plan, saves it, and builds the report's divergence.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish_divergence(
        &mut self,
        config: &RunConfig,
        trial: &str,
        mut plan: Plan,
        original_steps: usize,
        failure: Failure,
        save: bool,
        concurrent_round: Option<u64>,
    ) -> Divergence {
        *self.coverage.entry(failure.rule).or_default() = {
            let (p, f, d) = self.coverage.get(failure.rule).copied().unwrap_or_default();
            (p, f, d + 1)
        };
        let mut reproduced = 0;
        let runs = if self.stopped() {
            0
        } else {
            config.reproduce_runs
        };
        for _ in 0..runs {
            let r = match concurrent_round {
                // A race is re-run as the same round, not as a sequential plan.
                Some(round) => self.concurrent_round(round).await,
                None => self.run_plan(&plan, false).await.0,
            };
            if matches!(r, CaseResult::Diverged(f) if f.rule == failure.rule) {
                reproduced += 1;
            }
        }
        let rule = rule_by_id(failure.rule);
        if save {
            plan.name = format!(
                "{}-{:08x}",
                failure.rule.replace('.', "-"),
                fnv(&plan.to_json_pretty())
            );
            plan.description = format!(
                "Shrunk counterexample for {}: \"{}\"",
                failure.rule,
                rule.map(|r| r.text).unwrap_or("")
            );
            plan.rules = vec![failure.rule.to_string()];
        }
        let saved_to = if save && config.save_regressions {
            config
                .scenarios_dir
                .as_ref()
                .and_then(|dir| save_plan(&dir.join("regressions"), &plan))
        } else {
            None
        }
        .or_else(|| {
            config
                .report_dir
                .as_ref()
                .and_then(|dir| save_plan(&dir.join("plans"), &plan))
        });
        let replay_command = format!(
            "opsworkscm-conformance replay {} --endpoint {} --dialect {}{}",
            saved_to.as_deref().unwrap_or("PLAN.json"),
            shell_quote(&config.endpoint_arg),
            config.dialect.name(),
            mutant_flag(config)
        );
        let curl_command = failure
            .exchange
            .as_ref()
            .filter(|e| e.method == "POST")
            .map(|e| {
                let mut cmd = format!("curl -sS -i -X POST {}", shell_quote(&e.url));
                for (k, v) in &e.request_headers {
                    if k.eq_ignore_ascii_case("content-type")
                        || k.eq_ignore_ascii_case("x-amz-target")
                        || k.eq_ignore_ascii_case("accept")
                    {
                        cmd.push_str(&format!(" -H {}", shell_quote(&format!("{k}: {v}"))));
                    }
                }
                cmd.push_str(&format!(" --data {}", shell_quote(&e.request_body)));
                cmd
            });
        let expected_text = format!(
            "allowed outcomes:\n{}\n",
            failure
                .allowed
                .iter()
                .map(|a| format!("  {a}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let observed_text = format!(
            "observed:\n  {}\n{}",
            failure.observed,
            failure
                .exchange
                .as_ref()
                .map(|e| pretty_body(&e.response_body))
                .unwrap_or_default()
        );
        let diff = report::unified_diff(&expected_text, &observed_text);
        Divergence {
            rule: failure.rule.to_string(),
            rule_text: rule.map(|r| r.text.to_string()).unwrap_or_default(),
            trial: trial.to_string(),
            message: failure.message,
            plan,
            original_steps,
            step_index: failure.step_index,
            timeline: failure.timeline,
            allowed: failure.allowed,
            observed: failure.observed,
            exchange: failure.exchange,
            diff,
            reproduction: (runs > 0).then(|| Reproduction {
                runs,
                reproduced,
                classification: if reproduced == runs {
                    "deterministic"
                } else {
                    "flaky"
                }
                .into(),
            }),
            replay_command,
            curl_command,
            saved_to,
        }
    }
}

/// ` --mutant NAME` when the embedded emulator serves a mutant, so replay commands reproduce.
pub(super) fn mutant_flag(config: &RunConfig) -> String {
    match (&config.endpoint, &config.emulator.mutant) {
        (EndpointSpec::Embedded, Some(m)) => format!(" --mutant {m}"),
        _ => String::new(),
    }
}

pub(super) fn pretty_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let s = serde_json::to_string_pretty(&v).unwrap_or_default();
            abbreviate(&s, 4000)
        }
        Err(_) => abbreviate(body, 4000),
    }
}

pub(super) fn abbreviate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!(
            "{}... ({} characters)",
            s.chars().take(max).collect::<String>(),
            s.chars().count()
        )
    } else {
        s.to_string()
    }
}

pub(super) fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h
}

pub(super) fn save_plan(dir: &Path, plan: &Plan) -> Option<String> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("{}.json", plan.name));
    std::fs::write(&path, plan.to_json_pretty() + "\n").ok()?;
    Some(path.display().to_string())
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("http://127.0.0.1:4566/"),
            "http://127.0.0.1:4566/"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("{\"a\": 1}"), "'{\"a\": 1}'");
    }
}
