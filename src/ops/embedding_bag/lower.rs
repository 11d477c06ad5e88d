//! Device lowering of [`EmbeddingBag`]: offsets and ids fed per batch (`Feed::Bags`);
//! `Launch::EmbeddingBag` forward, `Launch::EmbeddingBagBwd` into the table's gradient.

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::EmbeddingBag;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &EmbeddingBag,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let table = op.table;
    let (rows, cols) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let mut saved = Saved::default();
    let (offsets, ids) = (lw.backend.alloc_idx()?, lw.backend.alloc_idx()?);
    saved.idxs = [Some(offsets), Some(ids)];
    feeds.push(Feed::Bags {
        node: i,
        offsets,
        ids,
        b: rows,
        table,
    });
    out.push(Launch::EmbeddingBag {
        out: lw.values[i],
        table: lw.params.value(table),
        offsets,
        ids,
        n: rows,
        width: cols,
    });
    Ok(saved)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &EmbeddingBag,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let saved = lw.saved[i];
    out.push(Launch::EmbeddingBagBwd {
        dtable: lw.params.grad(op.table),
        dout: lw.grads[i].expect("called for nodes with a gradient"),
        offsets: saved.idx(0),
        ids: saved.idx(1),
        n: lw.nodes[i].rows,
        width: lw.nodes[i].cols,
    });
    Ok(())
}
