//! Input-space and transition coverage, next to rule coverage: which features of the requests
//! ([`features`]) and which pairs of calls in succession, in which state ([`transitions`]), a
//! run exercised, out of what the service model allows. Pure: the runner feeds a [`Tally`] each
//! call it judged; the tally gives the report's matrices and the generator's [`Bias`] (what is
//! still uncovered).

pub mod features;
mod matrix;
pub mod transitions;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{Operation, World};

pub use features::{Feature, Filters, Kind};
pub use matrix::{CoverageMatrix, MatrixCell, MatrixRow};
pub use transitions::{Cell, Column};

/// What a run may exercise: the operations it calls and whether it can choose server states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub operations: Vec<Operation>,
    pub control_plane: bool,
}

/// What is still uncovered when a case is drawn, in the report's order: the generator steers
/// towards it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bias {
    pub features: Vec<Feature>,
    pub cells: Vec<Cell>,
}

impl Bias {
    pub fn is_empty(&self) -> bool {
        self.features.is_empty() && self.cells.is_empty()
    }
}

/// The counts of a run so far.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    features: BTreeMap<Feature, u64>,
    cells: BTreeMap<Cell, u64>,
    /// The operation of the case's previous call.
    previous: Option<Operation>,
    /// The last bias given and its scope, kept up to date as calls cover what it names (counts
    /// only grow, so a bias only loses entries): a case drawn after calls that covered nothing
    /// new takes it as it is.
    bias: Option<(Scope, Bias)>,
}

impl Tally {
    /// A new case starts: its first call follows nothing.
    pub fn start_case(&mut self) {
        self.previous = None;
    }

    /// Counts one call judged in `world` (the model's state just before it was sent).
    pub fn call(&mut self, op: Operation, input: &Value, world: &World) {
        for f in features::observe(op, input) {
            match self.features.get_mut(&f) {
                Some(n) => *n += 1,
                None => {
                    if let Some((_, bias)) = &mut self.bias {
                        bias.features.retain(|x| *x != f);
                    }
                    self.features.insert(f, 1);
                }
            }
        }
        if let Some(first) = self.previous {
            for column in transitions::context(world, input) {
                let cell = Cell {
                    first,
                    second: op,
                    column,
                };
                let n = self.cells.entry(cell).or_default();
                *n += 1;
                if *n == 1 {
                    if let Some((_, bias)) = &mut self.bias {
                        bias.cells.retain(|x| *x != cell);
                    }
                }
            }
        }
        self.previous = Some(op);
    }

    pub fn feature_count(&self, f: &Feature) -> u64 {
        self.features.get(f).copied().unwrap_or(0)
    }

    pub fn cell_count(&self, c: &Cell) -> u64 {
        self.cells.get(c).copied().unwrap_or(0)
    }

    /// What `scope` allows and this run has not covered yet.
    pub fn bias(&mut self, scope: &Scope) -> Bias {
        match &self.bias {
            Some((known, bias)) if known == scope => bias.clone(),
            _ => {
                let bias = self.uncovered(scope);
                self.bias = Some((scope.clone(), bias.clone()));
                bias
            }
        }
    }

    /// What `scope` allows and this run has not covered yet, counted afresh.
    fn uncovered(&self, scope: &Scope) -> Bias {
        Bias {
            features: features::allowed(&scope.operations)
                .into_iter()
                .filter(|f| self.feature_count(f) == 0)
                .collect(),
            cells: transitions::allowed(&scope.operations, scope.control_plane)
                .into_iter()
                .filter(|c| self.cell_count(c) == 0)
                .collect(),
        }
    }

    /// The input-feature matrix: a row per member (and one per DescribeBackups filter
    /// combination of BackupId and ServerName), a cell per kind of value; cells the model does
    /// not allow are left empty and out of the denominator.
    pub fn feature_matrix(&self, scope: &Scope) -> CoverageMatrix {
        let allowed = features::allowed(&scope.operations);
        let rows = features::layout(&scope.operations)
            .into_iter()
            .map(|(label, row_features)| {
                let cells = row_features.into_iter().map(|f| {
                    let count = allowed.contains(&f).then(|| self.feature_count(&f));
                    (f.kind.label(), count)
                });
                row(label, cells)
            })
            .collect();
        matrix(rows)
    }

    /// The transition matrix: a row per pair of operations, a column per state.
    pub fn transition_matrix(&self, scope: &Scope) -> CoverageMatrix {
        let allowed = transitions::allowed(&scope.operations, scope.control_plane);
        let mut rows = Vec::new();
        for &first in &scope.operations {
            for &second in &scope.operations {
                let cells = Column::all().into_iter().map(|column| {
                    let cell = Cell {
                        first,
                        second,
                        column,
                    };
                    let count = allowed.contains(&cell).then(|| self.cell_count(&cell));
                    (column.label(), count)
                });
                rows.push(row(format!("{first} → {second}"), cells));
            }
        }
        matrix(rows)
    }
}

fn row(label: String, cells: impl Iterator<Item = (String, Option<u64>)>) -> MatrixRow {
    MatrixRow {
        label,
        cells: cells
            .map(|(column, count)| MatrixCell { column, count })
            .collect(),
    }
}

/// A matrix with its totals: allowed cells, and those hit at least once.
fn matrix(rows: Vec<MatrixRow>) -> CoverageMatrix {
    let cells = || rows.iter().flat_map(|r| &r.cells);
    CoverageMatrix {
        allowed: cells().filter(|c| c.count.is_some()).count() as u64,
        covered: cells().filter(|c| c.count.is_some_and(|n| n > 0)).count() as u64,
        rows,
    }
}

#[cfg(test)]
mod tests;
