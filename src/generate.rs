//! Placeholder until the generate branch lands.
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::plan::Plan;

pub struct GenConfig {
    pub limit: u32,
    pub control_plane: bool,
    pub servers: Vec<String>,
    pub max_steps: usize,
}

pub fn plan_strategy(_config: &GenConfig) -> BoxedStrategy<Plan> {
    Just(Plan::new("placeholder", vec![])).boxed()
}
