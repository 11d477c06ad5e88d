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
    /// `f = None` is the identity. In evaluation mode a weight with an int8 version
    /// (`mtrec compress --int8`) goes through the int8 product (`ops::gemm_i8`), except
    /// over embedded inputs that the factorised product takes (`ops::embed_linear`).
    pub fn forward_act(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        x: Var,
        f: Option<UnaryFn>,
    ) -> Result<Var> {
        if let Some(q) = store
            .int8(self.w)
            .filter(|_| !g.is_training() && g.computes())
        {
            // x is the input layer's embeddings: per-vocabulary partial products of the
            // tables' rows with the int8 weights' dequantised values Ŵ (the store holds
            // them), precomputed once in i16: gathers and integer additions
            // (`ops::gemm_i8::partial`, docs/math.md "Int8 inference")
            let (wv, bv) = (store.value(self.w), store.value(self.b));
            if let Some(y) = g.embed_linear_i8(store, x, q, wv, bv, f)? {
                return Ok(y); // (B, D_out)
            }
            if !g.embed_linear_applies(x) {
                return g.linear_act_i8(x, q, bv, f); // (B, D_out)
            }
            // else the factorised f32 product over the int8 tables' rows
            // (`ops::embed_linear`): its tables were too large to precompute
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray_rand::rand::rngs::StdRng;
    use ndarray_rand::rand::SeedableRng;

    /// The fused layer against its unfused reference composition, values and gradients,
    /// for ReLU and the identity, on an expert-bank-sized layer (parallel code paths).
    #[test]
    fn fused_layer_equals_unfused_reference() {
        let mut store = ParamStore::new();
        let rng = &mut StdRng::seed_from_u64(9);
        let lin = Linear::new(&mut store, "l", 242, 512, Init::KaimingUniform, rng).unwrap();
        let x: Vec<f32> = (0..128 * 242)
            .map(|i| ((i % 31) as f32 - 15.0) / 15.0)
            .collect();
        for f in [Some(UnaryFn::Relu), None] {
            let mut res = Vec::new();
            for fused in [true, false] {
                let mut g = Graph::new(0);
                let xv = g.input_slice(128, 242, &x).unwrap();
                let y = if fused {
                    lin.forward_act(&mut g, &store, xv, f).unwrap()
                } else {
                    lin.forward_unfused(&mut g, &store, xv, f).unwrap()
                };
                let seed: Vec<f32> = (0..128 * 512)
                    .map(|i| ((i % 7) as f32 - 3.0) / 3.0)
                    .collect();
                store.zero_grad();
                g.backward_with_grad(y, &seed, &mut store).unwrap();
                res.push((
                    g.value(y).to_vec(),
                    store.grad_to_vec(lin.w),
                    store.grad_to_vec(lin.b),
                ));
            }
            let close = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .all(|(u, v)| (u - v).abs() <= 1e-4 + 1e-5 * v.abs())
            };
            assert!(close(&res[0].0, &res[1].0), "{f:?}: values");
            assert!(close(&res[0].1, &res[1].1), "{f:?}: dW");
            assert!(close(&res[0].2, &res[1].2), "{f:?}: db");
        }
    }
}
