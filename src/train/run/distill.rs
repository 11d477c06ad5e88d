//! Knowledge distillation in `mtrec train`: `[train] teacher = "runs/big"`.
//!
//! ```text
//! teacher: the finished run's input layer, model and best weights (no gradient)
//! per batch:  z_t,k = teacher(batch)                       K × (B, 1), evaluation mode
//!             L_k   = (1 − α)·L_k,hard + α·L_k,soft        per task
//!             L_k,soft = distill_bce(z_k, z_t,k, T)   binary      (loss::distill)
//!                      = mse(p_k, p_t,k)              regression
//! ```
//! The soft losses cover every row of the batch, labelled for the task or not: the
//! teacher labels what the data does not. Teacher and student must have the same tasks
//! (names, kinds, order) and the same fitted inputs (`spec.json`), so the student's
//! encoded batch means the same to both.

use super::saved::{load_saved, SavedRun};
use super::step::{record_task_losses, StepParts};
use crate::autograd::Graph;
use crate::balance::StepInfo;
use crate::config::compress::DistillConfig;
use crate::config::{RunConfig, TaskType};
use crate::data::features::{EncodedBatch, FeatureSpec};
use crate::error::{Error, Result};
use crate::loss::LossOpts;
use crate::optim::clip_grad_norm;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A loaded teacher and the outputs of its last batch.
pub struct Teacher {
    pub dir: PathBuf,
    run: SavedRun,
    g: Graph,
    pub temperature: f32,
    pub weight: f32,
    /// `outs[k]`: the teacher's raw outputs (logits / values) for the current batch.
    outs: Vec<Vec<f32>>,
}

fn bad(message: String) -> Error {
    Error::Config {
        what: "train.teacher".into(),
        message,
    }
}

/// What differs between the teacher's tasks and the student's; empty if nothing.
pub fn task_differences(teacher: &RunConfig, student: &RunConfig) -> Vec<String> {
    let show = |c: &RunConfig| -> Vec<String> {
        c.tasks
            .iter()
            .map(|t| format!("{} ({:?})", t.name, t.kind).to_lowercase())
            .collect()
    };
    let (t, s) = (show(teacher), show(student));
    if t == s {
        Vec::new()
    } else {
        vec![format!(
            "tasks: the teacher has [{}], the student [{}]",
            t.join(", "),
            s.join(", ")
        )]
    }
}

/// What differs between two fitted feature specs, by section and feature name.
pub fn input_differences(teacher: &FeatureSpec, student: &FeatureSpec) -> Result<Vec<String>> {
    let to_value = |s: &FeatureSpec| -> Result<Value> {
        serde_json::from_str(&s.to_json_string()?).map_err(|e| bad(e.to_string()))
    };
    let (t, s) = (to_value(teacher)?, to_value(student)?);
    let mut out = Vec::new();
    let (Some(t), Some(s)) = (t.as_object(), s.as_object()) else {
        return Ok(out);
    };
    let name = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
    for (key, tv) in t {
        let sv = s.get(key).unwrap_or(&Value::Null);
        if tv == sv {
            continue;
        }
        match (tv.as_array(), sv.as_array()) {
            (Some(ta), Some(sa)) => {
                let tn: Vec<String> = ta.iter().filter_map(name).collect();
                let sn: Vec<String> = sa.iter().filter_map(name).collect();
                if tn != sn {
                    out.push(format!(
                        "{key}: the teacher has [{}], the student [{}]",
                        tn.join(", "),
                        sn.join(", ")
                    ));
                } else {
                    let differ: Vec<&String> = tn
                        .iter()
                        .zip(ta.iter().zip(sa))
                        .filter(|(_, (a, b))| a != b)
                        .map(|(n, _)| n)
                        .collect();
                    out.push(format!(
                        "{key}: the fitted encoding of {} differs (vocabulary, scaling or width)",
                        differ
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            _ => out.push(format!("{key} differs")),
        }
    }
    Ok(out)
}

impl Teacher {
    /// Loads the finished run `dir` and checks it against the student (`cfg`, `spec`).
    pub fn load(
        dir: &str,
        distill: Option<&DistillConfig>,
        cfg: &RunConfig,
        spec: &FeatureSpec,
    ) -> Result<Teacher> {
        let path = Path::new(dir);
        if !path.join("model.safetensors").is_file() || !path.join("config.toml").is_file() {
            return Err(bad(format!(
                "`{dir}` is not a finished run folder (no config.toml and model.safetensors there); train the teacher first with `mtrec train --out {dir}`, or fix the path"
            )));
        }
        let run = load_saved(path)?;
        let mut problems = task_differences(&run.cfg, cfg);
        problems.extend(input_differences(&run.spec, spec)?);
        if !problems.is_empty() {
            return Err(bad(format!(
                "`{dir}` does not match this run: {}; a teacher must have the student's tasks and be trained on the same data and features",
                problems.join("; ")
            )));
        }
        let opts = distill.cloned().unwrap_or_default();
        let mut g = Graph::new(0);
        g.set_training(false);
        Ok(Teacher {
            dir: path.to_path_buf(),
            run,
            g,
            temperature: opts.temperature as f32,
            weight: opts.weight as f32,
            outs: Vec::new(),
        })
    }

    /// The teacher's outputs for `batch` (evaluation mode, no gradient recorded).
    pub fn forward(&mut self, batch: &EncodedBatch) -> Result<&[Vec<f32>]> {
        let g = &mut self.g;
        g.reset();
        let x = self.run.input.forward(g, &self.run.store, batch)?; // (B, D_in)
        let outs = self.run.model.forward(g, &self.run.store, x)?; // K × (B, 1)
        self.outs.resize(outs.len(), Vec::new());
        for (o, &v) in self.outs.iter_mut().zip(&outs) {
            o.clear();
            o.extend_from_slice(g.value(v));
        }
        Ok(&self.outs)
    }

    /// `summary.json`'s `"distill"`.
    pub fn summary(&self) -> Value {
        serde_json::json!({
            "teacher": self.dir.display().to_string(),
            "teacher_model": self.run.cfg.model.arch.name(),
            "temperature": self.temperature,
            "weight": self.weight,
        })
    }
}

/// [`super::step::encoded_step`] with each task's loss mixed with its distillation loss.
pub fn distill_step(
    g: &mut Graph,
    p: &mut StepParts<'_>,
    teacher: &mut Teacher,
    batch: &EncodedBatch,
    lr: f32,
    info: &mut StepInfo,
) -> Result<()> {
    let (t, a) = (teacher.temperature, teacher.weight);
    let soft = teacher.forward(batch)?; // K × (B,)
    g.reset();
    let x = p.input.forward(g, p.store, batch)?; // (B, D_in)
    let outs = p.model.forward(g, p.store, x)?; // K × (B, 1)
    let mut losses = Vec::with_capacity(outs.len());
    record_task_losses(g, p.kinds, p.model, &outs, batch, &mut losses)?; // K × (1, 1)
    for (k, kind) in p.kinds.iter().enumerate() {
        let s = match kind {
            TaskType::Binary => g.distill_bce(outs[k], &soft[k], t, LossOpts::default())?,
            TaskType::Regression => g.mse_loss(outs[k], &soft[k], LossOpts::default())?,
        }; // (1, 1)
        losses[k] = g.weighted_sum(&[losses[k], s], &[1.0 - a, a])?;
    }
    p.balancer
        .backward_into(g, p.store, &losses, p.shared, info)?;
    if !info.objective.is_finite() {
        return Ok(());
    }
    if p.clip_norm > 0.0 {
        clip_grad_norm(p.store, p.clip_norm)?;
    }
    p.opt.step(p.store, lr)
}
