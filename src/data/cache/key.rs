//! The cache key: what the encoded rows depend on. Two runs share a cache folder exactly
//! when every input file has the same size, modification time and content hash
//! (`fingerprint.rs`), and the config parts that affect encoding are equal: `[data]`
//! (but `cache`, `shuffle_block`, `shuffle_window`), `[[features]]`, `[[tasks]]` and
//! `[split]`. Training settings (`[train]`, `[model]`) do not enter it.
//!
//! key = FNV-1a 64 of the JSON text of those parts, as 16 hex digits.

use crate::config::RunConfig;
use crate::data::features::fnv1a64;
use crate::data::fingerprint::{data_files, fingerprint_with};
use crate::error::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Bumped when the file layout or what the key covers changes.
pub const CACHE_VERSION: u32 = 2;

/// The key (16 hex digits) and the parts it hashes (kept in `meta.json`).
pub fn cache_key(cfg: &RunConfig, data_dir: &Path) -> Result<(String, serde_json::Value)> {
    cache_key_with(cfg, data_dir, &[])
}

/// [`cache_key`] with the content hashes of the files in `known` (path, size, hash) as
/// the streamed build computed them while reading (`fingerprint_with`); the other
/// files are read and hashed here.
pub fn cache_key_with(
    cfg: &RunConfig,
    data_dir: &Path,
    known: &[(PathBuf, u64, u64)],
) -> Result<(String, serde_json::Value)> {
    let mut files = Vec::new();
    for fp in fingerprint_with(&cfg.data, data_dir, known)? {
        let mtime = mtime_ns(&data_dir.join(&fp.file))?;
        files.push(json!({ "file": fp.file, "size": fp.size, "fnv64": fp.fnv64, "mtime_ns": mtime.to_string() }));
    }
    keyed(cfg, files)
}

/// The stat key: [`cache_key`] without the content hashes (every file's name, size and
/// modification time, and the config parts), read from the file system alone. A cache
/// folder holds the stat key it was built with (`meta.json`'s `stat_key`); a run whose stat key
/// no folder holds builds at once, hashing the files while it reads them, and learns its
/// key at the end; one whose stat key a folder holds hashes the files first, as before,
/// to tell a file rewritten in place (same size and time) from the one cached.
pub fn stat_key(cfg: &RunConfig, data_dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    for (file, path) in data_files(&cfg.data, data_dir)? {
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: format!("cannot read the data file: {e}"),
            })?
            .len();
        let mtime = mtime_ns(&path)?;
        files.push(json!({ "file": file, "size": size, "mtime_ns": mtime.to_string() }));
    }
    Ok(keyed(cfg, files)?.0)
}

/// A file's modification time in nanoseconds since the epoch.
fn mtime_ns(path: &Path) -> Result<u128> {
    Ok(std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the modification time of the data file: {e}"),
        })?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos()))
}

/// The key of the config parts of `cfg` with the files' descriptions `files`.
fn keyed(cfg: &RunConfig, files: Vec<serde_json::Value>) -> Result<(String, serde_json::Value)> {
    let mut data = cfg.data.clone();
    let defaults = crate::config::DataConfig::default();
    data.cache = defaults.cache;
    data.shuffle_block = defaults.shuffle_block;
    data.shuffle_window = defaults.shuffle_window;
    let parts = json!({
        "version": CACHE_VERSION,
        "files": files,
        "data": data,
        "features": cfg.features,
        "tasks": cfg.tasks,
        "split": cfg.split,
    });
    let text = serde_json::to_string(&parts).map_err(|e| Error::Config {
        what: "data.cache".into(),
        message: format!("cannot describe the configuration for the cache key: {e}"),
    })?;
    Ok((format!("{:016x}", fnv1a64(text.as_bytes())), parts))
}
