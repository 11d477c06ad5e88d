//! Label masks: evaluate a task on its labelled rows only.
//!
//! mask: (N,) with 1 = labelled, 0 = label missing (the convention of `loss::LossOpts`).

use super::check;
use crate::error::{Error, Result};

/// The rows `i` of `xs` with `mask[i] = 1`, in order: `[x_i : m_i = 1]`.
///
/// Use it for any per-row input (scores, labels, user ids). Errors: `mask` of another length,
/// or a mask value other than 0 or 1.
pub fn select_rows<T: Copy>(xs: &[T], mask: &[f32]) -> Result<Vec<T>> {
    check::same_len("select_rows", "mask", mask.len(), xs.len())?;
    if let Some(i) = mask.iter().position(|&m| m != 0.0 && m != 1.0) {
        return Err(Error::Value {
            op: "select_rows",
            what: "label mask".into(),
            position: i,
            value: mask[i] as f64,
            expected: "0 (no label) or 1 (labelled)".into(),
        });
    }
    Ok(xs
        .iter()
        .zip(mask)
        .filter(|(_, &m)| m == 1.0)
        .map(|(&x, _)| x)
        .collect())
}

/// Scores and labels of the labelled rows; with `mask = None`, copies of both.
///
/// ```
/// use mtrec::metrics::{auc, masked};
/// let (s, y) = masked(&[0.1, 0.9, 0.7], &[0.0, 1.0, 0.0], Some(&[1.0, 1.0, 0.0])).unwrap();
/// assert_eq!(auc(&s, &y).unwrap(), 1.0); // row 2 (unlabelled) is left out
/// ```
///
/// Errors: `labels` or `mask` of another length than `scores`, or a mask value not 0/1.
pub fn masked(
    scores: &[f32],
    labels: &[f32],
    mask: Option<&[f32]>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    check::same_len("masked", "labels", labels.len(), scores.len())?;
    match mask {
        None => Ok((scores.to_vec(), labels.to_vec())),
        Some(m) => Ok((select_rows(scores, m)?, select_rows(labels, m)?)),
    }
}
