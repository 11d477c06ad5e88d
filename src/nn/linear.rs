//! Fully connected layer: `y = x · W + b`, optionally followed by an activation in the
//! same fused op (`ops::linear_act`).

use super::init::Init;
use crate::autograd::{Graph, ParamId, ParamStore, UnaryFn, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// An affine map from `D_in` to `D_out` features.
#[derive(Clone, Debug)]
pub struct Linear {
    /// `(D_in, D_out)`, named `<name>.w`.
    pub w: ParamId,
    /// `(1, D_out)`, named `<name>.b`, initialised to zero.
    pub b: ParamId,
    pub d_in: usize,
    pub d_out: usize,
}

impl Linear {
    /// Adds `<name>.w` (drawn with `init`) and `<name>.b` (zeros) to `store`.
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        d_in: usize,
        d_out: usize,
        init: Init,
        rng: &mut R,
    ) -> Result<Linear> {
        if d_in == 0 || d_out == 0 {
            return Err(Error::Config {
                what: format!("layer `{name}`"),
                message: format!("widths must be positive, got D_in = {d_in}, D_out = {d_out}"),
            });
        }
        let w = store.add_dense(
            &format!("{name}.w"),
            d_in,
            d_out,
            init.draw(rng, d_in, d_out),
        )?;
        let b = store.add_dense(&format!("{name}.b"), 1, d_out, vec![0.0; d_out])?;
        Ok(Linear { w, b, d_in, d_out })
    }

    /// Adds `<name>.w` with the given `(D_in, D_out)` values and `<name>.b` (zeros).
    pub fn from_values(
        store: &mut ParamStore,
        name: &str,
        d_in: usize,
        d_out: usize,
        w: Vec<f32>,
    ) -> Result<Linear> {
        let w = store.add_dense(&format!("{name}.w"), d_in, d_out, w)?;
        let b = store.add_dense(&format!("{name}.b"), 1, d_out, vec![0.0; d_out])?;
        Ok(Linear { w, b, d_in, d_out })
    }

    /// `x (B, D_in) → x · W + b (B, D_out)`.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Var> {
        self.forward_act(g, store, x, None)
    }

    /// `x (B, D_in) → f(x · W + b) (B, D_out)` as one fused op ([`Graph::linear_act`]);
    /// `f = None` is the identity.
    pub fn forward_act(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        x: Var,
        f: Option<UnaryFn>,
    ) -> Result<Var> {
        let w = g.param(store, self.w)?; // (D_in, D_out)
        let b = g.param(store, self.b)?; // (1, D_out)
        g.linear_act(x, w, b, f) // (B, D_out)
    }

    /// The unfused reference composition `f(add(mm(x, W), b))`: three nodes instead of
    /// one. Kept for tests that compare it with [`Linear::forward_act`].
    pub fn forward_unfused(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        x: Var,
        f: Option<UnaryFn>,
    ) -> Result<Var> {
        let w = g.param(store, self.w)?; // (D_in, D_out)
        let b = g.param(store, self.b)?; // (1, D_out)
        let xw = g.mm(x, w)?; // (B, D_out)
        let z = g.add(xw, b)?; // (B, D_out), b broadcast over rows
        match f {
            Some(f) => g.unary(z, f), // (B, D_out)
            None => Ok(z),
        }
    }

    /// `[b, w]`: the bias then the weight.
    pub fn params(&self) -> Vec<ParamId> {
        vec![self.b, self.w]
    }

    /// Number of scalars: `D_in · D_out + D_out`.
    pub fn num_params(&self) -> usize {
        self.d_in * self.d_out + self.d_out
    }
}
