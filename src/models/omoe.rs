//! One-gate Mixture-of-Experts (OMoE), the MMoE paper's ablation.
//!
//! J. Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate
//! Mixture-of-Experts", KDD 2018 (section 4, the "OMoE" baseline).
//!
//! Like MMoE but with a **single** gate shared by all tasks: every task sees the same
//! mixture `Σ_e softmax(x·W + b)_e · expert_e(x)` (the gate is an `nn::Linear`, with a
//! bias) and has its own tower on it.

use super::blocks::{towers, TowersConfig};
use super::mmoe::MmoeConfig;
use super::{check_common, MultiTaskModel};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::Result;
use crate::nn::{Experts, ExpertsConfig, Gate, Mlp};
use ndarray_rand::rand::Rng;

/// Same widths as MMoE.
pub type OmoeConfig = MmoeConfig;

/// `omoe.experts`, one gate `omoe.gate`, towers `omoe.tower.<k>`.
#[derive(Clone, Debug)]
pub struct Omoe {
    pub experts: Experts,
    pub gate: Gate,
    pub towers: Vec<Mlp>,
}

impl Omoe {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &OmoeConfig,
        rng: &mut R,
    ) -> Result<Omoe> {
        check_common("OMoE", cfg.d_in, cfg.num_tasks, cfg.dropout)?;
        let experts = Experts::new(
            store,
            "omoe.experts",
            ExpertsConfig {
                d_in: cfg.d_in,
                num_experts: cfg.num_experts,
                dims: &cfg.expert,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        let gate = Gate::new(store, "omoe.gate", cfg.d_in, cfg.num_experts, rng)?;
        let towers = towers(
            store,
            "omoe.tower",
            TowersConfig {
                d_in: experts.d_out,
                tower: &cfg.tower,
                num_tasks: cfg.num_tasks,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        Ok(Omoe {
            experts,
            gate,
            towers,
        })
    }
}

impl MultiTaskModel for Omoe {
    fn name(&self) -> &str {
        "omoe"
    }

    fn shared_params(&self) -> Vec<ParamId> {
        let mut p = self.gate.logits.params();
        p.extend(self.experts.params());
        p
    }

    fn num_tasks(&self) -> usize {
        self.towers.len()
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        let e = self.experts.forward(g, store, x)?; // (B, E·D_expert)
        let h = self.gate.forward(g, store, x, e)?; // (B, D_expert): one mixture for all
        self.towers.iter().map(|t| t.forward(g, store, h)).collect() // K × (B, 1)
    }
}
