//! `data.bad_rows` for values: a cell that is there (not a missing marker) but cannot
//! be used.
//!
//! ```text
//! numeric feature          not a number, nan, inf, or too large for f32 (1e39)
//! task label               regression: not a number within f32's range
//!                          binary: not 0 or 1 (no `positive` / `threshold`), or not a
//!                          number (with `threshold`)
//! split.time_column        not a number (temporal split)
//! ```
//!
//! `error`: the first such cell stops the run with `path:line:field` (the messages of
//! [`RawTable::parse_f32`] and [`LabelSpec::encode`]). `skip`: every row holding one
//! is dropped and recorded in `table.skipped` with its place, reason and text, like a
//! malformed row. Missing markers (`data.missing_values`) are not bad values: numeric
//! features fill them (`missing`), labels are masked.

use super::labels::LabelSpec;
use super::vocab::is_missing;
use crate::config::{
    BadRows, DataConfig, FeatureConfig, FeatureKind, SplitConfig, SplitKind, TaskConfig,
};
use crate::data::ingest::RawTable;

/// A cell's text for a reason: at most 80 characters.
fn shown(text: &str) -> String {
    crate::data::ingest::excerpt(text.as_bytes())
}
use crate::error::Result;

/// Applies `data.bad_rows` to the values of `table` that the run parses: numeric
/// features, task labels and the temporal split's time column. Returns the number
/// of rows dropped (always 0 under `error`, which fails at the first bad value).
pub fn drop_bad_values(
    table: &mut RawTable,
    features: &[FeatureConfig],
    tasks: &[TaskConfig],
    split: &SplitConfig,
    data: &DataConfig,
) -> Result<usize> {
    let mv = &data.missing_values;
    let numeric: Vec<&str> = features
        .iter()
        .filter(|f| f.kind == FeatureKind::Numeric)
        .map(|f| f.name.as_str())
        .collect();
    let labels: Vec<LabelSpec> = tasks.iter().map(LabelSpec::new).collect();
    let time = match split.kind {
        SplitKind::Temporal => split.time_column.as_deref(),
        _ => None,
    };
    if data.bad_rows == BadRows::Error {
        for name in &numeric {
            table.parse_f32(name, mv)?;
        }
        for l in &labels {
            l.encode(table, mv)?;
        }
        return Ok(0);
    }
    let mut reasons: Vec<Option<String>> = vec![None; table.num_rows()]; // (N,)
    for name in &numeric {
        let Some(col) = table.column(name) else {
            continue;
        };
        for (row, p) in col.parse_f32(mv).bad {
            reasons[row].get_or_insert_with(|| {
                format!(
                    "column `{name}`: `{}`; expected {}",
                    shown(col.get(row)),
                    p.expected()
                )
            });
        }
    }
    for l in &labels {
        let Some(col) = table.column(&l.column) else {
            continue;
        };
        let per_code: Vec<Option<&str>> = col
            .dict
            .iter()
            .map(|t| match is_missing(t, mv) {
                true => None,
                false => l.label(t).err(),
            })
            .collect();
        for (row, &code) in col.values.iter().enumerate() {
            if let Some(expected) = per_code[code as usize] {
                reasons[row].get_or_insert_with(|| {
                    format!(
                        "column `{}`: `{}`; expected {expected} (task `{}`)",
                        l.column,
                        shown(col.get(row)),
                        l.name
                    )
                });
            }
        }
    }
    if let Some(col) = time.and_then(|t| table.column(t)) {
        let name = time.unwrap_or_default();
        for (row, &code) in col.values.iter().enumerate() {
            let t = &col.dict[code as usize];
            let number = t.trim().parse::<f64>().is_ok_and(f64::is_finite);
            if !number && !is_missing(t, mv) {
                reasons[row].get_or_insert_with(|| {
                    format!(
                        "column `{name}`: `{}`; expected a finite number (split.time_column)",
                        shown(t)
                    )
                });
            }
        }
    }
    let bad: Vec<(usize, String)> = reasons
        .into_iter()
        .enumerate()
        .filter_map(|(r, x)| Some((r, x?)))
        .collect();
    Ok(table.drop_rows(&bad))
}
