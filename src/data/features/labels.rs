//! Task labels and their masks, read from each task's column.
//!
//! ```text
//! missing cell (text in data.missing_values)   →  label 0, mask 0  (no label for this task)
//! binary, `positive` set                       →  1 iff the trimmed text is in `positive`, else 0
//! binary, `threshold` set                      →  1 iff the number ≥ threshold (not a number: error)
//! binary, neither                              →  the number, which must be 0 or 1 (else: error)
//! regression                                   →  the number (not a finite f32, e.g. 1e39: error)
//! ```
//!
//! A masked sample is left out of that task's loss and metrics; its other tasks still
//! count. Errors name the cell as `path:line:field`.

use super::vocab::is_missing;
use crate::config::{TaskConfig, TaskType};
use crate::data::ingest::RawTable;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// How one task's labels are read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelSpec {
    pub name: String,
    pub kind: TaskType,
    pub column: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl LabelSpec {
    pub fn new(t: &TaskConfig) -> LabelSpec {
        LabelSpec {
            name: t.name.clone(),
            kind: t.kind,
            column: t.column.clone(),
            positive: t.positive.iter().map(|p| p.trim().to_string()).collect(),
            threshold: t.threshold,
        }
    }

    /// The label of one non-missing text, or what was expected instead.
    pub(crate) fn label(&self, text: &str) -> std::result::Result<f32, &'static str> {
        let t = text.trim();
        // "0" and "1" (most labels) without the float parser: the same values
        let number = || match t {
            "0" => Some(0.0),
            "1" => Some(1.0),
            _ => t.parse::<f64>().ok().filter(|x| x.is_finite()),
        };
        match self.kind {
            // Labels are stored as f32: 1e39 is finite in f64 but infinite in f32.
            TaskType::Regression => number().map(|x| x as f32).filter(|y| y.is_finite()).ok_or(
                "a finite number within f32's range (|y| ≤ 3.4e38) (the regression label); fix the value or add the text to data.missing_values",
            ),
            TaskType::Binary if !self.positive.is_empty() => {
                Ok(if self.positive.iter().any(|p| p == t) { 1.0 } else { 0.0 })
            }
            TaskType::Binary => match (self.threshold, number()) {
                (Some(th), Some(x)) => Ok(if x >= th { 1.0 } else { 0.0 }),
                (Some(_), None) => Err("a number to compare with the task's threshold; fix the value or add the text to data.missing_values"),
                (None, Some(x)) if x == 0.0 || x == 1.0 => Ok(x as f32),
                (None, _) => Err("0 or 1 (a binary label); set `positive` or `threshold` for the task to map other values"),
            },
        }
    }

    /// Labels and mask of every row of `table`: `(N,)` each. A table without the
    /// task's column (new data at prediction time) gives all-masked labels.
    pub fn encode(
        &self,
        table: &RawTable,
        missing_values: &[String],
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = table.num_rows();
        let Some(col) = table.column(&self.column) else {
            return Ok((vec![0.0; n], vec![0.0; n]));
        };
        // Per distinct text: Ok(Some(label)), Ok(None) for missing, or the expectation.
        let per_code: Vec<std::result::Result<Option<f32>, &'static str>> = col
            .dict
            .iter()
            .map(|t| {
                if is_missing(t, missing_values) {
                    Ok(None)
                } else {
                    self.label(t).map(Some)
                }
            })
            .collect();
        let mut labels = Vec::with_capacity(n); // (N,)
        let mut mask = Vec::with_capacity(n); // (N,)
        for (row, &code) in col.values.iter().enumerate() {
            match per_code[code as usize] {
                Ok(Some(y)) => {
                    labels.push(y);
                    mask.push(1.0);
                }
                Ok(None) => {
                    labels.push(0.0);
                    mask.push(0.0);
                }
                Err(expected) => {
                    let what = format!(
                        "{expected} (task `{}`); or set data.bad_rows = \"skip\" to skip such rows",
                        self.name
                    );
                    return Err(table.cell_error(row, &self.column, col.get(row), &what));
                }
            }
        }
        Ok((labels, mask))
    }
}
