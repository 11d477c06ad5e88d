//! Reads a run folder as far as it goes: each file that is missing, cut short by a kill
//! or of an older format becomes a note in the report instead of an error.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a run folder holds (`mtrec train` or `mtrec seq`).
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// The folder as given on the command line.
    pub path: PathBuf,
    /// The short name shown in legends and tables (the folder's last component).
    pub name: String,
    /// `config.toml` as written (shown verbatim) and parsed (for keys and diffs).
    pub config_text: Option<String>,
    pub config: Option<toml::Table>,
    /// `metrics.jsonl`, one object per complete epoch line.
    pub epochs: Vec<Value>,
    pub summary: Option<Value>,
    /// `run_info.json`: command line, version, commit, machine per invocation.
    pub info: Option<Value>,
    /// A sequence run (`mtrec seq`): epochs count from 1 and hold HR/NDCG.
    pub seq: bool,
    /// What is missing or could not be read, one sentence each.
    pub notes: Vec<String>,
}

impl Run {
    /// A value of the resolved config by dotted key (`train.lr`).
    pub fn config_value(&self, key: &str) -> Option<&toml::Value> {
        let mut parts = key.split('.');
        let mut v = self.config.as_ref()?.get(parts.next()?)?;
        for p in parts {
            v = v.as_table()?.get(p)?;
        }
        Some(v)
    }

    /// `run_info.json`'s invocations (the first started the run, later ones resumed it).
    pub fn invocations(&self) -> &[Value] {
        self.info
            .as_ref()
            .and_then(|i| i.get("invocations"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

/// Reads `dir`. Only a folder that does not exist (or holds none of the run files) is
/// an error: anything less gives a [`Run`] with notes.
pub fn load_run(dir: &Path) -> crate::error::Result<Run> {
    let mut run = Run {
        path: dir.to_path_buf(),
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string()),
        ..Run::default()
    };
    let known = ["config.toml", "metrics.jsonl", "summary.json"];
    if !dir.is_dir() || known.iter().all(|f| !dir.join(f).exists()) {
        return Err(crate::error::Error::Io {
            path: dir.display().to_string(),
            message: format!(
                "is not a run folder (none of {} in it); give a folder written by `mtrec train` or `mtrec seq`",
                known.join(", ")
            ),
        });
    }
    match std::fs::read_to_string(dir.join("config.toml")) {
        Ok(text) => {
            match text.parse::<toml::Table>() {
                Ok(t) => run.config = Some(t),
                Err(e) => run.notes.push(format!(
                    "config.toml is not valid TOML ({}); the config keys are not compared",
                    e.message()
                )),
            }
            run.config_text = Some(text);
        }
        Err(_) => run
            .notes
            .push("config.toml is missing: no resolved config to show or compare".into()),
    }
    read_metrics(dir, &mut run);
    run.summary = read_json(dir, "summary.json", &mut run.notes, "summary.json is missing: the run has not finished or was killed, so there are no final valid/test metrics");
    run.info = read_json(dir, super::RUN_INFO, &mut run.notes, "run_info.json is missing (a run of an older mtrec): no command line, version, commit or machine recorded");
    run.seq = run.config_value("data.dataset").is_some()
        || run
            .epochs
            .first()
            .is_some_and(|l| l.get("train_loss").is_some_and(Value::is_number))
        || run
            .summary
            .as_ref()
            .is_some_and(|s| s.get("dataset").is_some());
    if !run.seq {
        one_based_epochs(&mut run.epochs);
    }
    Ok(run)
}

/// `mtrec train` numbers the epochs of `metrics.jsonl` from 1 (`epoch`, and
/// `early_stopping.best_epoch`); older versions from 0, and a folder an older version
/// started and this one resumed holds both. Line k (0-based) is epoch k + 1 either way,
/// so each line is brought to the 1-based numbering by its own offset.
fn one_based_epochs(lines: &mut [Value]) {
    for (k, line) in lines.iter_mut().enumerate() {
        let Some(e) = line.get("epoch").and_then(Value::as_u64) else {
            continue;
        };
        let offset = (k as u64 + 1).saturating_sub(e);
        if offset != 1 {
            continue; // already 1-based (or not a line of the usual sequence)
        }
        line["epoch"] = Value::from(k as u64 + 1);
        if let Some(b) = line
            .get("early_stopping")
            .and_then(|es| es.get("best_epoch"))
            .and_then(Value::as_u64)
        {
            line["early_stopping"]["best_epoch"] = Value::from(b + 1);
        }
    }
}

fn read_json(dir: &Path, file: &str, notes: &mut Vec<String>, missing: &str) -> Option<Value> {
    match std::fs::read_to_string(dir.join(file)) {
        Ok(text) => match serde_json::from_str(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                notes.push(format!("{file} is not valid JSON ({e}); left out"));
                None
            }
        },
        Err(_) => {
            notes.push(missing.to_string());
            None
        }
    }
}

/// `metrics.jsonl`: complete lines kept; a last line cut short (a killed run) or a line
/// that is not a JSON object is reported and skipped.
fn read_metrics(dir: &Path, run: &mut Run) {
    let text = match std::fs::read_to_string(dir.join("metrics.jsonl")) {
        Ok(t) => t,
        Err(_) => {
            run.notes
                .push("metrics.jsonl is missing: no per-epoch curves".into());
            return;
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => run.epochs.push(v),
            _ => {
                let last = i + 1 == lines.len() && !text.ends_with('\n');
                run.notes.push(if last {
                    format!(
                        "metrics.jsonl line {} is cut short (the run was killed while writing it); the epochs before it are shown",
                        i + 1
                    )
                } else {
                    format!("metrics.jsonl line {} is not a JSON object; skipped", i + 1)
                });
            }
        }
    }
    if run.epochs.is_empty() {
        run.notes
            .push("metrics.jsonl holds no complete epoch: no per-epoch curves".into());
    }
}
