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

use super::cells::Codes;
use super::parse::Parsed;
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
///
/// ```text
/// slot     every value registered: a training row's (merge), or in the one-pass build
///          any kept row's (slots); numbered in order of registration; provisional id
///          of a value = its slot + 1 (0 = missing), what the spill holds (spill.rs)
/// train    the slots seen in training rows, in order of first appearance (row order)
/// finish   train (temporal: sorted by first place in time order), count ≥ min_count
/// remap    provisional id → the fitted encoder's id, for the copy pass (copy.rs)
/// ```
#[derive(Default)]
pub(super) struct VocabFit {
    /// Every registered value, numbered by slot (cells.rs's short-key table: one word
    /// compared per probe; a `HashMap<String, u32>` was a visible cost of the
    /// sequential part of pass 1).
    index: Codes,
    /// Per slot: its training count.
    counts: Vec<u64>,
    /// The slots of training values in order of first appearance.
    train: Vec<u32>,
    /// `split.kind = "temporal"`: each slot's first training place in time order
    /// (split_order.rs); empty otherwise (first appearance is the merge order).
    first: Vec<u64>,
}

impl VocabFit {
    /// The slot of `text`, registered if new.
    fn slot(&mut self, text: &str) -> u32 {
        let (i, new) = self.index.code(text);
        if new {
            self.counts.push(0);
        }
        i
    }

    /// The provisional id of each entry of a chunk's `dict` (its slot + 1; 0 for a
    /// missing one), registering new values.                           (dict.len(),)
    pub(super) fn slots(&mut self, dict: &[Option<String>]) -> Vec<u32> {
        (dict.iter())
            .map(|t| t.as_deref().map_or(0, |t| self.slot(t) + 1))
            .collect()
    }

    /// The provisional id of one token (slot + 1), registered if new.
    pub(super) fn token(&mut self, text: &str) -> u32 {
        self.slot(text) + 1
    }

    /// Adds a chunk's counts (chunks in file order): `order` its training codes in order
    /// of first appearance, `counts` per code; `ids`: the provisional id of each code
    /// ([`slots`](Self::slots)), or `None`: look each text up.
    pub(super) fn merge(
        &mut self,
        dict: &[Option<String>],
        order: &[u32],
        counts: &[u64],
        ids: Option<&[u32]>,
    ) {
        for &c in order {
            let i = match ids {
                Some(ids) => ids[c as usize] - 1,
                None => self.slot(dict[c as usize].as_deref().unwrap_or_default()),
            } as usize;
            if self.counts[i] == 0 {
                self.train.push(i as u32);
            }
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
        ids: Option<&[u32]>,
    ) {
        self.merge(dict, order, counts, ids);
        self.first.resize(self.index.len(), u64::MAX);
        for &c in order {
            let i = match ids {
                Some(ids) => ids[c as usize] - 1,
                None => (self
                    .index
                    .get(dict[c as usize].as_deref().unwrap_or_default()))
                .expect("merge registered every training value"),
            } as usize;
            self.first[i] = self.first[i].min(first[c as usize]);
        }
    }

    /// The values counted at least `min_count` times, in first-appearance order (copied
    /// out), and per provisional id its id among them (index + 1, the encoder's
    /// `Lookup` id; 0: missing or not kept).                          (slots + 1,)
    pub(super) fn into_vocab(mut self, min_count: usize) -> (Vec<String>, Vec<u32>) {
        let mut order = std::mem::take(&mut self.train);
        if !self.first.is_empty() {
            // temporal: first appearance in time order (places are distinct)
            order.sort_unstable_by_key(|&i| self.first[i as usize]);
        }
        let keep = min_count.max(1) as u64;
        let mut remap = vec![0u32; self.index.len() + 1];
        let mut out = Vec::new();
        for i in order.into_iter().map(|i| i as usize) {
            if self.counts[i] >= keep {
                out.push(self.index.text(i).to_string());
                remap[i + 1] = out.len() as u32;
            }
        }
        (out, remap)
    }

    /// Per provisional id, its id under an encoder without vocabulary (`id`: a hashed
    /// feature's `Lookup::id`; 0 stays 0, the missing value).       (slots + 1,)
    pub(super) fn remap(&self, id: impl Fn(&str) -> u32 + Sync) -> Vec<u32> {
        use rayon::prelude::*;
        let mut out = vec![0u32; self.index.len() + 1];
        (out[1..].par_iter_mut().enumerate()).for_each(|(i, o)| *o = id(self.index.text(i)));
        out
    }
}
