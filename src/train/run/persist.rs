//! The run folder: what a run writes, and what `--resume` reads back.

use super::evaluate::TaskMetrics;
use super::progress::peak_rss_mb;
use crate::autograd::ParamStore;
use crate::balance::Balancer;
use crate::checkpoint::{
    load_params as ck_load, load_train_state, save_params as ck_save, save_train_state, state_path,
    TrainState,
};
use crate::config::{RunConfig, TaskType};
use crate::data::features::Prepared;
use crate::data::ingest::SkippedRows;
use crate::error::{Error, Result};
use crate::optim::Optimizer;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The training loop's position, saved after every epoch.
#[derive(Clone, Debug, Default)]
pub struct LoopState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: usize,
    pub best: Option<f64>,
    pub best_epoch: usize,
    pub bad_epochs: usize,
    /// Early stopping fired.
    pub stopped: bool,
    /// Wall seconds spent in training steps (not evaluation) and samples they processed.
    pub train_seconds: f64,
    pub train_samples: u64,
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes a small text file atomically (write a temporary file, then rename).
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Creates `out` with `config.toml`, `spec.json` and (if rows were skipped)
/// `bad_rows.txt`. A fresh run refuses a folder that already holds a run.
pub fn create_run_folder(
    out: &Path,
    cfg: &RunConfig,
    prepared: &Prepared,
    skipped: &SkippedRows,
    resume: bool,
) -> Result<()> {
    if resume {
        if !state_path(out).is_file() {
            return Err(Error::Io {
                path: out.display().to_string(),
                message: "has no state.safetensors to resume from; start the run without --resume"
                    .into(),
            });
        }
        return Ok(());
    }
    if out.join("summary.json").exists() || state_path(out).exists() {
        return Err(Error::Io {
            path: out.display().to_string(),
            message:
                "already holds a run; choose another --out, delete it, or continue it with --resume"
                    .into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let _ = std::fs::remove_file(out.join("metrics.jsonl"));
    write_atomic(&out.join("config.toml"), &cfg.to_toml_string()?)?;
    write_atomic(&out.join("spec.json"), &prepared.spec.to_json_string()?)?;
    if !skipped.is_empty() {
        write_atomic(&out.join("bad_rows.txt"), &skipped.report())?;
    }
    Ok(())
}

/// Appends one JSON line to `metrics.jsonl`.
pub fn append_metrics(out: &Path, line: &Value) -> Result<()> {
    let path = out.join("metrics.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    writeln!(f, "{line}").map_err(|e| io_err(&path, e))
}

/// The console line of one epoch.
pub fn epoch_line(
    cfg: &RunConfig,
    losses: &[f32],
    valid: &TaskMetrics,
    samples_per_s: f64,
    improved: bool,
) -> String {
    let mut parts = Vec::new();
    for (t, l) in cfg.tasks.iter().zip(losses) {
        let m = valid.get(&t.name);
        let shown = match t.kind {
            TaskType::Binary => m.and_then(|m| m.get("auc")).map(|v| format!("auc {v:.4}")),
            TaskType::Regression => m
                .and_then(|m| m.get("rmse"))
                .map(|v| format!("rmse {v:.4}")),
        };
        parts.push(format!(
            "{} loss {l:.4} valid {}",
            t.name,
            shown.unwrap_or_else(|| "-".into())
        ));
    }
    format!(
        "{}  {:.0} samples/s{}",
        parts.join(" | "),
        samples_per_s,
        if improved { "  *best" } else { "" }
    )
}

fn meta(cfg: &RunConfig) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("model".into(), cfg.model.arch.name().into());
    m.insert(
        "tasks".into(),
        cfg.tasks
            .iter()
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            .join(","),
    );
    m
}

pub fn save_params(path: &Path, store: &ParamStore, cfg: &RunConfig) -> Result<()> {
    ck_save(path, store, &meta(cfg))
}

pub fn load_params(path: &Path, store: &mut ParamStore) -> Result<()> {
    ck_load(path, store).map(|_| ())
}

pub fn save_state(
    out: &Path,
    store: &ParamStore,
    opt: &dyn Optimizer,
    balancer: &Balancer,
    st: &LoopState,
) -> Result<()> {
    let mut extra = BTreeMap::new();
    balancer.save_state(&mut extra);
    extra.insert("stopped".into(), st.stopped.to_string());
    extra.insert("train_seconds".into(), st.train_seconds.to_string());
    extra.insert("train_samples".into(), st.train_samples.to_string());
    let state = TrainState {
        epoch: st.epoch,
        global_step: st.step as u64,
        rng: BTreeMap::new(), // shuffles and dropout derive from (seed, epoch)
        best_metric: st.best,
        best_epoch: st.best.map(|_| st.best_epoch),
        epochs_without_improvement: st.bad_epochs,
        extra,
    };
    save_train_state(state_path(out), store, opt, &state, None)
}

pub fn load_state(
    out: &Path,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    balancer: &mut Balancer,
) -> Result<LoopState> {
    let r = load_train_state(state_path(out), store, opt)?;
    let s = r.state;
    balancer.load_state(&s.extra)?;
    let get = |k: &str| s.extra.get(k).cloned().unwrap_or_default();
    Ok(LoopState {
        epoch: s.epoch,
        step: s.global_step as usize,
        best: s.best_metric,
        best_epoch: s.best_epoch.unwrap_or(0),
        bad_epochs: s.epochs_without_improvement,
        stopped: get("stopped") == "true",
        train_seconds: get("train_seconds").parse().unwrap_or(0.0),
        train_samples: get("train_samples").parse().unwrap_or(0),
    })
}

/// `summary.json`.
pub fn summary(
    cfg: &RunConfig,
    st: &LoopState,
    valid: &TaskMetrics,
    test: &TaskMetrics,
    seconds: f64,
    prepared: &Prepared,
) -> Value {
    let tasks: serde_json::Map<String, Value> = cfg
        .tasks
        .iter()
        .map(|t| {
            let kind = match t.kind {
                TaskType::Binary => "binary",
                TaskType::Regression => "regression",
            };
            (
                t.name.clone(),
                json!({ "type": kind, "valid": valid.get(&t.name), "test": test.get(&t.name) }),
            )
        })
        .collect();
    json!({
        "model": cfg.model.arch.name(),
        "best_epoch": st.best_epoch,
        "epochs_run": st.epoch,
        "train_samples_per_s": if st.train_seconds > 0.0 { st.train_samples as f64 / st.train_seconds } else { 0.0 },
        "peak_rss_mb": peak_rss_mb(),
        "threads": rayon::current_num_threads(),
        "seconds": seconds,
        "rows": { "train": prepared.train.len(), "valid": prepared.valid.len(), "test": prepared.test.len() },
        "tasks": tasks,
    })
}

pub fn write_summary(out: &Path, summary: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(summary).map_err(|e| Error::Io {
        path: "summary.json".into(),
        message: e.to_string(),
    })?;
    write_atomic(&out.join("summary.json"), &(text + "\n"))
}
