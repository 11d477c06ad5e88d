//! `--resume` with a config: the one given (`--config` + `--set`, resolved) is compared
//! with the run's `config.toml`, key by key.
//!
//! Any change breaks "`--resume` gives the result of an uninterrupted run" and is refused
//! unless `--allow-config-change` is given, with one exception: `train.epochs` may change
//! when the learning-rate schedule does not depend on it (not `cosine`) and the run has
//! not already gone past the new count; the run then equals an uninterrupted run with
//! the new count. An accepted change is appended to `config_changes.jsonl` (the epoch it
//! applies from, each key's old and new value) and `config.toml` is rewritten.

use super::folder;
use super::persist::{self, write_atomic, LoopState};
use crate::autograd::ParamStore;
use crate::balance::Balancer;
use crate::config::{RunConfig, ScheduleKind};
use crate::error::{Error, Result};
use crate::optim::Optimizer;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// One changed key: its dotted path (`train.lr`, `tasks[1].weight`), old and new value
/// as TOML text (`None`: absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::Array(a) if a.iter().any(|x| x.is_table()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn flat(cfg: &RunConfig) -> Result<std::collections::BTreeMap<String, String>> {
    let text = cfg.to_toml_string()?;
    let v: toml::Value = toml::from_str(&text).map_err(|e| Error::Config {
        what: "run configuration".into(),
        message: format!("does not read back ({e}); this is a bug, please report it"),
    })?;
    let mut out = Vec::new();
    flatten("", &v, &mut out);
    Ok(out.into_iter().collect())
}

/// The keys whose resolved values differ between `stored` and `given`.
pub fn diff(stored: &RunConfig, given: &RunConfig) -> Result<Vec<Change>> {
    let (a, b) = (flat(stored)?, flat(given)?);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change {
            key: k.clone(),
            old: a.get(k).cloned(),
            new: b.get(k).cloned(),
        })
        .collect())
}

fn listing(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.key,
                c.old.as_deref().unwrap_or("(unset)"),
                c.new.as_deref().unwrap_or("(unset)")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether `changes` keep the resumed run equal to an uninterrupted run of `given`,
/// `done` epochs having been run.
fn keeps_result(changes: &[Change], given: &RunConfig, done: usize) -> bool {
    changes.iter().all(|c| c.key == "train.epochs")
        && given.train.schedule != ScheduleKind::Cosine
        && done <= given.train.epochs
}

/// Refuses `changes` early (before the data is read) when they can never be accepted.
pub fn precheck(changes: &[Change], allow: bool) -> Result<()> {
    if allow || changes.iter().all(|c| c.key == "train.epochs") {
        return Ok(());
    }
    Err(refusal(changes))
}

fn refusal(changes: &[Change]) -> Error {
    Error::Config {
        what: "--resume".into(),
        message: format!(
            "the config differs from the run's config.toml ({}), so the run would no longer equal an uninterrupted one; resume with the run's own config (--config <out>/config.toml or no --config), or pass --allow-config-change to continue with the new values (recorded in config_changes.jsonl)",
            listing(changes)
        ),
    }
}

/// After the state is loaded (`done` epochs run): accepts or refuses `changes`, and
/// records accepted ones in `config_changes.jsonl` and `config.toml`.
pub fn apply(
    out: &Path,
    changes: &[Change],
    given: &RunConfig,
    done: usize,
    allow: bool,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let exact = keeps_result(changes, given, done);
    if !allow && !exact {
        return Err(refusal(changes));
    }
    eprintln!(
        "--resume: config changed after epoch {done}: {}{}",
        listing(changes),
        if exact {
            ""
        } else {
            " (allowed by --allow-config-change: the run no longer equals an uninterrupted one)"
        }
    );
    // the record first: a kill before config.toml is rewritten finds the change again
    let path = out.join("config_changes.jsonl");
    let line = json!({
        "after_epoch": done,
        "equals_uninterrupted": exact,
        "changes": changes.iter().map(|c| json!({ "key": c.key, "old": c.old, "new": c.new })).collect::<Vec<_>>(),
    });
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    writeln!(f, "{line}").map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    write_atomic(&out.join("config.toml"), &given.to_toml_string()?)
}

/// What `--resume` was asked: the config changes found, whether they are allowed, and
/// the run id to use when the state has none.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    pub changes: Vec<Change>,
    pub allow: bool,
    pub run_id: String,
}

/// `--resume` on a rank of a data-parallel run that does not write the run folder:
/// loads the state (none yet: epoch 0) and nothing else; rank 0 runs [`restore`], which
/// checks and repairs the folder. Rank 0 writes the next state only after a step that
/// needs every rank, so this read cannot meet a half-written file.
pub fn load_only(
    out: &Path,
    ask: &Ask,
    cfg: &RunConfig,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    balancer: &mut Balancer,
) -> Result<LoopState> {
    let mut st = LoopState::default();
    if std::fs::symlink_metadata(crate::checkpoint::state_path(out)).is_ok() {
        st = persist::load_state(out, store, opt, balancer, cfg.train.epochs)?;
    }
    if st.run_id.is_empty() {
        st.run_id = ask.run_id.clone();
    }
    Ok(st)
}

/// `--resume` after the data and model are built: loads the state (none yet: epoch 0),
/// accepts or refuses `changes`, cuts `metrics.jsonl` back to the state and checks
/// `model.safetensors` against it (see `folder`).
pub fn restore(
    out: &Path,
    ask: &Ask,
    cfg: &RunConfig,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    balancer: &mut Balancer,
) -> Result<LoopState> {
    let mut st = LoopState::default();
    if std::fs::symlink_metadata(crate::checkpoint::state_path(out)).is_ok() {
        st = persist::load_state(out, store, opt, balancer, cfg.train.epochs)?;
    }
    if st.run_id.is_empty() {
        st.run_id = ask.run_id.clone(); // no state yet, or one from before run ids
    }
    eprintln!("resuming after epoch {} (step {})", st.epoch, st.step);
    apply(out, &ask.changes, cfg, st.epoch, ask.allow)?;
    folder::truncate_metrics(out, st.epoch)?;
    let best = st.best.map(|_| st.best_epoch);
    let check = folder::check_model(out, best, st.epoch.checked_sub(1), &|p| {
        let m = persist::load_params(p, &mut store.clone())?;
        match m.run {
            Some(r) if r != st.run_id => Err(crate::error::Error::Io {
                path: p.display().to_string(),
                message: format!(
                    "was written by another run ({r}, this one is {})",
                    st.run_id
                ),
            }),
            _ => Ok(m.epoch),
        }
    })?;
    if check == folder::ModelCheck::Rewrite {
        // killed after the state was saved, before its model: the state holds it
        let path = out.join("model.safetensors");
        persist::save_params(&path, store, cfg, st.best_epoch, &st.run_id)?;
    }
    Ok(st)
}
