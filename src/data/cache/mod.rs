//! The on-disk columnar cache of encoded rows (`data.cache`, docs/data_cache.md).
//!
//! ```text
//! run 1:  CSV ──read, split, fit, encode (the in-memory path)──▶ <cache>/<key>.tmp-<pid>/
//!                                                   ──rename──▶ <cache>/<key>/
//! run 2:  same files (size, mtime, content hash) and encoding config ──▶ <cache>/<key>/ reused
//! train / valid / test / eval: mini-batches read from the memory-mapped sets (file.rs)
//! in a block shuffle (order.rs)
//! ```
//! `<key>/` holds `meta.json` (key parts, set sizes, files, report, skipped rows),
//! `spec.json` (the fitted features) and one `<set>.bin` per set (layout in file.rs).

mod build;
mod file;
mod key;
mod order;

pub use file::{write_set, CachedSet};
pub use key::{cache_key, CACHE_VERSION};
pub use order::EpochOrder;

use crate::config::cache::CacheSetting;
use crate::config::RunConfig;
use crate::data::features::{prepare, Encoded, FeatureSpec, Prepared};
use crate::data::ingest::{SkippedRow, SkippedRows};
use crate::error::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The sets of a cached run, memory-mapped.
#[derive(Debug)]
pub struct CachedSets {
    /// The cache folder `<cache>/<key>`.
    pub dir: PathBuf,
    pub train: CachedSet,
    pub valid: CachedSet,
    pub test: CachedSet,
    pub cold: CachedSet,
    /// `true` when this run built it, `false` when it reused it.
    pub built: bool,
    /// `true` when this run built it by streaming the files (`build/`), `false` when it
    /// reused it or built it through the in-memory reader.
    pub streamed: bool,
}

const SETS: [&str; 4] = ["train", "valid", "test", "cold"];

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The cache folder of `cfg` (`None` when `data.cache = "off"`).
pub fn cache_root(cfg: &RunConfig, data_dir: &Path) -> Option<PathBuf> {
    match cfg.data.cache_setting() {
        CacheSetting::Off => None,
        CacheSetting::Auto => Some(data_dir.join("mtrec_cache")),
        CacheSetting::Folder(p) => Some(PathBuf::from(p)),
    }
}

/// Opens the cache of `cfg`'s data, building it first when no cache with its key
/// exists. Returns the prepared spec and report (its sets empty: the rows are in the
/// cache), the mapped sets and the rows the reader skipped. Prints whether the cache
/// was reused or built.
pub fn open_or_build(
    cfg: &RunConfig,
    data_dir: &Path,
    root: &Path,
) -> Result<(Prepared, CachedSets, SkippedRows)> {
    let (key, parts) = cache_key(cfg, data_dir)?;
    let dir = root.join(&key);
    let mut streamed = false;
    let built = if dir.join("meta.json").is_file() {
        eprintln!("data cache: reusing {}", dir.display());
        false
    } else {
        let t0 = std::time::Instant::now();
        streamed = build(cfg, data_dir, root, &dir, &parts)?;
        eprintln!(
            "data cache: built {} in {:.1} s",
            dir.display(),
            t0.elapsed().as_secs_f64()
        );
        true
    };
    let (prepared, skipped) = read_meta(&dir)?;
    let open = |s: &str| CachedSet::open(&dir.join(format!("{s}.bin")));
    let sets = CachedSets {
        train: open("train")?,
        valid: open("valid")?,
        test: open("test")?,
        cold: open("cold")?,
        dir,
        built,
        streamed,
    };
    Ok((prepared, sets, skipped))
}

/// Builds the sets into a temp folder (streaming, `build/`, or through the in-memory
/// path where the streaming build does not apply) and renames it to `dir`: a killed
/// build leaves no folder under the key. Returns whether it streamed.
fn build(
    cfg: &RunConfig,
    data_dir: &Path,
    root: &Path,
    dir: &Path,
    parts: &serde_json::Value,
) -> Result<bool> {
    std::fs::create_dir_all(root).map_err(|e| {
        io_err(
            root,
            format!(
                "cannot create the data cache folder ({e}); set data.cache to a writable folder"
            ),
        )
    })?;
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let tmp = root.join(format!("{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let streamed = match build::build_streaming(cfg, data_dir, &tmp) {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let did_stream = streamed.is_some();
    let built = match streamed {
        Some(b) => b,
        None => build_in_memory(cfg, data_dir, &tmp)?,
    };
    let skipped: Vec<serde_json::Value> = built
        .skipped
        .first
        .iter()
        .map(|r| json!({ "path": r.path, "line": r.line, "reason": r.reason, "text": r.text }))
        .collect();
    let [train, valid, test, cold] = built.rows;
    let meta = json!({
        "key": parts,
        "rows": { "train": train, "valid": valid, "test": test, "cold": cold },
        "files": built.files,
        "report": built.report,
        "skipped": { "count": built.skipped.count, "duplicates": built.skipped.duplicates, "first": skipped },
    });
    let write = |f: &str, text: String| {
        let path = tmp.join(f);
        std::fs::write(&path, text).map_err(|e| io_err(&path, e))
    };
    write("spec.json", built.spec.to_json_string()?)?;
    write(
        "meta.json",
        serde_json::to_string_pretty(&meta).unwrap_or_default(),
    )?;
    if let Err(e) = std::fs::rename(&tmp, dir) {
        // another run built the same key meanwhile: keep its folder
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.join("meta.json").is_file() {
            return Err(io_err(
                dir,
                format!("cannot move the built cache into place: {e}"),
            ));
        }
    }
    Ok(did_stream)
}

/// Reads, splits, fits and encodes in memory and writes every set into `tmp`.
fn build_in_memory(cfg: &RunConfig, data_dir: &Path, tmp: &Path) -> Result<build::Built> {
    let needed = cfg.needed_columns();
    let mut table = crate::data::loaders::load_table(&cfg.data, data_dir, &needed)?;
    crate::data::features::drop_bad_values(
        &mut table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data,
    )?;
    let p = prepare(
        &table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data.missing_values,
    )?;
    for (s, e) in SETS.iter().zip([&p.train, &p.valid, &p.test, &p.cold]) {
        write_set(&tmp.join(format!("{s}.bin")), e)?;
    }
    Ok(build::Built {
        rows: [p.train.len(), p.valid.len(), p.test.len(), p.cold.len()],
        spec: p.spec,
        report: p.report,
        files: p.files,
        skipped: table.skipped,
    })
}

/// The spec, report, files and skipped rows of the cache in `dir`.
fn read_meta(dir: &Path) -> Result<(Prepared, SkippedRows)> {
    let read = |f: &str| {
        let path = dir.join(f);
        std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))
    };
    let spec = FeatureSpec::from_json_str(&read("spec.json")?)?;
    let path = dir.join("meta.json");
    let meta: serde_json::Value = serde_json::from_str(&read("meta.json")?)
        .map_err(|e| io_err(&path, format!("{e}; delete the cache folder and run again")))?;
    let s = &meta["skipped"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0) as usize;
    let skipped = SkippedRows {
        count: n(&s["count"]),
        duplicates: n(&s["duplicates"]),
        first: s["first"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| SkippedRow {
                        path: r["path"].as_str().unwrap_or_default().to_string(),
                        line: r["line"].as_u64().unwrap_or(0),
                        reason: r["reason"].as_str().unwrap_or_default().to_string(),
                        text: r["text"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        keep_all: false,
    };
    let empty = || {
        Encoded::empty(
            spec.categorical.len(),
            0,
            spec.numeric.len(),
            spec.tasks.len(),
        )
    };
    let files = meta["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let prepared = Prepared {
        train: empty(),
        valid: empty(),
        test: empty(),
        cold: empty(),
        report: meta["report"].as_str().unwrap_or_default().to_string(),
        files,
        spec,
    };
    Ok((prepared, skipped))
}

impl CachedSets {
    /// The row counts of train, valid, test and cold.
    pub fn sizes(&self) -> [usize; 4] {
        use crate::data::rows::Rows;
        [
            self.train.len(),
            self.valid.len(),
            self.test.len(),
            self.cold.len(),
        ]
    }
}
