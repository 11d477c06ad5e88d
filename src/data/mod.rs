//! Data sets and generators: dense features `(N, D)` with K task labels `(N, K)`.

pub mod cache;
pub mod dataset;
pub mod features;
pub mod fingerprint;
pub mod gen_aliexpress;
pub mod ingest;
pub mod loaders;
pub mod rows;
pub mod sequences;
pub mod synthetic;

pub use dataset::{Batch, Dataset, TaskKind};
pub use synthetic::{SyntheticConfig, SyntheticData};
