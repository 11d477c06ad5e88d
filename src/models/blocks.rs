//! Pieces several architectures share: the per-task towers.

use crate::autograd::ParamStore;
use crate::error::Result;
use crate::nn::{Activation, Mlp, MlpConfig};
use ndarray_rand::rand::Rng;

/// The shape of K per-task towers: `D_in → tower… → 1` each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TowersConfig<'a> {
    /// Width of every tower's input D_in.
    pub d_in: usize,
    /// Hidden widths of each tower.
    pub tower: &'a [usize],
    /// K: one tower per task.
    pub num_tasks: usize,
    pub activation: Activation,
    pub dropout: f32,
}

/// K towers `<prefix>.<k>`: `D_in → tower… → 1`, activation between layers, the last
/// layer plain (a logit or a regression value).
pub(crate) fn towers<R: Rng + ?Sized>(
    store: &mut ParamStore,
    prefix: &str,
    cfg: TowersConfig<'_>,
    rng: &mut R,
) -> Result<Vec<Mlp>> {
    let TowersConfig {
        d_in,
        tower,
        num_tasks,
        activation,
        dropout,
    } = cfg;
    let dims = [&[d_in][..], tower, &[1]].concat(); // D_in, tower..., 1
    let cfg = MlpConfig {
        dropout,
        ..MlpConfig::new(dims, activation)
    };
    (0..num_tasks)
        .map(|k| Mlp::new(store, &format!("{prefix}.{k}"), &cfg, rng))
        .collect()
}
