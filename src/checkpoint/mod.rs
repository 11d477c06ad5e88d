//! Checkpoints: model parameters and exact-resume training state in `.safetensors` files.
//!
//! - [`save_params`] / [`load_params`]: `model.safetensors`, one F32 tensor per parameter,
//!   named as in the [`crate::autograd::ParamStore`] (`mmoe.gate.0.w`), embedding tables
//!   as `(V, D)`. Opens in Python with `safetensors.numpy.load_file`.
//! - [`save_train_state`] / [`load_train_state`]: `<run>/state.safetensors` with the
//!   parameters (`param/<name>`), the optimiser's state (`adam.m/<name>`,
//!   `adam.v/<name>`, `sgd.velocity/<name>`), optionally the best epoch's parameters
//!   (`best/<name>`) and the trainer's counters ([`TrainState`]) as metadata.
//! - [`write_safetensors`] / [`read_safetensors`]: the file layer. Writes are atomic
//!   (temporary file in the same folder, `sync_all`, `rename`); reads check that every
//!   tensor is F32, and errors name the file and the tensor.
//!
//! `docs/checkpoint.md` lists every tensor name and metadata key.

pub mod masks;
pub mod params;
pub mod safetensors_io;
pub mod train_state;
pub mod transfer;

pub use params::{check_params_in, load_params, load_params_from, param_tensors, save_params};
pub use safetensors_io::{read_safetensors, write_safetensors, Checkpoint, TensorIn, TensorOut};
pub use train_state::{
    load_train_state, save_train_state, state_path, Resumed, TrainState, STATE_FILE,
};

/// Metadata key: what the file holds, [`KIND_PARAMS`] or [`KIND_TRAIN_STATE`].
pub const META_KIND: &str = "mtrec.kind";
/// Metadata key: the layout version of the file, [`FORMAT_VERSION`].
pub const META_VERSION: &str = "mtrec.format_version";
/// Metadata key (training state): [`crate::optim::Optimizer::name`] of the optimiser.
pub const META_OPTIMIZER: &str = "mtrec.optimizer";
/// `mtrec.kind` of a parameter file.
pub const KIND_PARAMS: &str = "params";
/// `mtrec.kind` of a training state.
pub const KIND_TRAIN_STATE: &str = "train_state";
/// The layout version written and read.
pub const FORMAT_VERSION: &str = "1";
