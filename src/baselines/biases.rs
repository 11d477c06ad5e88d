//! `biases`: z = μ + b_u + b_i, a global offset plus one bias per user and per item,
//! fitted on a task's labelled training rows by alternating exact or Newton updates of
//! one block of coordinates at a time (all users, then all items, then μ).
//!
//! # Derivation
//!
//! **Regression (ridge least squares).** Minimise
//!
//! ```text
//! L = ½ Σ_r (y_r − μ − b_{u(r)} − b_{i(r)})² + ½ λ (Σ_u b_u² + Σ_i b_i²)
//! ```
//!
//! L is a convex quadratic; with the items and μ fixed the users decouple, and
//! `∂L/∂b_u = −Σ_{r∈u} (y_r − μ − b_{i(r)} − b_u) + λ b_u = 0` gives the closed form
//!
//! ```text
//! b_u = Σ_{r∈u} (y_r − μ − b_{i(r)}) / (λ + n_u)
//! b_i = Σ_{r∈i} (y_r − μ − b_{u(r)}) / (λ + n_i)        (the same with users fixed)
//! μ   = Σ_r (y_r − b_{u(r)} − b_{i(r)}) / n              (μ is not penalised)
//! ```
//!
//! Each update is the exact minimiser of L over its block, so L never increases (block
//! coordinate descent on a strictly convex function for λ > 0; it converges to the
//! unique minimum). The fit starts at μ = ȳ, b = 0 and runs [`SWEEPS`] sweeps.
//!
//! **Binary (ridge logistic regression on the logit scale).** With σ(z) = 1 / (1 + e^{−z})
//! minimise the log loss plus the same penalty:
//!
//! ```text
//! L = Σ_r [ ln(1 + e^{z_r}) − y_r z_r ] + ½ λ (Σ_u b_u² + Σ_i b_i²),   z_r = μ + b_u + b_i
//! ∂L/∂b_u  = Σ_{r∈u} (σ(z_r) − y_r) + λ b_u
//! ∂²L/∂b_u² = Σ_{r∈u} σ(z_r)(1 − σ(z_r)) + λ
//! ```
//!
//! so one Newton step per coordinate (users decouple given items and μ, and vice versa):
//!
//! ```text
//! b_u ← b_u − clamp( (Σ_{r∈u} (σ(z_r) − y_r) + λ b_u) / (Σ_{r∈u} σ(z_r)(1 − σ(z_r)) + λ), ±STEP )
//! μ   ← μ − clamp( Σ_r (σ(z_r) − y_r) / Σ_r σ(z_r)(1 − σ(z_r)), ±STEP )
//! ```
//!
//! starting at μ = logit(ȳ), b = 0. The clamp (|Δ| ≤ [`MAX_STEP`]) only guards the first
//! steps of a coordinate whose curvature is tiny; near the optimum the steps are small.
//! The output is the logit z, as the metrics expect. Users and items not seen in training
//! have b = 0.

use super::popularity::logit;
use super::scan::{Columns, Scan};
use crate::config::TaskType;

/// Sweeps over (users, items, μ).
pub const SWEEPS: usize = 20;
/// Largest Newton step of one coordinate (logit units).
pub const MAX_STEP: f64 = 2.0;

/// A fitted μ + b_u + b_i.
#[derive(Clone, Debug, PartialEq)]
pub struct Biases {
    pub mu: f64,
    /// b_u by user id (unseen ids: 0).
    pub user: Vec<f64>,
    /// b_i by item id (unseen ids: 0).
    pub item: Vec<f64>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Calls `f(u, i, y)` for every labelled row (`mask > 0`) of `rows`, in row order.
fn each_labelled(rows: &dyn Scan, f: &mut dyn FnMut(usize, usize, f64)) {
    rows.scan(&mut |users, items, y, mask| {
        for ((&u, &i), (&yr, &m)) in users.iter().zip(items).zip(y.iter().zip(mask)) {
            if m > 0.0 {
                f(u as usize, i as usize, yr as f64);
            }
        }
    });
}

impl Biases {
    /// Fits μ, b_u, b_i on the labelled rows (`mask[r] > 0`) of one task with `sweeps`
    /// sweeps (see the module documentation for the updates).
    pub fn fit(
        users: &[u32],
        items: &[u32],
        y: &[f32],
        mask: &[f32],
        kind: TaskType,
        lambda: f64,
        sweeps: usize,
    ) -> Biases {
        let cols = Columns {
            users,
            items,
            y,
            mask,
        };
        Biases::fit_scan(&cols, kind, lambda, sweeps)
    }

    /// [`Biases::fit`] over the chunks of `rows`: one pass for the sizes and ȳ, then per
    /// sweep one pass per block. Every sum runs in row order, so any chunking gives the
    /// same bits, and nothing but the biases is held in memory.
    pub fn fit_scan(rows: &dyn Scan, kind: TaskType, lambda: f64, sweeps: usize) -> Biases {
        // sizes over every row (labelled or not); ȳ over the labelled ones
        let (mut nu, mut ni, mut total, mut count) = (0usize, 0usize, 0f64, 0usize);
        rows.scan(&mut |users, items, y, mask| {
            nu = users.iter().fold(nu, |a, &u| a.max(u as usize + 1));
            ni = items.iter().fold(ni, |a, &i| a.max(i as usize + 1));
            for (&yr, &m) in y.iter().zip(mask) {
                if m > 0.0 {
                    total += yr as f64;
                    count += 1;
                }
            }
        });
        let mean = if count == 0 {
            0.0
        } else {
            total / count as f64
        };
        let mut b = Biases {
            mu: match kind {
                TaskType::Binary => logit(mean),
                TaskType::Regression => mean,
            },
            user: vec![0.0; nu],
            item: vec![0.0; ni],
        };
        if count == 0 {
            return b;
        }
        for _ in 0..sweeps {
            match kind {
                TaskType::Regression => {
                    b.ridge_block(rows, lambda, true);
                    b.ridge_block(rows, lambda, false);
                    // μ = Σ (y − b_u − b_i) / n
                    let mut s = 0f64;
                    each_labelled(rows, &mut |u, i, y| s += y - b.user[u] - b.item[i]);
                    b.mu = s / count as f64;
                }
                TaskType::Binary => {
                    b.newton_block(rows, lambda, Some(true));
                    b.newton_block(rows, lambda, Some(false));
                    b.newton_block(rows, 0.0, None);
                }
            }
        }
        b
    }

    /// Closed-form ridge update of every user bias (`users`) or every item bias:
    /// b = Σ (y − μ − b_other) / (λ + n).
    fn ridge_block(&mut self, rows: &dyn Scan, lambda: f64, users: bool) {
        let len = if users {
            self.user.len()
        } else {
            self.item.len()
        };
        let (mut num, mut n) = (vec![0f64; len], vec![0f64; len]);
        each_labelled(rows, &mut |u, i, y| {
            let (own, other) = if users {
                (u, self.item[i])
            } else {
                (i, self.user[u])
            };
            num[own] += y - self.mu - other;
            n[own] += 1.0;
        });
        let b = if users {
            &mut self.user
        } else {
            &mut self.item
        };
        for ((b, &s), &c) in b.iter_mut().zip(&num).zip(&n) {
            *b = if c + lambda > 0.0 {
                s / (lambda + c)
            } else {
                0.0
            };
        }
    }

    /// One Newton step of every user bias (`Some(true)`), every item bias (`Some(false)`)
    /// or μ (`None`, λ = 0) of the penalised log loss.
    fn newton_block(&mut self, rows: &dyn Scan, lambda: f64, block: Option<bool>) {
        let len = match block {
            Some(true) => self.user.len(),
            Some(false) => self.item.len(),
            None => 1,
        };
        let (mut g, mut h) = (vec![0f64; len], vec![0f64; len]);
        each_labelled(rows, &mut |u, i, y| {
            let p = sigmoid(self.mu + self.user[u] + self.item[i]);
            let k = match block {
                Some(true) => u,
                Some(false) => i,
                None => 0,
            };
            g[k] += p - y; // Σ (σ(z) − y)
            h[k] += p * (1.0 - p); // Σ σ(z)(1 − σ(z))
        });
        let b: &mut [f64] = match block {
            Some(true) => &mut self.user,
            Some(false) => &mut self.item,
            None => std::slice::from_mut(&mut self.mu),
        };
        for ((b, &gk), &hk) in b.iter_mut().zip(&g).zip(&h) {
            let (gk, hk) = (gk + lambda * *b, hk + lambda);
            if hk > 0.0 {
                *b -= (gk / hk).clamp(-MAX_STEP, MAX_STEP);
            }
        }
    }

    /// z = μ + b_u + b_i (unseen ids contribute 0).
    pub fn output(&self, u: u32, i: u32) -> f32 {
        let bu = self.user.get(u as usize).copied().unwrap_or(0.0);
        let bi = self.item.get(i as usize).copied().unwrap_or(0.0);
        (self.mu + bu + bi) as f32
    }
}
