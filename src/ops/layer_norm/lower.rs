//! Device lowering of [`LayerNorm`]: `Launch::LayerNorm` saves the per-row mean and 1/σ
//! for `Launch::LayerNormBwd` (kernels `layer_norm_fwd_f32` / `layer_norm_bwd_f32`).

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::LayerNorm;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &LayerNorm,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let mut saved = Saved::default();
    // mean then 1/σ, (rows) each: saved for the backward launch
    let (mean, rstd) = (lw.alloc(rows)?, lw.alloc(rows)?);
    out.push(Launch::LayerNorm {
        out: lw.values[i],
        mean,
        rstd,
        x: lw.value(op.x),
        gamma: lw.value(op.gamma),
        beta: lw.value(op.beta),
        b: rows,
        width: cols,
        eps: op.eps,
    });
    saved.bufs = [Some(mean), Some(rstd)];
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &LayerNorm,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let saved = lw.saved[i];
    out.push(Launch::LayerNormBwd {
        dx: lw.grad(op.x),
        dgamma: lw.grad(op.gamma),
        dbeta: lw.grad(op.beta),
        dout: lw.grads[i].expect("called for nodes with a gradient"),
        x: lw.value(op.x),
        gamma: lw.value(op.gamma),
        mean: saved.buf(0),
        rstd: saved.buf(1),
        b: lw.nodes[i].rows,
        width: lw.nodes[i].cols,
    });
    Ok(())
}
