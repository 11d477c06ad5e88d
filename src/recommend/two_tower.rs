//! Two-tower split of MMoE's first layers: the part of every first linear layer that
//! reads the user's columns is computed once per user, the part that reads the item's
//! once per item, so a (user, item) pair costs only the rest of the network.
//!
//! # Derivation
//!
//! The input row of a pair is the concatenation of feature blocks, each from one side
//! (the spec's order: categorical, multi-hot, numeric, text). A text feature's block is
//! its adaptor's output `A_t(t)` of the side's text vector `t`: a function of that side's
//! text alone, so it is computed with the side's other columns (an item title's block
//! once per item). With m_u ∈ {0,1}^{D_in} the
//! indicator of the user-side columns and m_i = 1 − m_u,
//!
//! ```text
//! x(u, i) = m_u ⊙ x_u + m_i ⊙ x_i                  x_u: u's encoded row, x_i: i's
//! ```
//!
//! (the user's row holds u's user-side values, the item's row i's item-side values;
//! the other columns are never read). Each first layer of MMoE is linear in x:
//! the experts' `Linear(D_in → E·D_1)` and each task's gate `Linear(D_in → E)`, so
//!
//! ```text
//! x(u, i)·W + b = (m_u ⊙ x_u)·W + b  +  (m_i ⊙ x_i)·W  =  P_u + Q_i
//! P_u = Σ_{c user-side} x_u[c] W[c, :] + b      (U, D_out), once per user
//! Q_i = Σ_{c item-side} x_i[c] W[c, :]          (I, D_out), once per item
//! ```
//!
//! A pair then costs D_out additions per layer instead of D_in·D_out multiply-adds;
//! the code computes `pre = P_u + Q_i`, then the experts' activation and later layers,
//! `gate_combine(experts, P^k_u + Q^k_i)` and the towers, exactly as `Mmoe::forward`.
//! Test: `two_tower_scores_equal_the_concatenated_rows` (tests/recommend_two_tower.rs).

use super::load::{LoadedModel, Sides};
use super::recommender::Recommender;
use super::two_tower_score::{score_fused, score_fused_segments, DenseLayer, TowerNet};
use crate::autograd::{Graph, ParamStore, UnaryFn};
use crate::config::{Activation as CfgActivation, Arch, TaskType};
use crate::data::features::{Encoded, EncodedBatch};
use crate::error::{Error, Result};
use crate::models::{Mmoe, MmoeConfig};
use crate::nn::{Activation, Linear};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use rayon::prelude::*;

fn activation(a: CfgActivation) -> Activation {
    match a {
        CfgActivation::Relu => Activation::Relu,
        CfgActivation::Tanh => Activation::Tanh,
        CfgActivation::Gelu => Activation::Gelu,
        CfgActivation::Sigmoid => Activation::Sigmoid,
        CfgActivation::None => Activation::None,
    }
}

/// One side's first-layer partial products.
#[derive(Clone, Debug, Default)]
pub struct Partials {
    pub rows: usize,
    /// Experts' first layer.                                    // (N, E·D_1)
    pub experts: Vec<f32>,
    /// Per task, its gate's logits.                             // K × (N, E)
    pub gates: Vec<Vec<f32>>,
}

/// The run's MMoE with its weights, for split scoring.
pub struct TwoTower {
    mmoe: Mmoe,
    store: ParamStore,
    /// 1 where the input column is user-side.                    // (D_in,)
    user_cols: Vec<bool>,
    /// The towers' weights out of the store, for [`score_fused`].
    towers: Vec<TowerNet>,
    /// One-layer experts: score through [`mix_fused`] (default); `false`: the unfused
    /// path (sum, activation, gate combine as separate passes), kept for measurement.
    pub fused: bool,
    /// Graphs of the per-request passes (a user's input row), kept between calls.
    graphs: super::graphs::GraphPool,
}

impl TwoTower {
    /// The split of `r`'s model; only `model.arch = "mmoe"` runs have it.
    pub fn new(r: &Recommender) -> Result<TwoTower> {
        Self::of(&r.model, &r.sides)
    }

    /// The split of `model` (an ensemble member's) whose features are on `sides`.
    pub fn of(model: &LoadedModel, sides: &Sides) -> Result<TwoTower> {
        let cfg = &model.cfg;
        if cfg.model.arch != Arch::Mmoe {
            return Err(Error::Config {
                what: "two-tower scoring".into(),
                message: format!(
                    "is implemented for model.arch = \"mmoe\", not {:?}; score without it",
                    cfg.model.arch
                ),
            });
        }
        let d_in = model.input.d_in();
        let mc = MmoeConfig {
            d_in,
            num_experts: cfg.model.num_experts,
            expert: cfg.model.expert.clone(),
            tower: cfg.model.tower.clone(),
            num_tasks: cfg.tasks.len(),
            activation: activation(cfg.model.activation),
            dropout: cfg.model.dropout as f32,
        };
        let mut store = ParamStore::new();
        let mmoe = Mmoe::new(&mut store, &mc, &mut StdRng::seed_from_u64(0))?;
        // the weights by name from the run's store (the same names build_model gives)
        let ids: Vec<_> = store.ids().collect();
        for id in ids {
            let name = store.info(id).name.clone();
            let src = model.store.find(&name).ok_or_else(|| Error::Config {
                what: "two-tower scoring".into(),
                message: format!("the run's model has no parameter `{name}`"),
            })?;
            store.value_mut(id).copy_from_slice(model.store.value(src));
        }
        let spec = &model.spec;
        let mut user_cols = Vec::with_capacity(d_in);
        for (c, &u) in spec.categorical.iter().zip(&sides.cat) {
            user_cols.extend(std::iter::repeat_n(u, c.dim));
        }
        for (b, &u) in spec.multi_hot.iter().zip(&sides.bags) {
            user_cols.extend(std::iter::repeat_n(u, b.dim));
        }
        user_cols.extend(sides.num.iter().copied());
        // a text feature's adapted vector (after the numerics): its side's columns
        for (t, &u) in spec.text.iter().zip(&sides.text) {
            user_cols.extend(std::iter::repeat_n(u, t.dim));
        }
        if user_cols.len() != d_in {
            return Err(Error::Config {
                what: "two-tower scoring".into(),
                message: format!(
                    "the spec's columns ({}) do not match the input width {d_in}",
                    user_cols.len()
                ),
            });
        }
        let towers = mmoe
            .towers
            .iter()
            .zip(&cfg.tasks)
            .map(|(tower, task)| {
                let last = tower.layers.len() - 1;
                let layers = tower
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(l, lin)| DenseLayer {
                        w: store.value(lin.w).to_vec(),
                        b: store.value(lin.b).to_vec(),
                        d_in: lin.d_in,
                        d_out: lin.d_out,
                        f: if l < last || tower.cfg.activate_last {
                            tower.cfg.activation.unary()
                        } else {
                            None
                        },
                    })
                    .collect();
                TowerNet {
                    layers,
                    kind: task.kind,
                }
            })
            .collect();
        Ok(TwoTower {
            mmoe,
            store,
            user_cols,
            towers,
            fused: true,
            graphs: Default::default(),
        })
    }

    /// `Σ_{c on this side} x[r, c]·W[c, :] (+ b for the user side)`.   // (N, D_out)
    fn partial(&self, x: &[f32], n: usize, lin: &Linear, user: bool) -> Vec<f32> {
        let (d_in, d_out) = (lin.d_in, lin.d_out);
        let w = self.store.value(lin.w); // (D_in, D_out)
        let b = self.store.value(lin.b); // (1, D_out)
        let mut out = vec![0.0f32; n * d_out];
        for r in 0..n {
            let o = &mut out[r * d_out..(r + 1) * d_out];
            if user {
                o.copy_from_slice(b);
            }
            for c in (0..d_in).filter(|&c| self.user_cols[c] == user) {
                let xc = x[r * d_in + c];
                for (oj, wj) in o.iter_mut().zip(&w[c * d_out..(c + 1) * d_out]) {
                    *oj += xc * wj;
                }
            }
        }
        out
    }

    /// Raw outputs from now on (logits for binary tasks, as `mtrec predict`'s members
    /// before an ensemble combines them) instead of probabilities.
    pub fn raw(mut self) -> TwoTower {
        for t in &mut self.towers {
            t.kind = TaskType::Regression;
        }
        self
    }

    /// The partials of the rows of `enc` (a side encoded by [`Recommender::encode_side`]).
    pub fn partials(&self, r: &Recommender, enc: &Encoded, user: bool) -> Result<Partials> {
        self.partials_of(&r.model, enc, user)
    }

    /// [`TwoTower::partials`] with the input layer and weights of `model` (the model
    /// this split was made of).
    pub fn partials_of(&self, model: &LoadedModel, enc: &Encoded, user: bool) -> Result<Partials> {
        let n = enc.len();
        let mut batch = EncodedBatch::default();
        enc.batch(&(0..n).collect::<Vec<_>>(), &mut batch);
        let x = self.graphs.with(|g| -> Result<Vec<f32>> {
            g.set_training(false);
            let xv = model.input.forward(g, &model.store, &batch)?; // (N, D_in)
            Ok(g.value(xv).to_vec())
        })?;
        Ok(Partials {
            rows: n,
            experts: self.partial(&x, n, &self.mmoe.experts.first, user),
            gates: self
                .mmoe
                .gates
                .iter()
                .map(|gate| self.partial(&x, n, &gate.logits, user))
                .collect(),
        })
    }

    /// [`TwoTower::score_pairs`] of several users' pairs (`segments[s]`: user `s`'s), in
    /// one parallel pass where the pairs take the fused path; each segment's values are
    /// the floats that `score_pairs` of that segment alone (in chunks of
    /// [`super::recommender::SCORE_BATCH`]) gives.                        // S × (P_s, K)
    pub fn score_segments(
        &self,
        users: &Partials,
        items: &Partials,
        segments: &[Vec<(u32, u32)>],
    ) -> Result<Vec<Vec<f32>>> {
        let ex = &self.mmoe.experts;
        if ex.rest.is_empty() && self.fused {
            let f = ex.activation.unary();
            return Ok(score_fused_segments(
                users,
                items,
                segments,
                ex.num_experts,
                ex.d_hidden,
                f,
                &self.towers,
            ));
        }
        let batch = super::recommender::SCORE_BATCH;
        segments
            .iter()
            .map(|s| {
                let mut v = Vec::with_capacity(s.len() * self.towers.len());
                for c in s.chunks(batch) {
                    v.extend(self.score_pairs(users, items, c)?);
                }
                Ok(v)
            })
            .collect()
    }

    /// Task values of `pairs` (user row, item row): probability for binary tasks,
    /// value for regression (raw outputs after [`TwoTower::raw`]); the split holds all
    /// it reads of the run.                                             // (P, K)
    pub fn score_pairs(
        &self,
        users: &Partials,
        items: &Partials,
        pairs: &[(u32, u32)],
    ) -> Result<Vec<f32>> {
        let k = self.towers.len();
        let ex = &self.mmoe.experts;
        let (d1, e) = (ex.first.d_out, ex.num_experts);
        let b = pairs.len();
        // row p of the result: a[u_p] + b[i_p]                       // (B, width)
        let sum = |a: &[f32], bb: &[f32], width: usize| -> Vec<f32> {
            let mut out = vec![0.0f32; b * width];
            out.par_chunks_mut(width)
                .zip(pairs.par_iter())
                .for_each(|(o, &(u, i))| {
                    let (u, i) = (u as usize, i as usize);
                    for ((oj, x), y) in o
                        .iter_mut()
                        .zip(&a[u * width..(u + 1) * width])
                        .zip(&bb[i * width..(i + 1) * width])
                    {
                        *oj = x + y;
                    }
                });
            out
        };
        if ex.rest.is_empty() && self.fused {
            // one-layer experts: pairs go through mixtures and towers in one pass
            let f = ex.activation.unary();
            return Ok(score_fused(
                users,
                items,
                pairs,
                e,
                ex.d_hidden,
                f,
                &self.towers,
            ));
        }
        let mut g = Graph::new(0);
        g.set_training(false);
        let pre = sum(&users.experts, &items.experts, d1);
        let mut h = g.input_slice(b, d1, &pre)?; // (B, E·D_1) = P_u + Q_i
        if let Some(f) = ex.activation.unary() {
            h = g.unary(h, f)?; // (B, E·D_1)
        }
        let experts = if ex.rest.is_empty() {
            h
        } else {
            let outs = (0..e)
                .map(|j| {
                    let hj = g.slice_cols(h, j * ex.d_hidden, ex.d_hidden)?; // (B, D_1)
                    ex.rest[j].forward(&mut g, &self.store, hj) // (B, D_expert)
                })
                .collect::<Result<Vec<_>>>()?;
            g.concat_cols(&outs)? // (B, E·D_expert)
        };
        let mut out = vec![0.0f32; b * k];
        for (t, (gate, tower)) in self.mmoe.gates.iter().zip(&self.mmoe.towers).enumerate() {
            let de = gate.logits.d_out;
            let z = sum(&users.gates[t], &items.gates[t], de);
            let zv = g.input_slice(b, de, &z)?; // (B, E) gate logits
            let mix = g.gate_combine(experts, zv)?; // (B, D_expert)
            let y = tower.forward(&mut g, &self.store, mix)?; // (B, 1)
            for (j, &v) in g.value(y).iter().enumerate() {
                out[j * k + t] = match self.towers[t].kind {
                    TaskType::Binary => crate::ops::unary::f(UnaryFn::Sigmoid, v),
                    TaskType::Regression => v,
                };
            }
        }
        Ok(out)
    }
}
