//! Elementwise add, subtract and multiply with row / column broadcasting, and scaling.
//!
//! ```text
//! y = a ∘ b̃      a, y: (R, C);  b: (R, C), (1, C), (R, 1) or (1, 1)
//! b̃_ij = b[ i if b has R rows else 0 , j if b has C columns else 0 ]
//! ```
//! A bias row `(1, C)` added to a batch `(B, C)` is the common case.
//!
//! # Derivation
//!
//! Each output depends on one element of `a` and one of `b`; an element of a broadcast
//! `b` feeds every output along the broadcast axis, so its gradient is the sum there
//! (written `Σ̃`: over i if b has one row, over j if b has one column):
//!
//! ```text
//! add:   y = a + b̃     ∂L/∂a = dy          ∂L/∂b = Σ̃ dy
//! sub:   y = a − b̃     ∂L/∂a = dy          ∂L/∂b = −Σ̃ dy
//! mul:   y = a ⊙ b̃     ∂L/∂a = dy ⊙ b̃      ∂L/∂b = Σ̃ (dy ⊙ a)
//! scale: y = c·a       ∂L/∂a = c·dy
//! ```

use crate::autograd::{one, with_two, Graph, In, Node, Op, Var};
use crate::error::{Error, Result};

/// Index into a broadcast `b` of shape `(br, bc)` for output element `(i, j)`.
#[inline]
fn bidx(i: usize, j: usize, br: usize, bc: usize) -> usize {
    (if br == 1 { 0 } else { i }) * bc + if bc == 1 { 0 } else { j }
}

/// Which elementwise op of [`binary_forward`] / [`binary_backward`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Add,
    Sub,
    Mul,
}

/// Shapes of a broadcasting binary op: `a` is `(r, c)`, `b` is `(br, bc)` with
/// `br ∈ {1, r}` and `bc ∈ {1, c}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bcast {
    pub r: usize,
    pub c: usize,
    pub br: usize,
    pub bc: usize,
}

/// `out = a ∘ b̃` for `out, a: (r, c)`, `b: (br, bc)` broadcast.
pub fn binary_forward(out: &mut [f32], a: &[f32], b: &[f32], s: Bcast, kind: Kind) {
    let Bcast { r, c, br, bc } = s;
    for i in 0..r {
        for j in 0..c {
            let (x, y) = (a[i * c + j], b[bidx(i, j, br, bc)]);
            out[i * c + j] = match kind {
                Kind::Add => x + y,
                Kind::Sub => x - y,
                Kind::Mul => x * y,
            };
        }
    }
}

/// `out = a + b̃`.
pub fn add_forward(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    r: usize,
    c: usize,
    br: usize,
    bc: usize,
) {
    binary_forward(out, a, b, Bcast { r, c, br, bc }, Kind::Add)
}

/// `out = a − b̃`.
pub fn sub_forward(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    r: usize,
    c: usize,
    br: usize,
    bc: usize,
) {
    binary_forward(out, a, b, Bcast { r, c, br, bc }, Kind::Sub)
}

/// `out = a ⊙ b̃`.
pub fn mul_forward(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    r: usize,
    c: usize,
    br: usize,
    bc: usize,
) {
    binary_forward(out, a, b, Bcast { r, c, br, bc }, Kind::Mul)
}

/// Accumulates `da`, `db` for `y = a ∘ b̃` (see the derivation).
pub fn binary_backward(
    mut da: Option<&mut [f32]>,
    mut db: Option<&mut [f32]>,
    dy: &[f32],
    a: &[f32],
    b: &[f32],
    s: Bcast,
    kind: Kind,
) {
    let Bcast { r, c, br, bc } = s;
    for i in 0..r {
        for j in 0..c {
            let (o, k) = (i * c + j, bidx(i, j, br, bc));
            let d = dy[o];
            let (ga, gb) = match kind {
                Kind::Add => (d, d),               // ∂(a+b)/∂a = 1, ∂/∂b = 1
                Kind::Sub => (d, -d),              // ∂(a−b)/∂a = 1, ∂/∂b = −1
                Kind::Mul => (d * b[k], d * a[o]), // ∂(ab)/∂a = b, ∂/∂b = a
            };
            if let Some(da) = da.as_deref_mut() {
                da[o] += ga;
            }
            if let Some(db) = db.as_deref_mut() {
                db[k] += gb; // Σ̃ over the broadcast axis
            }
        }
    }
}

fn binary(g: &mut Graph, name: &'static str, a: Var, b: Var, kind: Kind) -> Result<Var> {
    g.check(name, a)?;
    g.check(name, b)?;
    let (da, db) = (g.dims(a), g.dims(b));
    let fits = (db.0 == da.0 || db.0 == 1) && (db.1 == da.1 || db.1 == 1);
    if !fits {
        return Err(Error::Shape {
            op: name,
            shapes: vec![da, db],
            expected: format!("b to be {da}, (1, {}), ({}, 1) or (1, 1)", da.1, da.0),
        });
    }
    let needs = g.any_grad(&[a, b]);
    let op = match kind {
        Kind::Add => Op::Add { a, b },
        Kind::Sub => Op::Sub { a, b },
        Kind::Mul => Op::Mul { a, b },
    };
    let out = g.push(op, da.0, da.1, needs);
    if !g.computes() {
        return Ok(out);
    }
    let (node, inputs) = g.split(out);
    binary_forward(
        &mut node.value,
        &inputs[a.index()].value,
        &inputs[b.index()].value,
        Bcast {
            r: da.0,
            c: da.1,
            br: db.0,
            bc: db.1,
        },
        kind,
    );
    Ok(out)
}

impl Graph {
    /// `a + b`, with `b` broadcast over rows and/or columns of `a`.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        binary(self, "add", a, b, Kind::Add)
    }

    /// `a − b`, with `b` broadcast over rows and/or columns of `a`.
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        binary(self, "sub", a, b, Kind::Sub)
    }

    /// `a ⊙ b` (elementwise), with `b` broadcast over rows and/or columns of `a`.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        binary(self, "mul", a, b, Kind::Mul)
    }

    /// `c · a` for a constant `c`.
    pub fn scale(&mut self, a: Var, c: f32) -> Result<Var> {
        self.check("scale", a)?;
        if !c.is_finite() {
            return Err(Error::Value {
                op: "scale",
                what: "factor".into(),
                position: 0,
                value: c as f64,
                expected: "a finite number".into(),
            });
        }
        let dims = self.dims(a);
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::Scale { a, c }, dims.0, dims.1, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        node.value
            .iter_mut()
            .zip(&inputs[a.index()].value)
            .for_each(|(y, x)| *y = c * x);
        Ok(out)
    }
}

fn backward_two(
    node: &Node,
    head: &mut [Node],
    scratch: &mut Vec<f32>,
    a: Var,
    b: Var,
    kind: Kind,
) {
    with_two(head, a, b, scratch, |ia: In<'_>, ib: In<'_>| {
        let s = Bcast {
            r: node.rows,
            c: node.cols,
            br: ib.rows,
            bc: ib.cols,
        };
        binary_backward(ia.grad, ib.grad, &node.grad, ia.value, ib.value, s, kind);
    });
}

pub(crate) fn add_backward(node: &Node, head: &mut [Node], scratch: &mut Vec<f32>, a: Var, b: Var) {
    backward_two(node, head, scratch, a, b, Kind::Add)
}

pub(crate) fn sub_backward(node: &Node, head: &mut [Node], scratch: &mut Vec<f32>, a: Var, b: Var) {
    backward_two(node, head, scratch, a, b, Kind::Sub)
}

pub(crate) fn mul_backward(node: &Node, head: &mut [Node], scratch: &mut Vec<f32>, a: Var, b: Var) {
    backward_two(node, head, scratch, a, b, Kind::Mul)
}

pub(crate) fn scale_backward(node: &Node, head: &mut [Node], a: Var, c: f32) {
    if let Some(da) = one(head, a).grad {
        // y = c·a  ⇒  ∂L/∂a = c·dy
        da.iter_mut().zip(&node.grad).for_each(|(d, g)| *d += c * g);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `binary_fwd_f32`, `binary_bwd_f32`, `binary_bwd_b_f32`,
// `scale_fwd_f32`, `axpy_f32` (kernels/elementwise.cu, kernels/tape.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{Add, Mul, OpKind, Scale, Sub};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Add {
    fn kind(&self) -> OpKind {
        OpKind::Add
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
        f(self.b);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        add_backward(cx.node, cx.head, cx.scratch, self.a, self.b)
    }
    device_lowering!(lower::add_forward, lower::add_backward);
}

impl TapeOp for Sub {
    fn kind(&self) -> OpKind {
        OpKind::Sub
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
        f(self.b);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        sub_backward(cx.node, cx.head, cx.scratch, self.a, self.b)
    }
    device_lowering!(lower::sub_forward, lower::sub_backward);
}

impl TapeOp for Mul {
    fn kind(&self) -> OpKind {
        OpKind::Mul
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
        f(self.b);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        mul_backward(cx.node, cx.head, cx.scratch, self.a, self.b)
    }
    device_lowering!(lower::mul_forward, lower::mul_backward);
}

impl TapeOp for Scale {
    fn kind(&self) -> OpKind {
        OpKind::Scale
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        scale_backward(cx.node, cx.head, self.a, self.c)
    }
    device_lowering!(lower::scale_forward, lower::scale_backward);
}
