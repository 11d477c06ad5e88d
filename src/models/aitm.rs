//! Adaptive Information Transfer Multi-task (AITM) framework.
//!
//! D. Xi, Z. Chen, P. Yan, Y. Zhang, Y. Zhu, F. Zhuang, Y. Chen, "Modeling the Sequential
//! Dependence among Audience Multi-step Conversions with Multi-task Learning in Targeted
//! Display Advertising", KDD 2021.
//!
//! Tasks form a conversion funnel (impression → click → purchase …). Task t has its own
//! tower bottom `q_t = bottom_t(x)`; from task 2 on, the previous task's representation
//! is transferred, `p_{t−1} = transfer_t(z_{t−1})`, and an attention unit (AIT) mixes the two:
//!
//! ```text
//! w_u = softmax_u( ⟨h₁(u), h₂(u)⟩ / √D ),  u ∈ {p_{t−1}, q_t}
//! z_t = Σ_u w_u · h₃(u)                     (z_1 = q_1)
//! ŷ_t = σ(head_t(z_t))
//! ```
//! plus the **label constraint** `α · Σ_{t≥2} mean_b max(ŷ_t − ŷ_{t−1}, 0)`: a later step
//! of the funnel should not be more likely than an earlier one.
//!
//! The attention over two candidates is a two-expert softmax mixture, so it reuses the
//! fused [`Graph::gate_combine`] with the scores as gate logits.

use super::blocks::{towers, TowersConfig};
use super::{check_common, MultiTaskModel};
use crate::autograd::{Axis, Graph, ParamId, ParamStore, Var};
use crate::error::Result;
use crate::nn::{Activation, Init, Linear, Mlp, MlpConfig};
use ndarray_rand::rand::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct AitmConfig {
    pub d_in: usize,
    pub num_tasks: usize,
    /// Widths of each task's bottom; the last is D, the width of q_t and z_t.
    pub bottom: Vec<usize>,
    /// Hidden widths of each task's head (output layer of width 1 added).
    pub tower: Vec<usize>,
    /// Weight α of the label constraint.
    pub constraint_weight: f32,
    pub activation: Activation,
    pub dropout: f32,
}

/// The attention unit's three projections `h₁, h₂, h₃: D → D`.
#[derive(Clone, Debug)]
pub struct Ait {
    pub h1: Linear,
    pub h2: Linear,
    pub h3: Linear,
}

/// Bottoms `aitm.bottom.<t>`, transfers `aitm.transfer.<t>`, attention `aitm.ait.<t>.h{1,2,3}`, heads `aitm.tower.<t>`.
#[derive(Clone, Debug)]
pub struct Aitm {
    pub bottoms: Vec<Mlp>,
    pub transfers: Vec<Mlp>,
    pub aits: Vec<Ait>,
    pub heads: Vec<Mlp>,
    /// D, the width of a bottom's output: the attention's dimension.
    pub dim: usize,
    pub constraint_weight: f32,
}

impl Aitm {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &AitmConfig,
        rng: &mut R,
    ) -> Result<Aitm> {
        check_common("AITM", cfg.d_in, cfg.num_tasks, cfg.dropout)?;
        let bottom_cfg = MlpConfig {
            dropout: cfg.dropout,
            activate_last: true,
            ..MlpConfig::new([&[cfg.d_in][..], &cfg.bottom].concat(), cfg.activation)
        };
        let dim = *bottom_cfg.dims.last().expect("d_in is listed");
        let bottoms = (0..cfg.num_tasks)
            .map(|t| Mlp::new(store, &format!("aitm.bottom.{t}"), &bottom_cfg, rng))
            .collect::<Result<Vec<_>>>()?;
        let transfer_cfg = MlpConfig {
            activate_last: true,
            ..MlpConfig::new(vec![dim, dim], cfg.activation)
        };
        let transfers = (1..cfg.num_tasks)
            .map(|t| Mlp::new(store, &format!("aitm.transfer.{t}"), &transfer_cfg, rng))
            .collect::<Result<Vec<_>>>()?;
        let aits = (1..cfg.num_tasks)
            .map(|t| {
                let p = format!("aitm.ait.{t}");
                Ok(Ait {
                    h1: Linear::new(
                        store,
                        &format!("{p}.h1"),
                        dim,
                        dim,
                        Init::XavierUniform,
                        rng,
                    )?,
                    h2: Linear::new(
                        store,
                        &format!("{p}.h2"),
                        dim,
                        dim,
                        Init::XavierUniform,
                        rng,
                    )?,
                    h3: Linear::new(
                        store,
                        &format!("{p}.h3"),
                        dim,
                        dim,
                        Init::XavierUniform,
                        rng,
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let heads = towers(
            store,
            "aitm.tower",
            TowersConfig {
                d_in: dim,
                tower: &cfg.tower,
                num_tasks: cfg.num_tasks,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        Ok(Aitm {
            bottoms,
            transfers,
            aits,
            heads,
            dim,
            constraint_weight: cfg.constraint_weight,
        })
    }

    /// The AIT unit: attention of two candidates `p, q (B, D)` → `(B, D)`.
    fn attend(&self, g: &mut Graph, store: &ParamStore, ait: &Ait, p: Var, q: Var) -> Result<Var> {
        let inv_sqrt_dim = 1.0 / (self.dim as f32).sqrt();
        let mut scores = Vec::with_capacity(2);
        let mut values = Vec::with_capacity(2);
        for u in [p, q] {
            let k1 = ait.h1.forward(g, store, u)?; // (B, D)
            let k2 = ait.h2.forward(g, store, u)?; // (B, D)
            let dot = g.mul(k1, k2)?; // (B, D)
            let s = g.sum(dot, Axis::Rows)?; // (B, 1) ⟨h₁(u), h₂(u)⟩
            scores.push(g.scale(s, inv_sqrt_dim)?); // (B, 1)
            values.push(ait.h3.forward(g, store, u)?); // (B, D)
        }
        let logits = g.concat_cols(&scores)?; // (B, 2)
        let v = g.concat_cols(&values)?; // (B, 2·D)
        g.gate_combine(v, logits) // (B, D) = Σ_u w_u h₃(u)
    }
}

impl MultiTaskModel for Aitm {
    fn name(&self) -> &str {
        "aitm"
    }

    fn shared_params(&self) -> Vec<ParamId> {
        Vec::new() // AITM's towers are per task; tasks share only the embeddings
    }

    fn num_tasks(&self) -> usize {
        self.heads.len()
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        let mut out = Vec::with_capacity(self.heads.len());
        let mut z_prev: Option<Var> = None;
        for t in 0..self.heads.len() {
            let q = self.bottoms[t].forward(g, store, x)?; // (B, D) q_t
            let z = match z_prev {
                None => q, // (B, D) z_1 = q_1
                Some(zp) => {
                    let p = self.transfers[t - 1].forward(g, store, zp)?; // (B, D) p_{t−1}
                    self.attend(g, store, &self.aits[t - 1], p, q)? // (B, D) z_t
                }
            };
            out.push(self.heads[t].forward(g, store, z)?); // (B, 1) logit of ŷ_t
            z_prev = Some(z);
        }
        Ok(out)
    }

    fn extra_loss(&self, g: &mut Graph, outputs: &[Var]) -> Result<Option<Var>> {
        if outputs.len() < 2 || self.constraint_weight == 0.0 {
            return Ok(None);
        }
        let mut terms = Vec::with_capacity(outputs.len() - 1);
        for w in outputs.windows(2) {
            let (prev, next) = (g.sigmoid(w[0])?, g.sigmoid(w[1])?); // (B, 1) ŷ_{t−1}, ŷ_t
            let gap = g.sub(next, prev)?; // (B, 1)
            let viol = g.relu(gap)?; // (B, 1) max(ŷ_t − ŷ_{t−1}, 0)
            terms.push(g.mean(viol, Axis::All)?); // (1, 1)
        }
        let weights = vec![self.constraint_weight; terms.len()];
        Ok(Some(g.weighted_sum(&terms, &weights)?)) // (1, 1)
    }
}
