//! Fused fully connected layer: product, bias and activation in one op.
//!
//! ```text
//! x: (B, D_in)   W: (D_in, D_out)   b: (1, D_out)
//! z = x · W + b                      (B, D_out)   pre-activation
//! y = f(z)                           (B, D_out)   f ∈ {identity, relu, sigmoid, tanh, gelu, exp}
//! ```
//! The unfused composition `f(add(mm(x, W), b))` records three nodes of `(B, D_out)`
//! (three value buffers, three gradient buffers, three passes over memory each way);
//! this op records one. The bias is written into the output rows first and the product is
//! accumulated on top of it by the packed GEMM, so the forward pass is one GEMM and one
//! in-place sweep for f. The pre-activation z is kept (in the node's `aux`) only when f′
//! cannot be had from y (GELU); for ReLU `1[z > 0] = 1[y > 0]`, and σ, tanh and exp have
//! derivatives in y.
//!
//! # Derivation
//!
//! The chain rule through f (elementwise), then through the affine map:
//!
//! ```text
//! ∂L/∂z_ij = dy_ij · f′(z_ij)                                   =: dz   (B, D_out)
//! z_ij = Σ_p x_ip W_pj + b_j
//!   ⇒ ∂L/∂x  = dz · Wᵀ          (B, D_out)·(D_out, D_in)
//!     ∂L/∂W  = xᵀ · dz          (D_in, B)·(B, D_out)
//!     ∂L/∂b_j = Σ_i dz_ij       (the bias feeds every row)
//! ```
//! with `f′` written through y where possible (see `ops::unary`): relu `1[y > 0]`,
//! sigmoid `y(1 − y)`, tanh `1 − y²`, exp `y`, gelu `Φ(z) + zφ(z)`, identity 1 (then dz
//! is dy itself and no buffer is filled). What the code computes:
//!
//! ```text
//! dz = dy ⊙ f′;  dx += dz · Wᵀ;  dW += xᵀ · dz;  db += Σ_i dz_i
//! ```
//!
//! # Reference
//!
//! [`linear_act_forward_reference`] / [`linear_act_backward_reference`] (`reference.rs`)
//! are these formulas as plain f64 loops (no GEMM, no parallel activation pass); the
//! fast path is tested against them for every activation in `tests/h16ref_linear_act.rs`.

use super::gemm::{gemm_accumulate, Gemm};
use super::unary;
use crate::autograd::{three, Graph, Node, Op, UnaryFn, Var};
use crate::error::{Error, Result};
use rayon::prelude::*;

mod reference;
pub use reference::{linear_act_backward_reference, linear_act_forward_reference};

/// The sizes of one fused layer: `x` (B, D_in) · `W` (D_in, D_out) + `b` (1, D_out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearShape {
    /// B: rows of x and of the result.
    pub b: usize,
    /// D_in: columns of x, rows of W.
    pub d_in: usize,
    /// D_out: columns of W, of b and of the result.
    pub d_out: usize,
}

/// Whether f′ needs the pre-activation z (not only y = f(z)): GELU. (`log` is refused as
/// an activation by [`Graph::linear_act`], so it never reaches here.)
pub(crate) fn needs_pre(f: Option<UnaryFn>) -> bool {
    matches!(f, Some(UnaryFn::Gelu))
}

/// `out = f(inp · weight + bias)`; `pre` receives `inp · weight + bias` when it is given
/// (it must be when f′ needs z: GELU).
///
/// `out`: (B, D_out), `pre`: (B, D_out) or empty, `inp`: (B, D_in), `weight`: (D_in, D_out),
/// `bias`: (D_out,).
pub fn linear_act_forward(
    out: &mut [f32],
    pre: &mut [f32],
    inp: &[f32],
    weight: &[f32],
    bias: &[f32],
    shape: LinearShape,
    f: Option<UnaryFn>,
) {
    let LinearShape { b, d_in, d_out } = shape;
    for row in out.chunks_exact_mut(d_out) {
        row.copy_from_slice(bias); // (D_out,)
    }
    gemm_accumulate(out, inp, weight, Gemm::new(b, d_in, d_out)); // out += x · W
    if !pre.is_empty() {
        pre.copy_from_slice(out);
    }
    activate(out, f);
}

/// Grows `buf` to at least `len` floats. Never shrinks it: the graph's scratch is shared by
/// ops of different sizes, and a shrink then regrow would zero-fill the difference.
pub(crate) fn grow(buf: &mut Vec<f32>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

/// `out = f(out)` in place (nothing for the identity), split among threads when large.
pub(crate) fn activate(out: &mut [f32], f: Option<UnaryFn>) {
    let Some(kind) = f else { return };
    let activate = |block: &mut [f32]| match kind {
        UnaryFn::Relu => block.iter_mut().for_each(|v| *v = v.max(0.0)),
        _ => block.iter_mut().for_each(|v| *v = unary::f(kind, *v)),
    };
    if out.len() < PAR_MIN || rayon::current_num_threads() == 1 {
        activate(out);
    } else {
        out.par_chunks_mut(PAR_CHUNK).for_each(activate); // elementwise: any split, same bits
    }
}

/// `dz = dy ⊙ f′` into `dz` (same length as `dy`), returned; for the identity `dy` itself
/// is returned and `dz` is untouched. `pre` is the saved pre-activation or empty when f′
/// can be had from y.
pub fn dz_into<'a>(
    dz: &'a mut [f32],
    dy: &'a [f32],
    y: &[f32],
    pre: &[f32],
    f: Option<UnaryFn>,
) -> &'a [f32] {
    let Some(kind) = f else { return dy };
    let z = if pre.is_empty() { y } else { pre }; // unused by f′ unless saved
    if dz.len() < PAR_MIN || rayon::current_num_threads() == 1 {
        dz_block(dz, dy, y, z, kind);
    } else {
        dz.par_chunks_mut(PAR_CHUNK)
            .zip(dy.par_chunks(PAR_CHUNK))
            .zip(y.par_chunks(PAR_CHUNK))
            .zip(z.par_chunks(PAR_CHUNK))
            .for_each(|(((g, d), y), z)| dz_block(g, d, y, z, kind));
    }
    dz
}

/// Elements per rayon task of the elementwise passes.
const PAR_CHUNK: usize = 1 << 13;
/// Below this many elements the elementwise passes stay on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// `dz = dy ⊙ f′` on a block of elements (`z` is the pre-activation or, when f′ does not
/// need it, y again).
fn dz_block(dz: &mut [f32], dy: &[f32], y: &[f32], z: &[f32], kind: UnaryFn) {
    match kind {
        UnaryFn::Relu => {
            for ((g, &d), &yv) in dz.iter_mut().zip(dy).zip(y) {
                *g = if yv > 0.0 { d } else { 0.0 }; // 1[z > 0] = 1[y > 0]
            }
        }
        _ => {
            for (((g, &d), &yv), &zv) in dz.iter_mut().zip(dy).zip(y).zip(z) {
                *g = d * unary::df(kind, zv, yv);
            }
        }
    }
}

/// The gradients [`linear_act_backward`] adds into, each optional: of the input `dx`
/// (B, D_in), of the weight `dw` (D_in, D_out), of the bias `db` (D_out,).
#[derive(Debug, Default)]
pub struct LinearActGrads<'a> {
    pub dx: Option<&'a mut [f32]>,
    pub dw: Option<&'a mut [f32]>,
    pub db: Option<&'a mut [f32]>,
}

/// What the forward pass leaves for the backward: its output `out` = y (B, D_out), the
/// pre-activation `pre` = z (B, D_out; empty unless f′ needs it, see `needs_pre`) and the
/// activation `f` (`None`: identity).
#[derive(Clone, Copy, Debug)]
pub struct LinearActSaved<'a> {
    pub out: &'a [f32],
    pub pre: &'a [f32],
    pub f: Option<UnaryFn>,
}

/// Accumulates `grads` for `out = f(inp · weight + bias)` given `d_out` (B, D_out); see
/// the derivation. `dz` is scratch for `dy ⊙ f′` (grown to B·D_out; untouched for the
/// identity).
pub fn linear_act_backward(
    grads: LinearActGrads<'_>,
    dz: &mut Vec<f32>,
    d_out: &[f32],
    saved: LinearActSaved<'_>,
    inp: &[f32],
    weight: &[f32],
    shape: LinearShape,
) {
    let LinearActGrads {
        dx: d_inp,
        dw: d_weight,
        db: d_bias,
    } = grads;
    let LinearActSaved { out, pre, f } = saved;
    let LinearShape {
        b,
        d_in,
        d_out: d_o,
    } = shape;
    // in the forward pass this was y = f(z), so dz = dy ⊙ f′(z)
    let dz: &[f32] = match f {
        None => d_out,
        Some(_) => {
            grow(dz, b * d_o); // every element is written by dz_into
            dz_into(&mut dz[..b * d_o], d_out, out, pre, f)
        }
    };
    if let Some(db) = d_bias {
        // z_ij = ... + b_j, so db_j += Σ_i dz_ij (rows in order: deterministic)
        for row in dz.chunks_exact(d_o) {
            db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
        }
    }
    if let Some(dw) = d_weight {
        gemm_accumulate(dw, inp, dz, Gemm::new(d_in, b, d_o).trans_a(true)); // dW += xᵀ · dz
    }
    if let Some(dx) = d_inp {
        gemm_accumulate(dx, dz, weight, Gemm::new(b, d_o, d_in).trans_b(true)); // dx += dz · Wᵀ
    }
}

impl Graph {
    /// `f(x · w + b)` as one op: `x` (B, D_in), `w` (D_in, D_out), `b` (1, D_out), `f` an
    /// activation or `None` for the identity. Equal to `f(add(mm(x, w), b))`, with one
    /// node instead of three.
    pub fn linear_act(&mut self, x: Var, w: Var, b: Var, f: Option<UnaryFn>) -> Result<Var> {
        for v in [x, w, b] {
            self.check("linear_act", v)?;
        }
        let (dx, dw, db) = (self.dims(x), self.dims(w), self.dims(b));
        if dx.1 != dw.0 || db.0 != 1 || db.1 != dw.1 {
            return Err(Error::Shape {
                op: "linear_act",
                shapes: vec![dx, dw, db],
                expected: format!(
                    "x (B, D_in), w (D_in, D_out), b (1, D_out) (x has {} columns, w has {} rows and {} columns)",
                    dx.1, dw.0, dw.1
                ),
            });
        }
        if x == w || x == b || w == b {
            return Err(Error::Handle {
                op: "linear_act",
                message: "x, w and b must be three different nodes".into(),
            });
        }
        if f == Some(UnaryFn::Log) {
            return Err(Error::Handle {
                op: "linear_act",
                message:
                    "log is not an activation; record Graph::linear_act with None, then Graph::log"
                        .into(),
            });
        }
        if let Some(out) = self.try_embed_linear(x, w, b, f) {
            return Ok(out); // x is the input layer's embeddings: factorised per table
        }
        let (rows, d_in, d_out) = (dx.0, dx.1, dw.1);
        let needs = self.any_grad(&[x, w, b]);
        let out = self.push_overwritten(Op::LinearAct { x, w, b, f }, rows, d_out, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        if needs_pre(f) {
            node.aux.resize(rows * d_out, 0.0); // (B, D_out) pre-activation z
        }
        linear_act_forward(
            &mut node.value,
            &mut node.aux,
            &inputs[x.index()].value,
            &inputs[w.index()].value,
            &inputs[b.index()].value,
            LinearShape {
                b: rows,
                d_in,
                d_out,
            },
            f,
        );
        Ok(out)
    }
}

pub(crate) fn backward(
    node: &Node,
    head: &mut [Node],
    scratch: &mut Vec<f32>,
    x: Var,
    w: Var,
    b: Var,
    f: Option<UnaryFn>,
) {
    let (ix, iw, ib) = three(head, x, w, b);
    let grads = LinearActGrads {
        dx: ix.grad,
        dw: iw.grad,
        db: ib.grad,
    };
    let saved = LinearActSaved {
        out: &node.value,
        pre: &node.aux,
        f,
    };
    let shape = LinearShape {
        b: node.rows,
        d_in: ix.cols,
        d_out: node.cols,
    };
    linear_act_backward(grads, scratch, &node.grad, saved, ix.value, iw.value, shape);
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `linear_act_fwd_f32`, `linear_act_bwd_f32`
// (kernels/linear_act.cu), then `matmul_fwd_f32` for dW and dx.
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{LinearAct, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for LinearAct {
    fn kind(&self) -> OpKind {
        OpKind::LinearAct
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.x);
        f(self.w);
        f(self.b);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, cx.scratch, self.x, self.w, self.b, self.f)
    }
    device_lowering!(lower::forward, lower::backward);
}

#[cfg(test)]
mod tests {
    use crate::autograd::{Graph, ParamStore, UnaryFn};
    use ndarray_rand::rand::rngs::StdRng;
    use ndarray_rand::rand::{Rng, SeedableRng};

    /// The fused op against its reference composition `f(add(mm(x, W), b))`, forward
    /// values and every gradient, on a census-expert-like shape (big enough for the
    /// packed GEMM path).
    #[test]
    fn fused_equals_the_unfused_composition() {
        let (b, d_in, d_out) = (37, 29, 40);
        let mut rng = StdRng::seed_from_u64(3);
        let mut draw = |n: usize| {
            (0..n)
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect::<Vec<f32>>()
        };
        let seed_grad = draw(b * d_out);
        for f in [
            None,
            Some(UnaryFn::Relu),
            Some(UnaryFn::Sigmoid),
            Some(UnaryFn::Tanh),
            Some(UnaryFn::Gelu),
        ] {
            let mut s = ParamStore::new();
            let xp = s.add_dense("x", b, d_in, draw(b * d_in)).unwrap();
            let wp = s.add_dense("w", d_in, d_out, draw(d_in * d_out)).unwrap();
            let bp = s.add_dense("b", 1, d_out, draw(d_out)).unwrap();
            let mut results = Vec::new();
            for fused in [true, false] {
                let mut g = Graph::new(0);
                let (x, w, bb) = (
                    g.param(&s, xp).unwrap(),
                    g.param(&s, wp).unwrap(),
                    g.param(&s, bp).unwrap(),
                );
                let y = if fused {
                    g.linear_act(x, w, bb, f).unwrap()
                } else {
                    let xw = g.mm(x, w).unwrap();
                    let z = g.add(xw, bb).unwrap();
                    match f {
                        Some(k) => g.unary(z, k).unwrap(),
                        None => z,
                    }
                };
                s.zero_grad();
                g.backward_with_grad(y, &seed_grad, &mut s).unwrap();
                let grads: Vec<Vec<f32>> = [xp, wp, bp].iter().map(|&p| s.grad_to_vec(p)).collect();
                results.push((g.value(y).to_vec(), grads));
            }
            let close = |a: &[f32], c: &[f32]| {
                a.iter()
                    .zip(c)
                    .all(|(u, v)| (u - v).abs() <= 1e-5 + 1e-5 * v.abs())
            };
            assert!(
                close(&results[0].0, &results[1].0),
                "{f:?}: forward differs"
            );
            for (k, name) in ["x", "w", "b"].iter().enumerate() {
                assert!(
                    close(&results[0].1[k], &results[1].1[k]),
                    "{f:?}: d{name} differs"
                );
            }
        }
    }
}
