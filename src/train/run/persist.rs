//! The run folder: what a run writes, and what `--resume` reads back.

use super::evaluate::TaskMetrics;
use super::progress::peak_rss_mb;
use crate::autograd::ParamStore;
use crate::balance::Balancer;
use crate::checkpoint::{
    load_params as ck_load, load_train_state, save_params as ck_save, state_path, TrainState,
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
    /// Which run this is: a hash of the config it started with ([`run_id`]), written to
    /// the state and to `model.safetensors` so a model of another run is recognised.
    pub run_id: String,
}

/// FNV-1a (64 bit) of the resolved config a run starts with, in hex: the same config
/// gives the same run (and the same weights), another config another id. `train.epochs`
/// is left out: a longer run's epochs are the shorter one's and more (see `resume`).
pub fn run_id(cfg: &RunConfig) -> Result<String> {
    let mut c = cfg.clone();
    c.train.epochs = 0;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in c.to_toml_string()?.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Ok(format!("{h:016x}"))
}

/// What `model.safetensors` records about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMeta {
    /// The epoch whose weights it holds (`None`: written before this was recorded).
    pub epoch: Option<usize>,
    /// The run that wrote it (`None`: not recorded).
    pub run: Option<String>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes a small text file atomically: `<file>.tmp-<pid>`, flushed to disk, then
/// renamed over `path` (a kill leaves the old file or the new one, never half of one).
pub(super) fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Writes `config.toml`, `spec.json` and (if rows were skipped) `bad_rows.txt` of a
/// fresh run. On `--resume` (the config is handled by `resume`) a missing `spec.json` is
/// written, and one that differs from what the data gives now is refused.
pub fn write_run_files(
    out: &Path,
    cfg: &RunConfig,
    prepared: &Prepared,
    skipped: &SkippedRows,
    resume: bool,
) -> Result<()> {
    let spec = prepared.spec.to_json_string()?;
    let spec_path = out.join("spec.json");
    if !resume {
        write_atomic(&out.join("config.toml"), &cfg.to_toml_string()?)?;
    }
    match std::fs::read_to_string(&spec_path) {
        Ok(old) if resume && old != spec => {
            return Err(io_err(
                &spec_path,
                "differs from the features the data gives now: the data files changed since the run started; resume with the run's data, or start a new run",
            ))
        }
        Ok(_) if resume => {}
        _ => write_atomic(&spec_path, &spec)?,
    }
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

/// The console line of one epoch; `ranked`: a ranking metric of the validation pairs
/// to show beside AUC where the task has it (`ndcg@10`).
pub fn epoch_line(
    cfg: &RunConfig,
    losses: &[f32],
    valid: &TaskMetrics,
    ranked: Option<&str>,
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
        let shown = match (shown, ranked.and_then(|r| Some((r, m?.get(r)?)))) {
            (Some(s), Some((r, v))) => Some(format!("{s} {r} {v:.4}")),
            (None, Some((r, v))) => Some(format!("{r} {v:.4}")),
            (s, None) => s,
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

/// `model.safetensors`: the weights of `epoch` of run `run_id`, both in its metadata.
pub fn save_params(
    path: &Path,
    store: &ParamStore,
    cfg: &RunConfig,
    epoch: usize,
    run_id: &str,
) -> Result<()> {
    let mut m = meta(cfg);
    m.insert(super::folder::MODEL_EPOCH.into(), epoch.to_string());
    m.insert(super::folder::MODEL_RUN.into(), run_id.into());
    ck_save(path, store, &m)
}

/// [`save_params`] with the pruning masks (`<name>.mask`) beside the weights; none: as
/// [`save_params`].
pub fn save_params_masked(
    path: &Path,
    store: &ParamStore,
    cfg: &RunConfig,
    epoch: usize,
    run_id: &str,
    masks: &[(crate::autograd::ParamId, Vec<f32>)],
) -> Result<()> {
    if masks.is_empty() {
        return save_params(path, store, cfg, epoch, run_id);
    }
    let mut m = meta(cfg);
    m.insert(super::folder::MODEL_EPOCH.into(), epoch.to_string());
    m.insert(super::folder::MODEL_RUN.into(), run_id.into());
    let extra = crate::checkpoint::masks::mask_tensors(store, masks, "");
    crate::checkpoint::params::save_params_with(path, store, &m, extra)
}

/// Loads `path` into `store`; returns what it records about itself.
pub fn load_params(path: &Path, store: &mut ParamStore) -> Result<ModelMeta> {
    let m = ck_load(path, store)?;
    Ok(ModelMeta {
        epoch: m
            .get(super::folder::MODEL_EPOCH)
            .and_then(|e| e.parse().ok()),
        run: m.get(super::folder::MODEL_RUN).cloned(),
    })
}

/// `state.safetensors`, with the pruning masks (`param/<name>.mask`) if any.
pub fn save_state_masked(
    out: &Path,
    store: &ParamStore,
    opt: &dyn Optimizer,
    balancer: &Balancer,
    st: &LoopState,
    masks: &[(crate::autograd::ParamId, Vec<f32>)],
) -> Result<()> {
    let mut extra = BTreeMap::new();
    balancer.save_state(&mut extra);
    extra.insert("stopped".into(), st.stopped.to_string());
    extra.insert("train_seconds".into(), st.train_seconds.to_string());
    extra.insert("train_samples".into(), st.train_samples.to_string());
    extra.insert("run_id".into(), st.run_id.clone());
    let state = TrainState {
        epoch: st.epoch,
        global_step: st.step as u64,
        rng: BTreeMap::new(), // shuffles and dropout derive from (seed, epoch)
        best_metric: st.best,
        best_epoch: st.best.map(|_| st.best_epoch),
        epochs_without_improvement: st.bad_epochs,
        extra,
    };
    let extra = crate::checkpoint::masks::mask_tensors(store, masks, "param/");
    crate::checkpoint::train_state::save_train_state_with(
        state_path(out),
        store,
        opt,
        &state,
        None,
        extra,
    )
}

pub fn load_state(
    out: &Path,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    balancer: &mut Balancer,
    epochs: usize,
) -> Result<LoopState> {
    let r = load_train_state(state_path(out), store, opt)?;
    let s = r.state;
    s.check_epochs(&state_path(out), epochs)?;
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
        run_id: get("run_id"),
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
        // 1-based, as printed on the console and in `mtrec seq`'s summary
        "best_epoch": st.best_epoch + 1,
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
