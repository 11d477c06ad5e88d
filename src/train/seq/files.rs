//! What an `mtrec seq` run writes into its run folder: the locked folder with the
//! resolved config, one line per epoch, the best epoch's weights and the summary.

use super::SeqFitOptions;
use super::SeqRunConfig;
use crate::autograd::ParamStore;
use crate::error::{Error, Result};
use crate::train::run::folder;
use serde_json::Value;
use std::path::Path;

/// The best epoch's weights and the summary into the run folder `out`.
pub(super) fn write_best(
    out: &Path,
    store: &ParamStore,
    best_epoch: usize,
    summary: &Value,
    opts: &SeqFitOptions,
) -> Result<()> {
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("model".to_string(), "sasrec".to_string());
    meta.insert("best_epoch".to_string(), best_epoch.to_string());
    crate::checkpoint::save_params(out.join("model.safetensors"), store, &meta)?;
    write_text(
        &out.join("summary.json"),
        &serde_json::to_string_pretty(summary).unwrap_or_default(),
    )?;
    if let Some(f) = opts.after_epoch {
        f(out)?;
    }
    Ok(())
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

pub(super) fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| io_err(path, e))
}

pub(super) fn append_line(path: &Path, v: &Value) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    writeln!(f, "{v}").map_err(|e| io_err(path, e))
}

/// Locks the run folder (see `train::run::folder`) and writes the resolved config;
/// refuses a folder that holds any run file.
pub(super) fn create_run_folder(out: &Path, cfg: &SeqRunConfig) -> Result<folder::RunLock> {
    let lock = folder::lock(out)?;
    let found = folder::run_files_in(out)?;
    if !found.is_empty() {
        return Err(Error::Io {
            path: out.display().to_string(),
            message: format!(
                "already holds a run ({}); pass a new --out folder or delete this one",
                found.join(", ")
            ),
        });
    }
    write_text(&out.join("config.toml"), &cfg.to_toml()?)?;
    crate::train::run::info::write_run_info(out, false)?;
    Ok(lock)
}
