//! Sentence pooling: the masked mean of each sequence's valid tokens, and row L2
//! normalisation (the two steps after a sentence-transformers encoder).
//!
//! ```text
//! masked mean:   x: (B·T, D) → y: (B, D)
//!                y_b = (1/L_b)·Σ_{i < L_b} x_{b·T+i}        (y_b = 0 when L_b = 0)
//! L2 normalise:  x, y: (R, C)
//!                n_r = ‖x_r‖₂,  y_r = x_r / max(n_r, ε),  ε = 1e-12
//!                (torch.nn.functional.normalize's convention)
//! ```
//!
//! Graph methods: `g.masked_mean(x, seq_len, &lengths)` and `g.l2_normalize(x)`.
//!
//! # Derivation
//!
//! Masked mean: each valid token enters its sequence's mean with coefficient 1/L_b, padding
//! tokens not at all, so `∂L/∂x_{b·T+i} = dy_b / L_b` for `i < L_b` and 0 otherwise.
//!
//! L2 normalisation, for a row with n > ε: `∂n/∂x_k = x_k/n`, so
//!
//! ```text
//! ∂y_j/∂x_k = δ_jk/n − x_j·x_k/n³ = (δ_jk − y_j·y_k)/n
//! ∂L/∂x_k = Σ_j dy_j·(δ_jk − y_j·y_k)/n = (dy_k − y_k·⟨dy, y⟩)/n
//! ```
//! and for a row with n ≤ ε the divisor is the constant ε: `∂L/∂x_k = dy_k/ε`. The code
//! computes exactly these two cases, with `max(n, ε)` saved from the forward pass.

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{Error, Result};

/// The ε of [`l2_normalize_forward`], as in `torch.nn.functional.normalize`.
pub const L2_EPS: f32 = 1e-12;

/// `out` (B, D) = mean of the first `lengths[b]` rows of each block of `t` rows of `inp`
/// (B·T, D).
pub fn masked_mean_forward(
    out: &mut [f32],
    inp: &[f32],
    lengths: &[usize],
    t: usize,
    width: usize,
) {
    for (b, &len) in lengths.iter().enumerate() {
        let ob = &mut out[b * width..(b + 1) * width];
        ob.fill(0.0);
        if len == 0 {
            continue;
        }
        for i in 0..len {
            let row = &inp[(b * t + i) * width..(b * t + i + 1) * width];
            ob.iter_mut().zip(row).for_each(|(o, x)| *o += x);
        }
        let s = 1.0 / len as f32;
        ob.iter_mut().for_each(|o| *o *= s);
    }
}

/// `dinp[b·T+i] += dout[b] / L_b` for `i < L_b`.
pub fn masked_mean_backward(
    dinp: &mut [f32],
    dout: &[f32],
    lengths: &[usize],
    t: usize,
    width: usize,
) {
    for (b, &len) in lengths.iter().enumerate() {
        if len == 0 {
            continue;
        }
        let s = 1.0 / len as f32;
        let db = &dout[b * width..(b + 1) * width];
        for i in 0..len {
            let row = &mut dinp[(b * t + i) * width..(b * t + i + 1) * width];
            row.iter_mut().zip(db).for_each(|(x, g)| *x += g * s);
        }
    }
}

/// `out_r = inp_r / max(‖inp_r‖, ε)` for each of the `r` rows of width `c`; writes the
/// divisor `max(‖inp_r‖, ε)` of each row to `denom` (R).
pub fn l2_normalize_forward(out: &mut [f32], denom: &mut [f32], inp: &[f32], r: usize, c: usize) {
    for i in 0..r {
        let x = &inp[i * c..(i + 1) * c];
        let n = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt() as f32;
        let dn = n.max(L2_EPS);
        denom[i] = dn;
        out[i * c..(i + 1) * c]
            .iter_mut()
            .zip(x)
            .for_each(|(y, &v)| *y = v / dn);
    }
}

/// Accumulates `dinp` (see the derivation): `(dy − y·⟨dy, y⟩)/n` where n > ε, `dy/ε` else.
pub fn l2_normalize_backward(
    dinp: &mut [f32],
    dout: &[f32],
    out: &[f32],
    denom: &[f32],
    r: usize,
    c: usize,
) {
    for i in 0..r {
        let (dy, y) = (&dout[i * c..(i + 1) * c], &out[i * c..(i + 1) * c]);
        let dx = &mut dinp[i * c..(i + 1) * c];
        let dn = denom[i];
        // y was x/ε, not a unit vector, when the row was clamped: the divisor is a constant.
        let proj = if dn > L2_EPS {
            dy.iter().zip(y).map(|(a, b)| a * b).sum::<f32>()
        } else {
            0.0
        };
        for j in 0..c {
            dx[j] += (dy[j] - y[j] * proj) / dn;
        }
    }
}

impl Graph {
    /// Mean of each sequence's first `lengths[b]` token rows: `x` (B·T, D) → (B, D), with
    /// B = `lengths.len()` and T = `seq_len`. A sequence of length 0 gives a zero row.
    pub fn masked_mean(&mut self, x: Var, seq_len: usize, lengths: &[usize]) -> Result<Var> {
        self.check("masked_mean", x)?;
        let (rows, width) = self.shape(x);
        let b = lengths.len();
        if rows != b * seq_len {
            return Err(Error::Shape {
                op: "masked_mean",
                shapes: vec![self.dims(x)],
                expected: format!(
                    "({}, D): {b} sequences (one length each) of seq_len {seq_len}",
                    b * seq_len
                ),
            });
        }
        if let Some(i) = lengths.iter().position(|&l| l > seq_len) {
            return Err(Error::Index {
                op: "masked_mean",
                position: i,
                index: lengths[i] as u64,
                bound: seq_len + 1,
            });
        }
        let needs = self.any_grad(&[x]);
        let out = self.push(Op::MaskedMean { a: x, t: seq_len }, b, width, needs);
        let (node, inputs) = self.split(out);
        node.idx.extend(lengths.iter().map(|&l| l as u32));
        masked_mean_forward(
            &mut node.value,
            &inputs[x.index()].value,
            lengths,
            seq_len,
            width,
        );
        Ok(out)
    }

    /// Each row divided by `max(‖row‖₂, 1e-12)`.
    pub fn l2_normalize(&mut self, x: Var) -> Result<Var> {
        self.check("l2_normalize", x)?;
        let (r, c) = self.shape(x);
        let needs = self.any_grad(&[x]);
        let out = self.push(Op::L2Normalize { a: x }, r, c, needs);
        let (node, inputs) = self.split(out);
        node.aux.resize(r, 0.0);
        l2_normalize_forward(
            &mut node.value,
            &mut node.aux,
            &inputs[x.index()].value,
            r,
            c,
        );
        Ok(out)
    }
}

pub(crate) fn masked_mean_backward_node(node: &Node, head: &mut [Node], a: Var, t: usize) {
    let lengths: Vec<usize> = node.idx.iter().map(|&l| l as usize).collect();
    let ia = one(head, a);
    if let Some(da) = ia.grad {
        masked_mean_backward(da, &node.grad, &lengths, t, node.cols);
    }
}

pub(crate) fn l2_normalize_backward_node(node: &Node, head: &mut [Node], a: Var) {
    let ia = one(head, a);
    if let Some(da) = ia.grad {
        l2_normalize_backward(da, &node.grad, &node.value, &node.aux, node.rows, node.cols);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none (no device lowering yet).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

use crate::ops::registry::{L2Normalize, MaskedMean, OpKind};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for MaskedMean {
    fn kind(&self) -> OpKind {
        OpKind::MaskedMean
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        masked_mean_backward_node(cx.node, cx.head, self.a, self.t)
    }
    no_device_lowering!();
}

impl TapeOp for L2Normalize {
    fn kind(&self) -> OpKind {
        OpKind::L2Normalize
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        l2_normalize_backward_node(cx.node, cx.head, self.a)
    }
    no_device_lowering!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_mean_skips_padding_and_normalize_matches_torch_convention() {
        let x = [
            1.0, 2.0, 3.0, 4.0, 100.0, 100.0, 5.0, 6.0, 7.0, 8.0, 9.0, 9.0,
        ]; // (B·T, D) = (6, 2)
        let mut y = [0f32; 4]; // (B, D) = (2, 2)
        masked_mean_forward(&mut y, &x, &[2, 1], 3, 2);
        assert_eq!(y, [2.0, 3.0, 5.0, 6.0]);
        let mut n = [0f32; 2];
        let mut z = [0f32; 4];
        l2_normalize_forward(&mut z, &mut n, &[3.0, 4.0, 0.0, 0.0], 2, 2);
        assert_eq!(z, [0.6, 0.8, 0.0, 0.0]);
        assert_eq!(n, [5.0, L2_EPS]);
    }
}
