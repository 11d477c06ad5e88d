//! The logit of a product of two probabilities: `z = logit(σ(a)·σ(b))`.
//!
//! ESMM predicts pCTCVR = pCTR × pCVR. Training it with binary cross-entropy on the
//! product of two sigmoids loses precision when either probability is near 0 or 1; this
//! op returns the product's **logit**, so the loss stays `bce_with_logits` (stable).
//!
//! ```text
//! a, b, z: (B, C)
//! z = −ln(e^(−a) + e^(−b) + e^(−a−b))
//! ```
//! Why: with p = σ(a), q = σ(b), `pq/(1−pq) = 1/((1+e^(−a))(1+e^(−b)) − 1)
//! = 1/(e^(−a) + e^(−b) + e^(−a−b))`, so `logit(pq) = −ln(e^(−a) + e^(−b) + e^(−a−b))`.
//! It is evaluated as a log-sum-exp with the largest exponent factored out.
//!
//! # Derivation
//!
//! With `S = e^(−a) + e^(−b) + e^(−a−b)`:
//!
//! ```text
//! ∂z/∂a = (e^(−a) + e^(−a−b)) / S        ∂z/∂b = (e^(−b) + e^(−a−b)) / S
//! ```
//! Both are ratios of the same exponentials, computed after subtracting the largest
//! exponent m = max(−a, −b, −a−b): `∂z/∂a = (u + w)/(u + v + w)`, `∂z/∂b = (v + w)/(u + v + w)`
//! with `u = e^(−a−m)`, `v = e^(−b−m)`, `w = e^(−a−b−m)`.

use crate::autograd::{with_two, Graph, Node, Op, Var};
use crate::error::{Error, Result};

/// `(u, v, w)` = the three exponentials scaled by the largest, and m.
#[inline]
fn terms(a: f32, b: f32) -> (f64, f64, f64, f64) {
    let (x, y, z) = (-(a as f64), -(b as f64), -(a as f64) - b as f64);
    let m = x.max(y).max(z);
    ((x - m).exp(), (y - m).exp(), (z - m).exp(), m)
}

/// `out = −ln(e^(−a) + e^(−b) + e^(−a−b))` elementwise.
pub fn logit_product_forward(out: &mut [f32], a: &[f32], b: &[f32]) {
    for i in 0..out.len() {
        let (u, v, w, m) = terms(a[i], b[i]);
        out[i] = (-(m + (u + v + w).ln())) as f32;
    }
}

/// `da += dz·(u + w)/S`, `db += dz·(v + w)/S`.
pub fn logit_product_backward(
    da: Option<&mut [f32]>,
    db: Option<&mut [f32]>,
    dz: &[f32],
    a: &[f32],
    b: &[f32],
) {
    let n = dz.len();
    let (mut da, mut db) = (da, db);
    for i in 0..n {
        let (u, v, w, _) = terms(a[i], b[i]);
        let s = u + v + w;
        if let Some(da) = da.as_deref_mut() {
            da[i] += (dz[i] as f64 * (u + w) / s) as f32;
        }
        if let Some(db) = db.as_deref_mut() {
            db[i] += (dz[i] as f64 * (v + w) / s) as f32;
        }
    }
}

impl Graph {
    /// `logit(sigmoid(a) · sigmoid(b))` elementwise, for logits `a`, `b` of the same shape.
    pub fn logit_product(&mut self, a: Var, b: Var) -> Result<Var> {
        self.check("logit_product", a)?;
        self.check("logit_product", b)?;
        let (da, db) = (self.dims(a), self.dims(b));
        if da != db {
            return Err(Error::Shape {
                op: "logit_product",
                shapes: vec![da, db],
                expected: "two logits of the same shape".into(),
            });
        }
        let needs = self.any_grad(&[a, b]);
        let out = self.push(Op::LogitProduct { a, b }, da.0, da.1, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        logit_product_forward(
            &mut node.value,
            &inputs[a.index()].value,
            &inputs[b.index()].value,
        );
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], scratch: &mut Vec<f32>, a: Var, b: Var) {
    with_two(head, a, b, scratch, |ia, ib| {
        logit_product_backward(ia.grad, ib.grad, &node.grad, ia.value, ib.value);
    });
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `logit_product_fwd_f32`, `logit_product_bwd_f32`
// (kernels/tape.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{LogitProduct, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for LogitProduct {
    fn kind(&self) -> OpKind {
        OpKind::LogitProduct
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
        f(self.b);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, cx.scratch, self.a, self.b)
    }
    device_lowering!(lower::forward, lower::backward);
}
