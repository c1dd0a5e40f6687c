//! Generated plans: the proptest strategies behind the `property::generated-sequences` cases.
//!
//! A plan is generated in two stages, so that every plan proptest shrinks to is still a plan
//! whose steps make sense where they stand:
//!
//! 1. A list of small `Choice`s (enums and indices, no names, no ids) is drawn. Each choice
//!    becomes exactly one step, so removing a choice removes one step.
//! 2. The list is read front to back against the model's own [`World`](model::World),
//!    advanced by the reference reading of each step (the outcome the bundled emulator serves),
//!    as proptest-state-machine generates from its `ReferenceStateMachine::State`. Server names
//!    and backup ids are picked from what exists at that point, as its `select(ids)` does: a
//!    choice says "the server touched most recently" or "the second server", never a name, and
//!    a DeleteBackup says "one this plan created", which becomes `${created:N}` only when the
//!    plan has created one.
//!
//! Unknown, case-changed and invalid names are chosen on purpose (their own `Target` kinds)
//! and are never names a server of the plan can have, so a shrunk plan never calls a
//! vanished server by accident: it falls back to an existing server or, when none exists, to an
//! unknown name.
//!
//! Shrinking (`ChoiceListTree`) deletes choices one at a time, pass after pass, until no
//! deletion keeps the failure, then simplifies each remaining choice (towards read-only calls,
//! 0 backups, HEALTHY, valid input and the most recent server), and deletes again whenever a
//! simplification was kept. proptest's own `Vec` tree makes one deletion pass only, which leaves
//! steps behind whenever a deletion is needed before another one can succeed.
//!
//! A plan may hold parallel blocks (2 to 8 calls sent at once: CreateBackups on one server,
//! with UpdateServer, DescribeBackups and the like), so that a check-then-act race shows inside
//! an ordinary generated case. A block is one choice holding its own list of call choices,
//! which shrinks the same way: whole blocks are deleted like any step, then calls from a
//! block, and a block left with one call becomes that call.
//!
//! Without a control plane (real AWS) nothing is generated that changes a server or costs much:
//! no fixture steps, no UpdateServer/StartMaintenance/DeleteServer/RestoreServer, DeleteBackup
//! only of backups the plan created, and at most [`MAX_PAID_BACKUPS`] CreateBackups that could
//! succeed on a named server (each one is a real, billed backup).

use std::fmt;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::{NewTree, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};

use crate::model::{self, BackupStatus, Operation, ServerStatus, DEFAULT_LIMIT};
use crate::plan::{backup_ref, created_ref, ParallelCall, Plan, Step};

mod corpus;
mod reader;
mod steer;
mod strategies;
#[cfg(test)]
mod tests;
mod tree;

use corpus::*;
pub(crate) use corpus::{
    BackupRef, BackupsFilter, Choice, CreateInput, Description, Malformed, Tags, Target,
};
pub use corpus::{INVALID_NAMES, MAX_PAID_BACKUPS, SERVER_NAMES, UNKNOWN_NAMES};
use reader::*;
use strategies::*;
use tree::*;

/// What the generator may do against one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// The manual-backup limit of the endpoint (50 by default).
    pub limit: u32,
    /// Whether fixture steps (put-server, settle, reset) are allowed.
    pub control_plane: bool,
    /// Without a control plane: the existing servers the user named (`--server`).
    pub servers: Vec<String>,
    /// The most steps a plan has.
    pub max_steps: usize,
    /// The API operations the endpoint serves: no other is called (CreateBackup always is).
    pub operations: Vec<Operation>,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            limit: DEFAULT_LIMIT,
            control_plane: true,
            servers: Vec::new(),
            max_steps: 24,
            operations: Operation::ALL.to_vec(),
        }
    }
}

/// Reads a list of choices into a plan. Any list gives a plan whose steps respect what exists
/// where they stand, which is what keeps shrunk plans meaningful.
pub(crate) fn plan_from_choices(config: &GenConfig, choices: &[Choice]) -> Plan {
    let mut reader = Reader::new(config);
    for c in choices {
        reader.read(c);
    }
    let mut plan = Plan::new("generated", reader.steps);
    plan.description = if config.control_plane {
        "A generated sequence of fixture steps and calls, checked step by step against the model."
            .to_string()
    } else {
        "A generated sequence of calls on existing servers, checked step by step against the model."
            .to_string()
    };
    plan
}

/// The strategy for whole plans. Each plan has 1 to `max_steps` steps; with a control plane,
/// most start with a put-server or two.
pub fn plan_strategy(config: &GenConfig) -> BoxedStrategy<Plan> {
    let config = Arc::new(config.clone());
    let body = choice(&config);
    let (head, head_len) = if config.control_plane {
        (
            put_server(config.limit),
            weighted(vec![
                (1, Just(0usize).boxed()),
                (4, Just(1usize).boxed()),
                (2, Just(2usize).boxed()),
                (1, Just(3usize).boxed()),
            ]),
        )
    } else {
        (body.clone(), Just(0usize).boxed())
    };
    ChoiceList {
        head,
        head_len,
        body,
        min_len: 1,
        max_len: config.max_steps.max(1),
    }
    .prop_map(move |choices| plan_from_choices(&config, &choices))
    .boxed()
}

/// [`plan_strategy`], with each plan steered towards what `bias` says the run has not covered
/// yet (see `steer`); the same as [`plan_strategy`] when nothing is left to cover.
pub fn plan_strategy_steered(
    config: &GenConfig,
    bias: &crate::coverage::Bias,
) -> BoxedStrategy<Plan> {
    if bias.is_empty() || !config.control_plane {
        return plan_strategy(config);
    }
    let (config, bias) = (Arc::new(config.clone()), Arc::new(bias.clone()));
    (plan_strategy(&config), any::<u64>())
        .prop_map(move |(plan, draw)| steer::steer(plan, &bias, draw, &config))
        .boxed()
}

/// The last steered strategy built, kept while the configuration and the bias stay the same:
/// a strategy is a pure description, so drawing from the kept one draws what a new one would.
#[derive(Default)]
pub struct SteeredStrategy {
    last: Option<(GenConfig, crate::coverage::Bias, BoxedStrategy<Plan>)>,
}

impl SteeredStrategy {
    /// [`plan_strategy_steered`] for `config` and `bias`, built only when either changed.
    pub fn get(
        &mut self,
        config: &GenConfig,
        bias: &crate::coverage::Bias,
    ) -> &BoxedStrategy<Plan> {
        let same = |(c, b, _): &(GenConfig, crate::coverage::Bias, _)| c == config && b == bias;
        if !self.last.as_ref().is_some_and(same) {
            let strategy = plan_strategy_steered(config, bias);
            self.last = Some((config.clone(), bias.clone(), strategy));
        }
        &self.last.as_ref().expect("set above").2
    }
}

/// The test runner whose random numbers a seed fixes: the same seed gives the same plans.
pub fn runner_for_seed(seed: u64) -> TestRunner {
    // Spread the seed over ChaCha's 32-byte key (splitmix64).
    let mut state = seed;
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
}

/// The first `n` plans for `seed`, the ones a runner made with [`runner_for_seed`] draws.
pub fn plans_for_seed(config: &GenConfig, seed: u64, n: usize) -> Vec<Plan> {
    let strategy = plan_strategy(config);
    let mut runner = runner_for_seed(seed);
    (0..n)
        .map(|i| {
            let mut plan = strategy
                .new_tree(&mut runner)
                .expect("plan strategies never reject")
                .current();
            plan.origin = Some(format!("seed {seed}, case {i}"));
            plan
        })
        .collect()
}
