//! The cache tests' shared fixtures (`mod rows_cache_support;`): the run config of the
//! `rows.csv` tables (user, item, price; click, buy) and the comparison of a streamed
//! cache with the in-memory preparation of the same config.

#![allow(dead_code)] // each test file uses a part

use mtrec::config::RunConfig;
use mtrec::data::cache::{open_or_build, CachedSets};
use mtrec::data::features::{drop_bad_values, prepare, Prepared};
use mtrec::data::ingest::SkippedRows;
use mtrec::data::loaders::load_table;
use std::path::Path;

/// A run config for `rows.csv` with a header: categorical `user` and `item` (seen at
/// least `item_min_count` times), numeric `price`; binary tasks `click`, `buy`; a seeded
/// 60/20/20 random split. `data_extra` adds lines to `[data]`; `tail` (the `[model]`
/// table and what follows it) ends the file.
pub fn rows_config(data_extra: &str, item_min_count: u32, tail: &str) -> String {
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
missing_values = [""]
{data_extra}

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
min_count = {item_min_count}
[[features]]
name = "price"
kind = "numeric"

[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "buy"
type = "binary"
column = "buy"

[split]
kind = "random"
seed = 7
train = 0.6
valid = 0.2
{tail}"#
    )
}

/// The in-memory path: what a run with `data.cache = "off"` prepares.
pub fn in_memory(cfg: &RunConfig, dir: &Path) -> mtrec::Result<(Prepared, SkippedRows)> {
    let mut table = load_table(&cfg.data, dir, &cfg.needed_columns())?;
    drop_bad_values(&mut table, &cfg.features, &cfg.tasks, &cfg.split, &cfg.data)?;
    let p = prepare(
        &table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data.missing_values,
    )?;
    Ok((p, table.skipped))
}

pub fn cached(
    cfg: &RunConfig,
    dir: &Path,
    root: &str,
) -> mtrec::Result<(Prepared, CachedSets, SkippedRows)> {
    open_or_build(cfg, dir, &dir.join(root))
}

/// Asserts that the streamed cache of `cfg` equals the in-memory preparation.
pub fn assert_same(cfg: &RunConfig, dir: &Path, root: &str) -> CachedSets {
    let (mem, mem_skipped) = in_memory(cfg, dir).unwrap();
    let (p, sets, skipped) = cached(cfg, dir, root).unwrap();
    assert!(sets.streamed, "the cache was not built by streaming");
    assert_eq!(p.spec, mem.spec, "fitted spec differs");
    assert_eq!(p.report, mem.report);
    assert_eq!(p.files, mem.files);
    assert_eq!(skipped, mem_skipped);
    assert!(mem.train.len() > 100, "fixture too small");
    assert_eq!(sets.train.to_encoded(), mem.train, "train rows differ");
    assert_eq!(sets.valid.to_encoded(), mem.valid, "valid rows differ");
    assert_eq!(sets.test.to_encoded(), mem.test, "test rows differ");
    sets
}

/// Every file of every cache folder under `root`, by name.
pub fn cache_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in std::fs::read_dir(root).unwrap().flatten() {
        for f in std::fs::read_dir(key.path()).unwrap().flatten() {
            out.push((
                f.file_name().to_string_lossy().into_owned(),
                std::fs::read(f.path()).unwrap(),
            ));
        }
    }
    out.sort();
    out
}
