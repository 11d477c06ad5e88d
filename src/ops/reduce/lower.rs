//! Device lowering of [`Sum`] and [`Mean`]: `Launch::Reduce` / `Launch::ReduceBwd`
//! with the scale 1 (sum) or 1/count (mean, [`super::mean_scale`]).

use super::mean_scale;
use crate::autograd::{Axis, Var};
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::{Mean, Sum};

fn reduce_forward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    (a, axis): (Var, Axis),
    mean: bool,
    out: &mut Vec<Launch>,
) -> Result<Saved> {
    let (r, c) = lw.dims(a);
    out.push(Launch::Reduce {
        out: lw.values[i],
        inp: lw.value(a),
        r,
        c,
        axis,
        s: if mean { mean_scale(r, c, axis) } else { 1.0 },
    });
    Ok(Saved::default())
}

fn reduce_backward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    (a, axis): (Var, Axis),
    mean: bool,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    if let Some(da) = lw.grad(a) {
        let (r, c) = lw.dims(a);
        out.push(Launch::ReduceBwd {
            dinp: da,
            dout: dy,
            r,
            c,
            axis,
            s: if mean { mean_scale(r, c, axis) } else { 1.0 },
        });
    }
    Ok(())
}

pub(super) fn sum_forward<B: Backend + ?Sized>(
    op: &Sum,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    reduce_forward(lw, i, (op.a, op.axis), false, out)
}

pub(super) fn sum_backward<B: Backend + ?Sized>(
    op: &Sum,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    reduce_backward(lw, i, (op.a, op.axis), false, out)
}

pub(super) fn mean_forward<B: Backend + ?Sized>(
    op: &Mean,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    reduce_forward(lw, i, (op.a, op.axis), true, out)
}

pub(super) fn mean_backward<B: Backend + ?Sized>(
    op: &Mean,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    reduce_backward(lw, i, (op.a, op.axis), true, out)
}
