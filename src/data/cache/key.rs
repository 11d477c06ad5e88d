//! The cache key: what the encoded rows depend on. Two runs share a cache folder exactly
//! when every input file has the same size, modification time and content hash
//! (`fingerprint.rs`), and the config parts that affect encoding are equal: `[data]`
//! (but `cache`, `shuffle_block`, `shuffle_window`), `[[features]]`, `[[tasks]]` and
//! `[split]`. Training settings (`[train]`, `[model]`) do not enter it.
//!
//! key = FNV-1a 64 of the JSON text of those parts, as 16 hex digits.

use crate::config::RunConfig;
use crate::data::features::fnv1a64;
use crate::data::fingerprint::fingerprint;
use crate::error::{Error, Result};
use serde_json::json;
use std::path::Path;

/// Bumped when the file layout or what the key covers changes.
pub const CACHE_VERSION: u32 = 2;

/// The key (16 hex digits) and the parts it hashes (kept in `meta.json`).
pub fn cache_key(cfg: &RunConfig, data_dir: &Path) -> Result<(String, serde_json::Value)> {
    let mut files = Vec::new();
    for fp in fingerprint(&cfg.data, data_dir)? {
        let p = Path::new(&fp.file);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            data_dir.join(p)
        };
        let mtime = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: format!("cannot read the modification time of the data file: {e}"),
            })?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        files.push(json!({ "file": fp.file, "size": fp.size, "fnv64": fp.fnv64, "mtime_ns": mtime.to_string() }));
    }
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
