//! Input checks shared by the metrics. Each returns the structured error that names the
//! metric, the offending position and value, and what was expected.

use crate::error::{Error, Result};

/// `what` must hold `expected` elements (one per row of the first input).
pub(crate) fn same_len(op: &'static str, what: &str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        return Ok(());
    }
    Err(Error::Length {
        op,
        what: format!("{what} (one per row)"),
        len,
        expected,
    })
}

/// At least one row to average over.
pub(crate) fn non_empty(op: &'static str, rows: usize) -> Result<()> {
    if rows > 0 {
        return Ok(());
    }
    Err(Error::Config {
        what: format!("{op} input"),
        message: "there are no rows; the metric is a mean over rows and is undefined for none \
                  (if a mask removed every row, evaluate this task on a set with labels)"
            .into(),
    })
}

/// Every label is exactly 0 or 1.
pub(crate) fn binary_labels(op: &'static str, labels: &[f32]) -> Result<()> {
    match labels.iter().position(|&y| y != 0.0 && y != 1.0) {
        None => Ok(()),
        Some(i) => Err(Error::Value {
            op,
            what: "label".into(),
            position: i,
            value: labels[i] as f64,
            expected: "0 (negative) or 1 (positive)".into(),
        }),
    }
}

/// No score is NaN (±∞ are allowed: they still order).
pub(crate) fn no_nan(op: &'static str, what: &str, xs: &[f32]) -> Result<()> {
    match xs.iter().position(|x| x.is_nan()) {
        None => Ok(()),
        Some(i) => Err(Error::Value {
            op,
            what: what.into(),
            position: i,
            value: f64::NAN,
            expected: "a number (not NaN); check the model output for overflow".into(),
        }),
    }
}

/// Every element is finite.
pub(crate) fn finite(op: &'static str, what: &str, xs: &[f32]) -> Result<()> {
    crate::error::check_finite(op, what, xs)
}

/// `k ≥ 1` for a top-k metric.
pub(crate) fn positive_k(op: &'static str, k: usize) -> Result<()> {
    if k > 0 {
        return Ok(());
    }
    Err(Error::Config {
        what: format!("{op} cut-off"),
        message: "k = 0 ranks no item; use k ≥ 1".into(),
    })
}
