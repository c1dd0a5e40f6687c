//! The input-feature and transition coverage matrices (see [`crate::coverage`]): their form in
//! `report.json`, their section of `report.html` and their line of the console summary.

use serde::Serialize;

use crate::coverage::CoverageMatrix;

use super::redact::Redactor;

/// Uncovered cells named one by one in `report.html`; the rest are counted.
const MAX_UNCOVERED_NAMED: usize = 300;

/// The console summary's line for both matrices, if the run has them.
pub(super) fn console_line(
    features: Option<&CoverageMatrix>,
    transitions: Option<&CoverageMatrix>,
) -> Option<String> {
    let (f, t) = (features?, transitions?);
    Some(format!(
        "input     features {:.1} % ({} of {}), transitions {:.1} % ({} of {}) covered",
        f.percent(),
        f.covered,
        f.allowed,
        t.percent(),
        t.covered,
        t.allowed
    ))
}

/// One matrix as `report.html` shows it.
#[derive(Serialize)]
pub(super) struct MatrixView {
    id: &'static str,
    title: &'static str,
    line: String,
    /// Tables of rows sharing their columns.
    tables: Vec<TableView>,
    uncovered: Vec<String>,
    uncovered_more: usize,
}

#[derive(Serialize)]
struct TableView {
    columns: Vec<String>,
    rows: Vec<RowView>,
}

#[derive(Serialize)]
struct RowView {
    label: String,
    /// `(text, state)`: state `na` (not allowed), `miss` (never hit) or `hit`.
    cells: Vec<(String, &'static str)>,
}

/// The views of the report's matrices, features first.
pub(super) fn views(
    features: Option<&CoverageMatrix>,
    transitions: Option<&CoverageMatrix>,
    c: &Redactor,
) -> Vec<MatrixView> {
    let mut out = Vec::new();
    if let Some(m) = features {
        out.push(view(m, "input-coverage", "Input-feature coverage", c));
    }
    if let Some(m) = transitions {
        out.push(view(m, "transition-coverage", "Transition coverage", c));
    }
    out
}

fn view(m: &CoverageMatrix, id: &'static str, title: &'static str, c: &Redactor) -> MatrixView {
    let mut tables: Vec<TableView> = Vec::new();
    for r in &m.rows {
        let columns: Vec<String> = r.cells.iter().map(|x| c.line(&x.column, 100)).collect();
        let cells = r
            .cells
            .iter()
            .map(|x| match x.count {
                None => ("·".to_string(), "na"),
                Some(0) => ("0".to_string(), "miss"),
                Some(n) => (n.to_string(), "hit"),
            })
            .collect();
        let row = RowView {
            label: c.line(&r.label, 200),
            cells,
        };
        match tables.last_mut() {
            Some(t) if t.columns == columns => t.rows.push(row),
            _ => tables.push(TableView {
                columns,
                rows: vec![row],
            }),
        }
    }
    let uncovered = m.uncovered();
    MatrixView {
        id,
        title,
        line: format!("{} allowed cells covered", m.summary()),
        tables,
        uncovered_more: uncovered.len().saturating_sub(MAX_UNCOVERED_NAMED),
        uncovered: uncovered
            .iter()
            .take(MAX_UNCOVERED_NAMED)
            .map(|u| c.line(u, 300))
            .collect(),
    }
}
