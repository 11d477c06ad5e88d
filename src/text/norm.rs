//! Residual + layer norm fused: `x ← LayerNorm(a + x)` row by row, the encoder's
//! `x = LayerNorm(c·W_oᵀ + b_o + x)` and `x = LayerNorm(h·W_2ᵀ + b_2 + x)` in one pass
//! over each row instead of an add over the whole matrix and then the norm.
//!
//! ```text
//! s_j = a_j + x_j                                     (D) one row, f32
//! μ = (1/D) Σ_j s_j,  σ² = (1/D) Σ_j (s_j − μ)²      in f64, eight partial sums per lane
//! r = 1/√(σ² + ε)
//! x_j ← γ_j·f32((s_j − μ)·r) + β_j
//! ```
//!
//! The same formula as `ops::layer_norm::layer_norm_forward` (its naive twin,
//! [`residual_layer_norm_reference`], is the add followed by that op), except that μ and
//! σ² are summed in eight interleaved f64 partial sums (so the loop vectorises) instead of
//! one chain: the f64 sums differ by rounding in the last f64 bits, which almost never
//! changes the f32 result (`tests/s7enc_norm.rs`: within 2 f32 ulps of the reference).

use crate::ops::layer_norm::{layer_norm_forward, LayerNormShape};
use rayon::prelude::*;

/// Lanes of the partial sums.
const LANES: usize = 8;
/// Rows per rayon task when parallel.
const ROWS_PER_TASK: usize = 64;

/// Σ_j f(v_j) in f64 with `LANES` interleaved partial sums, added up in lane order.
#[inline(always)]
fn sum64(v: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(x as f64)).sum();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += f(c[l] as f64);
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// One row: `x ← γ·LN(a + x) + β` (see the module docs).
#[inline(always)]
fn row(x: &mut [f32], a: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    for (s, &ai) in x.iter_mut().zip(a) {
        *s += ai; // s_j = a_j + x_j (f32 addition commutes: the same bits as a_j + x_j)
    }
    let d = x.len() as f64;
    let mu = sum64(x, |s| s) / d;
    let var = sum64(x, |s| (s - mu) * (s - mu)) / d;
    let r = 1.0 / (var + eps as f64).sqrt();
    for ((s, &g), &b) in x.iter_mut().zip(gamma).zip(beta) {
        let xhat = ((*s as f64 - mu) * r) as f32;
        *s = g * xhat + b;
    }
}

/// `x ← LayerNorm(a + x)` for every row of `x` and `a` (both (B, D) with `shape`),
/// γ, β (D); rows split among rayon threads when `parallel`.
pub fn residual_layer_norm_forward(
    x: &mut [f32],
    a: &[f32],
    gamma: &[f32],
    beta: &[f32],
    shape: LayerNormShape,
    parallel: bool,
) {
    let LayerNormShape { rows, cols, eps } = shape;
    assert!(
        x.len() == rows * cols
            && a.len() == rows * cols
            && gamma.len() == cols
            && beta.len() == cols,
        "residual_layer_norm_forward: x={} a={} γ={} β={} for {rows} rows of {cols}",
        x.len(),
        a.len(),
        gamma.len(),
        beta.len()
    );
    if cols == 0 {
        return;
    }
    let block = |(xb, ab): (&mut [f32], &[f32])| {
        for (xr, ar) in xb.chunks_exact_mut(cols).zip(ab.chunks_exact(cols)) {
            row(xr, ar, gamma, beta, eps);
        }
    };
    if parallel && rows > ROWS_PER_TASK {
        x.par_chunks_mut(ROWS_PER_TASK * cols)
            .zip(a.par_chunks(ROWS_PER_TASK * cols))
            .for_each(block);
    } else {
        block((x, a));
    }
}

/// The naive twin: `tmp = a + x`, then the engine's `layer_norm_forward` into `x`.
pub fn residual_layer_norm_reference(
    x: &mut [f32],
    a: &[f32],
    gamma: &[f32],
    beta: &[f32],
    shape: LayerNormShape,
) {
    let tmp: Vec<f32> = a.iter().zip(x.iter()).map(|(a, r)| a + r).collect(); // (B, D)
    let (mut mean, mut rstd) = (vec![0f32; shape.rows], vec![0f32; shape.rows]); // (B)
    layer_norm_forward(x, &mut mean, &mut rstd, &tmp, gamma, beta, shape);
}
