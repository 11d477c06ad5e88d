//! Mixture-of-experts blocks: a bank of E experts evaluated as **one** matrix product,
//! and a softmax gate that mixes them.
//!
//! An expert is an MLP `D_in → D_1 → … → D_expert`. The first layers of all E experts
//! share their input, so their weights are stored side by side as one `(D_in, E·D_1)`
//! matrix and computed with a single product; deeper layers (if any) run per expert on
//! their column block. The bank's output is `(B, E·D_expert)`: expert e in columns
//! `e·D_expert .. (e+1)·D_expert`, the layout [`Graph::gate_combine`] reads.

use super::init::Init;
use super::linear::Linear;
use super::mlp::{Activation, Mlp, MlpConfig};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// E experts with the same widths.
#[derive(Clone, Debug)]
pub struct Experts {
    /// All experts' first layers: `(D_in, E·D_1)`, named `<name>.first`.
    pub first: Linear,
    /// Per-expert remaining layers `<name>.<e>` (empty for one-layer experts).
    pub rest: Vec<Mlp>,
    pub num_experts: usize,
    pub d_hidden: usize,
    pub d_out: usize,
    pub activation: Activation,
    pub dropout: f32,
}

/// The shape of a bank of experts: `num_experts` MLPs `d_in → dims[0] → … → dims.last()`,
/// every layer activated.
#[derive(Clone, Copy, Debug)]
pub struct ExpertsConfig<'a> {
    /// Width of the shared input D_in.
    pub d_in: usize,
    /// E.
    pub num_experts: usize,
    /// Each expert's layer widths D_1 … D_expert.
    pub dims: &'a [usize],
    pub activation: Activation,
    /// Dropout after each hidden activation of the deeper layers (as in [`MlpConfig`]).
    pub dropout: f32,
}

impl Experts {
    /// The bank `cfg` describes, its parameters named `<name>.first` and `<name>.<e>`.
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        cfg: ExpertsConfig<'_>,
        rng: &mut R,
    ) -> Result<Experts> {
        let ExpertsConfig {
            d_in,
            num_experts,
            dims,
            activation,
            dropout,
        } = cfg;
        if num_experts == 0 || dims.is_empty() {
            return Err(Error::Config {
                what: format!("experts `{name}`"),
                message: format!("need at least one expert and one width, got {num_experts} experts with widths {dims:?}"),
            });
        }
        let d_hidden = dims[0];
        // Drawing the fused matrix as E separate (D_in, D_1) blocks keeps each expert's
        // initial scale that of its own fan-in/fan-out.
        let init = activation.default_init();
        let mut w = vec![0f32; d_in * num_experts * d_hidden];
        for e in 0..num_experts {
            let block = init.draw(rng, d_in, d_hidden); // (D_in, D_1)
            for i in 0..d_in {
                let dst = i * num_experts * d_hidden + e * d_hidden;
                w[dst..dst + d_hidden].copy_from_slice(&block[i * d_hidden..(i + 1) * d_hidden]);
            }
        }
        let first = Linear::from_values(
            store,
            &format!("{name}.first"),
            d_in,
            num_experts * d_hidden,
            w,
        )?;
        let rest = if dims.len() > 1 {
            let cfg = MlpConfig {
                dropout,
                activate_last: true,
                ..MlpConfig::new(dims.to_vec(), activation)
            };
            (0..num_experts)
                .map(|e| Mlp::new(store, &format!("{name}.{e}"), &cfg, rng))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let d_out = *dims.last().expect("checked non-empty");
        Ok(Experts {
            first,
            rest,
            num_experts,
            d_hidden,
            d_out,
            activation,
            dropout,
        })
    }

    /// Every parameter of the bank, the last layer's weight last.
    pub fn params(&self) -> Vec<ParamId> {
        let mut p = self.first.params();
        for m in &self.rest {
            p.extend(m.layers.iter().flat_map(|l| l.params()));
        }
        if let Some(w) = self.rest.last().and_then(|m| m.layers.last()).map(|l| l.w) {
            p.retain(|&q| q != w);
            p.push(w);
        }
        p
    }

    /// `x (B, D_in) → (B, E·D_expert)`.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Var> {
        // All experts' first layers in one product, bias and activation fused into it.
        let mut h = self
            .first
            .forward_act(g, store, x, self.activation.unary())?; // (B, E·D_1)
        if self.dropout > 0.0 {
            h = g.dropout(h, self.dropout)?; // (B, E·D_1)
        }
        if self.rest.is_empty() {
            return Ok(h);
        }
        let outs = (0..self.num_experts)
            .map(|e| {
                let he = g.slice_cols(h, e * self.d_hidden, self.d_hidden)?; // (B, D_1)
                self.rest[e].forward(g, store, he) // (B, D_expert)
            })
            .collect::<Result<Vec<_>>>()?;
        g.concat_cols(&outs) // (B, E·D_expert)
    }
}

/// A softmax gate over E experts: `Linear(D_in → E)` logits, mixed by `gate_combine`.
#[derive(Clone, Debug)]
pub struct Gate {
    pub logits: Linear,
}

impl Gate {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        d_in: usize,
        num_experts: usize,
        rng: &mut R,
    ) -> Result<Gate> {
        Ok(Gate {
            logits: Linear::new(store, name, d_in, num_experts, Init::XavierUniform, rng)?,
        })
    }

    /// Mixes `experts (B, E·D)` with weights `softmax(x·W + b)`: `(B, D)`. The weights
    /// `(B, E)` are kept on the result node ([`Graph::saved`]).
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var, experts: Var) -> Result<Var> {
        let z = self.logits.forward(g, store, x)?; // (B, E) gate logits
        g.gate_combine(experts, z) // (B, D)
    }
}

/// The int8 inference path of an MMoE's experts and gates (`mtrec compress --int8`):
/// task k's mixture `Σ_e softmax(x·W_k + b_k)_e · expert_e(x)` for every gate, `(B, D)`
/// each, from **one** quantisation of `x`, one integer product over the experts' and
/// gates' int8 columns side by side, and the softmax and weighted sum in that product's
/// epilogue (`ops::gemm_i8::moe`; the bound against the separate layers is in its
/// derivation and docs/math.md "Int8 inference"). `None` (the caller takes
/// [`Experts::forward`] and [`Gate::forward`], the reference) unless the graph is
/// evaluating, every weight has an int8 version, the experts are one ReLU layer, and the
/// input's product can be fused.
pub fn experts_gates_i8(
    experts: &Experts,
    gates: &[Gate],
    g: &mut Graph,
    store: &ParamStore,
    x: Var,
) -> Result<Option<Vec<Var>>> {
    experts_gates_i8_with(
        experts,
        gates,
        g,
        store,
        x,
        crate::ops::gemm_i8::GateExp::Poly,
    )
}

/// [`experts_gates_i8`] with the gate softmax's `exp` chosen: `GateExp::Std` (`f32::exp`)
/// gives the reference's bits, `GateExp::Poly` (the default) is faster.
pub fn experts_gates_i8_with(
    experts: &Experts,
    gates: &[Gate],
    g: &mut Graph,
    store: &ParamStore,
    x: Var,
    exp: crate::ops::gemm_i8::GateExp,
) -> Result<Option<Vec<Var>>> {
    use crate::autograd::UnaryFn;
    if g.is_training()
        || !g.computes()
        || !experts.rest.is_empty()
        || experts.activation.unary() != Some(UnaryFn::Relu)
        || gates.is_empty()
    {
        return Ok(None);
    }
    let Some(wx) = store.int8(experts.first.w) else {
        return Ok(None);
    };
    let Some(wg) = gates
        .iter()
        .map(|gt| store.int8(gt.logits.w))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let bg: Vec<&[f32]> = gates.iter().map(|gt| store.value(gt.logits.b)).collect();
    let m = crate::ops::gemm_i8::MoeI8::cached(
        wx,
        store.value(experts.first.b),
        &wg,
        &bg,
        experts.num_experts,
    )?;
    g.moe_i8(store, x, &m, exp)
}
