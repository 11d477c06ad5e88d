//! Reusable layers built from graph ops: each adds its parameters to a `ParamStore`
//! under a hierarchical name (`shared_bottom.bottom.0.w`) and records its forward pass
//! on a `Graph`. Names are stable: checkpoints refer to parameters by them.

pub mod batch;
pub mod embedding;
pub mod feature_input;
pub mod init;
pub mod layer_norm;
pub mod linear;
pub mod mlp;
pub mod moe;
pub mod text_adaptor;

pub use batch::{Bags, EncodedBatch, SeqInput};
pub use embedding::Embedding;
pub use feature_input::FeatureInput;
pub use init::{kaiming_uniform, normal, xavier_uniform, Init};
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use mlp::{Activation, Mlp, MlpConfig};
pub use moe::{Experts, ExpertsConfig, Gate};
pub use text_adaptor::{AdaptorKind, FrozenTable, TextAdaptor};
