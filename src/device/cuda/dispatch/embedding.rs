//! `CudaBackend`: the embedding gather and bag launches, each one call of its launch wrapper.

use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Gather {
            out,
            table,
            idx,
            n,
            width,
            stride,
            off,
        } => be.outs("Gather", [out], |dev, t, [o]| {
            let op = "Gather";
            let (table, idx) = (t.get(op, table)?, t.idx(op, idx, n)?);
            k::gather_forward_cols(dev, o, table, &idx, width, (stride, off))
        }),
        Launch::GatherBwd {
            dtable,
            dout,
            idx,
            n,
            width,
            stride,
            off,
        } => be.outs("GatherBwd", [dtable], |dev, t, [o]| {
            let op = "GatherBwd";
            let (dout, idx) = (t.get(op, dout)?, t.idx(op, idx, n)?);
            k::gather_backward_cols(dev, o, dout, &idx, width, (stride, off))
        }),
        Launch::EmbeddingBag {
            out,
            table,
            offsets,
            ids,
            n,
            width,
        } => {
            let op = "EmbeddingBag";
            be.outs(op, [out], |dev, t, [o]| {
                let (offsets, ids) = (t.idx(op, offsets, n + 1)?, t.idx_all(op, ids)?);
                k::embedding_bag_forward(dev, o, t.get(op, table)?, &offsets, &ids, width)
            })
        }
        Launch::EmbeddingBagBwd {
            dtable,
            dout,
            offsets,
            ids,
            n,
            width,
        } => {
            let op = "EmbeddingBagBwd";
            be.outs(op, [dtable], |dev, t, [o]| {
                let (offsets, ids) = (t.idx(op, offsets, n + 1)?, t.idx_all(op, ids)?);
                k::embedding_bag_backward(dev, o, t.get(op, dout)?, &offsets, &ids, width)
            })
        }
        _ => Err(misrouted("CUDA", Family::Embedding, l)),
    }
}
