//! Gate combine: the softmax-gated mixture of E expert outputs (MoE / MMoE / PLE).
//!
//! ```text
//! X: (B, E·D)  the E expert outputs side by side, expert e in columns e·D .. (e+1)·D
//! z: (B, E)    gate logits
//! w_ie = exp(z_ie) / Σ_e' exp(z_ie')               gate weights (B, E), saved
//! y_id = Σ_e w_ie · X_i,eD+d                       y: (B, D)
//! ```
//! Softmax and weighted sum are fused: one op, one saved `(B, E)` buffer.
//!
//! # Derivation
//!
//! The weighted sum is linear in each factor:
//!
//! ```text
//! ∂L/∂X_i,eD+d = w_ie · dy_id
//! ∂L/∂w_ie     = Σ_d dy_id · X_i,eD+d  =: a_ie
//! ```
//! and the softmax Jacobian `∂w_ie/∂z_ie' = w_ie(δ_ee' − w_ie')` gives
//!
//! ```text
//! ∂L/∂z_ie = w_ie · (a_ie − Σ_e' w_ie' a_ie')
//! ```
//!
//! # Reference
//!
//! [`gate_combine_forward_reference`] / [`gate_combine_backward_reference`] (`reference.rs`)
//! are these formulas as plain f64 loops; the fast paths below (row blocks in parallel
//! above `PAR_MIN`, a stack scratch for E ≤ 64) are tested against them in
//! `tests/h16ref_gate.rs`.

use crate::autograd::{with_two, Graph, Node, Op, Var};
use crate::error::{Dims, Error, Result};
use crate::ops::gemm::dot;
use crate::ops::softmax::softmax_row;
use rayon::prelude::*;

mod reference;
pub use reference::{gate_combine_backward_reference, gate_combine_forward_reference};

/// The sizes of one gate combine: B rows, E experts of width D.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateShape {
    /// B: rows (samples).
    pub b: usize,
    /// E: experts (gate logits per row).
    pub e: usize,
    /// D: the width of one expert's output (the result's columns).
    pub width: usize,
}

/// Rows per rayon task. Rows are independent, so every split gives the same bits.
const ROWS_PER_TASK: usize = 64;
/// Below this many multiply-adds (B·E·D), or with one thread, the loops stay on the
/// calling thread (splitting costs ≈ 0.1 ms per inference call on one thread).
const PAR_MIN: usize = 1 << 16;

/// [`gate_combine_forward`] on a block of rows (the row count is `out.len() / width`).
fn forward_rows(out: &mut [f32], w: &mut [f32], x: &[f32], z: &[f32], e: usize, width: usize) {
    for i in 0..out.len() / width {
        let wi = &mut w[i * e..(i + 1) * e];
        softmax_row(wi, &z[i * e..(i + 1) * e]);
        let yi = &mut out[i * width..(i + 1) * width];
        for (k, &wk) in wi.iter().enumerate() {
            let xk = &x[i * e * width + k * width..i * e * width + (k + 1) * width];
            yi.iter_mut().zip(xk).for_each(|(y, &xv)| *y += wk * xv);
        }
    }
}

/// `out += Σ_e softmax(z)_e · X_e` (it accumulates: pass a zeroed `out` for the plain
/// combination); writes the gate weights to `w` (B, E). Row blocks run in parallel for
/// large batches (bit-identical for any thread count).
pub fn gate_combine_forward(
    out: &mut [f32],
    w: &mut [f32],
    x: &[f32],
    z: &[f32],
    b: usize,
    e: usize,
    width: usize,
) {
    if b * e * width < PAR_MIN || rayon::current_num_threads() == 1 {
        return forward_rows(out, w, x, z, e, width);
    }
    let r = ROWS_PER_TASK;
    out.par_chunks_mut(r * width) // (≤r, D)
        .zip(w.par_chunks_mut(r * e)) // (≤r, E)
        .zip(x.par_chunks(r * e * width)) // (≤r, E·D)
        .zip(z.par_chunks(r * e)) // (≤r, E)
        .for_each(|(((o, w), x), z)| forward_rows(o, w, x, z, e, width));
}

/// `dx += w ⊙ dy` per expert block, on a block of rows.
fn backward_dx_rows(dx: &mut [f32], dout: &[f32], w: &[f32], e: usize, width: usize) {
    for i in 0..dout.len() / width {
        let dy = &dout[i * width..(i + 1) * width];
        for k in 0..e {
            let wk = w[i * e + k];
            let dxk = &mut dx[i * e * width + k * width..i * e * width + (k + 1) * width];
            dxk.iter_mut().zip(dy).for_each(|(g, &dyv)| *g += wk * dyv);
        }
    }
}

/// `dz += w ⊙ (a − ⟨w, a⟩)` on a block of rows, `a_k = ⟨X_k, dy⟩`. `a` is the caller's
/// scratch of E values: on the stack for E ≤ 64, on the heap above (the one code path for
/// every width, so the Jacobian term cannot differ between them).
fn backward_dz_rows(
    dz: &mut [f32],
    dout: &[f32],
    x: &[f32],
    w: &[f32],
    e: usize,
    width: usize,
    a: &mut [f32],
) {
    for i in 0..dout.len() / width {
        let dy = &dout[i * width..(i + 1) * width];
        for (k, ak) in a.iter_mut().enumerate() {
            let xk = &x[i * e * width + k * width..i * e * width + (k + 1) * width];
            *ak = dot(xk, dy); // lane partial sums in a fixed order: vectorised
        }
        let wi = &w[i * e..(i + 1) * e];
        let wa: f32 = wi.iter().zip(a.iter()).map(|(wv, av)| wv * av).sum();
        for k in 0..e {
            dz[i * e + k] += wi[k] * (a[k] - wa);
        }
    }
}

/// [`backward_dz_rows`] with its scratch: a stack array for E ≤ 64, else a heap buffer.
fn backward_dz_block(dz: &mut [f32], dout: &[f32], x: &[f32], w: &[f32], e: usize, width: usize) {
    if e <= 64 {
        let mut a = [0f32; 64];
        backward_dz_rows(dz, dout, x, w, e, width, &mut a[..e]);
    } else {
        backward_dz_rows(dz, dout, x, w, e, width, &mut vec![0f32; e]);
    }
}

/// Accumulates `dx` (B, E·D) and `dz` (B, E) (see the derivation) from `dout` (B, D), the
/// experts `x` (B, E·D) and the saved weights `w` (B, E). Row blocks run in parallel for
/// large batches (bit-identical for any thread count).
pub fn gate_combine_backward(
    dx: Option<&mut [f32]>,
    dz: Option<&mut [f32]>,
    dout: &[f32],
    x: &[f32],
    w: &[f32],
    shape: GateShape,
) {
    let GateShape { b, e, width } = shape;
    let par = b * e * width >= PAR_MIN && rayon::current_num_threads() > 1;
    let r = ROWS_PER_TASK;
    if let Some(dx) = dx {
        if par {
            dx.par_chunks_mut(r * e * width) // (≤r, E·D)
                .zip(dout.par_chunks(r * width)) // (≤r, D)
                .zip(w.par_chunks(r * e)) // (≤r, E)
                .for_each(|((dx, dy), w)| backward_dx_rows(dx, dy, w, e, width));
        } else {
            backward_dx_rows(dx, dout, w, e, width);
        }
    }
    if let Some(dz) = dz {
        if par {
            dz.par_chunks_mut(r * e) // (≤r, E)
                .zip(dout.par_chunks(r * width)) // (≤r, D)
                .zip(x.par_chunks(r * e * width)) // (≤r, E·D)
                .zip(w.par_chunks(r * e)) // (≤r, E)
                .for_each(|(((dz, dy), x), w)| backward_dz_block(dz, dy, x, w, e, width));
        } else {
            backward_dz_block(dz, dout, x, w, e, width);
        }
    }
}

impl Graph {
    /// Mixes E experts laid out as `(B, E·D)` column blocks with softmax weights from
    /// `gate_logits` (B, E): `(B, D)`. The weights are kept: [`Graph::saved`] on the
    /// result returns them (expert utilisation).
    pub fn gate_combine(&mut self, experts: Var, gate_logits: Var) -> Result<Var> {
        self.check("gate_combine", experts)?;
        self.check("gate_combine", gate_logits)?;
        let (dx, dz) = (self.dims(experts), self.dims(gate_logits));
        let (b, e) = (dz.0, dz.1);
        if dx.0 != b || e == 0 || dx.1 % e != 0 {
            return Err(Error::Shape {
                op: "gate_combine",
                shapes: vec![dx, dz],
                expected: format!("experts (B, E·D) and gate logits (B, E) with the same B and E dividing the expert columns (got {} columns for E = {e})", dx.1),
            });
        }
        if experts == gate_logits {
            return Err(Error::Handle {
                op: "gate_combine",
                message: "experts and gate logits must be different nodes".into(),
            });
        }
        let width = dx.1 / e;
        let needs = self.any_grad(&[experts, gate_logits]);
        let out = self.push(
            Op::GateCombine {
                experts,
                gate: gate_logits,
                e,
            },
            b,
            width,
            needs,
        );
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        node.aux.resize(b * e, 0.0);
        gate_combine_forward(
            &mut node.value,
            &mut node.aux,
            &inputs[experts.index()].value,
            &inputs[gate_logits.index()].value,
            b,
            e,
            width,
        );
        debug_assert_eq!(Dims(node.rows, node.cols), Dims(b, width));
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], experts: Var, gate: Var, e: usize) {
    let (b, width) = (node.rows, node.cols);
    let mut unused = Vec::new(); // experts != gate is enforced when recording
    with_two(head, experts, gate, &mut unused, |ix, iz| {
        let shape = GateShape { b, e, width };
        gate_combine_backward(ix.grad, iz.grad, &node.grad, ix.value, &node.aux, shape);
    });
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `fill_f32`, `gate_combine_fwd_f32`, `gate_combine_bwd_f32`,
// `gate_combine_bwd_logits_f32` (kernels/gate.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{GateCombine, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for GateCombine {
    fn kind(&self) -> OpKind {
        OpKind::GateCombine
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.experts);
        f(self.gate);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.experts, self.gate, self.e)
    }
    device_lowering!(lower::forward, lower::backward);
}
