//! Multi-layer perceptron: `Linear → activation → dropout`, repeated. The last layer's
//! activation is optional (`activate_last`): off for a tower that ends in a logit,
//! on for a shared bottom whose output feeds further layers.

use super::init::Init;
use super::linear::Linear;
use crate::autograd::{Graph, ParamStore, UnaryFn, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// Elementwise nonlinearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Gelu,
    Sigmoid,
    /// The identity.
    None,
}

impl Activation {
    /// `x (B, D) → f(x) (B, D)`.
    pub fn forward(self, g: &mut Graph, x: Var) -> Result<Var> {
        match self {
            Activation::Relu => g.unary(x, UnaryFn::Relu),
            Activation::Tanh => g.unary(x, UnaryFn::Tanh),
            Activation::Gelu => g.unary(x, UnaryFn::Gelu),
            Activation::Sigmoid => g.unary(x, UnaryFn::Sigmoid),
            Activation::None => Ok(x),
        }
    }

    /// The elementwise function of this activation, `None` for the identity (what
    /// [`Graph::linear_act`] fuses after the product).
    pub fn unary(self) -> Option<UnaryFn> {
        match self {
            Activation::Relu => Some(UnaryFn::Relu),
            Activation::Tanh => Some(UnaryFn::Tanh),
            Activation::Gelu => Some(UnaryFn::Gelu),
            Activation::Sigmoid => Some(UnaryFn::Sigmoid),
            Activation::None => None,
        }
    }

    /// The initialiser that keeps activations' variance steady through this nonlinearity.
    pub fn default_init(self) -> Init {
        match self {
            Activation::Relu | Activation::Gelu => Init::KaimingUniform,
            Activation::Tanh | Activation::Sigmoid | Activation::None => Init::XavierUniform,
        }
    }
}

/// Widths and behaviour of an [`Mlp`].
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// `[D_in, D_1, ..., D_out]`: `dims.len() − 1` linear layers.
    pub dims: Vec<usize>,
    pub activation: Activation,
    /// Dropout probability after each activation; 0 for none.
    pub dropout: f32,
    /// Apply activation (and dropout) after the last layer too.
    pub activate_last: bool,
    /// Weight initialiser of every layer.
    pub init: Init,
}

impl MlpConfig {
    /// `dims` with `activation` between layers, no dropout, plain last layer, and the
    /// activation's default initialiser.
    pub fn new(dims: Vec<usize>, activation: Activation) -> MlpConfig {
        MlpConfig {
            dims,
            activation,
            dropout: 0.0,
            activate_last: false,
            init: activation.default_init(),
        }
    }
}

/// A stack of [`Linear`] layers named `<name>.0`, `<name>.1`, ...
#[derive(Clone, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    pub cfg: MlpConfig,
}

impl Mlp {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        cfg: &MlpConfig,
        rng: &mut R,
    ) -> Result<Mlp> {
        if cfg.dims.len() < 2 {
            return Err(Error::Config {
                what: format!("MLP `{name}`"),
                message: format!("dims must list at least [D_in, D_out], got {:?}", cfg.dims),
            });
        }
        if !(0.0..1.0).contains(&cfg.dropout) {
            return Err(Error::Config {
                what: format!("MLP `{name}` dropout"),
                message: format!("must be in [0, 1), got {}", cfg.dropout),
            });
        }
        let layers = cfg
            .dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(store, &format!("{name}.{i}"), w[0], w[1], cfg.init, rng))
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp {
            layers,
            cfg: cfg.clone(),
        })
    }

    /// `x (B, D_in) → (B, D_out)`.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Var> {
        let mut h = x; // (B, D_in)
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            if i < last || self.cfg.activate_last {
                // Linear + bias + activation, one fused op.
                h = layer.forward_act(g, store, h, self.cfg.activation.unary())?; // (B, D_{i+1})
                if self.cfg.dropout > 0.0 {
                    h = g.dropout(h, self.cfg.dropout)?; // (B, D_{i+1})
                }
            } else {
                h = layer.forward(g, store, h)?; // (B, D_{i+1})
            }
        }
        Ok(h)
    }

    /// Width of the output.
    pub fn d_out(&self) -> usize {
        *self
            .cfg
            .dims
            .last()
            .expect("validated in Mlp::new: at least two dims")
    }

    /// Number of scalars in all layers.
    pub fn num_params(&self) -> usize {
        self.layers.iter().map(Linear::num_params).sum()
    }
}
