//! Gradual magnitude pruning (Zhu & Gupta, "To prune, or not to prune", 2017).
//!
//! ```text
//! prunable: dense matrices `*.w` outside the input layer (not biases, not embedding
//!           tables, not layer-norm gains)
//! t: optimiser steps done;  t0 = (start_epoch − 1)·S,  t1 = end_epoch·S  (S steps per epoch)
//! s(t) = 0                                  t ≤ t0
//!      = s_f · (1 − (1 − (t − t0)/(t1 − t0))³)   t0 < t < t1
//!      = s_f                                t ≥ t1
//! after step t, when t0 < t ≤ t1 and ((t − t0) mod Δ = 0 or t = t1):
//!     M ← keep all but the ⌊s(t)·n⌋ smallest |W|   (n weights: all prunable ones for
//!                                                   scope "global", each matrix's for "layer")
//! after every step:  W ← M ⊙ W
//! ```
//!
//! # Derivation
//!
//! Zhu & Gupta write `s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³` for t ∈ {t0, t0 + Δt,
//! …, t0 + nΔt}; with `s_i = 0` and `nΔt = t1 − t0` that is
//! `s(t) = s_f · (1 − (1 − (t − t0)/(t1 − t0))³)`, the expression [`Schedule::sparsity_at`]
//! computes. Its slope `3 s_f (1 − u)² / (t1 − t0)` (u = (t − t0)/(t1 − t0)) is largest at
//! the start, while the network still has many redundant weights, and 0 at the end, so the
//! last mask updates remove few weights and the network recovers between them.
//!
//! Masked weights stay exactly zero: the optimiser's update of a pruned weight is undone
//! by `W ← M ⊙ W` after every step (`0 · x = 0` in IEEE arithmetic for finite x), and the
//! next mask update sees them as |w| = 0, the smallest magnitudes, so a growing sparsity
//! never revives them. The forward pass therefore computes with `M ⊙ W` without an extra
//! multiply; loading a checkpoint applies the saved masks again (`checkpoint::masks`).

use crate::autograd::{ParamId, ParamKind, ParamStore};
use crate::config::compress::{PruneConfig, PruneScope};
use crate::error::{Error, Result};

/// When the sparsity rises and to what.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// s_f.
    pub target: f64,
    /// t0 and t1 in steps.
    pub begin: usize,
    pub end: usize,
    /// Δ: steps between mask updates.
    pub every: usize,
}

impl Schedule {
    /// The schedule of `cfg` for `steps_per_epoch` steps per epoch (`every = 0`: one
    /// update per epoch).
    pub fn new(cfg: &PruneConfig, steps_per_epoch: usize) -> Schedule {
        let s = steps_per_epoch.max(1);
        Schedule {
            target: cfg.sparsity,
            begin: cfg.start_epoch.saturating_sub(1) * s,
            end: cfg.end_epoch * s,
            every: if cfg.every == 0 { s } else { cfg.every },
        }
    }

    /// s(t) of the module documentation.
    pub fn sparsity_at(&self, t: usize) -> f64 {
        if t <= self.begin {
            return 0.0;
        }
        if t >= self.end {
            return self.target;
        }
        let u = (t - self.begin) as f64 / (self.end - self.begin) as f64;
        self.target * (1.0 - (1.0 - u).powi(3))
    }

    /// Whether the masks are recomputed after step `t` (steps done).
    pub fn updates_after(&self, t: usize) -> bool {
        t > self.begin
            && t <= self.end
            && ((t - self.begin).is_multiple_of(self.every) || t == self.end)
    }
}

/// The parameters pruning applies to: dense `*.w` matrices outside the input layer.
/// Embedding tables are left dense: a zeroed table entry saves no compute (a lookup
/// reads the whole row) and the rows of rare ids are small by training, not by being
/// unimportant.
pub fn prunable(store: &ParamStore) -> Vec<ParamId> {
    store
        .ids()
        .filter(|&id| {
            let info = store.info(id);
            info.kind == ParamKind::Dense
                && info.name.ends_with(".w")
                && !info.name.starts_with("input.")
        })
        .collect()
}

/// Masks keeping all but the `⌊s·n⌋` smallest magnitudes of `ids` (ties: lower parameter,
/// then lower position, pruned first), over all of them (`Global`) or per matrix (`Layer`).
pub fn magnitude_masks(
    store: &ParamStore,
    ids: &[ParamId],
    sparsity: f64,
    scope: PruneScope,
) -> Vec<Vec<f32>> {
    let mut masks: Vec<Vec<f32>> = ids
        .iter()
        .map(|&id| vec![1.0; store.value(id).len()])
        .collect();
    let groups: Vec<Vec<usize>> = match scope {
        PruneScope::Global => vec![(0..ids.len()).collect()],
        PruneScope::Layer => (0..ids.len()).map(|p| vec![p]).collect(),
    };
    for group in groups {
        // (|w|, parameter, position) of every weight in the group
        let mut all: Vec<(f32, usize, usize)> = group
            .iter()
            .flat_map(|&p| {
                store
                    .value(ids[p])
                    .iter()
                    .enumerate()
                    .map(move |(i, w)| (w.abs(), p, i))
            })
            .collect();
        let k = ((sparsity * all.len() as f64).floor() as usize).min(all.len());
        if k == 0 {
            continue;
        }
        let order = |a: &(f32, usize, usize), b: &(f32, usize, usize)| {
            a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        if k < all.len() {
            all.select_nth_unstable_by(k - 1, order);
        }
        for &(_, p, i) in &all[..k] {
            masks[p][i] = 0.0;
        }
    }
    masks
}

/// The masks of a pruned run and when they change.
#[derive(Clone, Debug)]
pub struct Pruner {
    pub schedule: Schedule,
    pub scope: PruneScope,
    masks: Vec<(ParamId, Vec<f32>)>,
}

impl Pruner {
    /// All-ones masks for the prunable parameters of `store`.
    pub fn new(cfg: &PruneConfig, store: &ParamStore, steps_per_epoch: usize) -> Result<Pruner> {
        let ids = prunable(store);
        if ids.is_empty() {
            return Err(Error::Config {
                what: "train.prune".into(),
                message: "the model has no dense weight matrix (`*.w` outside the input layer) to prune; remove [train.prune]".into(),
            });
        }
        Ok(Pruner {
            schedule: Schedule::new(cfg, steps_per_epoch),
            scope: cfg.scope,
            masks: ids
                .into_iter()
                .map(|id| (id, vec![1.0; store.value(id).len()]))
                .collect(),
        })
    }

    /// The masks, one per prunable parameter (1 = kept, 0 = pruned).
    pub fn masks(&self) -> &[(ParamId, Vec<f32>)] {
        &self.masks
    }

    /// Takes the masks a checkpoint held (`--resume`); every prunable parameter must have one.
    pub fn restore(&mut self, saved: Vec<(ParamId, Vec<f32>)>, path: &str) -> Result<()> {
        for (id, m) in self.masks.iter_mut() {
            match saved.iter().find(|(s, _)| s == id) {
                Some((_, s)) => m.copy_from_slice(s),
                None => {
                    return Err(Error::Io {
                        path: path.into(),
                        message: "holds no pruning masks (`<param>.mask`) although the run prunes; it was written by a run without [train.prune]: start a new run (train.init_from fine-tunes a finished one)".into(),
                    })
                }
            }
        }
        Ok(())
    }

    /// `W ← M ⊙ W`.
    pub fn apply(&self, store: &mut ParamStore) {
        for (id, m) in &self.masks {
            store
                .value_mut(*id)
                .iter_mut()
                .zip(m)
                .for_each(|(w, k)| *w *= k);
        }
    }

    /// After optimiser step `t` (steps done): the masks of s(t) if the schedule updates
    /// them now, then `W ← M ⊙ W`.
    pub fn after_step(&mut self, store: &mut ParamStore, t: usize) {
        self.apply(store);
        if self.schedule.updates_after(t) {
            let ids: Vec<ParamId> = self.masks.iter().map(|(id, _)| *id).collect();
            let masks = magnitude_masks(store, &ids, self.schedule.sparsity_at(t), self.scope);
            for ((_, m), new) in self.masks.iter_mut().zip(masks) {
                *m = new;
            }
            self.apply(store);
        }
    }

    /// Whether step `t` is at or past the end of the schedule (the final sparsity).
    pub fn done(&self, t: usize) -> bool {
        t >= self.schedule.end
    }

    /// The fraction of prunable weights the masks remove.
    pub fn sparsity(&self) -> f64 {
        let n: usize = self.masks.iter().map(|(_, m)| m.len()).sum();
        let zeros: usize = self
            .masks
            .iter()
            .map(|(_, m)| m.iter().filter(|&&x| x == 0.0).count())
            .sum();
        zeros as f64 / n.max(1) as f64
    }
}
