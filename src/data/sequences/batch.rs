//! Padded mini-batches of sequences.
//!
//! A batch holds B sequences right-padded to the longest one, T, with item id 0:
//!
//! ```text
//! ids   (B·T)  item ids, row b·T + t is position t of sequence b; 0 after its length
//! pos   (B·T)  position index t (0 on padding)
//! mask  (B·T)  1 on real positions, 0 on padding
//! lens  (B)    real length of each sequence
//! rows  (N)    rows of (B·T) that carry a target (training: every position; evaluation:
//!              the last position of each sequence)
//! targets (N)  the next item at each of those rows; ratings (N) its rating, if known
//! ```
//!
//! Sequences longer than the model's `max_len` keep their most recent `max_len` items.

use super::{Holdout, PAD};
use crate::nn::batch::SeqInput;

/// A user's training sequence: items oldest first, with ratings where known.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqExample {
    pub user: usize,
    pub items: Vec<u32>,
    pub ratings: Option<Vec<f32>>,
}

/// A padded batch; see the module documentation for the layout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeqBatch {
    pub b: usize,
    pub t: usize,
    pub ids: Vec<u32>,
    pub pos: Vec<u32>,
    pub mask: Vec<f32>,
    pub lens: Vec<usize>,
    pub rows: Vec<u32>,
    pub targets: Vec<u32>,
    pub ratings: Option<Vec<f32>>,
    /// Index of each sequence's user.
    pub users: Vec<usize>,
}

impl SeqBatch {
    fn with_inputs(inputs: &[&[u32]], users: Vec<usize>) -> SeqBatch {
        let b = inputs.len();
        let t = inputs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut batch = SeqBatch {
            b,
            t,
            ids: vec![PAD; b * t],
            pos: vec![0; b * t],
            mask: vec![0.0; b * t],
            lens: inputs.iter().map(|s| s.len()).collect(),
            users,
            ..SeqBatch::default()
        };
        for (i, s) in inputs.iter().enumerate() {
            for (j, &id) in s.iter().enumerate() {
                batch.ids[i * t + j] = id;
                batch.pos[i * t + j] = j as u32;
                batch.mask[i * t + j] = 1.0;
            }
        }
        batch
    }

    /// Training batch, next-item target at every position: input `s_1 … s_{m−1}`,
    /// targets `s_2 … s_m` (the last `max_len` of each). Examples with fewer than 2 items
    /// have no target and are left out.
    pub fn train(examples: &[&SeqExample], max_len: usize) -> SeqBatch {
        let examples: Vec<&SeqExample> = examples
            .iter()
            .copied()
            .filter(|e| e.items.len() >= 2)
            .collect();
        let mut inputs = Vec::with_capacity(examples.len());
        let mut outs = Vec::with_capacity(examples.len());
        for e in &examples {
            let m = e.items.len();
            let l = (m - 1).min(max_len);
            inputs.push(&e.items[m - 1 - l..m - 1]);
            outs.push(m - l..m);
        }
        let users = examples.iter().map(|e| e.user).collect();
        let mut batch = SeqBatch::with_inputs(&inputs, users);
        let with_ratings = examples.iter().all(|e| e.ratings.is_some());
        let mut ratings = Vec::new();
        for (i, (e, range)) in examples.iter().zip(outs).enumerate() {
            for (j, k) in range.enumerate() {
                batch.rows.push((i * batch.t + j) as u32);
                batch.targets.push(e.items[k]);
                if let (true, Some(r)) = (with_ratings, &e.ratings) {
                    ratings.push(r[k]);
                }
            }
        }
        batch.ratings = with_ratings.then_some(ratings);
        batch
    }

    /// Evaluation batch: the last `max_len` items of each history, one target row at the
    /// last position (position 0 for an empty history, which then reads only padding).
    pub fn eval(holdouts: &[&Holdout], max_len: usize) -> SeqBatch {
        let inputs: Vec<&[u32]> = holdouts
            .iter()
            .map(|h| &h.history[h.history.len().saturating_sub(max_len)..])
            .collect();
        let users = holdouts.iter().map(|h| h.user).collect();
        let mut batch = SeqBatch::with_inputs(&inputs, users);
        for (i, h) in holdouts.iter().enumerate() {
            batch
                .rows
                .push((i * batch.t + batch.lens[i].max(1) - 1) as u32);
            batch.targets.push(h.target);
        }
        let rated: Option<Vec<f32>> = holdouts.iter().map(|h| h.rating).collect();
        batch.ratings = rated;
        batch
    }

    /// The view the model reads.
    pub fn input(&self) -> SeqInput<'_> {
        SeqInput {
            b: self.b,
            t: self.t,
            ids: &self.ids,
            pos: &self.pos,
            lens: &self.lens,
            rows: &self.rows,
        }
    }

    /// Number of target rows N.
    pub fn num_targets(&self) -> usize {
        self.rows.len()
    }
}
