//! Single-Task baseline: K independent MLPs, one per task, sharing nothing.
//!
//! The reference point every multi-task model is compared against: what each task
//! reaches on its own, with no transfer and no interference between tasks.

use super::{check_common, MultiTaskModel};
use crate::autograd::{Graph, ParamStore, Var};
use crate::error::Result;
use crate::nn::{Activation, Mlp, MlpConfig};
use ndarray_rand::rand::Rng;

/// Widths of the K independent networks.
#[derive(Clone, Debug, PartialEq)]
pub struct SingleTaskConfig {
    pub d_in: usize,
    /// Hidden widths of each task's network; its output layer (width 1) is added.
    pub hidden: Vec<usize>,
    pub num_tasks: usize,
    pub activation: Activation,
    pub dropout: f32,
}

/// K networks `single_task.tower.<k>`.
#[derive(Clone, Debug)]
pub struct SingleTask {
    pub towers: Vec<Mlp>,
}

impl SingleTask {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &SingleTaskConfig,
        rng: &mut R,
    ) -> Result<SingleTask> {
        check_common("Single-Task", cfg.d_in, cfg.num_tasks, cfg.dropout)?;
        let dims = [&[cfg.d_in][..], &cfg.hidden, &[1]].concat(); // D_in, hidden..., 1
        let tower = MlpConfig {
            dropout: cfg.dropout,
            ..MlpConfig::new(dims, cfg.activation)
        };
        let towers = (0..cfg.num_tasks)
            .map(|k| Mlp::new(store, &format!("single_task.tower.{k}"), &tower, rng))
            .collect::<Result<Vec<_>>>()?;
        Ok(SingleTask { towers })
    }
}

impl MultiTaskModel for SingleTask {
    fn name(&self) -> &str {
        "single-task"
    }

    fn num_tasks(&self) -> usize {
        self.towers.len()
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        // x: (B, D_in), read by every tower.
        self.towers.iter().map(|t| t.forward(g, store, x)).collect() // K × (B, 1)
    }
}
