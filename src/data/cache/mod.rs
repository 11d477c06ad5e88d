//! The on-disk columnar cache of encoded rows (`data.cache`, docs/data_cache.md).
//!
//! ```text
//! run 1:  CSV ──read, split, fit, encode (the in-memory path)──▶ <cache>/<key>.tmp-<pid>/
//!                                                   ──rename──▶ <cache>/<key>/
//! run 2:  same files (size, mtime, content hash) and encoding config ──▶ <cache>/<key>/ reused
//! train / valid / test / eval: mini-batches read from the sets (file.rs) with `pread`
//! into a few resident chunks (window.rs, read.rs), in a block shuffle (order.rs)
//! ```
//! `<key>/` holds `meta.json` (key parts, set sizes, files, report, skipped rows),
//! `spec.json` (the fitted features) and one `<set>.bin` per set (layout in file.rs).

mod build;
mod file;
mod key;
mod mapped;
mod order;
mod read;
mod window;

pub use file::{write_set, CachedSet};
pub use key::{cache_key, cache_key_with, stat_key, CACHE_VERSION};
pub use order::EpochOrder;

use crate::config::cache::CacheSetting;
use crate::config::RunConfig;
use crate::data::features::{attach_texts, prepare_with, Encoded, FeatureSpec, Prepared, TextEnv};
use crate::data::ingest::{RawColumn, RawTable, SkippedRow, SkippedRows};
use crate::error::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
/// was reused or built. Runs with text features need [`open_or_build_with`].
pub fn open_or_build(
    cfg: &RunConfig,
    data_dir: &Path,
    root: &Path,
) -> Result<(Prepared, CachedSets, SkippedRows)> {
    open_or_build_with(cfg, data_dir, root, None)
}

/// [`open_or_build`], embedding text features with `text`: the cache holds each row's
/// text id and the distinct texts, and the texts are embedded through `text`'s
/// embedding cache when the sets are opened, so a changed encoder needs no new data
/// cache.
pub fn open_or_build_with(
    cfg: &RunConfig,
    data_dir: &Path,
    root: &Path,
    text: Option<&TextEnv<'_>>,
) -> Result<(Prepared, CachedSets, SkippedRows)> {
    // a folder built with this stat key: hash the files first (the key says whether it
    // is this data); none: build at once, the files hashed as pass 1 reads them
    let stat = key::stat_key(cfg, data_dir)?;
    let key = match holds_stat_key(root, &stat) {
        true => Some(cache_key(cfg, data_dir)?),
        false => None,
    };
    let reuse = (key.as_ref()).filter(|(k, _)| root.join(k).join("meta.json").is_file());
    let mut streamed = false;
    let (dir, built) = match reuse {
        Some((k, _)) => {
            let dir = root.join(k);
            eprintln!("data cache: reusing {}", dir.display());
            (dir, false)
        }
        None => {
            let t0 = std::time::Instant::now();
            let (dir, did_stream, made) = build(cfg, data_dir, root, (&stat, key), text)?;
            streamed = did_stream && made;
            match made {
                true => eprintln!(
                    "data cache: built {} in {:.1} s",
                    dir.display(),
                    t0.elapsed().as_secs_f64()
                ),
                false => eprintln!("data cache: reusing {}", dir.display()),
            }
            (dir, made)
        }
    };
    let (mut prepared, skipped) = read_meta(&dir)?;
    let tables = embed_texts(&dir, &mut prepared.spec, text)?;
    let open = |s: &str| -> Result<CachedSet> {
        let mut set = CachedSet::open(&dir.join(format!("{s}.bin")))?;
        set.attach_texts(tables.clone())?;
        Ok(set)
    };
    let train = open("train")?;
    // training batches come a window of blocks at a time: keep a window's chunks
    train.read_in_windows(cfg.data.shuffle_block, cfg.data.shuffle_window);
    let sets = CachedSets {
        train,
        valid: open("valid")?,
        test: open("test")?,
        cold: open("cold")?,
        dir,
        built,
        streamed,
    };
    Ok((prepared, sets, skipped))
}

/// Whether a cache folder under `root` was built with the stat key `stat` (its
/// `meta.json`'s `stat_key`, `key::stat_key`), or holds none (built by an mtrec before
/// stat keys): then only the content hash tells.
fn holds_stat_key(root: &Path, stat: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(root) else {
        return false;
    };
    rd.flatten().any(|e| {
        let dir = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(".tmp-") || !dir.join("meta.json").is_file() {
            return false;
        }
        let meta = std::fs::read_to_string(dir.join("meta.json")).unwrap_or_default();
        let meta: serde_json::Value = serde_json::from_str(&meta).unwrap_or_default();
        meta["stat_key"].as_str().is_none_or(|s| s == stat)
    })
}

/// Builds the sets into a temp folder (streaming, `build/`, or through the in-memory
/// path where the streaming build does not apply) and renames it to `<root>/<key>`: a
/// killed build leaves no folder under the key. `key`: the key and its parts when
/// known before the build; else they come from the hashes pass 1 took while reading
/// (`build::Built::hashed`; the other files are hashed after the build), and a folder
/// already under that key is kept and this build dropped. Returns the folder, whether
/// it streamed and whether this build made the folder.
fn build(
    cfg: &RunConfig,
    data_dir: &Path,
    root: &Path,
    (stat, key): (&str, Option<(String, serde_json::Value)>),
    text: Option<&TextEnv<'_>>,
) -> Result<(PathBuf, bool, bool)> {
    std::fs::create_dir_all(root).map_err(|e| {
        io_err(
            root,
            format!(
                "cannot create the data cache folder ({e}); set data.cache to a writable folder"
            ),
        )
    })?;
    let name = key.as_ref().map_or(stat, |k| k.0.as_str());
    let tmp = root.join(format!("{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let streamed = match build::build_streaming(cfg, data_dir, &tmp, text) {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let did_stream = streamed.is_some();
    let built: build::Built = match streamed {
        Some(b) => b,
        None => match build_in_memory(cfg, data_dir, &tmp, text) {
            Ok(b) => b,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        },
    };
    let (key, parts) = match key {
        Some(k) => k,
        None => match cache_key_with(cfg, data_dir, &built.hashed) {
            Ok(k) => k,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        },
    };
    let dir = root.join(&key);
    if dir.join("meta.json").is_file() {
        // built before this run learnt its key (a cache from before stat keys)
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok((dir, did_stream, false));
    }
    let skipped: Vec<serde_json::Value> = built
        .skipped
        .first
        .iter()
        .map(|r| json!({ "path": r.path, "line": r.line, "reason": r.reason, "text": r.text }))
        .collect();
    let [train, valid, test, cold] = built.rows;
    let meta = json!({
        "key": parts,
        "stat_key": stat,
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
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        // another run built the same key meanwhile: keep its folder
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.join("meta.json").is_file() {
            return Err(io_err(
                &dir,
                format!("cannot move the built cache into place: {e}"),
            ));
        }
    }
    Ok((dir, did_stream, true))
}

/// Reads, splits, fits and encodes in memory and writes every set into `tmp`, with
/// each text feature's distinct texts in `texts-<t>.json` (the rows hold their ids).
fn build_in_memory(
    cfg: &RunConfig,
    data_dir: &Path,
    tmp: &Path,
    text: Option<&TextEnv<'_>>,
) -> Result<build::Built> {
    let needed = cfg.needed_columns();
    let mut table = crate::data::loaders::load_table(&cfg.data, data_dir, &needed)?;
    crate::data::features::drop_bad_values(
        &mut table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data,
    )?;
    let p = prepare_with(
        &table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data.missing_values,
        text,
    )?;
    for (s, e) in SETS.iter().zip([&p.train, &p.valid, &p.test, &p.cold]) {
        write_set(&tmp.join(format!("{s}.bin")), e)?;
    }
    for (i, t) in p.spec.text.iter().enumerate() {
        // what attach_texts embedded: the column's distinct texts, trimmed, in code order
        let texts: Vec<&str> = table
            .column(&t.column)
            .map(|c| c.dict.iter().map(|x| x.trim()).collect())
            .unwrap_or_default();
        let path = tmp.join(format!("texts-{i}.json"));
        let json = serde_json::to_string(&texts).unwrap_or_default();
        std::fs::write(&path, json).map_err(|e| io_err(&path, e))?;
    }
    Ok(build::Built {
        rows: [p.train.len(), p.valid.len(), p.test.len(), p.cold.len()],
        spec: p.spec,
        report: p.report,
        files: p.files,
        skipped: table.skipped,
        hashed: Vec::new(),
    })
}

/// Each text feature's `(D_t, (U, D_t) table)`: the cache's `texts-<t>.json` embedded
/// by `text` (through its embedding cache), checked as `attach_texts` checks a run's
/// texts; sets the spec's `d_text`.
fn embed_texts(
    dir: &Path,
    spec: &mut FeatureSpec,
    text: Option<&TextEnv<'_>>,
) -> Result<Vec<(usize, Arc<Vec<f32>>)>> {
    if spec.text.is_empty() {
        return Ok(Vec::new());
    }
    let env = text.ok_or_else(|| Error::Config {
        what: format!("text feature `{}`", spec.text[0].name),
        message: "needs a text encoder to read the data cache's texts; open the cache with a TextEnv (mtrec train and eval do)".into(),
    })?;
    let mut table = RawTable::default();
    for (i, t) in spec.text.iter_mut().enumerate() {
        let path = dir.join(format!("texts-{i}.json"));
        let raw = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
        let dict: Vec<String> = serde_json::from_str(&raw)
            .map_err(|e| io_err(&path, format!("{e}; delete the cache folder and run again")))?;
        table.names.push(t.column.clone());
        table.columns.push(RawColumn {
            values: Vec::new(),
            dict,
        });
        t.d_text = 0; // the width of this run's encoder, whatever built the cache
    }
    let mut rows = Encoded::default();
    attach_texts(spec, &table, &mut rows, env)?;
    Ok(rows.text.into_iter().map(|t| (t.dim, t.table)).collect())
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
            spec.multi_hot.len(),
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
