//! Encoded rows (ids, scaled numbers, bags, labels and masks) and the mini-batch
//! buffers a training loop fills from them without allocating.

use super::text::TextRows;
use crate::data::ingest::RowSource;
pub use crate::nn::batch::{Bags, EncodedBatch};

/// N encoded rows. Feature order is that of the [`super::FeatureSpec`]: categorical
/// features, multi-hot features and numeric features, each in configuration order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Encoded {
    /// F_cat, F_num, K: the widths (kept so that an empty set still knows them).
    pub n_cat: usize,
    pub n_num: usize,
    pub n_tasks: usize,
    /// Categorical ids, 0 = out of vocabulary / missing.     // (N, F_cat) row-major
    pub cat: Vec<u32>,
    /// Scaled numeric features.                              // (N, F_num) row-major
    pub num: Vec<f32>,
    /// One per multi-hot feature: offsets (N + 1), ids.
    pub bags: Vec<Bags>,
    /// Task labels (0 where masked).                         // (N, K) row-major
    pub labels: Vec<f32>,
    /// 1 = the row has this task's label, 0 = missing.       // (N, K) row-major
    pub mask: Vec<f32>,
    /// Where each row came from (file index, line).          // (N,)
    pub source: Vec<RowSource>,
    /// One per text feature: the shared text table and each row's id (attached by
    /// `text::attach_texts`; empty until then).
    pub text: Vec<TextRows>,
}

impl Encoded {
    /// An empty set with these widths.
    pub fn empty(n_cat: usize, n_bags: usize, n_num: usize, n_tasks: usize) -> Encoded {
        Encoded {
            n_cat,
            n_num,
            n_tasks,
            bags: vec![Bags::default(); n_bags],
            ..Default::default()
        }
    }

    /// Number of rows N.
    pub fn len(&self) -> usize {
        self.source.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// The rows `rows`, in that order (indices may repeat).
    pub fn select(&self, rows: &[usize]) -> Encoded {
        let (fc, fn_, k) = (self.n_cat, self.n_num, self.n_tasks);
        let mut out = Encoded::empty(fc, self.bags.len(), fn_, k);
        out.cat.reserve(rows.len() * fc);
        out.num.reserve(rows.len() * fn_);
        out.labels.reserve(rows.len() * k);
        out.mask.reserve(rows.len() * k);
        for &r in rows {
            out.cat.extend_from_slice(&self.cat[r * fc..(r + 1) * fc]);
            out.num.extend_from_slice(&self.num[r * fn_..(r + 1) * fn_]);
            out.labels
                .extend_from_slice(&self.labels[r * k..(r + 1) * k]);
            out.mask.extend_from_slice(&self.mask[r * k..(r + 1) * k]);
            out.source.push(self.source[r]);
            for (o, b) in out.bags.iter_mut().zip(&self.bags) {
                o.push(b.bag(r));
            }
        }
        out.text = self
            .text
            .iter()
            .map(|t| TextRows {
                dim: t.dim,
                table: t.table.clone(),
                ids: rows.iter().map(|&r| t.ids[r]).collect(),
            })
            .collect();
        out
    }

    /// Task k's labels and mask over all rows: `(N,)` each.
    pub fn task_column(&self, k: usize) -> (Vec<f32>, Vec<f32>) {
        let col = |m: &[f32]| m.iter().skip(k).step_by(self.n_tasks).copied().collect();
        (col(&self.labels), col(&self.mask))
    }

    /// Fills `out` with the rows `rows`. Reuses `out`'s buffers: once they have grown
    /// to the largest batch, filling allocates nothing.
    pub fn batch(&self, rows: &[usize], out: &mut EncodedBatch) {
        let (fc, fn_, k) = (self.n_cat, self.n_num, self.n_tasks);
        out.rows = rows.len();
        out.n_num = fn_;
        out.cat.resize_with(fc, Vec::new);
        for (f, ids) in out.cat.iter_mut().enumerate() {
            ids.clear();
            ids.extend(rows.iter().map(|&r| self.cat[r * fc + f]));
        }
        out.num.clear();
        for &r in rows {
            out.num.extend_from_slice(&self.num[r * fn_..(r + 1) * fn_]);
        }
        out.bags.resize_with(self.bags.len(), Bags::default);
        for (o, b) in out.bags.iter_mut().zip(&self.bags) {
            o.clear();
            for &r in rows {
                o.push(b.bag(r));
            }
        }
        out.labels.resize_with(k, Vec::new);
        out.mask.resize_with(k, Vec::new);
        for t in 0..k {
            out.labels[t].clear();
            out.labels[t].extend(rows.iter().map(|&r| self.labels[r * k + t]));
            out.mask[t].clear();
            out.mask[t].extend(rows.iter().map(|&r| self.mask[r * k + t]));
        }
        out.text.resize_with(self.text.len(), Vec::new);
        for (o, t) in out.text.iter_mut().zip(&self.text) {
            o.clear();
            for &r in rows {
                let i = t.ids[r] as usize;
                o.extend_from_slice(&t.table[i * t.dim..(i + 1) * t.dim]); // (1, D_t)
            }
        }
    }
}
