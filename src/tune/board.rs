//! What a search folder holds besides its trial run folders:
//!
//! ```text
//! runs/tune-X/
//!   search.json       strategy, seed, budgets: what --resume must match
//!   space.toml        the space file as given
//!   base.toml         the base run config as given
//!   trials.jsonl      one line per finished (trial, budget): the journal --resume replays
//!   leaderboard.csv   rank, trial, status, epochs, objective, one column per key, ...
//!   best.toml         the best trial's resolved config (mtrec train --config best.toml)
//!   result.json       best and preset: valid objective and test metrics
//!   trial-000/ ...    ordinary run folders (trial-000: the base config unchanged)
//! ```
//!
//! `leaderboard.csv` is rewritten (atomically) after every finished job.

use super::strategy::{Scheduler, Settings};
use crate::error::{Error, Result};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A trial's run folder: `trial-007`.
pub fn trial_dir(out: &Path, trial: usize) -> PathBuf {
    out.join(format!("trial-{trial:03}"))
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes `text` to `path` through a temp file and a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// One line of `trials.jsonl`.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub trial: usize,
    pub epochs: usize,
    pub objective: Option<f64>,
    pub seconds: f64,
    pub error: Option<String>,
}

impl Record {
    fn to_json(&self) -> Json {
        json!({ "trial": self.trial, "epochs": self.epochs, "objective": self.objective,
                "seconds": self.seconds, "error": self.error })
    }
}

/// Appends `r` to `<out>/trials.jsonl` (one line, flushed).
pub fn append(out: &Path, r: &Record) -> Result<()> {
    let path = out.join("trials.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    writeln!(f, "{}", r.to_json()).map_err(|e| io(&path, e))?;
    f.sync_data().map_err(|e| io(&path, e))
}

/// The journal's records; a half-written last line (a kill) is ignored.
pub fn read_journal(out: &Path) -> Result<Vec<Record>> {
    let path = out.join("trials.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&path, e)),
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        let (Some(trial), Some(epochs)) = (v["trial"].as_u64(), v["epochs"].as_u64()) else {
            continue;
        };
        out.push(Record {
            trial: trial as usize,
            epochs: epochs as usize,
            objective: v["objective"].as_f64(),
            seconds: v["seconds"].as_f64().unwrap_or(0.0),
            error: v["error"].as_str().map(str::to_string),
        });
    }
    Ok(out)
}

/// A value as a leaderboard cell: strings without quotes, the rest as TOML.
pub fn cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The leaderboard rows in rank order: finished at the full budget by objective, then
/// trials stopped at a lower rung (`pruned` at the end, `paused` while the search runs)
/// by budget and objective, then failed ones, then running ones.
pub fn rows(
    sched: &Scheduler,
    settings: &BTreeMap<usize, Settings>,
    running: &[usize],
    finished: bool,
) -> Vec<(usize, &'static str, usize, Option<f64>)> {
    let top = sched.budgets.len() - 1;
    let mut out = Vec::new();
    for rung in (0..=top).rev() {
        for (t, o) in sched.ranked(rung) {
            if sched.reached(t).map(|r| r.0) != Some(rung) || o.is_none() || running.contains(&t) {
                continue;
            }
            let status = match (rung == top, finished) {
                (true, _) => "done",
                (false, true) => "pruned",
                (false, false) => "paused",
            };
            out.push((t, status, sched.budgets[rung], o));
        }
    }
    for t in settings.keys() {
        if running.contains(t) {
            continue;
        }
        if let Some((rung, None)) = sched.reached(*t) {
            out.push((*t, "failed", sched.budgets[rung], None));
        }
    }
    for t in running {
        out.push((*t, "running", 0, None));
    }
    out
}

/// Writes `leaderboard.csv`.
pub fn write_leaderboard(
    out: &Path,
    keys: &[String],
    sched: &Scheduler,
    settings: &BTreeMap<usize, Settings>,
    records: &BTreeMap<usize, Record>,
    running: &[usize],
    finished: bool,
) -> Result<()> {
    let path = out.join("leaderboard.csv");
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["rank", "trial", "status", "epochs", "objective"];
    header.extend(keys.iter().map(String::as_str));
    header.extend(["seconds", "run", "error"]);
    w.write_record(&header).map_err(|e| io(&path, e))?;
    for (rank, (t, status, epochs, obj)) in rows(sched, settings, running, finished)
        .into_iter()
        .enumerate()
    {
        let s = settings.get(&t).cloned().unwrap_or_default();
        let mut row = vec![
            (rank + 1).to_string(),
            t.to_string(),
            status.to_string(),
            epochs.to_string(),
            obj.map(|o| o.to_string()).unwrap_or_default(),
        ];
        for k in keys {
            // trial 0 runs the base config: its cells stay empty
            row.push(
                s.iter()
                    .find(|(sk, _)| sk == k)
                    .map(|(_, v)| cell(v))
                    .unwrap_or_default(),
            );
        }
        let rec = records.get(&t);
        row.push(rec.map(|r| format!("{:.3}", r.seconds)).unwrap_or_default());
        row.push(format!("trial-{t:03}"));
        row.push(
            rec.and_then(|r| r.error.clone())
                .filter(|_| status == "failed")
                .unwrap_or_default(),
        );
        w.write_record(&row).map_err(|e| io(&path, e))?;
    }
    let bytes = w.into_inner().map_err(|e| io(&path, e))?;
    write_atomic(&path, &String::from_utf8_lossy(&bytes))
}
