//! Layer normalisation over each row.
//!
//! ```text
//! μ_i = (1/D) Σ_j x_ij                     x, y: (B, D);  γ, β: (1, D)
//! σ²_i = (1/D) Σ_j (x_ij − μ_i)²
//! r_i = 1/√(σ²_i + ε)
//! x̂_ij = (x_ij − μ_i)·r_i
//! y_ij = γ_j·x̂_ij + β_j
//! ```
//!
//! # Derivation
//!
//! The affine part gives `∂L/∂β_j = Σ_i dy_ij`, `∂L/∂γ_j = Σ_i dy_ij·x̂_ij` and
//! `g_ij := ∂L/∂x̂_ij = dy_ij·γ_j`. For the normalisation, within one row
//! `∂μ/∂x_k = 1/D`, `∂r/∂x_k = −r³·(x_k − μ)/D = −r²·x̂_k/D`, hence
//!
//! ```text
//! ∂x̂_j/∂x_k = r·(δ_jk − 1/D) − x̂_j·r·x̂_k/D
//! ∂L/∂x_k = Σ_j g_j ∂x̂_j/∂x_k = r·( g_k − (1/D)Σ_j g_j − x̂_k·(1/D)Σ_j g_j x̂_j )
//! ```
//! which is what the code computes, with μ and r saved from the forward pass.

use crate::autograd::{three, Graph, Node, Op, Var};
use crate::error::{Dims, Error, Result};

/// The sizes of one layer norm: `rows` (B) rows of `cols` (D) values, normalised with
/// σ = √(var + eps).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNormShape {
    /// B: rows, each normalised on its own.
    pub rows: usize,
    /// D: values per row (the width of γ and β).
    pub cols: usize,
    /// Added to the variance before the square root.
    pub eps: f32,
}

/// The per-row statistics the forward pass saves: μ (B) and r = 1/σ (B).
#[derive(Clone, Copy, Debug)]
pub struct RowStats<'a> {
    pub mean: &'a [f32],
    pub rstd: &'a [f32],
}

/// The gradients [`layer_norm_backward`] adds into, each optional: of the input (B, D),
/// of γ (D) and of β (D).
#[derive(Debug, Default)]
pub struct LayerNormGrads<'a> {
    pub dinp: Option<&'a mut [f32]>,
    pub dgamma: Option<&'a mut [f32]>,
    pub dbeta: Option<&'a mut [f32]>,
}

/// `out = layer_norm(inp)·γ + β`; writes μ (B) and r = 1/σ (B) to `mean`, `rstd`.
pub fn layer_norm_forward(
    out: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
    inp: &[f32],
    gamma: &[f32],
    beta: &[f32],
    shape: LayerNormShape,
) {
    let LayerNormShape {
        rows: b,
        cols: width,
        eps,
    } = shape;
    for i in 0..b {
        let x = &inp[i * width..(i + 1) * width];
        let mu = x.iter().map(|&v| v as f64).sum::<f64>() / width as f64;
        let var = x.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / width as f64;
        let r = 1.0 / (var + eps as f64).sqrt();
        for j in 0..width {
            let xhat = ((x[j] as f64 - mu) * r) as f32;
            out[i * width + j] = gamma[j] * xhat + beta[j];
        }
        mean[i] = mu as f32;
        rstd[i] = r as f32;
    }
}

/// Accumulates `grads` (see the derivation) from `dout` (B, D), the input (B, D), γ (D)
/// and the saved statistics; `rows` = B, `cols` = D.
pub fn layer_norm_backward(
    grads: LayerNormGrads<'_>,
    dout: &[f32],
    inp: &[f32],
    gamma: &[f32],
    stats: RowStats<'_>,
    rows: usize,
    cols: usize,
) {
    let LayerNormGrads {
        dinp,
        dgamma,
        dbeta,
    } = grads;
    let RowStats { mean, rstd } = stats;
    let (b, width) = (rows, cols);
    let xhat = |i: usize, j: usize| (inp[i * width + j] - mean[i]) * rstd[i];
    if let Some(dg) = dgamma {
        for i in 0..b {
            for j in 0..width {
                dg[j] += dout[i * width + j] * xhat(i, j);
            }
        }
    }
    if let Some(db) = dbeta {
        for i in 0..b {
            for j in 0..width {
                db[j] += dout[i * width + j];
            }
        }
    }
    if let Some(dx) = dinp {
        for i in 0..b {
            // g_j = dy_j·γ_j; the two row means of the derivation:
            let (mut mg, mut mgx) = (0f32, 0f32);
            for j in 0..width {
                let g = dout[i * width + j] * gamma[j];
                mg += g;
                mgx += g * xhat(i, j);
            }
            mg /= width as f32;
            mgx /= width as f32;
            for j in 0..width {
                let g = dout[i * width + j] * gamma[j];
                dx[i * width + j] += rstd[i] * (g - mg - xhat(i, j) * mgx);
            }
        }
    }
}

impl Graph {
    /// Normalises each row of `x` (B, D) to zero mean and unit variance, then scales by
    /// `gamma` (1, D) and shifts by `beta` (1, D).
    pub fn layer_norm(&mut self, x: Var, gamma: Var, beta: Var, eps: f32) -> Result<Var> {
        for v in [x, gamma, beta] {
            self.check("layer_norm", v)?;
        }
        let (b, width) = self.shape(x);
        if self.dims(gamma) != Dims(1, width) || self.dims(beta) != Dims(1, width) {
            return Err(Error::Shape {
                op: "layer_norm",
                shapes: vec![self.dims(x), self.dims(gamma), self.dims(beta)],
                expected: format!("gamma and beta of shape (1, {width})"),
            });
        }
        if x == gamma || x == beta || gamma == beta {
            return Err(Error::Handle {
                op: "layer_norm",
                message: "x, gamma and beta must be three different nodes".into(),
            });
        }
        if eps.is_nan() || eps <= 0.0 {
            return Err(Error::Value {
                op: "layer_norm",
                what: "eps".into(),
                position: 0,
                value: eps as f64,
                expected: "a positive number".into(),
            });
        }
        let needs = self.any_grad(&[x, gamma, beta]);
        let out = self.push(
            Op::LayerNorm {
                x,
                gamma,
                beta,
                eps,
            },
            b,
            width,
            needs,
        );
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        node.aux.resize(2 * b, 0.0);
        let (mean, rstd) = node.aux.split_at_mut(b);
        layer_norm_forward(
            &mut node.value,
            mean,
            rstd,
            &inputs[x.index()].value,
            &inputs[gamma.index()].value,
            &inputs[beta.index()].value,
            LayerNormShape {
                rows: b,
                cols: width,
                eps,
            },
        );
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], x: Var, gamma: Var, beta: Var) {
    let (b, width) = (node.rows, node.cols);
    let (ix, ig, ib) = three(head, x, gamma, beta);
    let (mean, rstd) = node.aux.split_at(b);
    let grads = LayerNormGrads {
        dinp: ix.grad,
        dgamma: ig.grad,
        dbeta: ib.grad,
    };
    let stats = RowStats { mean, rstd };
    layer_norm_backward(grads, &node.grad, ix.value, ig.value, stats, b, width);
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `layer_norm_fwd_f32`, `layer_norm_bwd_f32`,
// `layer_norm_bwd_params_f32` (kernels/layer_norm.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{LayerNorm, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for LayerNorm {
    fn kind(&self) -> OpKind {
        OpKind::LayerNorm
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.x);
        f(self.gamma);
        f(self.beta);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.x, self.gamma, self.beta)
    }
    device_lowering!(lower::forward, lower::backward);
}
