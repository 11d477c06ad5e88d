//! Device lowering of [`GateCombine`]: the output is zeroed, then `Launch::GateCombine`
//! accumulates into it and saves the softmax weights `(B, E)` for
//! `Launch::GateCombineBwd` (kernels `gate_combine_fwd_f32` / `gate_combine_bwd_f32`).

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::GateCombine;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &GateCombine,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let y = lw.values[i];
    let mut saved = Saved::default();
    let w = lw.alloc(rows * op.e)?; // (B, E) softmax weights, saved
    saved.bufs = [Some(w), None];
    out.push(Launch::Fill { out: y, value: 0.0 }); // the launch accumulates
    out.push(Launch::GateCombine {
        out: y,
        w,
        x: lw.value(op.experts),
        z: lw.value(op.gate),
        b: rows,
        e: op.e,
        width: cols,
    });
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &GateCombine,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    out.push(Launch::GateCombineBwd {
        dx: lw.grad(op.experts),
        dz: lw.grad(op.gate),
        dout: lw.grads[i].expect("called for nodes with a gradient"),
        x: lw.value(op.experts),
        w: lw.saved[i].buf(0),
        b: lw.nodes[i].rows,
        e: op.e,
        width: lw.nodes[i].cols,
    });
    Ok(())
}
