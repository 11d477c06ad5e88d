//! Device lowering of the broadcasting binary ops and [`Scale`]: `Launch::Binary`
//! forward, `Launch::BinaryBwdA` / `BinaryBwdB` backward (kernels `binary_*_f32` of
//! `kernels/elementwise.cu`), `Launch::Scale` / `Launch::Axpy` for the scale.

use crate::autograd::Var;
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, BinOp, Launch};
use crate::error::Result;
use crate::ops::registry::{Add, Mul, Scale, Sub};

fn binary_forward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    (a, b): (Var, Var),
    op: BinOp,
    out: &mut Vec<Launch>,
) -> Result<Saved> {
    out.push(Launch::Binary {
        out: lw.values[i],
        a: lw.value(a),
        b: lw.value(b),
        s: lw.bcast(a, b),
        op,
    });
    Ok(Saved::default())
}

fn binary_backward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    (a, b): (Var, Var),
    op: BinOp,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    let s = lw.bcast(a, b);
    if let Some(da) = lw.grad(a) {
        out.push(Launch::BinaryBwdA {
            da,
            dy,
            b: lw.value(b),
            s,
            op,
        });
    }
    if let Some(db) = lw.grad(b) {
        out.push(Launch::BinaryBwdB {
            db,
            dy,
            a: lw.value(a),
            s,
            op,
        });
    }
    Ok(())
}

pub(super) fn add_forward<B: Backend + ?Sized>(
    op: &Add,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    binary_forward(lw, i, (op.a, op.b), BinOp::Add, out)
}

pub(super) fn add_backward<B: Backend + ?Sized>(
    op: &Add,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    binary_backward(lw, i, (op.a, op.b), BinOp::Add, out)
}

pub(super) fn sub_forward<B: Backend + ?Sized>(
    op: &Sub,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    binary_forward(lw, i, (op.a, op.b), BinOp::Sub, out)
}

pub(super) fn sub_backward<B: Backend + ?Sized>(
    op: &Sub,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    binary_backward(lw, i, (op.a, op.b), BinOp::Sub, out)
}

pub(super) fn mul_forward<B: Backend + ?Sized>(
    op: &Mul,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    binary_forward(lw, i, (op.a, op.b), BinOp::Mul, out)
}

pub(super) fn mul_backward<B: Backend + ?Sized>(
    op: &Mul,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    binary_backward(lw, i, (op.a, op.b), BinOp::Mul, out)
}

pub(super) fn scale_forward<B: Backend + ?Sized>(
    op: &Scale,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    out.push(Launch::Scale {
        out: lw.values[i],
        inp: lw.value(op.a),
        c: op.c,
    });
    Ok(Saved::default())
}

/// `y = c·a ⇒ da += c·dy`.
pub(super) fn scale_backward<B: Backend + ?Sized>(
    op: &Scale,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    if let Some(da) = lw.grad(op.a) {
        out.push(Launch::Axpy {
            y: da,
            x: dy,
            c: op.c,
        });
    }
    Ok(())
}
