//! Reads a search folder of `mtrec tune` (see `crate::tune::board`) as far as it goes:
//! a search that was killed or is still running (no `result.json`, `running` or `paused`
//! rows) gives what is there, with a note for each file that is missing.

use crate::error::{Error, Result};
use crate::tune::board::{read_journal, Record};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files that make a folder a search folder (any one of them).
pub const TUNE_FILES: &[&str] = &["search.json", "leaderboard.csv", "trials.jsonl"];

/// A folder written by `mtrec tune`: it holds one of [`TUNE_FILES`].
pub fn is_tune_folder(dir: &Path) -> bool {
    dir.is_dir() && TUNE_FILES.iter().any(|f| dir.join(f).is_file())
}

/// What a search folder holds.
#[derive(Clone, Debug, Default)]
pub struct Tune {
    pub path: PathBuf,
    /// The folder's last component.
    pub name: String,
    /// `search.json`: strategy, budgets, space and config text.
    pub search: Option<Value>,
    /// `result.json`: written when the search finished.
    pub result: Option<Value>,
    /// The leaderboard in rank order, one map of column → cell per row.
    pub rows: Vec<BTreeMap<String, String>>,
    /// The searched keys (the leaderboard's columns between `objective` and `seconds`).
    pub keys: Vec<String>,
    /// `trials.jsonl`: one record per finished (trial, budget).
    pub records: Vec<Record>,
    /// The objective's direction: larger is better.
    pub maximize: bool,
    /// The objective's name (`click auc`, `0.5·a rmse + ...`).
    pub objective: String,
    pub notes: Vec<String>,
}

impl Tune {
    /// The epoch budgets (rungs): `search.json`'s, else those seen in the journal.
    pub fn budgets(&self) -> Vec<usize> {
        let from_search: Vec<usize> = self
            .search
            .as_ref()
            .and_then(|s| s["budgets"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|v| v as usize))
                    .collect()
            })
            .unwrap_or_default();
        if !from_search.is_empty() {
            return from_search;
        }
        let mut b: Vec<usize> = self.records.iter().map(|r| r.epochs).collect();
        b.sort_unstable();
        b.dedup();
        b
    }

    /// The best trial: `result.json`'s, else (a search that has not finished) the first
    /// leaderboard row with an objective, preferring a `done` one.
    pub fn best_trial(&self) -> Option<usize> {
        if let Some(t) = self
            .result
            .as_ref()
            .and_then(|r| r["best"]["trial"].as_u64())
        {
            return Some(t as usize);
        }
        let scored = |r: &&BTreeMap<String, String>| objective_of(r).is_some();
        self.rows
            .iter()
            .filter(scored)
            .find(|r| r.get("status").map(String::as_str) == Some("done"))
            .or_else(|| self.rows.iter().find(scored))
            .and_then(|r| r.get("trial")?.parse().ok())
    }

    /// The run folder of trial `t`.
    pub fn trial_dir(&self, t: usize) -> PathBuf {
        crate::tune::board::trial_dir(&self.path, t)
    }
}

/// A leaderboard row's objective.
pub fn objective_of(row: &BTreeMap<String, String>) -> Option<f64> {
    row.get("objective")?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// Reads the search folder `dir`; only a folder that holds none of [`TUNE_FILES`] is an
/// error.
pub fn load_tune(dir: &Path) -> Result<Tune> {
    if !is_tune_folder(dir) {
        return Err(Error::Io {
            path: dir.display().to_string(),
            message: format!(
                "is not a search folder (none of {} in it); give a folder written by `mtrec tune`",
                TUNE_FILES.join(", ")
            ),
        });
    }
    let mut t = Tune {
        path: dir.to_path_buf(),
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string()),
        ..Tune::default()
    };
    t.search = read_json(dir, "search.json", &mut t.notes);
    t.result = read_json(dir, "result.json", &mut t.notes);
    if t.result.is_none() {
        t.notes.push("result.json is missing: the search has not finished (it is running or was killed; `mtrec tune --resume` continues it), so the best so far is shown".into());
    }
    t.records = read_journal(dir).unwrap_or_default();
    if !dir.join("trials.jsonl").is_file() {
        t.notes
            .push("trials.jsonl is missing: no trial has finished a budget yet".into());
    }
    read_board(dir, &mut t);
    direction(dir, &mut t);
    Ok(t)
}

fn read_json(dir: &Path, file: &str, notes: &mut Vec<String>) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            notes.push(format!("{file} is not valid JSON ({e}); left out"));
            None
        }
    }
}

/// `leaderboard.csv`, else rows made from the journal (each trial at its largest budget).
fn read_board(dir: &Path, t: &mut Tune) {
    let path = dir.join("leaderboard.csv");
    match csv::Reader::from_path(&path) {
        Ok(mut r) => {
            let header: Vec<String> = match r.headers() {
                Ok(h) => h.iter().map(str::to_string).collect(),
                Err(e) => {
                    t.notes
                        .push(format!("leaderboard.csv has no header ({e}); left out"));
                    return;
                }
            };
            let (Some(o), Some(s)) = (
                header.iter().position(|h| h == "objective"),
                header.iter().position(|h| h == "seconds"),
            ) else {
                t.notes.push(
                    "leaderboard.csv has no objective or seconds column (another format); left out"
                        .into(),
                );
                return;
            };
            t.keys = header.get(o + 1..s).unwrap_or_default().to_vec();
            for rec in r.records() {
                match rec {
                    Ok(rec) => t.rows.push(
                        header
                            .iter()
                            .cloned()
                            .zip(rec.iter().map(str::to_string))
                            .collect(),
                    ),
                    Err(e) => {
                        t.notes
                            .push(format!("leaderboard.csv: a row could not be read ({e}); the rows after it are left out"));
                        break;
                    }
                }
            }
        }
        Err(_) => {
            t.notes.push(
                "leaderboard.csv is missing: the rows below are made from trials.jsonl".into(),
            );
            let mut last: BTreeMap<usize, &Record> = BTreeMap::new();
            for r in &t.records {
                if last.get(&r.trial).is_none_or(|o| o.epochs <= r.epochs) {
                    last.insert(r.trial, r);
                }
            }
            for r in last.values() {
                let mut row = BTreeMap::new();
                row.insert("trial".into(), r.trial.to_string());
                row.insert(
                    "status".into(),
                    if r.error.is_some() {
                        "failed"
                    } else {
                        "finished"
                    }
                    .into(),
                );
                row.insert("epochs".into(), r.epochs.to_string());
                row.insert(
                    "objective".into(),
                    r.objective.map(|o| o.to_string()).unwrap_or_default(),
                );
                row.insert("seconds".into(), format!("{:.3}", r.seconds));
                row.insert("run".into(), format!("trial-{:03}", r.trial));
                row.insert("error".into(), r.error.clone().unwrap_or_default());
                t.rows.push(row);
            }
        }
    }
}

/// The objective and its direction: `result.json`, else the space file's `[objective]`
/// (`direction`, default max for AUC and min otherwise, as `mtrec tune` reads it).
fn direction(dir: &Path, t: &mut Tune) {
    if let Some(o) = t.result.as_ref().map(|r| &r["objective"]) {
        if let Some(direction) = o["direction"].as_str() {
            t.maximize = direction == "max";
            let metric = o["metric"].as_str().unwrap_or("");
            let terms: Vec<String> = o["terms"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    let task = x["task"].as_str().unwrap_or("?");
                    match x["weight"].as_f64() {
                        Some(w) if w != 1.0 => format!("{w}·{task}"),
                        _ => task.to_string(),
                    }
                })
                .collect();
            t.objective = format!("{} {metric} ({direction})", terms.join(" + "));
            return;
        }
    }
    let space = std::fs::read_to_string(dir.join("space.toml"))
        .ok()
        .or_else(|| t.search.as_ref()?["space"].as_str().map(str::to_string));
    let obj = space
        .and_then(|s| s.parse::<toml::Table>().ok())
        .and_then(|s| s.get("objective")?.as_table().cloned());
    let Some(o) = obj else {
        t.maximize = true;
        t.objective = "(unknown: no result.json nor space.toml)".into();
        t.notes.push(
            "neither result.json nor space.toml names the objective: larger is taken as better"
                .into(),
        );
        return;
    };
    let metric = o.get("metric").and_then(|m| m.as_str()).unwrap_or("");
    let direction = o
        .get("direction")
        .and_then(|direction| direction.as_str())
        .unwrap_or(if metric == "auc" { "max" } else { "min" });
    t.maximize = direction == "max";
    let task = match o.get("task").and_then(|x| x.as_str()) {
        Some(task) => task.to_string(),
        None => o
            .get("weights")
            .and_then(|w| w.as_table())
            .map(|w| {
                w.iter()
                    .map(|(k, v)| format!("{v}·{k}"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .unwrap_or_default(),
    };
    t.objective = format!("{task} {metric} ({direction})");
}
