//! The rows a tabular baseline is fitted on, read in chunks in row order: one task's
//! labels and mask with the user and item ids beside them. A fit is a few passes over
//! them (one for `popularity`, 2-3 per sweep for `biases`), so the rows need not be in
//! memory: a memory-mapped cache set ([`crate::data::cache::CachedSet`]) is read one
//! chunk of four columns at a time, through the same [`Rows`] trait as the in-memory
//! [`crate::data::features::Encoded`].
//!
//! Every sum of a fit runs over the rows in row order whatever the chunk size, so a fit
//! from chunks has the bits of the fit from whole columns (tested).

use crate::data::rows::Rows;

/// Rows per chunk of a [`RowsScan`] (4 columns of 4 bytes: 1 MiB).
pub const CHUNK: usize = 1 << 16;

/// What a [`Scan`] hands each chunk to: (user ids, item ids, labels, mask), `(C,)` each.
pub type ChunkFn<'a> = dyn FnMut(&[u32], &[u32], &[f32], &[f32]) + 'a;

/// One task's rows in chunks: each [`Scan::scan`] hands every chunk, in row order, to `f`.
pub trait Scan {
    fn scan(&self, f: &mut ChunkFn<'_>);
}

/// Whole columns in memory: one chunk.
#[derive(Clone, Copy, Debug)]
pub struct Columns<'a> {
    pub users: &'a [u32],
    pub items: &'a [u32],
    pub y: &'a [f32],
    pub mask: &'a [f32],
}

impl Scan for Columns<'_> {
    fn scan(&self, f: &mut ChunkFn<'_>) {
        f(self.users, self.items, self.y, self.mask)
    }
}

/// Task `task` of a set of encoded rows with its user and item columns (categorical
/// feature indices; `None` reads id 0 for every row), `chunk` rows at a time.
pub struct RowsScan<'a> {
    pub rows: &'a dyn Rows,
    pub user: Option<usize>,
    pub item: Option<usize>,
    pub task: usize,
    pub chunk: usize,
}

impl Scan for RowsScan<'_> {
    fn scan(&self, f: &mut ChunkFn<'_>) {
        let n = self.rows.len();
        let (mut u, mut i, mut y, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let col = |c: Option<usize>, r: std::ops::Range<usize>, out: &mut Vec<u32>| match c {
            Some(c) => self.rows.cat_range(c, r, out),
            None => {
                out.clear();
                out.resize(r.len(), 0);
            }
        };
        let mut start = 0;
        while start < n {
            let end = (start + self.chunk.max(1)).min(n);
            col(self.user, start..end, &mut u); // (C,)
            col(self.item, start..end, &mut i); // (C,)
            self.rows.task_range(self.task, start..end, &mut y, &mut m); // (C,) each
            f(&u, &i, &y, &m);
            start = end;
        }
    }
}
