//! Device lowering of [`Dropout`]: the mask is fed per batch (drawn on the CPU while
//! recording, so the device replays the same masks); `Launch::Dropout` /
//! `Launch::DropoutBwd`.

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::Dropout;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &Dropout,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let len = lw.nodes[i].rows * lw.nodes[i].cols;
    let mut saved = Saved::default();
    let mask = lw.alloc(len)?;
    saved.bufs = [Some(mask), None];
    feeds.push(Feed::Aux {
        node: i,
        buf: mask,
        start: 0,
        len,
    });
    out.push(Launch::Dropout {
        out: lw.values[i],
        inp: lw.value(op.a),
        mask,
    });
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &Dropout,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    if let Some(da) = lw.grad(op.a) {
        out.push(Launch::DropoutBwd {
            dinp: da,
            dout: dy,
            mask: lw.saved[i].buf(0),
        });
    }
    Ok(())
}
