//! A divergence, finished: reproduced, saved, with its replay and curl commands and a diff.
//!
//! A shrunk counterexample is saved as a regression under `<scenarios>/regressions/`, so later
//! runs replay it first; a run against a mutant of the embedded emulator saves it under
//! `<report-dir>/regressions/` instead, and leaves the scenario library alone.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::rules::{rule_by_id, RuleId};
use crate::plan::Plan;
use crate::target::EndpointSpec;
use crate::wire::Exchange;

use super::case::{Case, CaseResult, Failure};
use super::outcome::{unified_diff, Divergence, Reproduction, ReproductionClass};
use super::timeline::abbreviate;
use super::trials::Run;
use super::RunConfig;

/// A counterexample to finish: the (minimal) plan and how it was found.
pub(super) struct Counterexample {
    pub(super) plan: Plan,
    /// Steps of the plan before shrinking.
    pub(super) original_steps: usize,
    pub(super) failure: Failure,
    /// Shrunk from a generated case: named after its rule and saved as a regression.
    pub(super) shrunk: bool,
}

impl Run<'_> {
    /// Re-runs the minimal plan, saves it, and builds the report's divergence.
    pub(super) async fn finish_divergence(&mut self, trial: &str, c: Counterexample) -> Divergence {
        let Counterexample {
            mut plan,
            original_steps,
            failure,
            shrunk,
        } = c;
        self.session.diverged_on(failure.rule);
        let reproduction = self.reproduce(&plan, failure.rule).await;
        let rule = rule_by_id(&failure.rule);
        if shrunk {
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
        let saved_to = self.save(&plan, shrunk);
        let replay_command = replay_command(self.config, saved_to.as_deref());
        Divergence {
            rule: failure.rule.to_string(),
            rule_text: rule.map(|r| r.text.to_string()).unwrap_or_default(),
            trial: trial.to_string(),
            diff: diff(&failure),
            curl_command: failure.exchange.as_ref().and_then(curl_command),
            message: failure.message,
            plan,
            original_steps,
            step_index: failure.step_index,
            timeline: failure.timeline,
            allowed: failure.allowed,
            observed: failure.observed,
            exchange: failure.exchange,
            reproduction,
            replay_command,
            saved_to,
        }
    }

    /// Runs the counterexample again (`--reproduce-runs` times) and counts how often it fails on
    /// the same rule; None when the run has stopped.
    async fn reproduce(&mut self, plan: &Plan, rule: RuleId) -> Option<Reproduction> {
        let runs = if self.session.stopped() {
            0
        } else {
            self.config.reproduce_runs
        };
        let mut reproduced = 0;
        for _ in 0..runs {
            let r = Case::run(&mut self.session, plan).await.0;
            if matches!(r, CaseResult::Diverged(f) if f.rule == rule) {
                reproduced += 1;
            }
        }
        let classification = if reproduced == runs {
            ReproductionClass::Deterministic
        } else {
            ReproductionClass::Flaky
        };
        (runs > 0).then_some(Reproduction {
            runs,
            reproduced,
            classification,
        })
    }

    /// Saves the plan where its replay command can find it: a shrunk counterexample as a
    /// regression (see the module's comment), any other under `<report-dir>/plans/`.
    fn save(&self, plan: &Plan, shrunk: bool) -> Option<String> {
        let config = self.config;
        let regressions = if shrunk && config.save_regressions {
            regressions_dir(config)
        } else {
            None
        };
        regressions
            .and_then(|dir| save_plan(&dir, plan))
            .or_else(|| {
                let dir = config.report_dir.as_ref()?;
                save_plan(&dir.join("plans"), plan)
            })
    }
}

/// Where shrunk counterexamples are saved: the scenario library's `regressions/`, or the report
/// directory's when the endpoint is a mutant of the embedded emulator (a mutant's bugs are not
/// the library's regressions).
pub(super) fn regressions_dir(config: &RunConfig) -> Option<PathBuf> {
    let base = match mutant(config) {
        Some(_) => config.report_dir.as_ref()?,
        None => config.scenarios_dir.as_ref()?,
    };
    Some(base.join("regressions"))
}

fn replay_command(config: &RunConfig, saved_to: Option<&str>) -> String {
    format!(
        "opsworkscm-conformance replay {} --endpoint {} --dialect {}{}",
        saved_to.unwrap_or("PLAN.json"),
        shell_quote(&config.endpoint_arg),
        config.dialect.name(),
        mutant_flag(config)
    )
}

/// A curl command that sends the failing call again (POST calls only).
fn curl_command(e: &Exchange) -> Option<String> {
    if e.method != "POST" {
        return None;
    }
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
    Some(cmd)
}

/// A unified diff of the allowed outcomes against what was observed.
fn diff(failure: &Failure) -> String {
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
    unified_diff(&expected_text, &observed_text)
}

/// The mutant the embedded emulator serves, if it serves one.
fn mutant(config: &RunConfig) -> Option<&str> {
    match (&config.endpoint, &config.emulator.mutant) {
        (EndpointSpec::Embedded, Some(m)) => Some(m),
        _ => None,
    }
}

/// ` --mutant NAME` when the embedded emulator serves a mutant, so replay commands reproduce.
fn mutant_flag(config: &RunConfig) -> String {
    mutant(config)
        .map(|m| format!(" --mutant {m}"))
        .unwrap_or_default()
}

fn pretty_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let s = serde_json::to_string_pretty(&v).unwrap_or_default();
            abbreviate(&s, 4000)
        }
        Err(_) => abbreviate(body, 4000),
    }
}

fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h
}

fn save_plan(dir: &Path, plan: &Plan) -> Option<String> {
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

    #[test]
    fn a_mutant_run_saves_its_regressions_with_the_reports() {
        let mut config = RunConfig {
            scenarios_dir: Some("lib".into()),
            report_dir: Some("out".into()),
            ..RunConfig::default()
        };
        assert_eq!(regressions_dir(&config), Some("lib/regressions".into()));
        config.emulator.mutant = Some("limit-off-by-one-high".into());
        assert_eq!(regressions_dir(&config), Some("out/regressions".into()));
    }
}
