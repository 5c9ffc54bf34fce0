//! Widget SQL answers (R17): rows of column name → cell, whose columns
//! depend on the template (anchor §3.5), so they stay untyped here.

use serde_json::{Map, Value};

/// One row of a widget template, e.g. `{"DEFECT": "<a ...>SHOP-1</a>", "FAILURES": "3 of 9"}`.
pub type WidgetRow = Map<String, Value>;

/// The rows of one template run, at most the cap the caller asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WidgetRows {
    pub rows: Vec<WidgetRow>,
    /// Rows Zebrunner returned in all (more than `rows.len()` when capped).
    pub total: usize,
}
