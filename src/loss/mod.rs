//! Losses: per-sample terms with optional per-sample weights and a label mask, reduced
//! to a `(1, 1)` scalar. Here are the options and the graph methods that check them
//! before recording a node; each loss's kernels, backward pass and derivation are an op
//! folder (`crate::ops::{mse, bce, softmax_ce, distill}`), and the weighted sum over
//! tasks that multi-task backward starts from is `crate::ops::weighted_sum`.
//!
//! Every loss computes `L = Σ_i c_i · ℓ_i` with `c_i = m_i · w_i / Σ_j m_j` where
//! `m_i ∈ {0, 1}` says whether sample i has a label for this task and `w_i ≥ 0` is its
//! weight (1 if none given). With no mask and no weights this is the plain mean. A batch
//! in which no sample has a label gives `L = 0` and no gradient.

pub mod bce;
pub mod catalogue_ce;
pub mod distill;
pub mod mse;
pub mod softmax_ce;

mod opts;

pub use opts::LossOpts;
