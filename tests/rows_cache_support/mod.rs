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

/// The `[[tasks]]` of the cache tests' tables: binary `click` and `buy` (the file is also
/// the task list of reference/bench_join_build.sh).
pub const CLICK_BUY_TASKS: &str = include_str!("../fixtures/click_buy_tasks.toml");

/// `[[tasks]]`: the binary task `click` alone.
pub const CLICK_TASK: &str = "[[tasks]]\nname = \"click\"\ntype = \"binary\"\ncolumn = \"click\"\n";

/// `[split]`: a random split drawn with `seed`, `train` and `valid` of the rows.
pub fn random_split(seed: u64, train: f64, valid: f64) -> String {
    format!("[split]\nkind = \"random\"\nseed = {seed}\ntrain = {train}\nvalid = {valid}\n")
}

/// `[split]`: a seeded 60/20/20 random split.
pub const RANDOM_SPLIT: &str = "[split]\nkind = \"random\"\nseed = 7\ntrain = 0.6\nvalid = 0.2\n";

/// `[model]`: a tiny MMoE (2 experts of width 4, towers of 4).
pub const TINY_MMOE: &str =
    "[model]\narch = \"mmoe\"\nnum_experts = 2\nexpert = [4]\ntower = [4]\n";

/// `[model]`: a tiny shared-bottom model (a bottom of 4, towers of 4).
pub const TINY_SHARED_BOTTOM: &str =
    "[model]\narch = \"shared_bottom\"\nbottom = [4]\ntower = [4]\n";

/// `[[features]]`: the numeric feature `name`.
pub fn numeric(name: &str) -> String {
    format!("[[features]]\nname = \"{name}\"\nkind = \"numeric\"\n")
}

/// `text` written to `<dir>/run.toml` and read as a run config (paths relative to `dir`).
pub fn config_in(dir: &Path, text: &str) -> RunConfig {
    config_file_in(dir, "run.toml", text)
}

/// `text` written to `<dir>/<name>` and read as a run config (paths relative to `dir`).
pub fn config_file_in(dir: &Path, name: &str, text: &str) -> RunConfig {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    RunConfig::from_file_in(&path, &[], Some(dir)).unwrap()
}

/// `[[features]]`: categorical `user` and `item` (dim 4), `item` seen at least
/// `item_min_count` times (1: every value).
pub fn user_item(item_min_count: u32) -> String {
    format!(
        r#"[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
min_count = {item_min_count}
"#
    )
}

/// The `[[features]]` of the multi-hot tables (user, item, tags, price): categorical
/// `user` and `item` (dim 4), multi-hot `tags` (`|`-separated, dim 3; `tags_extra` adds
/// lines to it), numeric `price`.
pub fn user_item_tags_price(tags_extra: &str) -> String {
    let user_item = user_item(1);
    format!(
        r#"{user_item}[[features]]
name = "tags"
kind = "multi_hot"
separator = "|"
dim = 3
{tags_extra}
[[features]]
name = "price"
kind = "numeric"
"#
    )
}

/// A run config for `rows.csv` with a header: categorical `user` and `item` (seen at
/// least `item_min_count` times), numeric `price`; binary tasks `click`, `buy`; a seeded
/// 60/20/20 random split. `data_extra` adds lines to `[data]`; `tail` (the `[model]`
/// table and what follows it) ends the file.
pub fn rows_config(data_extra: &str, item_min_count: u32, tail: &str) -> String {
    let user_item = user_item(item_min_count);
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
missing_values = [""]
{data_extra}

{user_item}[[features]]
name = "price"
kind = "numeric"

{CLICK_BUY_TASKS}
{RANDOM_SPLIT}{tail}"#
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
    assert_same_as_memory(cfg, dir, root).1
}

/// [`assert_same`], also returning the in-memory preparation and its skipped rows.
pub fn assert_same_as_memory(
    cfg: &RunConfig,
    dir: &Path,
    root: &str,
) -> (Prepared, CachedSets, SkippedRows) {
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
    (mem, sets, skipped)
}

/// Both paths fail (in memory and the streamed build into `dir/root`), with the same
/// message; returns it.
pub fn assert_same_error(cfg: &RunConfig, dir: &Path, root: &str) -> String {
    let Err(mem) = in_memory(cfg, dir) else {
        panic!("the in-memory path accepted it")
    };
    let Err(streamed) = cached(cfg, dir, root) else {
        panic!("the streamed build accepted it")
    };
    assert_eq!(streamed.to_string(), mem.to_string());
    mem.to_string()
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

/// The files of the one cache folder under `root` (asserts there is one), by name.
pub fn one_cache_folder(root: &Path) -> Vec<(String, Vec<u8>)> {
    let folders = std::fs::read_dir(root).unwrap().count();
    assert_eq!(
        folders,
        1,
        "one cache folder expected in {}",
        root.display()
    );
    cache_bytes(root)
}

/// The bytes of the file `name` among `files` (as [`cache_bytes`] lists them).
pub fn file_bytes<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    let f = files.iter().find(|f| f.0 == name);
    &f.unwrap_or_else(|| panic!("no {name} among the cache files"))
        .1
}

/// The `meta.json` among a cache folder's `files`, read.
pub fn cache_meta(files: &[(String, Vec<u8>)]) -> serde_json::Value {
    serde_json::from_slice(file_bytes(files, "meta.json")).unwrap()
}

/// Asserts that two cache folders' files (as [`cache_bytes`] lists them) have the same
/// names and the same bytes; `what` names the pair in the messages.
pub fn assert_same_files(want: &[(String, Vec<u8>)], got: &[(String, Vec<u8>)], what: &str) {
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}: other files");
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert!(
            g == w,
            "{what}: {name} differs ({} vs {} bytes):\n{}\n---\n{}",
            g.len(),
            w.len(),
            String::from_utf8_lossy(&g[..g.len().min(600)]),
            String::from_utf8_lossy(&w[..w.len().min(600)])
        );
    }
}

/// Builds the cache of `cfg` in memory (`MTREC_STREAM=0`) under `<dir>/<tag>-memory`,
/// then streamed on 1, 2 and 3 threads under `<dir>/<tag>-t<threads>`; asserts the
/// streamed builds streamed and wrote the in-memory files byte for byte. Returns the
/// in-memory build's sets and files. The caller holds the process's environment.
pub fn assert_streams_to_memory_bytes(
    cfg: &RunConfig,
    dir: &Path,
    tag: &str,
) -> (CachedSets, Vec<(String, Vec<u8>)>) {
    let memory = format!("{tag}-memory");
    std::env::set_var("MTREC_STREAM", "0");
    let sets = cached(cfg, dir, &memory);
    std::env::remove_var("MTREC_STREAM");
    let sets = sets.unwrap().1;
    assert!(!sets.streamed, "MTREC_STREAM=0 still streamed");
    let memory = cache_bytes(&dir.join(memory));
    for threads in 1..=3 {
        let root = format!("{tag}-t{threads}");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let streamed = pool.install(|| cached(cfg, dir, &root)).unwrap().1;
        assert!(streamed.streamed, "{tag}, {threads} threads: not streamed");
        let what = format!("{tag}, {threads} threads");
        assert_same_files(&memory, &cache_bytes(&dir.join(&root)), &what);
    }
    (sets, memory)
}

/// Writes `dir/rows.csv`: `n` rows: user, item (categorical), price (numeric, every 11th missing), tags
/// (multi-hot, 0–4 tags, every 13th missing), click and buy; line 40 has a bad price.
pub fn write_rows(dir: &Path, n: usize) {
    let mut s = String::from("user,item,price,tags,click,buy\n");
    let mut x: u64 = 1234;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let (u, it) = (next() % 300, next() % 2000);
        let price = if i % 11 == 0 {
            String::new()
        } else if i == 38 {
            "cheap".to_string()
        } else {
            format!("{}.{}", next() % 100, next() % 100)
        };
        let tags = if i % 13 == 0 {
            String::new()
        } else {
            let k = next() % 5;
            (0..k)
                .map(|_| format!("t{}", next() % 60))
                .collect::<Vec<_>>()
                .join("|")
        };
        let click = ((u + it) % 3 == 0) as u8;
        let buy = (click == 1 && next() % 2 == 0) as u8;
        s.push_str(&format!("{u},{it},{price},{tags},{click},{buy}\n"));
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}
