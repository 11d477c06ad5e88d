//! Pass 1's second half: which set each kept row goes to, and the vocabularies.
//!
//! ```text
//! row i (0-based among kept rows, all files)  →  split::random_assignment(seed, i, ...)
//!                                                or the set of its file (split.kind = "files")
//! per chunk: train codes counted, in first-appearance order      (parallel)
//! merged chunk by chunk in file order                              (sequential)
//!   → the values seen ≥ min_count times, numbered in order of first appearance
//! ```
//! That is `features::vocab::fit_vocab` over the training rows in row order, so the
//! ids are those of the in-memory path.

use super::parse::{FxBuild, Parsed};
use crate::config::{SplitConfig, SplitKind};
use crate::data::features::random_assignment;
use std::collections::HashMap;

/// The set of each of `n` rows starting at kept row `start` of file `file`.
pub(super) fn sets_of(
    split: &SplitConfig,
    file_set: &[u8],
    file: u32,
    start: u64,
    n: usize,
) -> Vec<u8> {
    match split.kind {
        SplitKind::Files => vec![file_set[file as usize]; n],
        _ => (0..n as u64)
            .map(|i| random_assignment(split.seed, start + i, split.train, split.valid))
            .collect(),
    }
}

/// One chunk's training codes per categorical feature: local codes in order of first
/// appearance among its training rows, and each local code's count.
pub(super) fn chunk_counts(p: &Parsed, sets: &[u8]) -> Vec<(Vec<u32>, Vec<u64>)> {
    let fc = p.dict.len();
    (0..fc)
        .map(|f| {
            let mut counts = vec![0u64; p.dict[f].len()];
            let mut order = Vec::new();
            for (r, &s) in sets.iter().enumerate() {
                let c = p.cat[r * fc + f] as usize;
                if s != 0 || p.dict[f][c].is_none() {
                    continue;
                }
                if counts[c] == 0 {
                    order.push(c as u32);
                }
                counts[c] += 1;
            }
            (order, counts)
        })
        .collect()
}

/// One feature's vocabulary being merged.
#[derive(Default)]
pub(super) struct VocabFit {
    values: Vec<String>,
    counts: Vec<u64>,
    /// Fx-hashed: one lookup per distinct text per chunk (SipHash was a visible cost).
    index: HashMap<String, usize, FxBuild>,
}

impl VocabFit {
    /// Adds a chunk's counts (chunks in file order).
    pub(super) fn merge(&mut self, dict: &[Option<String>], order: &[u32], counts: &[u64]) {
        for &c in order {
            let text = dict[c as usize].as_deref().unwrap_or_default();
            let i = match self.index.get(text) {
                Some(&i) => i,
                None => {
                    self.values.push(text.to_string());
                    self.counts.push(0);
                    self.index.insert(text.to_string(), self.values.len() - 1);
                    self.values.len() - 1
                }
            };
            self.counts[i] += counts[c as usize];
        }
    }

    /// The values counted at least `min_count` times, in first-appearance order.
    pub(super) fn finish(self, min_count: usize) -> Vec<String> {
        let keep = min_count.max(1) as u64;
        (self.values.into_iter().zip(self.counts))
            .filter(|(_, c)| *c >= keep)
            .map(|(v, _)| v)
            .collect()
    }
}
