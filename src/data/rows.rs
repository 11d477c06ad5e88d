//! [`Rows`]: what training, validation, `eval` and `predict` need of a set of encoded
//! rows: its length, a mini-batch of any rows, and each task's labels and mask. Held in
//! memory ([`Encoded`]) or memory-mapped from the on-disk cache
//! ([`crate::data::cache::CachedSet`]); both fill the same [`EncodedBatch`].

use crate::data::features::{Encoded, EncodedBatch};
use crate::data::ingest::RowSource;
use std::ops::Range;

/// A set of N encoded rows that mini-batches are drawn from.
pub trait Rows {
    /// N.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `out` with the rows `rows` (valid row numbers, in that order).
    fn batch(&self, rows: &[usize], out: &mut EncodedBatch);

    /// Task k's labels and mask over all rows: `(N,)` each.
    fn task_column(&self, k: usize) -> (Vec<f32>, Vec<f32>);

    /// Categorical column f of the rows `rows` into `out` (cleared first): `(len,)`.
    /// A streaming pass (the baselines' fits) reads one column at a time this way.
    fn cat_range(&self, f: usize, rows: Range<usize>, out: &mut Vec<u32>);

    /// Task k's labels and mask of the rows `rows` into `y` and `mask` (cleared first):
    /// `(len,)` each.
    fn task_range(&self, k: usize, rows: Range<usize>, y: &mut Vec<f32>, mask: &mut Vec<f32>);

    /// Where row r came from (file index, line).
    fn source(&self, r: usize) -> RowSource;
}

impl Rows for Encoded {
    fn len(&self) -> usize {
        Encoded::len(self)
    }

    fn batch(&self, rows: &[usize], out: &mut EncodedBatch) {
        Encoded::batch(self, rows, out)
    }

    fn task_column(&self, k: usize) -> (Vec<f32>, Vec<f32>) {
        Encoded::task_column(self, k)
    }

    fn cat_range(&self, f: usize, rows: Range<usize>, out: &mut Vec<u32>) {
        out.clear();
        out.extend(rows.map(|r| self.cat[r * self.n_cat + f])); // (N, F_cat) row-major
    }

    fn task_range(&self, k: usize, rows: Range<usize>, y: &mut Vec<f32>, mask: &mut Vec<f32>) {
        let kk = self.n_tasks;
        y.clear();
        y.extend(rows.clone().map(|r| self.labels[r * kk + k])); // (N, K) row-major
        mask.clear();
        mask.extend(rows.map(|r| self.mask[r * kk + k]));
    }

    fn source(&self, r: usize) -> RowSource {
        self.source[r]
    }
}
