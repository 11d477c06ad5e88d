//! Ensembles of run folders (`mtrec ensemble`, docs/ensemble.md): several `mtrec train`
//! runs on the same data and split combined into one model per task, the combination
//! fitted on the validation split only.
//!
//! An ensemble folder holds `ensemble.json` ([`EnsembleFile`]), a copy of every member
//! run folder under `members/<i>/` and `summary.json`. `mtrec eval` and `mtrec predict`
//! accept it like a run folder, and so do `mtrec recommend` and the recommend route of
//! `mtrec serve` (`recommend/ensemble.rs`; `config.toml` with `[recommend]` is member 0's).

pub mod check;
pub mod combine;
pub mod stack;

use crate::error::{Error, Result};
use combine::TaskRule;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file that makes a folder an ensemble.
pub const ENSEMBLE_FILE: &str = "ensemble.json";

/// `--method` of `mtrec ensemble`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Mean of the members' probabilities (binary) or values (regression).
    Mean,
    /// Sigmoid of the mean of the members' logits (binary); mean value (regression).
    #[value(name = "logit_mean")]
    LogitMean,
    /// Mean of each member's mid-rank among its own validation outputs (binary; a rank
    /// score in [0, 1], not a probability); mean value (regression).
    #[value(name = "rank_mean")]
    RankMean,
    /// Per task a logistic regression on the members' logits (binary) or least squares
    /// on their values (regression), fitted on the validation split.
    Stack,
}

/// `ensemble.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleFile {
    pub method: Method,
    /// Member run folders relative to the ensemble folder (`members/0`, …): copies.
    pub members: Vec<String>,
    /// Where each member was copied from (for the record; not read back).
    pub sources: Vec<String>,
    /// One rule per task, in the members' task order.
    pub tasks: Vec<TaskRule>,
}

/// Whether `dir` is an ensemble folder (holds `ensemble.json`).
pub fn is_ensemble(dir: &Path) -> bool {
    dir.join(ENSEMBLE_FILE).is_file()
}

impl EnsembleFile {
    /// Reads `<dir>/ensemble.json`.
    pub fn read(dir: &Path) -> Result<EnsembleFile> {
        let path = dir.join(ENSEMBLE_FILE);
        let err = |message: String| Error::Io {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        let e: EnsembleFile = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "not an ensemble file ({e}); write it again with mtrec ensemble"
            ))
        })?;
        if e.members.is_empty() || e.tasks.iter().any(|t| t.weights.len() != e.members.len()) {
            return Err(err(format!(
                "{} members but task weights of other lengths; write it again with mtrec ensemble",
                e.members.len()
            )));
        }
        Ok(e)
    }

    /// The member run folders, resolved against the ensemble folder `dir`.
    pub fn member_dirs(&self, dir: &Path) -> Vec<PathBuf> {
        self.members.iter().map(|m| dir.join(m)).collect()
    }
}

/// The folder whose `config.toml` describes the run `dir`: `dir` itself, or member 0 of
/// an ensemble folder (members agree on tasks, data and split).
pub fn config_dir(dir: &Path) -> PathBuf {
    match EnsembleFile::read(dir) {
        Ok(e) if is_ensemble(dir) => e.member_dirs(dir).swap_remove(0),
        _ => dir.to_path_buf(),
    }
}

/// The error of a command that reads a single run's weights (`load_saved`) given an
/// ensemble folder; `command` names it.
pub fn refuse(dir: &Path, command: &str) -> Error {
    Error::Config {
        what: format!("run folder {}", dir.display()),
        message: format!(
            "it is an ensemble (mtrec ensemble), which {command} does not score; score it with `mtrec predict` or `mtrec eval`, or give one of its members ({}/members/0, …)",
            dir.display()
        ),
    }
}
