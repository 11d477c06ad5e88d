//! Progressive Layered Extraction (PLE), and CGC as its one-level case.
//!
//! H. Tang, J. Liu, M. Zhao, X. Gong, "Progressive Layered Extraction (PLE): A Novel
//! Multi-Task Learning (MTL) Model for Personalized Recommendations", RecSys 2020.
//!
//! L extraction levels ([`CgcLevel`]) are stacked: level l reads the task and shared
//! outputs of level l−1 (the raw input at l = 1) and separates task-specific from shared
//! knowledge progressively; each task's tower reads its last-level output.

use super::blocks::{towers, TowersConfig};
use super::cgc::{CgcLevel, CgcLevelConfig};
use super::{check_common, MultiTaskModel};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use crate::nn::{Activation, Mlp};
use ndarray_rand::rand::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct PleConfig {
    pub d_in: usize,
    /// Number of extraction levels; 1 is CGC.
    pub levels: usize,
    pub shared_experts: usize,
    /// Experts owned by each task.
    pub task_experts: usize,
    /// Hidden widths of each expert; the last is `D_expert`.
    pub expert: Vec<usize>,
    pub tower: Vec<usize>,
    pub num_tasks: usize,
    pub activation: Activation,
    pub dropout: f32,
}

/// Levels `ple.level.<l>` (or `cgc.level.0`), towers `ple.tower.<k>`.
#[derive(Clone, Debug)]
pub struct Ple {
    pub levels: Vec<CgcLevel>,
    pub towers: Vec<Mlp>,
    name: &'static str,
}

impl Ple {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &PleConfig,
        rng: &mut R,
    ) -> Result<Ple> {
        let name = if cfg.levels == 1 { "cgc" } else { "ple" };
        check_common(name, cfg.d_in, cfg.num_tasks, cfg.dropout)?;
        if cfg.levels == 0 || cfg.task_experts + cfg.shared_experts == 0 {
            return Err(Error::Config {
                what: format!("{name} levels / experts"),
                message: "need at least one level and one expert".into(),
            });
        }
        let mut levels = Vec::with_capacity(cfg.levels);
        let mut d_in = cfg.d_in;
        for l in 0..cfg.levels {
            let lc = CgcLevelConfig {
                d_in,
                num_tasks: cfg.num_tasks,
                shared_experts: cfg.shared_experts,
                task_experts: cfg.task_experts,
                expert: cfg.expert.clone(),
                activation: cfg.activation,
                dropout: cfg.dropout,
                with_shared_gate: l + 1 < cfg.levels,
            };
            let level = CgcLevel::new(store, &format!("{name}.level.{l}"), &lc, rng)?;
            d_in = level.d_out();
            levels.push(level);
        }
        let towers = towers(
            store,
            &format!("{name}.tower"),
            TowersConfig {
                d_in,
                tower: &cfg.tower,
                num_tasks: cfg.num_tasks,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        Ok(Ple {
            levels,
            towers,
            name,
        })
    }
}

impl MultiTaskModel for Ple {
    fn name(&self) -> &str {
        self.name
    }

    fn shared_params(&self) -> Vec<ParamId> {
        self.levels.iter().flat_map(|l| l.shared.params()).collect()
    }

    fn num_tasks(&self) -> usize {
        self.towers.len()
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        let mut xs = vec![x; self.towers.len()]; // K × (B, D_in): every task starts from x
        let mut x_shared = x; // (B, D_in)
        for level in &self.levels {
            let (hs, h_shared) = level.forward(g, store, &xs, x_shared)?; // K × (B, D_expert)
            xs = hs;
            x_shared = h_shared.unwrap_or(x_shared); // (B, D_expert) below the last level
        }
        self.towers
            .iter()
            .zip(&xs)
            .map(|(t, &h)| t.forward(g, store, h))
            .collect() // K × (B, 1)
    }
}
