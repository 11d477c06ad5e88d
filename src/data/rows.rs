//! [`Rows`]: what training, validation, `eval` and `predict` need of a set of encoded
//! rows: its length, a mini-batch of any rows, and each task's labels and mask. Held in
//! memory ([`Encoded`]) or memory-mapped from the on-disk cache
//! ([`crate::data::cache::CachedSet`]); both fill the same [`EncodedBatch`].

use crate::data::features::{Encoded, EncodedBatch};

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
}
