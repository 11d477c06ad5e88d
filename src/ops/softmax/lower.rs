//! Device lowering of [`Softmax`] and [`LogSoftmax`]: `Launch::Softmax` /
//! `Launch::SoftmaxBwd` with `log` saying which.

use crate::autograd::Var;
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::{LogSoftmax, Softmax};

fn rows_forward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    a: Var,
    log: bool,
    out: &mut Vec<Launch>,
) -> Result<Saved> {
    let n = &lw.nodes[i];
    out.push(Launch::Softmax {
        out: lw.values[i],
        inp: lw.value(a),
        r: n.rows,
        c: n.cols,
        log,
    });
    Ok(Saved::default())
}

fn rows_backward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    a: Var,
    log: bool,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let n = &lw.nodes[i];
    let (y, dy) = (
        lw.values[i],
        lw.grads[i].expect("called for nodes with a gradient"),
    );
    if let Some(da) = lw.grad(a) {
        out.push(Launch::SoftmaxBwd {
            dinp: da,
            dout: dy,
            out: y,
            r: n.rows,
            c: n.cols,
            log,
        });
    }
    Ok(())
}

pub(super) fn softmax_forward<B: Backend + ?Sized>(
    op: &Softmax,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    rows_forward(lw, i, op.a, false, out)
}

pub(super) fn softmax_backward<B: Backend + ?Sized>(
    op: &Softmax,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    rows_backward(lw, i, op.a, false, out)
}

pub(super) fn log_softmax_forward<B: Backend + ?Sized>(
    op: &LogSoftmax,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    rows_forward(lw, i, op.a, true, out)
}

pub(super) fn log_softmax_backward<B: Backend + ?Sized>(
    op: &LogSoftmax,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    rows_backward(lw, i, op.a, true, out)
}
