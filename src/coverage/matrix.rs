//! A coverage matrix as a run counts it and report.json carries it: rows of cells, each
//! counting how often the run hit it (see [`super`] for what the two matrices count).

use serde::{Deserialize, Serialize};

/// A coverage matrix: rows of cells, each counting how often the run hit it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageMatrix {
    /// Cells the service model allows (the denominator).
    pub allowed: u64,
    /// Allowed cells hit at least once.
    pub covered: u64,
    pub rows: Vec<MatrixRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixRow {
    pub label: String,
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixCell {
    pub column: String,
    /// How often the run hit the cell; null when the model does not allow it (not counted).
    pub count: Option<u64>,
}

impl CoverageMatrix {
    /// The share of allowed cells covered, in percent (100 when nothing is allowed).
    pub fn percent(&self) -> f64 {
        if self.allowed == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.allowed as f64
        }
    }

    /// `142 of 156 (91.0 %)`.
    pub fn summary(&self) -> String {
        format!(
            "{} of {} ({:.1} %)",
            self.covered,
            self.allowed,
            self.percent()
        )
    }

    /// The allowed cells never hit, as `row: column`.
    pub fn uncovered(&self) -> Vec<String> {
        self.rows
            .iter()
            .flat_map(|r| {
                r.cells
                    .iter()
                    .filter(|c| c.count == Some(0))
                    .map(move |c| format!("{}: {}", r.label, c.column))
            })
            .collect()
    }
}
