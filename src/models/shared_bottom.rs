//! Shared-Bottom multi-task network.
//!
//! R. Caruana, "Multitask Learning", Machine Learning 28(1):41–75, 1997.
//!
//! All tasks read one shared hidden representation (hard parameter sharing); each task
//! has its own small tower on top. The shared bottom receives the sum of the towers'
//! gradients, so related tasks help each other and unrelated ones interfere (the effect
//! the MMoE paper measures with its synthetic data, see `data::synthetic`).

use super::{check_common, MultiTaskModel};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use crate::nn::{Activation, Mlp, MlpConfig};
use ndarray_rand::rand::Rng;

/// Widths of the shared bottom and the task towers.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedBottomConfig {
    pub d_in: usize,
    /// Hidden widths of the shared bottom; the last is `D_bottom` (activated).
    pub bottom: Vec<usize>,
    /// Hidden widths of each tower; its output layer (width 1) is added.
    pub tower: Vec<usize>,
    pub num_tasks: usize,
    pub activation: Activation,
    pub dropout: f32,
}

/// `shared_bottom.bottom` feeding K towers `shared_bottom.tower.<k>`.
#[derive(Clone, Debug)]
pub struct SharedBottom {
    pub bottom: Mlp,
    pub towers: Vec<Mlp>,
}

impl SharedBottom {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &SharedBottomConfig,
        rng: &mut R,
    ) -> Result<SharedBottom> {
        check_common("Shared-Bottom", cfg.d_in, cfg.num_tasks, cfg.dropout)?;
        let d_bottom = *cfg.bottom.last().ok_or_else(|| Error::Config {
            what: "Shared-Bottom bottom".into(),
            message: "list at least one hidden width for the shared bottom, e.g. [16]".into(),
        })?;
        let bottom_dims = [&[cfg.d_in][..], &cfg.bottom].concat(); // D_in, ..., D_bottom
        let bottom_cfg = MlpConfig {
            dropout: cfg.dropout,
            activate_last: true,
            ..MlpConfig::new(bottom_dims, cfg.activation)
        };
        let bottom = Mlp::new(store, "shared_bottom.bottom", &bottom_cfg, rng)?;
        let tower_dims = [&[d_bottom][..], &cfg.tower, &[1]].concat(); // D_bottom, tower..., 1
        let tower_cfg = MlpConfig {
            dropout: cfg.dropout,
            ..MlpConfig::new(tower_dims, cfg.activation)
        };
        let towers = (0..cfg.num_tasks)
            .map(|k| Mlp::new(store, &format!("shared_bottom.tower.{k}"), &tower_cfg, rng))
            .collect::<Result<Vec<_>>>()?;
        Ok(SharedBottom { bottom, towers })
    }
}

impl MultiTaskModel for SharedBottom {
    fn name(&self) -> &str {
        "shared-bottom"
    }

    fn shared_params(&self) -> Vec<ParamId> {
        self.bottom.layers.iter().flat_map(|l| [l.b, l.w]).collect()
    }

    fn num_tasks(&self) -> usize {
        self.towers.len()
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        let h = self.bottom.forward(g, store, x)?; // (B, D_in) → (B, D_bottom)
        self.towers.iter().map(|t| t.forward(g, store, h)).collect() // K × (B, 1)
    }
}
