//! The reference reader of a cached set: a batch read through the memory map, as every
//! batch was before the resident chunks (read.rs). The full shuffle reads this way, and
//! the tests compare the chunks with it batch for batch.

use super::file::CachedSet;
use crate::data::features::{Bags, EncodedBatch};

impl CachedSet {
    /// The reference twin of [`crate::data::rows::Rows::batch`]: the rows read through the memory map (the
    /// reader before the chunks), its pages handed back every 64 MiB read (`RELEASE_BYTES`).
    /// The full shuffle's batches read this way; tests compare the chunks with it.
    pub fn batch_mapped(&self, rows: &[usize], out: &mut EncodedBatch) {
        let lay = self.lay;
        self.touch(
            rows.len() * 4 * (lay.n_cat + lay.n_num + 2 * lay.k + lay.n_text + 2 * lay.n_bag),
        );
        out.rows = rows.len();
        out.n_num = lay.n_num;
        out.cat.resize_with(lay.n_cat, Vec::new);
        for (f, ids) in out.cat.iter_mut().enumerate() {
            ids.clear();
            let col = self.words(lay.cat(f)); // (N,) u32
            ids.extend(rows.iter().map(|&r| u32::from_le_bytes(col[r])));
        }
        // (B, F_num) row-major, filled a column at a time: each column is read where the
        // rows are, instead of every column's page per row
        out.num.clear();
        out.num.resize(rows.len() * lay.n_num, 0.0);
        for f in 0..lay.n_num {
            let col = self.words(lay.num(f)); // (N,) f32
            for (x, &r) in (out.num.iter_mut().skip(f).step_by(lay.n_num)).zip(rows) {
                *x = f32::from_le_bytes(col[r]);
            }
        }
        out.bags.resize_with(lay.n_bag, Bags::default);
        for (b, o) in out.bags.iter_mut().enumerate() {
            o.clear();
            let ids = self.bags[b].ids;
            for &r in rows {
                let (s, e) = self.bag_range(b, r);
                o.ids.extend((s..e).map(|i| self.u32_at(ids + 4 * i)));
                o.offsets.push(o.ids.len() as u32);
            }
        }
        out.labels.resize_with(lay.k, Vec::new);
        out.mask.resize_with(lay.k, Vec::new);
        for t in 0..lay.k {
            let (lb, mb) = (self.words(lay.labels(t)), self.words(lay.mask(t)));
            out.labels[t].clear();
            out.labels[t].extend(rows.iter().map(|&r| f32::from_le_bytes(lb[r])));
            out.mask[t].clear();
            out.mask[t].extend(rows.iter().map(|&r| f32::from_le_bytes(mb[r])));
        }
        // (B, D_t) per text feature: the rows' texts looked up in the attached tables
        out.text.resize_with(self.texts.len(), Vec::new);
        for (t, (o, x)) in out.text.iter_mut().zip(&self.texts).enumerate() {
            o.clear();
            let base = lay.text(t);
            for &r in rows {
                let i = self.u32_at(base + 4 * r) as usize;
                o.extend_from_slice(&x.table[i * x.dim..(i + 1) * x.dim]); // (1, D_t)
            }
        }
    }
}
