//! Regression metrics: mean squared error, its root, mean absolute error.
//!
//! preds, targets: (N,)    sums in f64 of the f32 inputs converted exactly.

use super::check;
use crate::error::Result;

/// Mean squared error `MSE = (1/N) Σ_i (p_i − y_i)²`.
///
/// Errors: lengths differ, no rows, or a non-finite prediction or target.
pub fn mse(preds: &[f32], targets: &[f32]) -> Result<f64> {
    mean_of("mse", preds, targets, |diff| diff * diff)
}

/// Root mean squared error `RMSE = √MSE = √((1/N) Σ_i (p_i − y_i)²)`. Errors as [`mse`].
pub fn rmse(preds: &[f32], targets: &[f32]) -> Result<f64> {
    Ok(mean_of("rmse", preds, targets, |diff| diff * diff)?.sqrt())
}

/// Mean absolute error `MAE = (1/N) Σ_i |p_i − y_i|`. Errors as [`mse`].
pub fn mae(preds: &[f32], targets: &[f32]) -> Result<f64> {
    mean_of("mae", preds, targets, f64::abs)
}

/// `(1/N) Σ_i f(p_i − y_i)` in f64, after the shared checks.
fn mean_of(
    op: &'static str,
    preds: &[f32],
    targets: &[f32],
    f: impl Fn(f64) -> f64,
) -> Result<f64> {
    check::same_len(op, "targets", targets.len(), preds.len())?;
    check::non_empty(op, preds.len())?;
    check::finite(op, "prediction", preds)?;
    check::finite(op, "target", targets)?;
    let sum: f64 = preds
        .iter()
        .zip(targets)
        .map(|(&p, &y)| f(p as f64 - y as f64))
        .sum();
    Ok(sum / preds.len() as f64)
}
