//! # mtrec — multi-task recommendation on a hand-written engine
//!
//! One model predicts several behaviours of a user towards an item at once (click,
//! purchase, rating, ...). Everything numeric is written here by hand: a reverse-mode
//! autodiff engine, rayon-parallel CPU kernels, layers, losses and optimisers, each
//! backward pass derived in its op's `# Derivation` section and indexed in `docs/math.md`.
//!
//! ## Layers of the crate (imports point down this list, never up)
//!
//! A module may import the modules on its own line and on the lines above it, never one
//! below: `tests/h16layers_imports.rs` checks every `crate::` path under `src/`.
//! `docs/architecture.md` follows one training step through them.
//!
//! ```text
//! error             the crate's `Error` and `Result`
//! tensor            row-major f32 matrices
//! autograd, ops, optim, device
//!                   the engine: graph-owned tape and parameter store; every op in its
//!                   folder (src/ops/<op>/: forward/backward kernels, derivation, lowering
//!                   to device launches); SGD, Adam, AdamW (lazy row-sparse for
//!                   embeddings), clipping, schedules; the device step that runs the
//!                   launches: host replay (the CPU kernels) or device::cuda (feature
//!                   `cuda`: kernels/*.cu via NVRTC, launch wrappers with the CPU kernels
//!                   as twins; docs/cuda.md)
//! loss, balance     MSE, BCE-with-logits, softmax cross-entropy, distillation, task-weighted
//!                   sum (the graph methods that check options; their kernels are ops);
//!                   loss balancing (fixed, uncertainty, GradNorm, DWA, PCGrad)
//! nn                Linear, Embedding, MLP, LayerNorm, expert banks and gates, feature input,
//!                   the batch layouts the network reads
//! metrics, checkpoint
//!                   AUC / GAUC / ranking metrics; safetensors run state
//! text              native sentence encoder: WordPiece tokenizer, BERT layers from
//!                   safetensors, mean pooling, embedding cache
//! config, data      run configs (TOML); ingest, loaders, feature pipeline, generators
//! models            multi-task architectures (Single-Task, Shared-Bottom, OMoE, MMoE,
//!                   CGC / PLE, ESMM, AITM) and their diagnostics
//! quant             post-training int8: quantised weights of a run, the one loading path
//!                   of a run's weights (f32 or int8)
//! baselines         reference models scored beside every run: popularity, biases,
//!                   transition (docs/baselines.md)
//! ensemble          the ensemble folder and its combiners (mean, ranks, stacking); the
//!                   members are scored by `cli`
//! dist              data-parallel training over MPI (feature `mpi`)
//! train             training loops
//! recommend         top-K lists from a trained run: fusion, filters, list evaluation
//! export            ONNX export of a trained run
//! serve             trained runs behind HTTP (Open Inference Protocol), micro-batching
//! tune              hyper-parameter search over run configs (grid, random, halving)
//! report            the HTML report of one or more run folders
//! cli               the `mtrec` binary's commands
//! ```
//!
//! ## Legend of letters used in shape comments
//!
//! | letter | meaning |
//! |---|---|
//! | B | batch size (rows) |
//! | D | width of a feature vector or hidden layer (`D_in`, `D_out` for a layer) |
//! | E | number of experts |
//! | K | number of tasks |
//! | V | vocabulary size / number of classes / embedding-table rows |
//! | T | sequence length |
//! | M, N | generic row / column counts of a matrix product |
//!
//! Shapes are written row-major as `(rows, cols)`; `(B, E·D)` is E column blocks of width D.
//!
//! ## Ten lines
//!
//! ```
//! use mtrec::autograd::{Graph, ParamStore};
//! use mtrec::tensor::Tensor;
//! let mut store = ParamStore::new();
//! let w = store.add_dense("w", 3, 1, vec![0.1, -0.2, 0.3]).unwrap();
//! let mut g = Graph::new(0);
//! let x = g.input(&Tensor::from_vec(2, 3, vec![1., 2., 3., 4., 5., 6.]).unwrap()); // (B, D)
//! let wv = g.param(&store, w).unwrap();                                            // (D, 1)
//! let y = g.mm(x, wv).unwrap();                                                    // (B, 1)
//! let loss = g.mse_loss(y, &[1.0, 0.0], Default::default()).unwrap();             // (1, 1)
//! g.backward(loss, &mut store).unwrap();
//! assert_eq!(store.grad(w).unwrap().len(), 3);
//! ```

pub mod autograd;
pub mod balance;
pub mod baselines;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod dist;
pub mod ensemble;
pub mod error;
pub mod export;
pub mod loss;
pub mod metrics;
pub mod models;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod quant;
pub mod recommend;
pub mod report;
pub mod serve;
pub mod tensor;
pub mod text;
pub mod train;
pub mod tune;

pub use error::{Error, Result};
