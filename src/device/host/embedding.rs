//! [`HostBackend`]: the CPU twins of the embedding gather and bag launches.

use super::{check_len, HostBackend};
use crate::device::family::{misrouted, Family};
use crate::device::launch::Launch;
use crate::error::{Error, Result};

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Gather {
            out,
            table,
            idx,
            n,
            width,
            stride,
            off,
        } => {
            check_ids("Gather", be.ids(idx), n, be.buf(table).len() / width.max(1))?;
            let mut o = std::mem::take(&mut be.bufs[out.0 as usize]);
            let (t, ids) = (be.buf(table), be.ids(idx));
            if (stride, off) == (width, 0) {
                crate::ops::gather::gather_forward(&mut o, t, ids, width);
            } else {
                // into columns off..off+width of an (n, stride) concatenation
                for (i, &r) in ids.iter().enumerate() {
                    o[i * stride + off..i * stride + off + width]
                        .copy_from_slice(&t[r as usize * width..(r as usize + 1) * width]);
                }
            }
            be.bufs[out.0 as usize] = o;
            Ok(())
        }
        Launch::GatherBwd {
            dtable,
            dout,
            idx,
            n,
            width,
            stride,
            off,
        } => {
            let v = be.buf(dtable).len() / width.max(1);
            check_ids("GatherBwd", be.ids(idx), n, v)?;
            let mut t = std::mem::take(&mut be.bufs[dtable.0 as usize]);
            // dtable[idx[i], :] += dout[i, :], rows in batch order (as SparseGrad)
            for (i, &r) in be.ids(idx).iter().enumerate() {
                let src = &be.buf(dout)[i * stride + off..i * stride + off + width];
                let dst = &mut t[r as usize * width..(r as usize + 1) * width];
                dst.iter_mut().zip(src).for_each(|(g, s)| *g += s);
            }
            be.bufs[dtable.0 as usize] = t;
            Ok(())
        }
        Launch::EmbeddingBag {
            out,
            table,
            offsets,
            ids,
            n,
            width,
        } => {
            let v = be.buf(table).len() / width.max(1);
            check_bags(be.ids(offsets), be.ids(ids), n, v)?;
            let mut o = std::mem::take(&mut be.bufs[out.0 as usize]);
            crate::ops::embedding_bag::embedding_bag_forward(
                &mut o,
                be.buf(table),
                be.ids(offsets),
                be.ids(ids),
                width,
            );
            be.bufs[out.0 as usize] = o;
            Ok(())
        }
        Launch::EmbeddingBagBwd {
            dtable,
            dout,
            offsets,
            ids,
            n,
            width,
        } => {
            let v = be.buf(dtable).len() / width.max(1);
            check_bags(be.ids(offsets), be.ids(ids), n, v)?;
            let mut t = std::mem::take(&mut be.bufs[dtable.0 as usize]);
            let (offs, ids) = (be.ids(offsets), be.ids(ids));
            for (b, o) in offs.windows(2).enumerate() {
                let bag = &ids[o[0] as usize..o[1] as usize];
                if bag.is_empty() {
                    continue;
                }
                // y_b = (1/n_b) Σ_j T[ids_j]  ⇒  dT[ids_j] += dy_b / n_b
                let inv = 1.0 / bag.len() as f32;
                let dy = &be.buf(dout)[b * width..(b + 1) * width];
                for &r in bag {
                    let dst = &mut t[r as usize * width..(r as usize + 1) * width];
                    dst.iter_mut().zip(dy).for_each(|(g, dy)| *g += dy * inv);
                }
            }
            be.bufs[dtable.0 as usize] = t;
            Ok(())
        }
        _ => Err(misrouted("host", Family::Embedding, l)),
    }
}

fn check_ids(op: &'static str, ids: &[u32], n: usize, v: usize) -> Result<()> {
    check_len(op, "row ids", ids.len(), n)?;
    match ids.iter().position(|&r| r as usize >= v) {
        Some(p) => Err(Error::Value {
            op,
            what: "row id".into(),
            position: p,
            value: ids[p] as f64,
            expected: format!("an id below the table's {v} rows"),
        }),
        None => Ok(()),
    }
}

fn check_bags(offsets: &[u32], ids: &[u32], n: usize, v: usize) -> Result<()> {
    check_len("EmbeddingBag", "offsets", offsets.len(), n + 1)?;
    crate::ops::embedding_bag::check_offsets("EmbeddingBag", offsets, ids.len())?;
    check_ids("EmbeddingBag", ids, ids.len(), v)
}
