//! Device lowering of [`WeightedSum`]: the task weights are fed per batch; the output is
//! zeroed, then one `Launch::AxpyW` per task adds `w_k·L_k` (forward) or `w_k·dL` into
//! `dL_k` (backward).

use crate::autograd::Var;
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::WeightedSum;

pub(super) fn forward<B: Backend + ?Sized>(
    _op: &WeightedSum,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let y = lw.values[i];
    let tasks = lw.nodes[i].idx.len();
    let mut saved = Saved::default();
    let w = lw.alloc(tasks)?;
    saved.bufs = [Some(w), None];
    feeds.push(Feed::Aux {
        node: i,
        buf: w,
        start: 0,
        len: tasks,
    });
    out.push(Launch::Fill { out: y, value: 0.0 });
    for (j, &l) in lw.nodes[i].idx.iter().enumerate() {
        out.push(Launch::AxpyW {
            y,
            x: lw.value(Var::slot(l)),
            w,
            k: j,
        });
    }
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    _op: &WeightedSum,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    let w = lw.saved[i].buf(0);
    for (j, &l) in lw.nodes[i].idx.iter().enumerate() {
        if let Some(dl) = lw.grad(Var::slot(l)) {
            // L = Σ_k w_k L_k ⇒ dL_k += w_k · dL
            out.push(Launch::AxpyW {
                y: dl,
                x: dy,
                w,
                k: j,
            });
        }
    }
    Ok(())
}
