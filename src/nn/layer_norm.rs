//! Layer normalisation (Ba et al., 2016): each row normalised to zero mean and unit
//! variance, then scaled by `gamma` and shifted by `beta`. The kernel is `ops::layer_norm`.

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};

/// `y = gamma ⊙ (x − μ) / √(σ² + eps) + beta`, per row.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// `(1, D)`, named `<name>.gamma`, initialised to ones.
    pub gamma: ParamId,
    /// `(1, D)`, named `<name>.beta`, initialised to zeros.
    pub beta: ParamId,
    pub eps: f32,
}

impl LayerNorm {
    pub fn new(store: &mut ParamStore, name: &str, dim: usize, eps: f32) -> Result<LayerNorm> {
        if dim == 0 || !eps.is_finite() || eps <= 0.0 {
            return Err(Error::Config {
                what: format!("layer norm `{name}`"),
                message: format!(
                    "needs D > 0 and a small positive eps (e.g. 1e-5), got D = {dim}, eps = {eps}"
                ),
            });
        }
        let gamma = store.add_dense(&format!("{name}.gamma"), 1, dim, vec![1.0; dim])?;
        let beta = store.add_dense(&format!("{name}.beta"), 1, dim, vec![0.0; dim])?;
        Ok(LayerNorm { gamma, beta, eps })
    }

    /// `x (B, D) → (B, D)`.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Var> {
        let gamma = g.param(store, self.gamma)?; // (1, D)
        let beta = g.param(store, self.beta)?; // (1, D)
        g.layer_norm(x, gamma, beta, self.eps) // (B, D)
    }
}
