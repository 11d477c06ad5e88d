//! `[train.prune]` (gradual magnitude pruning) and `[train] teacher` / `[train.distill]`
//! (knowledge distillation): the training-time half of making a model smaller and faster.
//! The schedule and the masks live in `train::prune`, the soft-label loss in `loss::distill`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which weights compete for the same sparsity budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PruneScope {
    /// One magnitude threshold over every prunable matrix together: layers with many
    /// small weights lose more of them.
    #[default]
    Global,
    /// Every prunable matrix pruned to the same fraction on its own.
    Layer,
}

/// `[train.prune]`: magnitude pruning of the dense weight matrices (`*.w` outside the
/// input layer) to `sparsity` along the cubic schedule of Zhu & Gupta (2017).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneConfig {
    /// Final fraction of pruned (zero) weights, in [0, 1).
    pub sparsity: f64,
    #[serde(default)]
    pub scope: PruneScope,
    /// First epoch (1-based) whose steps raise the sparsity.
    #[serde(default = "one")]
    pub start_epoch: usize,
    /// Epoch (1-based) at whose end the final sparsity is reached; only epochs from here
    /// on can be the run's best epoch.
    #[serde(default = "one")]
    pub end_epoch: usize,
    /// Steps between two mask updates; 0 = once per epoch.
    #[serde(default)]
    pub every: usize,
}

fn one() -> usize {
    1
}

/// `[train.distill]`: how the teacher's outputs enter each task's loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillConfig {
    /// Temperature T of the soft labels σ(z/T) (binary tasks); T² scales their loss.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// α: each task's loss is (1 − α)·L_hard + α·L_soft.
    #[serde(default = "default_weight")]
    pub weight: f64,
}

fn default_temperature() -> f64 {
    2.0
}

fn default_weight() -> f64 {
    0.5
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            temperature: default_temperature(),
            weight: default_weight(),
        }
    }
}

fn bad(what: &str, message: String) -> Error {
    Error::Config {
        what: what.into(),
        message,
    }
}

/// Checks `[train.prune]` against `epochs`, and `[train.distill]` (which needs a teacher).
pub(super) fn validate(
    prune: Option<&PruneConfig>,
    teacher: Option<&str>,
    distill: Option<&DistillConfig>,
    epochs: usize,
) -> Result<()> {
    if let Some(p) = prune {
        if !(0.0..1.0).contains(&p.sparsity) {
            return Err(bad(
                "train.prune.sparsity",
                format!(
                    "is {}; expected a fraction of pruned weights in [0, 1), e.g. 0.8",
                    p.sparsity
                ),
            ));
        }
        if p.start_epoch == 0 || p.start_epoch > p.end_epoch || p.end_epoch > epochs {
            return Err(bad(
                "train.prune",
                format!(
                    "start_epoch = {}, end_epoch = {} with train.epochs = {epochs}; expected 1 ≤ start_epoch ≤ end_epoch ≤ train.epochs (epochs count from 1; leave epochs after end_epoch to recover)",
                    p.start_epoch, p.end_epoch
                ),
            ));
        }
    }
    if let Some(distill) = distill {
        if teacher.is_none() {
            return Err(bad(
                "train.distill",
                "is set but train.teacher is not; name the teacher run folder, e.g. teacher = \"runs/big\"".into(),
            ));
        }
        if !(distill.temperature.is_finite() && distill.temperature > 0.0) {
            return Err(bad(
                "train.distill.temperature",
                format!(
                    "is {}; expected a temperature > 0, e.g. 2.0",
                    distill.temperature
                ),
            ));
        }
        if !(0.0..=1.0).contains(&distill.weight) {
            return Err(bad(
                "train.distill.weight",
                format!(
                    "is {}; expected α in [0, 1] (loss = (1 − α)·hard + α·soft)",
                    distill.weight
                ),
            ));
        }
    }
    if teacher.is_some_and(|t| t.trim().is_empty()) {
        return Err(bad(
            "train.teacher",
            "is empty; name a finished run folder, e.g. teacher = \"runs/big\"".into(),
        ));
    }
    Ok(())
}
