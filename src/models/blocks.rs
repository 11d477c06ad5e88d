//! Pieces several architectures share: the per-task towers.

use crate::autograd::ParamStore;
use crate::error::Result;
use crate::nn::{Activation, Mlp, MlpConfig};
use ndarray_rand::rand::Rng;

/// K towers `<prefix>.<k>`: `D_in → tower… → 1`, activation between layers, the last
/// layer plain (a logit or a regression value).
#[allow(clippy::too_many_arguments)]
pub(crate) fn towers<R: Rng + ?Sized>(
    store: &mut ParamStore,
    prefix: &str,
    d_in: usize,
    tower: &[usize],
    num_tasks: usize,
    activation: Activation,
    dropout: f32,
    rng: &mut R,
) -> Result<Vec<Mlp>> {
    let dims = [&[d_in][..], tower, &[1]].concat(); // D_in, tower..., 1
    let cfg = MlpConfig {
        dropout,
        ..MlpConfig::new(dims, activation)
    };
    (0..num_tasks)
        .map(|k| Mlp::new(store, &format!("{prefix}.{k}"), &cfg, rng))
        .collect()
}
