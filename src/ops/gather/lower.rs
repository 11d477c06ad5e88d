//! Device lowering of [`Gather`]: the row ids are fed per batch (`Feed::Rows`, which also
//! notes the touched rows); `Launch::Gather` forward (into the concatenation's columns
//! when fused), `Launch::GatherBwd` into the table's gradient backward.

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::Gather;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &Gather,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let table = op.table;
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let mut saved = Saved::default();
    let idx = lw.backend.alloc_idx()?;
    saved.idxs = [Some(idx), None];
    feeds.push(Feed::Rows {
        node: i,
        buf: idx,
        table,
    });
    // into the concatenation's columns when fused, else its own (rows, cols)
    let (stride, off) = match lw.fused[i] {
        Some((j, off)) => (lw.nodes[j].cols, off),
        None => (cols, 0),
    };
    out.push(Launch::Gather {
        out: lw.values[i],
        table: lw.params.value(table),
        idx,
        n: rows,
        width: cols,
        stride,
        off,
    });
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &Gather,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    out.push(Launch::GatherBwd {
        dtable: lw.params.grad(op.table),
        dout: lw.grads[i].expect("called for nodes with a gradient"),
        idx: lw.saved[i].idx(0),
        n: rows,
        width: cols,
        stride: cols,
        off: 0,
    });
    Ok(())
}
