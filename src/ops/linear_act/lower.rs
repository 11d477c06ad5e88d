//! Device lowering of [`LinearAct`]: `Launch::LinearAct` (kernel `linear_act_fwd_f32`)
//! saves the pre-activation; backward is `Launch::LinearActBwd` (`dz = dy ⊙ f′` into a
//! scratch buffer, `db += Σ_rows dz`), then `dW += xᵀ·dz` and `dx += dz·Wᵀ` as
//! accumulating GEMM launches: the order of [`super::backward`].

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::LinearAct;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &LinearAct,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let mut saved = Saved::default();
    let pre = lw.alloc(rows * cols)?; // (B, D_out) x·W + b, saved
    saved.bufs = [Some(pre), None];
    out.push(Launch::LinearAct {
        out: lw.values[i],
        pre,
        x: lw.value(op.x),
        w: lw.value(op.w),
        bias: lw.value(op.b),
        b: rows,
        d_in: lw.dims(op.x).1,
        d_out: cols,
        f: op.f,
    });
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &LinearAct,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let LinearAct { x, w, b, f } = *op;
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let (y, dy) = (
        lw.values[i],
        lw.grads[i].expect("called for nodes with a gradient"),
    );
    let d_in = lw.dims(x).1;
    let dpre = lw.alloc(rows * cols)?; // (B, D_out) dz = dy ⊙ f′, scratch
    out.push(Launch::LinearActBwd {
        dpre,
        dbias: lw.grad(b),
        dout: dy,
        pre: lw.saved[i].buf(0),
        out: y,
        b: rows,
        d_out: cols,
        f,
    });
    if let Some(dw) = lw.grad(w) {
        out.push(Launch::MatMul {
            out: dw,
            a: lw.value(x),
            b: dpre,
            m: d_in,
            k: rows,
            n: cols,
            ta: true,
            tb: false,
            beta: 1.0,
        }); // dW += xᵀ · dz
    }
    if let Some(dx) = lw.grad(x) {
        out.push(Launch::MatMul {
            out: dx,
            a: dpre,
            b: lw.value(w),
            m: rows,
            k: cols,
            n: d_in,
            ta: false,
            tb: true,
            beta: 1.0,
        }); // dx += dz · Wᵀ
    }
    Ok(())
}
