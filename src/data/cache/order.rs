//! The order of one epoch's rows: a full shuffle, or a block shuffle for rows read from
//! the memory-mapped cache.
//!
//! Block shuffle of N rows with block size S and window W: the ⌈N/S⌉ blocks of
//! consecutive rows are shuffled; then, in that order, blocks are taken ⌈W/S⌉ at a time
//! and the rows of each such window are shuffled. Consecutive reads stay within a
//! window (a few MB of the map), and the order is held one window at a time, so its
//! memory does not grow with N. It is a function of (N, S, W, B, seed) only: the same
//! for every thread count. W = 0 or W ≥ N is the full shuffle
//! `(0..N).shuffle(StdRng::seed_from_u64(seed))`, the in-memory path's order.
//!
//! Mini-batches of B rows never straddle a short remainder: rows left over at the end
//! of a window are carried to the front of the next one (they keep their place, the
//! new window's rows are shuffled behind them), so every epoch has ⌈N/B⌉ steps.

use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;

/// An epoch's mini-batches of row numbers, one at a time ([`EpochOrder::next_batch`]).
pub struct EpochOrder {
    n: usize,
    batch: usize,
    block: usize,
    /// Blocks per window.
    per_window: usize,
    /// Shuffled block numbers (empty for the full shuffle).
    blocks: Vec<u32>,
    next_block: usize,
    /// The rows of the current window (all N rows for the full shuffle).
    buf: Vec<usize>,
    pos: usize,
    rng: StdRng,
}

impl EpochOrder {
    /// The order of `n` rows in batches of `batch`, blocks of `block` rows, windows of
    /// `window` rows (0: full shuffle), for `seed`.
    pub fn new(n: usize, batch: usize, block: usize, window: usize, seed: u64) -> EpochOrder {
        let mut rng = StdRng::seed_from_u64(seed);
        let block = block.max(1);
        let full = window == 0 || window >= n;
        let (blocks, buf) = if full {
            let mut all: Vec<usize> = (0..n).collect();
            all.shuffle(&mut rng);
            (Vec::new(), all)
        } else {
            let mut b: Vec<u32> = (0..n.div_ceil(block) as u32).collect();
            b.shuffle(&mut rng);
            (b, Vec::with_capacity(window + batch + block))
        };
        EpochOrder {
            n,
            batch: batch.max(1),
            block,
            per_window: window.div_ceil(block).max(1),
            blocks,
            next_block: 0,
            buf,
            pos: 0,
            rng,
        }
    }

    /// The next mini-batch (B rows; fewer only for the epoch's last), or `None` at the end.
    pub fn next_batch(&mut self) -> Option<&[usize]> {
        if self.buf.len() - self.pos < self.batch && self.next_block < self.blocks.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
            let start = self.buf.len();
            let end = (self.next_block + self.per_window).min(self.blocks.len());
            for &b in &self.blocks[self.next_block..end] {
                let lo = b as usize * self.block;
                self.buf.extend(lo..(lo + self.block).min(self.n));
            }
            self.next_block = end;
            self.buf[start..].shuffle(&mut self.rng);
        }
        if self.pos >= self.buf.len() {
            return None;
        }
        let end = (self.pos + self.batch).min(self.buf.len());
        let s = self.pos;
        self.pos = end;
        Some(&self.buf[s..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(mut o: EpochOrder) -> Vec<Vec<usize>> {
        let mut v = Vec::new();
        while let Some(b) = o.next_batch() {
            v.push(b.to_vec());
        }
        v
    }

    #[test]
    fn full_shuffle_is_the_in_memory_order() {
        let mut expect: Vec<usize> = (0..1000).collect();
        expect.shuffle(&mut StdRng::seed_from_u64(7));
        let got: Vec<usize> = all(EpochOrder::new(1000, 64, 100, 0, 7)).concat();
        assert_eq!(got, expect);
        let got: Vec<usize> = all(EpochOrder::new(1000, 64, 100, 5000, 7)).concat();
        assert_eq!(got, expect);
    }

    #[test]
    fn block_shuffle_is_a_permutation_in_full_batches_and_deterministic() {
        let (n, b) = (10_007, 64);
        let batches = all(EpochOrder::new(n, b, 100, 1000, 3));
        assert_eq!(batches.len(), n.div_ceil(b));
        assert!(batches[..batches.len() - 1].iter().all(|x| x.len() == b));
        let mut rows = batches.concat();
        assert_ne!(rows[..200], (0..200).collect::<Vec<_>>()[..]);
        assert_eq!(batches, all(EpochOrder::new(n, b, 100, 1000, 3)));
        assert_ne!(batches, all(EpochOrder::new(n, b, 100, 1000, 4)));
        rows.sort_unstable();
        assert_eq!(rows, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn a_window_stays_within_its_blocks() {
        // window of 2 blocks of 100: the first 200 rows come from two blocks
        let first: Vec<usize> =
            all(EpochOrder::new(1000, 50, 100, 200, 1)).concat()[..200].to_vec();
        let mut blocks: Vec<usize> = first.iter().map(|r| r / 100).collect();
        blocks.sort_unstable();
        blocks.dedup();
        assert_eq!(blocks.len(), 2, "{blocks:?}");
    }
}
