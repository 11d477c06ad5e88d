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
use crate::data::features::{is_missing, random_assignment, tokens};
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
pub(super) fn chunk_counts(p: &Parsed, sets: &[u8], fc: usize) -> Vec<(Vec<u32>, Vec<u64>)> {
    let stride = p.dict.len(); // F_cat + F_bag
    (0..fc)
        .map(|f| {
            let mut counts = vec![0u64; p.dict[f].len()];
            let mut order = Vec::new();
            for (r, &s) in sets.iter().enumerate() {
                let c = p.cat[r * stride + f] as usize;
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

/// One chunk's part of a multi-hot feature: its training tokens in order of first
/// appearance with their counts (what [`VocabFit::merge`] takes), and how many ids the
/// rows of each set hold (a missing cell is the list [0]; a missing token is id 0).
pub(super) struct BagCounts {
    pub tokens: Vec<Option<String>>,
    pub order: Vec<u32>,
    pub counts: Vec<u64>,
    pub ids: [usize; 4],
}

/// The list of one cell of a multi-hot feature, as `features::vocab::encode_bags` makes
/// it: `None` for a missing cell (the list [0]), else each token (`None` = missing: id 0).
pub(super) fn cell_tokens<'t>(
    cell: Option<&'t str>,
    sep: &'t str,
    missing: &[String],
) -> Option<Vec<Option<&'t str>>> {
    cell.map(|t| {
        tokens(t, sep)
            .map(|x| (!is_missing(x, missing)).then_some(x))
            .collect()
    })
}

/// [`BagCounts`] of every multi-hot feature of chunk `p` (its cells are `p.dict[fc + b]`):
/// the training rows' tokens in row order, as `features::vocab::fit_bag_vocab` counts them.
pub(super) fn bag_counts(
    p: &Parsed,
    sets: &[u8],
    fc: usize,
    bags: &[(usize, String)],
    missing: &[String],
) -> Vec<BagCounts> {
    let stride = p.dict.len();
    (bags.iter().enumerate())
        .map(|(b, (_, sep))| {
            let col = fc + b;
            let cells: Vec<Option<Vec<Option<&str>>>> = (p.dict[col].iter())
                .map(|t| cell_tokens(t.as_deref(), sep, missing))
                .collect();
            let mut out = BagCounts {
                tokens: Vec::new(),
                order: Vec::new(),
                counts: Vec::new(),
                ids: [0; 4],
            };
            let mut local: HashMap<&str, u32> = HashMap::new();
            for (r, &s) in sets.iter().enumerate() {
                let cell = &cells[p.cat[r * stride + col] as usize];
                out.ids[s as usize] += cell.as_ref().map_or(1, Vec::len);
                let Some(toks) = cell.as_ref().filter(|_| s == 0) else {
                    continue;
                };
                for &t in toks.iter().flatten() {
                    let c = *local.entry(t).or_insert_with(|| {
                        out.tokens.push(Some(t.to_string()));
                        out.counts.push(0);
                        (out.tokens.len() - 1) as u32
                    });
                    if out.counts[c as usize] == 0 {
                        out.order.push(c);
                    }
                    out.counts[c as usize] += 1;
                }
            }
            out
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
    /// `split.kind = "temporal"`: each value's first training place in time order
    /// (split_order.rs); empty otherwise (first appearance is the merge order).
    first: Vec<u64>,
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

    /// [`merge`](Self::merge), with each local code's first training place (`first`,
    /// time order: temporal split) kept as the smallest over the chunks.
    pub(super) fn merge_ranked(
        &mut self,
        dict: &[Option<String>],
        order: &[u32],
        counts: &[u64],
        first: &[u64],
    ) {
        self.merge(dict, order, counts);
        self.first.resize(self.values.len(), u64::MAX);
        for &c in order {
            let i = self.index[dict[c as usize].as_deref().unwrap_or_default()];
            self.first[i] = self.first[i].min(first[c as usize]);
        }
    }

    /// The values counted at least `min_count` times, in first-appearance order.
    pub(super) fn finish(mut self, min_count: usize) -> Vec<String> {
        if !self.first.is_empty() {
            // temporal: first appearance in time order (places are distinct)
            let mut by: Vec<usize> = (0..self.values.len()).collect();
            by.sort_unstable_by_key(|&i| self.first[i]);
            let (values, counts) = (std::mem::take(&mut self.values), &self.counts);
            let mut values: Vec<Option<String>> = values.into_iter().map(Some).collect();
            self.values = by
                .iter()
                .map(|&i| values[i].take().unwrap_or_default())
                .collect();
            self.counts = by.iter().map(|&i| counts[i]).collect();
        }
        let keep = min_count.max(1) as u64;
        (self.values.into_iter().zip(self.counts))
            .filter(|(_, c)| *c >= keep)
            .map(|(v, _)| v)
            .collect()
    }
}
