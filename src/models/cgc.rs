//! Customized Gate Control (CGC): one extraction level of PLE.
//!
//! H. Tang, J. Liu, M. Zhao, X. Gong, "Progressive Layered Extraction (PLE): A Novel
//! Multi-Task Learning (MTL) Model for Personalized Recommendations", RecSys 2020.
//!
//! Each task k owns `E_t` experts; `E_s` experts are shared. Task k's gate mixes its own
//! experts and the shared ones; in a multi-level PLE a shared gate also mixes **all**
//! experts to form the next level's shared input:
//!
//! ```text
//! task k:  h_k = Σ softmax(x_k·W_k + b_k) · [experts_k(x_k) | shared(x_s)]
//! shared:  h_s = Σ softmax(x_s·W_s + b_s) · [experts_1(x_1) | … | experts_K(x_K) | shared(x_s)]
//! ```
//! (each gate is an `nn::Linear`, bias included).
//! A CGC model is a PLE with one level (`Ple` with `levels = 1`).

use crate::autograd::{Graph, ParamStore, Var};
use crate::error::Result;
use crate::nn::{Activation, Experts, ExpertsConfig, Gate};
use ndarray_rand::rand::Rng;

/// Widths of one extraction level.
#[derive(Clone, Debug, PartialEq)]
pub struct CgcLevelConfig {
    pub d_in: usize,
    pub num_tasks: usize,
    pub shared_experts: usize,
    pub task_experts: usize,
    pub expert: Vec<usize>,
    pub activation: Activation,
    pub dropout: f32,
    /// Whether this level also produces a shared output (every level but the last).
    pub with_shared_gate: bool,
}

/// One level: `<name>.shared`, `<name>.task.<k>`, gates `<name>.gate.<k>`, `<name>.gate.shared`.
#[derive(Clone, Debug)]
pub struct CgcLevel {
    pub shared: Experts,
    pub task: Vec<Experts>,
    pub task_gates: Vec<Gate>,
    pub shared_gate: Option<Gate>,
}

impl CgcLevel {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        cfg: &CgcLevelConfig,
        rng: &mut R,
    ) -> Result<CgcLevel> {
        let (d_in, k) = (cfg.d_in, cfg.num_tasks);
        let shared = Experts::new(
            store,
            &format!("{name}.shared"),
            ExpertsConfig {
                d_in,
                num_experts: cfg.shared_experts,
                dims: &cfg.expert,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        let task = (0..k)
            .map(|t| {
                Experts::new(
                    store,
                    &format!("{name}.task.{t}"),
                    ExpertsConfig {
                        d_in,
                        num_experts: cfg.task_experts,
                        dims: &cfg.expert,
                        activation: cfg.activation,
                        dropout: cfg.dropout,
                    },
                    rng,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let per_task = cfg.task_experts + cfg.shared_experts;
        let task_gates = (0..k)
            .map(|t| Gate::new(store, &format!("{name}.gate.{t}"), d_in, per_task, rng))
            .collect::<Result<_>>()?;
        let shared_gate = if cfg.with_shared_gate {
            Some(Gate::new(
                store,
                &format!("{name}.gate.shared"),
                d_in,
                k * cfg.task_experts + cfg.shared_experts,
                rng,
            )?)
        } else {
            None
        };
        Ok(CgcLevel {
            shared,
            task,
            task_gates,
            shared_gate,
        })
    }

    /// Output width of every mixture.
    pub fn d_out(&self) -> usize {
        self.shared.d_out
    }

    /// Task inputs `x_k (B, D_in)` and shared input `x_s (B, D_in)` → task outputs
    /// `h_k (B, D_expert)` and, with a shared gate, `h_s (B, D_expert)`.
    pub fn forward(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        xs: &[Var],
        x_shared: Var,
    ) -> Result<(Vec<Var>, Option<Var>)> {
        let s = self.shared.forward(g, store, x_shared)?; // (B, E_s·D)
        let t: Vec<Var> = self
            .task
            .iter()
            .zip(xs)
            .map(|(e, &x)| e.forward(g, store, x))
            .collect::<Result<_>>()?; // K × (B, E_t·D)
        let mut outs = Vec::with_capacity(t.len());
        for ((gate, &tk), &xk) in self.task_gates.iter().zip(&t).zip(xs) {
            let pool = g.concat_cols(&[tk, s])?; // (B, (E_t + E_s)·D)
            outs.push(gate.forward(g, store, xk, pool)?); // (B, D)
        }
        let shared_out = match &self.shared_gate {
            Some(gate) => {
                let mut all = t.clone();
                all.push(s);
                let pool = g.concat_cols(&all)?; // (B, (K·E_t + E_s)·D)
                Some(gate.forward(g, store, x_shared, pool)?) // (B, D)
            }
            None => None,
        };
        Ok((outs, shared_out))
    }
}
