//! Rule coverage: how often each rule was exercised, and the report's rows.

use crate::coverage::{Bias, CoverageMatrix, Scope};
use crate::model::rules::RULES;
use crate::model::{self, Observation, Operation, Polarity};
use crate::wire::Dialect;

use super::outcome::RuleCoverage;
use super::session::Session;
use crate::model::rules::{self, RuleId};

/// How often one rule was exercised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Coverage {
    /// Inputs the rule allowed.
    pub(super) passed: u64,
    /// Inputs the rule refused.
    pub(super) failed: u64,
    /// Divergences attributed to the rule.
    pub(super) divergences: u64,
}

impl Session<'_> {
    pub(super) fn exercised(&mut self, rule: RuleId, polarity: Polarity) {
        let e = self.coverage.entry(rule).or_default();
        match polarity {
            Polarity::Pass => e.passed += 1,
            Polarity::Fail => e.failed += 1,
        }
    }

    /// Attributes a divergence to `rule`.
    pub(super) fn diverged_on(&mut self, rule: RuleId) {
        self.coverage.entry(rule).or_default().divergences += 1;
    }

    /// Rules judged from an answer's form rather than its outcome (the wire layer's checks and
    /// the readings that only the content of an answer shows).
    pub(super) fn wire_coverage(&mut self, op: Operation, observation: &Observation) {
        let aws_json = self.target.dialect == Dialect::AwsJson;
        match observation {
            Observation::Success(_)
            | Observation::Listing(_)
            | Observation::CreatedEnvelope { .. } => {
                self.exercised(rules::PROTOCOL_SUCCESS, Polarity::Pass);
                if aws_json {
                    self.exercised(rules::RESPONSE_SHAPE, Polarity::Pass);
                }
                if op == Operation::CreateBackup {
                    for rule in [
                        rules::AMBIGUITY_CREATED_STATUS,
                        rules::AMBIGUITY_BACKUP_ID_FORMAT,
                        rules::AMBIGUITY_LIMIT_SCOPE,
                        rules::AMBIGUITY_LIMIT_VALUE,
                    ] {
                        self.exercised(rule, Polarity::Pass);
                    }
                }
            }
            Observation::Error(kind) => {
                self.exercised(rules::PROTOCOL_ERROR, Polarity::Pass);
                if aws_json {
                    self.exercised(rules::AMBIGUITY_ERROR_TYPE_FORM, Polarity::Pass);
                }
                if *kind == model::ErrorKind::LimitExceededException {
                    self.exercised(rules::AMBIGUITY_LIMIT_SCOPE, Polarity::Fail);
                    self.exercised(rules::AMBIGUITY_LIMIT_VALUE, Polarity::Fail);
                }
            }
            Observation::Unknown => {}
        }
    }

    /// What the generator may exercise on this endpoint: the operations served (without a
    /// control plane, only those that change no server: the generator never calls the others
    /// there), and whether server states can be chosen.
    pub(super) fn coverage_scope(&self) -> Scope {
        let operations = self.served.operations();
        let changes_servers = [
            Operation::UpdateServer,
            Operation::StartMaintenance,
            Operation::DeleteServer,
            Operation::RestoreServer,
        ];
        Scope {
            operations: operations
                .into_iter()
                .filter(|op| self.control_plane || !changes_servers.contains(op))
                .collect(),
            control_plane: self.control_plane,
        }
    }

    /// The input-feature and transition matrices of the run so far.
    pub(super) fn matrices(&self) -> (CoverageMatrix, CoverageMatrix) {
        let scope = self.coverage_scope();
        (
            self.tally.feature_matrix(&scope),
            self.tally.transition_matrix(&scope),
        )
    }

    /// What the next generated case is steered towards.
    pub(super) fn bias(&mut self) -> Bias {
        let scope = self.coverage_scope();
        self.tally.bias(&scope)
    }

    pub(super) fn coverage_rows(&self) -> Vec<RuleCoverage> {
        RULES
            .iter()
            .map(|r| {
                let c = self.coverage.get(&r.id).copied().unwrap_or_default();
                RuleCoverage {
                    passed: c.passed,
                    failed: c.failed,
                    divergences: c.divergences,
                    ..RuleCoverage::unexercised(r)
                }
            })
            .collect()
    }
}
