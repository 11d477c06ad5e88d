//! Multi-gate Mixture-of-Experts (MMoE).
//!
//! J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. H. Chi, "Modeling Task Relationships in
//! Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018.
//!
//! E experts read the input; each task k has its own softmax gate over the experts and
//! its own tower on the gated mixture: `y_k = tower_k(Σ_e softmax(x·W_k + b_k)_e · expert_e(x))`.
//! The gate is an `nn::Linear`, so it has a bias `b_k` (zeros at the start); the paper's
//! gate `softmax(W_gk·x)` has none.
//! Tasks that are unrelated can use different experts; related tasks can share them.

use super::blocks::{towers, TowersConfig};
use super::{check_common, MultiTaskModel};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::Result;
use crate::nn::moe::experts_gates_i8;
use crate::nn::{Activation, Experts, ExpertsConfig, Gate, Mlp};
use ndarray_rand::rand::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct MmoeConfig {
    pub d_in: usize,
    pub num_experts: usize,
    /// Hidden widths of each expert; the last is `D_expert`.
    pub expert: Vec<usize>,
    /// Hidden widths of each tower (its output layer of width 1 is added).
    pub tower: Vec<usize>,
    pub num_tasks: usize,
    pub activation: Activation,
    pub dropout: f32,
}

/// `mmoe.experts`, gates `mmoe.gate.<k>`, towers `mmoe.tower.<k>`.
#[derive(Clone, Debug)]
pub struct Mmoe {
    pub experts: Experts,
    pub gates: Vec<Gate>,
    pub towers: Vec<Mlp>,
}

impl Mmoe {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &MmoeConfig,
        rng: &mut R,
    ) -> Result<Mmoe> {
        check_common("MMoE", cfg.d_in, cfg.num_tasks, cfg.dropout)?;
        let experts = Experts::new(
            store,
            "mmoe.experts",
            ExpertsConfig {
                d_in: cfg.d_in,
                num_experts: cfg.num_experts,
                dims: &cfg.expert,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        let gates = (0..cfg.num_tasks)
            .map(|k| {
                Gate::new(
                    store,
                    &format!("mmoe.gate.{k}"),
                    cfg.d_in,
                    cfg.num_experts,
                    rng,
                )
            })
            .collect::<Result<_>>()?;
        let towers = towers(
            store,
            "mmoe.tower",
            TowersConfig {
                d_in: experts.d_out,
                tower: &cfg.tower,
                num_tasks: cfg.num_tasks,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        Ok(Mmoe {
            experts,
            gates,
            towers,
        })
    }
}

impl MultiTaskModel for Mmoe {
    fn name(&self) -> &str {
        "mmoe"
    }

    fn shared_params(&self) -> Vec<ParamId> {
        self.experts.params()
    }

    fn num_tasks(&self) -> usize {
        self.towers.len()
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        // a compressed run in evaluation: experts and gates as one int8 product, the
        // mixing in its epilogue (its reference is the f32-shaped path below)
        if let Some(hs) = experts_gates_i8(&self.experts, &self.gates, g, store, x)? {
            let mut out = g.take_vars();
            for (h, tower) in hs.into_iter().zip(&self.towers) {
                out.push(tower.forward(g, store, h)?); // (B, 1) from task k's mixture (B, D_expert)
            }
            return Ok(out);
        }
        let e = self.experts.forward(g, store, x)?; // (B, E·D_expert)
        let mut out = g.take_vars(); // K handles; the caller may give the list back
        for (gate, tower) in self.gates.iter().zip(&self.towers) {
            let h = gate.forward(g, store, x, e)?; // (B, D_expert): task k's mixture
            out.push(tower.forward(g, store, h)?); // (B, 1)
        }
        Ok(out)
    }
}
