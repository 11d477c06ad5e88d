//! Transfer in `mtrec train`: `[train] init_from` and `freeze`, and what the run folder
//! records about them (`transfer.json`, and `transfer` / per-task `cold` in
//! `summary.json`).
//!
//! Task heads are named by the task's position (`mmoe.tower.1`, `mmoe.gate.1`), so the
//! tasks of the source run must come first, in its order; tasks after them are new heads
//! that start fresh (their parameters are absent from the checkpoint and reported as new).

use super::evaluate::TaskMetrics;
use crate::autograd::{ParamId, ParamStore};
use crate::checkpoint::transfer::{freeze_groups, init_from, source_file, TransferReport};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;

/// What the transfer settings did to this run.
#[derive(Clone, Debug, Default)]
pub struct TransferInfo {
    /// Parameters the optimiser must leave unchanged.
    pub frozen: Vec<ParamId>,
    /// The record written to `transfer.json` and `summary.json` (`null` when unused).
    pub record: Value,
}

/// Applies `train.init_from` (not on `--resume`: the state has the weights) and
/// `train.freeze` to `store`, and writes `<out>/transfer.json`.
pub fn apply(
    cfg: &RunConfig,
    store: &mut ParamStore,
    out: &Path,
    resume: bool,
) -> Result<TransferInfo> {
    let tc = &cfg.train;
    if tc.init_from.is_none() && tc.freeze.is_empty() {
        return Ok(TransferInfo {
            frozen: Vec::new(),
            record: Value::Null,
        });
    }
    let frozen = freeze_groups(store, &tc.freeze)?;
    let frozen_names: Vec<&str> = frozen
        .iter()
        .map(|&id| store.info(id).name.as_str())
        .collect();
    let mut record = json!({
        "init_from": tc.init_from,
        "freeze": tc.freeze,
        "frozen_params": frozen_names,
    });
    if let Some(src) = &tc.init_from {
        let src = Path::new(src);
        let new_tasks = check_tasks(cfg, src)?;
        let path = out.join("transfer.json");
        if resume && path.is_file() {
            // The weights come from state.safetensors; keep the first record.
            return Ok(TransferInfo {
                frozen,
                record: read_record(&path)?,
            });
        }
        let report: TransferReport = init_from(store, src)?;
        eprintln!("{}", report.summary());
        if !new_tasks.is_empty() {
            eprintln!(
                "new task heads (absent in the source run, start fresh): {}",
                new_tasks.join(", ")
            );
        }
        record["source_file"] = json!(report.source.display().to_string());
        record["loaded"] = json!(report.loaded);
        record["new"] = json!(report.new);
        record["unused"] = json!(report.unused);
        record["new_tasks"] = json!(new_tasks);
    }
    if !frozen.is_empty() {
        eprintln!(
            "frozen: {} parameters ({})",
            frozen.len(),
            tc.freeze.join(", ")
        );
    }
    std::fs::create_dir_all(out).map_err(|e| Error::Io {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    let text = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
    std::fs::write(out.join("transfer.json"), text).map_err(|e| Error::Io {
        path: out.join("transfer.json").display().to_string(),
        message: e.to_string(),
    })?;
    Ok(TransferInfo { frozen, record })
}

fn read_record(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("is not valid JSON ({e}); delete it and start the run again"),
    })
}

/// The source run's tasks must be a prefix of this run's; returns the new ones.
fn check_tasks(cfg: &RunConfig, src: &Path) -> Result<Vec<String>> {
    let here: Vec<&str> = cfg.tasks.iter().map(|t| t.name.as_str()).collect();
    let src_cfg = src.join("config.toml");
    if !src.is_dir() || !src_cfg.is_file() {
        if !source_file(src).is_file() {
            return Err(Error::Io {
                path: src.display().to_string(),
                message: "train.init_from names no run folder (with model.safetensors) or .safetensors file".into(),
            });
        }
        return Ok(Vec::new()); // a bare parameter file: heads are matched by name only
    }
    let theirs = RunConfig::from_file(&src_cfg, &[])?;
    for (i, t) in theirs.tasks.iter().enumerate() {
        if here.get(i) != Some(&t.name.as_str()) {
            return Err(Error::Config {
                what: format!("tasks[{i}]"),
                message: format!(
                    "is {:?} here but `{}` in the source run {} (tasks {:?}); task heads are matched by position: list the source run's tasks first, in its order, and new tasks after them",
                    here.get(i),
                    t.name,
                    src.display(),
                    theirs.tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>()
                ),
            });
        }
    }
    Ok(here[theirs.tasks.len()..]
        .iter()
        .map(|s| s.to_string())
        .collect())
}

/// `summary.json`: `tasks.<name>.cold` and `rows.cold`.
pub fn add_cold(summary: &mut Value, cfg: &RunConfig, cold: &TaskMetrics, rows: usize) {
    for t in &cfg.tasks {
        if let Some(entry) = summary["tasks"].get_mut(&t.name) {
            entry["cold"] = json!(cold.get(&t.name));
        }
    }
    summary["rows"]["cold"] = json!(rows);
}

/// `summary.json`: `transfer` (init_from, freeze, loaded / new parameters).
pub fn add_transfer(summary: &mut Value, info: &TransferInfo) {
    if !info.record.is_null() {
        summary["transfer"] = info.record.clone();
    }
}
