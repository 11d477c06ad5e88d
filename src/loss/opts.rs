//! Per-sample weights and label masks shared by every loss.

use crate::error::{check_finite, Error, Result};

/// Optional per-sample weights `w` (B) and label mask `m` (B, 1 = labelled, 0 = missing).
#[derive(Clone, Copy, Debug, Default)]
pub struct LossOpts<'a> {
    pub weights: Option<&'a [f32]>,
    pub mask: Option<&'a [f32]>,
}

impl<'a> LossOpts<'a> {
    /// Only a mask.
    pub fn masked(mask: &'a [f32]) -> LossOpts<'a> {
        LossOpts {
            weights: None,
            mask: Some(mask),
        }
    }

    /// Only weights.
    pub fn weighted(weights: &'a [f32]) -> LossOpts<'a> {
        LossOpts {
            weights: Some(weights),
            mask: None,
        }
    }
}

/// Checks the options of a loss over `rows` samples: weights finite and ≥ 0, mask of
/// 0/1, both of length `rows`. Loss ops call it **before** recording their node, so a bad
/// option leaves the graph as it was.
pub(crate) fn check_opts(op: &'static str, rows: usize, opts: LossOpts<'_>) -> Result<()> {
    if let Some(w) = opts.weights {
        if w.len() != rows {
            return Err(Error::Length {
                op,
                what: "per-sample weights".into(),
                len: w.len(),
                expected: rows,
            });
        }
        check_finite(op, "per-sample weight", w)?;
        if let Some(i) = w.iter().position(|&x| x < 0.0) {
            return Err(Error::Value {
                op,
                what: "per-sample weight".into(),
                position: i,
                value: w[i] as f64,
                expected: "a weight ≥ 0".into(),
            });
        }
    }
    if let Some(m) = opts.mask {
        if m.len() != rows {
            return Err(Error::Length {
                op,
                what: "label mask".into(),
                len: m.len(),
                expected: rows,
            });
        }
        if let Some(i) = m.iter().position(|&x| x != 0.0 && x != 1.0) {
            return Err(Error::Value {
                op,
                what: "label mask".into(),
                position: i,
                value: m[i] as f64,
                expected: "0 (no label) or 1 (labelled)".into(),
            });
        }
    }
    Ok(())
}

/// Appends `c_i = m_i·w_i / Σ_j m_j` for `rows` samples to `out` (see `loss` module docs).
/// The options were checked by [`check_opts`].
pub(crate) fn coefficients(rows: usize, opts: LossOpts<'_>, out: &mut Vec<f32>) {
    let labelled: f64 = match opts.mask {
        Some(m) => m.iter().map(|&x| x as f64).sum(),
        None => rows as f64,
    };
    let start = out.len();
    out.resize(start + rows, 0.0);
    if labelled == 0.0 {
        return; // nothing labelled: L = 0, no gradient
    }
    for i in 0..rows {
        let m = opts.mask.map_or(1.0, |m| m[i]);
        let w = opts.weights.map_or(1.0, |w| w[i]);
        out[start + i] = (m as f64 * w as f64 / labelled) as f32;
    }
}

/// Checks targets: right length and finite.
pub(crate) fn check_targets(op: &'static str, targets: &[f32], expected: usize) -> Result<()> {
    if targets.len() != expected {
        return Err(Error::Length {
            op,
            what: "targets".into(),
            len: targets.len(),
            expected,
        });
    }
    check_finite(op, "target", targets)
}
