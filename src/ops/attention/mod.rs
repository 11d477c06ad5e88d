//! Fused multi-head scaled dot-product attention with key-padding and causal masks.
//!
//! ```text
//! q, k, v, o: (B·T, H·Dh)   rows = the T tokens of each of B sequences, one after the
//!                           other; columns = H heads of width Dh side by side
//! P:          (B, H, T, T)  saved for the backward pass
//!
//! for each sequence b (valid length L_b ≤ T) and head h, with s = 1/√Dh:
//!   allowed(i, j) = i < L_b  and  j < L_b  and  (not causal or j ≤ i)
//!   S_ij = s·⟨q_i, k_j⟩                      over the head's Dh columns
//!   P_ij = e^(S_ij − m_i) / Σ_{j' allowed} e^(S_ij' − m_i)   if allowed(i, j), else 0
//!   o_i  = Σ_j P_ij·v_j
//! ```
//!
//! Sequences are **right-padded**: the valid tokens of sequence b are its first L_b rows.
//! A query row with no allowed key (a padding position i ≥ L_b, or any row of a sequence
//! of length 0) has P = 0 and output **0**, never NaN. Positions i ≥ L_b are padding:
//! their outputs are 0 and they receive no gradient.
//!
//! ## Using it
//!
//! ```
//! use mtrec::autograd::Graph;
//! use mtrec::ops::attention::AttentionSpec;
//! let (b, t, h, dh) = (2, 3, 2, 4);
//! let mut g = Graph::new(0);
//! let x = vec![0.1f32; b * t * h * dh];
//! let q = g.input_slice(b * t, h * dh, &x).unwrap();                 // (B·T, H·Dh)
//! let k = g.input_slice(b * t, h * dh, &x).unwrap();                 // (B·T, H·Dh)
//! let v = g.input_slice(b * t, h * dh, &x).unwrap();                 // (B·T, H·Dh)
//! let spec = AttentionSpec { batch: b, seq_len: t, heads: h, lengths: vec![3, 1], causal: true };
//! let o = g.attention(q, k, v, &spec).unwrap();                      // (B·T, H·Dh)
//! assert_eq!(g.shape(o), (b * t, h * dh));
//! assert!(g.value(o)[(t + 1) * h * dh..].iter().all(|&y| y == 0.0)); // padding rows of b = 1
//! ```
//!
//! `q`, `k` and `v` may be the same node (their gradients are added). `lengths` empty
//! means every sequence is full (`L_b = T`). The kernels [`attention_forward`] and
//! [`attention_backward`] are public for forward-only callers (the text encoder);
//! [`attention_forward_naive`] and [`attention_backward_reference`] (`reference.rs`) are
//! the plain f64 loops of the formulas above and of the derivation below, which the fast
//! kernels are tested against (`tests/h16ref_attention.rs`).
//!
//! # Derivation
//!
//! Per (b, h), with O = P·V, P = softmax_rows(S) on the allowed entries, S = s·Q·Kᵀ:
//!
//! ```text
//! ∂L/∂V = Pᵀ·dO                                 (T, T)ᵀ·(T, Dh)
//! ∂L/∂P = dO·Vᵀ                                 (T, Dh)·(Dh, T)
//! softmax: ∂P_ij/∂S_il = P_ij·(δ_jl − P_il), so
//! ∂L/∂S_il = Σ_j dP_ij·P_ij·(δ_jl − P_il) = P_il·(dP_il − Σ_j dP_ij·P_ij)
//! ∂L/∂Q = s·dS·K,   ∂L/∂K = s·dSᵀ·Q
//! ```
//! Masked entries have P = 0, hence dS = 0: they pass no gradient. The code computes
//! `dV_j += Σ_i P_ij·dO_i`, `dS_ij = P_ij·(⟨dO_i, V_j⟩ − Σ_j' P_ij'·⟨dO_i, V_j'⟩)`,
//! `dQ_i += s·Σ_j dS_ij·K_j`, `dK_j += s·Σ_i dS_ij·Q_i`.

mod cpu;
mod reference;

pub use cpu::{attention_backward, attention_forward};
pub use reference::{attention_backward_reference, attention_forward_naive};

use crate::autograd::{Graph, Node, Op, Var};
use crate::error::{Dims, Error, Result};

/// Shape and mask of one attention call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttentionSpec {
    /// B: number of sequences.
    pub batch: usize,
    /// T: tokens per sequence (padded length).
    pub seq_len: usize,
    /// H: number of heads; the width H·Dh of q, k, v must be divisible by it.
    pub heads: usize,
    /// Valid length L_b ≤ T of each sequence (key padding; rows i ≥ L_b are padding).
    /// Empty: every sequence is full.
    pub lengths: Vec<usize>,
    /// Query i may attend to keys j ≤ i only.
    pub causal: bool,
}

/// The three inputs of attention, each (B·T, H·Dh).
#[derive(Clone, Copy, Debug)]
pub struct Qkv<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
}

/// The gradients [`attention_backward`] adds into, each optional and (B·T, H·Dh).
#[derive(Debug, Default)]
pub struct QkvGrads<'a> {
    pub dq: Option<&'a mut [f32]>,
    pub dk: Option<&'a mut [f32]>,
    pub dv: Option<&'a mut [f32]>,
}

/// Sizes shared by the kernels.
#[derive(Clone, Copy, Debug)]
pub struct AttnDims {
    pub b: usize,
    pub t: usize,
    pub h: usize,
    pub dh: usize,
    pub causal: bool,
}

impl AttnDims {
    fn width(&self) -> usize {
        self.h * self.dh
    }
    /// Last allowed key (exclusive) for query i of a sequence of valid length `len`.
    #[inline]
    fn keys(&self, i: usize, len: usize) -> usize {
        if i >= len {
            0
        } else if self.causal {
            i + 1
        } else {
            len
        }
    }
}

/// Checks `spec` against the shapes of q, k, v and returns the kernel sizes and the B
/// valid lengths.
pub fn check_spec(
    spec: &AttentionSpec,
    dq: Dims,
    dk: Dims,
    dv: Dims,
) -> Result<(AttnDims, Vec<usize>)> {
    let op = "attention";
    let (b, t, h) = (spec.batch, spec.seq_len, spec.heads);
    if dq != dk || dq != dv || dq.0 != b * t {
        return Err(Error::Shape {
            op,
            shapes: vec![dq, dk, dv],
            expected: format!("q, k, v all of shape (batch·seq_len, heads·head_dim) = ({}, H·Dh) for batch {b}, seq_len {t}", b * t),
        });
    }
    if h == 0 || !dq.1.is_multiple_of(h) {
        return Err(Error::Config {
            what: "attention heads".into(),
            message: format!(
                "{h} heads do not divide the width {} of q, k, v; pick a divisor",
                dq.1
            ),
        });
    }
    let lengths = if spec.lengths.is_empty() {
        vec![t; b]
    } else {
        spec.lengths.clone()
    };
    if lengths.len() != b {
        return Err(Error::Length {
            op,
            what: "lengths (one per sequence)".into(),
            len: lengths.len(),
            expected: b,
        });
    }
    if let Some(i) = lengths.iter().position(|&l| l > t) {
        return Err(Error::Index {
            op,
            position: i,
            index: lengths[i] as u64,
            bound: t + 1,
        });
    }
    let dims = AttnDims {
        b,
        t,
        h,
        dh: dq.1 / h,
        causal: spec.causal,
    };
    Ok((dims, lengths))
}

impl Graph {
    /// Multi-head scaled dot-product attention of `q`, `k`, `v` (each (B·T, H·Dh)) under
    /// `spec`'s padding lengths and causal flag; returns (B·T, H·Dh). Saves the
    /// probabilities (B, H, T, T), readable with [`Graph::saved`].
    pub fn attention(&mut self, q: Var, k: Var, v: Var, spec: &AttentionSpec) -> Result<Var> {
        for x in [q, k, v] {
            self.check("attention", x)?;
        }
        let (dims, lengths) = check_spec(spec, self.dims(q), self.dims(k), self.dims(v))?;
        let needs = self.any_grad(&[q, k, v]);
        let op = Op::Attention {
            q,
            k,
            v,
            t: dims.t,
            heads: dims.h,
            causal: dims.causal,
        };
        let out = self.push(op, dims.b * dims.t, dims.width(), needs);
        let (node, inputs) = self.split(out);
        node.idx.extend(lengths.iter().map(|&l| l as u32));
        node.aux.resize(dims.b * dims.h * dims.t * dims.t, 0.0);
        attention_forward(
            &mut node.value,
            &mut node.aux,
            Qkv {
                q: &inputs[q.index()].value,
                k: &inputs[k.index()].value,
                v: &inputs[v.index()].value,
            },
            &lengths,
            dims,
        );
        Ok(out)
    }
}

/// The backward of the recorded op `op` (its inputs, T, H and the causal flag).
pub(crate) fn backward(node: &Node, head: &mut [Node], op: &Attention) {
    let Attention {
        q,
        k,
        v,
        t,
        heads,
        causal,
    } = *op;
    let dims = AttnDims {
        b: node.rows / t.max(1),
        t,
        h: heads,
        dh: node.cols / heads,
        causal,
    };
    let lengths: Vec<usize> = node.idx.iter().map(|&l| l as usize).collect();
    let n = node.rows * node.cols;
    // Gradients go to fresh buffers first, so q, k and v may be the same node.
    let needs = [q, k, v].map(|x| head[x.index()].needs_grad);
    let mut g: [Vec<f32>; 3] = needs.map(|nd| if nd { vec![0f32; n] } else { Vec::new() });
    {
        let [gq, gk, gv] = &mut g;
        let grads = QkvGrads {
            dq: needs[0].then_some(&mut gq[..]),
            dk: needs[1].then_some(&mut gk[..]),
            dv: needs[2].then_some(&mut gv[..]),
        };
        let qkv = Qkv {
            q: &head[q.index()].value,
            k: &head[k.index()].value,
            v: &head[v.index()].value,
        };
        attention_backward(grads, &node.grad, qkv, &node.aux, &lengths, dims);
    }
    for (x, gx) in [q, k, v].into_iter().zip(&g) {
        if !gx.is_empty() {
            let dst = &mut head[x.index()].grad;
            dst.iter_mut().zip(gx).for_each(|(a, b)| *a += b);
        }
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none (no device lowering yet).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

use crate::ops::registry::{Attention, OpKind};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for Attention {
    fn kind(&self) -> OpKind {
        OpKind::Attention
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.q);
        f(self.k);
        f(self.v);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self)
    }
    no_device_lowering!();
}

#[cfg(test)]
#[path = "attention_tests.rs"]
mod tests;
