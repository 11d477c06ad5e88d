//! Negative items for a user: uniform over the catalogue or ∝ popularity^β, never an
//! item the user has a pair with (in any set), seeded.
//!
//! # Derivation
//!
//! With training counts c_i (pairs of item i in the training set) the popularity
//! sampler draws item i with probability
//!
//! ```text
//! p_i = c_i^β / Σ_j c_j^β          (β = 0: uniform over items with c_i > 0)
//! ```
//!
//! by inverse transform: `u ~ U[0, 1)`, the smallest i with `C_i > u·C_V`, where
//! `C_i = Σ_{j ≤ i} c_j^β` is the cumulative weight (binary search, O(log V)).
//! Items without a training pair have weight 0 and are never drawn. The uniform
//! sampler draws `⌊u·V⌋` over all V catalogue items. A drawn item the user knows is
//! rejected and drawn again, so the result follows p restricted to the unknown items
//! and renormalised: `p_i / (1 − Σ_{j known} p_j)`.

use super::read::Interactions;
use crate::config::interactions::{NegativesConfig, Sampling};
use crate::error::{Error, Result};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::Rng;
use std::collections::HashSet;

/// Draws negative items (indices into the catalogue).
#[derive(Clone, Debug)]
pub struct NegativeSampler {
    n_items: usize,
    /// `popularity`: C_i, the cumulative weights; `uniform`: empty.
    cumulative: Vec<f64>,
    /// Items that can be drawn at all (weight > 0).
    drawable: Vec<bool>,
}

impl NegativeSampler {
    /// Uniform over `n_items` items.
    pub fn uniform(n_items: usize) -> NegativeSampler {
        NegativeSampler {
            n_items,
            cumulative: Vec::new(),
            drawable: vec![true; n_items],
        }
    }

    /// Item i ∝ `counts[i]^beta` (items with count 0 are never drawn).
    pub fn popularity(counts: &[u64], beta: f64) -> Result<NegativeSampler> {
        if !beta.is_finite() || beta < 0.0 {
            return Err(Error::Config {
                what: "data.negatives.beta".into(),
                message: format!("is {beta}; expected a finite exponent ≥ 0, e.g. 0.75"),
            });
        }
        let mut total = 0f64;
        let cumulative: Vec<f64> = counts
            .iter()
            .map(|&c| {
                total += if c > 0 { (c as f64).powf(beta) } else { 0.0 };
                total
            })
            .collect();
        Ok(NegativeSampler {
            n_items: counts.len(),
            cumulative,
            drawable: counts.iter().map(|&c| c > 0).collect(),
        })
    }

    /// The sampler `neg` asks for; popularity counts the training pairs of each item.
    pub fn for_interactions(
        inter: &Interactions,
        neg: &NegativesConfig,
    ) -> Result<NegativeSampler> {
        match neg.sampling {
            Sampling::Uniform => Ok(NegativeSampler::uniform(inter.items.len())),
            Sampling::Popularity => NegativeSampler::popularity(&train_counts(inter), neg.beta),
        }
    }

    /// V.
    pub fn num_items(&self) -> usize {
        self.n_items
    }

    /// One item, ignoring what the user knows.
    pub fn draw(&self, rng: &mut StdRng) -> u32 {
        let u: f64 = rng.gen();
        if self.cumulative.is_empty() {
            return ((u * self.n_items as f64) as usize).min(self.n_items - 1) as u32;
        }
        let target = u * self.cumulative[self.n_items - 1];
        // the smallest i with C_i > target
        self.cumulative
            .partition_point(|&c| c <= target)
            .min(self.n_items - 1) as u32
    }

    /// `k` items not in `known` (repeats allowed among them). An error when every
    /// drawable item is known (no negative exists).
    pub fn negatives(&self, known: &HashSet<u32>, k: usize, rng: &mut StdRng) -> Result<Vec<u32>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let drawable = self.drawable.iter().filter(|&&ok| ok).count();
        let known_drawable = known
            .iter()
            .filter(|&&i| self.drawable.get(i as usize).copied().unwrap_or(false))
            .count();
        if drawable <= known_drawable {
            return Err(Error::Config {
                what: "data.negatives".into(),
                message: format!(
                    "a user has a pair with every one of the {drawable} items that can be drawn, so no negative exists for them; use more data, sampling = \"uniform\", or k = 0"
                ),
            });
        }
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let i = self.draw(rng);
            if !known.contains(&i) {
                out.push(i);
            }
        }
        Ok(out)
    }
}

/// Per item, its number of training pairs.
pub fn train_counts(inter: &Interactions) -> Vec<u64> {
    let mut c = vec![0u64; inter.items.len()];
    for p in &inter.pairs {
        if p.set == super::read::Set::Train {
            c[p.item as usize] += 1;
        }
    }
    c
}
