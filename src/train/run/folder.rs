//! The run folder as one writer's transaction log.
//!
//! ```text
//! lock <out>/.lock (OS advisory lock: released by the kernel even on kill -9)
//!   fresh run:  refuse a folder holding any run file, unless --overwrite clears them
//!   --resume:   remove temp files of killed writers, cut metrics.jsonl back to the
//!               epochs state.safetensors holds, check model.safetensors against it
//! ```
//!
//! Per epoch the trainer appends the metrics line, then saves the state (the commit
//! point), then, when the epoch improved, `model.safetensors`. A kill before the state is
//! saved leaves a metrics line the state does not hold: [`truncate_metrics`] drops it. A
//! kill after it but before the model is written leaves an old model: the state's own
//! parameters are that epoch's weights, and [`check_model`] tells the trainer to write
//! them again.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Files `mtrec train` writes into a run folder (besides [`CACHE_DIR`] and the lock).
pub const RUN_FILES: &[&str] = &[
    "config.toml",
    "spec.json",
    "metrics.jsonl",
    "model.safetensors",
    "state.safetensors",
    "summary.json",
    "bad_rows.txt",
    "transfer.json",
    "config_changes.jsonl",
    "data_files.json",
    "ids.json", // mtrec seq: original ids ↔ model ids
    "split.csv",
    "split.csv.gz",
    "run_info.json",
    "report.html",
];

/// The text-embedding cache: content-addressed, so it alone does not make a run.
pub const CACHE_DIR: &str = "text_cache";

/// The lock file; it stays in the folder (removing it would race with a waiting writer).
pub const LOCK_FILE: &str = ".lock";

/// The metadata key of `model.safetensors` holding the epoch its weights come from.
pub const MODEL_EPOCH: &str = "epoch";

/// The metadata key of `model.safetensors` holding the id of the run that wrote it.
pub const MODEL_RUN: &str = "run";

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The exclusive lock on a run folder, held until dropped or the process ends.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Creates `out` if needed and takes its lock; a second writer gets an error naming the
/// process that holds it.
pub fn lock(out: &Path) -> Result<RunLock> {
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let path = out.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    // A lock this process held a moment ago can still be held by a child forked from
    // another thread before it exec'd (the fd is shared until exec closes it): when the
    // holder is this process, retry for up to 2 s before calling the folder busy.
    let me = std::process::id().to_string();
    let mut tries = 0;
    let outcome = loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock)
                if tries < 200
                    && std::fs::read_to_string(&path).unwrap_or_default().trim() == me =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other,
        }
    };
    match outcome {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            return Err(Error::Io {
                path: out.display().to_string(),
                message: format!(
                    "is in use by another mtrec process{}; wait for it to finish, or choose another --out",
                    if holder.is_empty() { String::new() } else { format!(" (pid {holder})") }
                ),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(io_err(&path, format!("cannot lock the run folder: {e}")))
        }
    }
    // who holds it, for the message above (the lock, not this text, is what counts)
    let _ = file.set_len(0);
    let _ = writeln!(file, "{}", std::process::id());
    Ok(RunLock { _file: file })
}

/// `<file>.tmp-<pid>` (persist::write_atomic) or `<file>.tmp-<pid>-<n>` (checkpoints).
pub fn is_temp_name(name: &str) -> bool {
    let Some((stem, tail)) = name.rsplit_once(".tmp-") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !stem.is_empty()
        && match tail.split_once('-') {
            None => digits(tail),
            Some((pid, n)) => digits(pid) && digits(n),
        }
}

fn names_in(out: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let dir = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(io_err(out, e)),
    };
    for entry in dir {
        let entry = entry.map_err(|e| io_err(out, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The run files (and temp files of run files) in `out`.
pub fn run_files_in(out: &Path) -> Result<Vec<String>> {
    Ok(names_in(out)?
        .into_iter()
        .filter(|n| RUN_FILES.contains(&n.as_str()) || is_temp_name(n))
        .collect())
}

/// Removes the temp files left by killed writers (the caller holds the lock, so no live
/// writer owns one); returns their names.
pub fn remove_temp_files(out: &Path) -> Result<Vec<String>> {
    let stale: Vec<String> = names_in(out)?
        .into_iter()
        .filter(|n| is_temp_name(n))
        .collect();
    for n in &stale {
        let p = out.join(n);
        std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
    }
    Ok(stale)
}

/// A fresh run: refuses a folder that holds a run, or with `overwrite` removes the run's
/// files (only mtrec's; other files are kept and listed on stderr).
pub fn prepare_fresh(out: &Path, overwrite: bool) -> Result<()> {
    let found = run_files_in(out)?;
    if !overwrite {
        if found.is_empty() {
            return Ok(());
        }
        return Err(Error::Io {
            path: out.display().to_string(),
            message: format!(
                "already holds a run ({}); continue it with --resume, replace it with --overwrite, or choose another --out",
                found.join(", ")
            ),
        });
    }
    for n in &found {
        let p = out.join(n);
        std::fs::remove_file(&p)
            .map_err(|e| io_err(&p, format!("--overwrite cannot remove it: {e}")))?;
    }
    let cache = out.join(CACHE_DIR);
    if cache.is_dir() {
        std::fs::remove_dir_all(&cache).map_err(|e| io_err(&cache, e))?;
    }
    if !found.is_empty() {
        eprintln!(
            "--overwrite: removed {} from {}",
            found.join(", "),
            out.display()
        );
    }
    let others: Vec<String> = names_in(out)?
        .into_iter()
        .filter(|n| n != LOCK_FILE)
        .collect();
    if !others.is_empty() {
        eprintln!(
            "--overwrite: kept files mtrec did not write in {}: {}",
            out.display(),
            others.join(", ")
        );
    }
    Ok(())
}

/// `--resume`: the folder must hold a started run (its `config.toml`).
pub fn check_resumable(out: &Path) -> Result<()> {
    let cfg = out.join("config.toml");
    if cfg.is_file() {
        return Ok(());
    }
    let found = run_files_in(out)?;
    Err(Error::Io {
        path: out.display().to_string(),
        message: if found.is_empty() {
            "holds no run to resume (no config.toml); start the run without --resume".into()
        } else {
            format!(
                "has no config.toml to resume with (it holds {}); restore it, or start over with --overwrite",
                found.join(", ")
            )
        },
    })
}

/// Cuts `metrics.jsonl` back to its first `epochs` lines (the epochs the state holds):
/// a line of an epoch the state does not hold, or a half-written last line, is dropped.
/// Errors when fewer lines than `epochs` are there or they are not epochs 1, 2, … (0, 1, …
/// in folders of older versions).
pub fn truncate_metrics(out: &Path, epochs: usize) -> Result<()> {
    let path = out.join("metrics.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && epochs == 0 => return Ok(()),
        Err(e) => return Err(io_err(&path, e)),
    };
    let mut kept = String::new();
    let mut n = 0;
    // Line n numbers its epoch n + 1 (as printed); lines of older versions n (so a
    // folder they started, resumed now, holds both).
    for line in text.split_inclusive('\n') {
        if n == epochs {
            break;
        }
        let whole = line.ends_with('\n');
        let epoch = serde_json::from_str::<serde_json::Value>(line.trim_end())
            .ok()
            .and_then(|v| v.get("epoch").and_then(|e| e.as_u64()));
        if !whole || !(epoch == Some(n as u64 + 1) || epoch == Some(n as u64)) {
            break;
        }
        kept.push_str(line);
        n += 1;
    }
    if n < epochs {
        return Err(io_err(
            &path,
            format!(
                "holds {n} complete epoch lines but state.safetensors has {epochs} epochs; the log was edited or damaged: restore it, or start over with --overwrite"
            ),
        ));
    }
    if kept.len() != text.len() {
        eprintln!(
            "--resume: dropped {} bytes of metrics.jsonl written after the last saved epoch",
            text.len() - kept.len()
        );
        super::persist::write_atomic(&path, &kept)?;
    }
    Ok(())
}

/// What `--resume` does with `model.safetensors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelCheck {
    /// It holds the best epoch's weights.
    Good,
    /// The best epoch is the last saved one and the kill came before its model was
    /// written: the state's parameters are those weights; write them.
    Rewrite,
}

/// Checks `model.safetensors` against the state: `best_epoch` (`None`: no epoch has
/// improved yet), `last_epoch` (the last epoch the state holds). `model_epoch` reads the
/// `epoch` a model file records (`Ok(None)` for files written before it was recorded).
pub fn check_model(
    out: &Path,
    best_epoch: Option<usize>,
    last_epoch: Option<usize>,
    model_epoch: &dyn Fn(&Path) -> Result<Option<usize>>,
) -> Result<ModelCheck> {
    let path = out.join("model.safetensors");
    let Some(best) = best_epoch else {
        return Ok(ModelCheck::Good); // the first improvement writes it
    };
    let meta = std::fs::symlink_metadata(&path);
    let regular = meta.as_ref().is_ok_and(|m| m.file_type().is_file());
    let missing = matches!(&meta, Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    let what_to_do = "restore the file, or start the run again with --overwrite";
    if !regular && !missing {
        return Err(io_err(
            &path,
            format!("is not a regular file, but state.safetensors says epoch {best} is the best; {what_to_do}"),
        ));
    }
    let recorded = if regular {
        Some(model_epoch(&path))
    } else {
        None
    };
    match recorded {
        Some(Ok(e)) if e == Some(best) || (e.is_none() && last_epoch != Some(best)) => {
            Ok(ModelCheck::Good)
        }
        _ if last_epoch == Some(best) => Ok(ModelCheck::Rewrite),
        Some(Err(e)) => Err(io_err(
            &path,
            format!("is not this run's model of its best epoch {best} ({e}); {what_to_do}"),
        )),
        Some(Ok(e)) => Err(io_err(
            &path,
            format!(
                "holds the weights of epoch {}, but state.safetensors says epoch {best} is the best; {what_to_do}",
                e.map_or("?".into(), |e| e.to_string())
            ),
        )),
        None => Err(io_err(
            &path,
            format!("is missing, but state.safetensors says epoch {best} is the best; {what_to_do}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_of_both_writers_and_nothing_else() {
        assert!(is_temp_name("summary.json.tmp-123"));
        assert!(is_temp_name("model.safetensors.tmp-77-3"));
        assert!(!is_temp_name("notes.tmp-x"));
        assert!(!is_temp_name(".tmp-12"));
        assert!(!is_temp_name("model.safetensors"));
        assert!(!is_temp_name("a.tmp-1-2-3"));
    }
}
