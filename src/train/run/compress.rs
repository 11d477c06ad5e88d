//! The training-time compression of `mtrec train`: pruning masks (`train::prune`) and a
//! distillation teacher (`distill`), set up, restored on `--resume` and reported.

use super::distill::Teacher;
use crate::autograd::{ParamId, ParamStore};
use crate::config::RunConfig;
use crate::data::features::FeatureSpec;
use crate::device::StepDevice;
use crate::error::{Error, Result};
use crate::train::prune::Pruner;
use serde_json::{json, Value};
use std::path::Path;

/// What a run compresses with; both `None` for a plain run.
pub struct Compress {
    pub pruner: Option<Pruner>,
    pub teacher: Option<Teacher>,
}

impl Compress {
    /// From `[train.prune]` and `[train] teacher`; both run on the CPU step only.
    pub fn start(
        cfg: &RunConfig,
        spec: &FeatureSpec,
        store: &ParamStore,
        steps_per_epoch: usize,
        device: StepDevice,
    ) -> Result<Compress> {
        let tc = &cfg.train;
        if (tc.prune.is_some() || tc.teacher.is_some()) && device != StepDevice::Cpu {
            return Err(Error::Config {
                what: "--device".into(),
                message: "[train.prune] and train.teacher run on the CPU training step only; drop --device (or the pruning / teacher settings)".into(),
            });
        }
        let pruner = match &tc.prune {
            Some(p) => Some(Pruner::new(p, store, steps_per_epoch)?),
            None => None,
        };
        let teacher = match &tc.teacher {
            Some(dir) => Some(Teacher::load(dir, tc.distill.as_ref(), cfg, spec)?),
            None => None,
        };
        Ok(Compress { pruner, teacher })
    }

    /// `--resume`: the masks of `<out>/state.safetensors` (the weights, masked, are loaded).
    pub fn restore(&mut self, out: &Path, store: &ParamStore) -> Result<()> {
        let Some(p) = self.pruner.as_mut() else {
            return Ok(());
        };
        let path = crate::checkpoint::state_path(out);
        if !path.is_file() {
            return Ok(()); // no epoch finished: nothing pruned yet
        }
        let masks = crate::checkpoint::masks::read_masks(&path, store)?;
        p.restore(masks, &path.display().to_string())
    }

    /// The masks to save with the weights (none when not pruning).
    pub fn masks(&self) -> &[(ParamId, Vec<f32>)] {
        self.pruner.as_ref().map_or(&[], |p| p.masks())
    }

    /// Whether the epoch ending at step `t` may be the best one: with pruning, only once
    /// the final sparsity is reached (a denser epoch would win and undo the pruning).
    pub fn may_be_best(&self, t: usize) -> bool {
        self.pruner.as_ref().is_none_or(|p| p.done(t))
    }

    /// `"prune"` and `"distill"` in `summary.json`.
    pub fn add_summary(&self, summary: &mut Value, cfg: &RunConfig) {
        if let (Some(p), Some(c)) = (&self.pruner, &cfg.train.prune) {
            summary["prune"] = json!({
                "target_sparsity": c.sparsity,
                "sparsity": p.sparsity(),
                "scope": c.scope,
                "start_epoch": c.start_epoch,
                "end_epoch": c.end_epoch,
                "every_steps": p.schedule.every,
                "pruned_params": p.masks().len(),
            });
        }
        if let Some(t) = &self.teacher {
            summary["distill"] = t.summary();
        }
    }
}
