//! Fixtures for the streamed build's `[[data.join]]` and split tests (`mod
//! s9join_support;`): an interaction log joined to an item table, itself joined to a
//! category table (chained), with bad rows, missing keys and missing markers here and
//! there, and the in-memory path to compare against.

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

#[path = "../rows_cache_support/mod.rs"]
mod rows_cache_support;
/// `text` as `<dir>/run.toml`, read.
#[allow(unused_imports)] // each test file uses a part
pub use rows_cache_support::config_in as config;
/// The in-memory path, the streamed cache and their comparison, shared with the other
/// streamed-build tests.
#[allow(unused_imports)] // each test file uses a part
pub use rows_cache_support::{
    assert_same, assert_same_error, assert_streams_to_memory_bytes, cache_bytes, cached, in_memory,
};
use rows_cache_support::{user_item, CLICK_BUY_TASKS, TINY_MMOE};

/// Chunk size of every test (one value: tests share the process's environment).
pub const CHUNK: &str = "900";

pub fn temp_dir(tag: &str) -> PathBuf {
    std::env::set_var("MTREC_STREAM_CHUNK", CHUNK);
    let d = std::env::temp_dir().join(format!("mtrec-s9join-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What [`log_csv`] puts far into the file.
#[derive(Clone, Copy, Default)]
pub struct Bad {
    /// Row 300: a field too many (malformed).
    pub malformed: bool,
    /// Row 500: an item the item table lacks (`i999`).
    pub missing_item: bool,
    /// Row 700: an item whose category the category table lacks (chained join).
    pub missing_category: bool,
    /// Row 900: `price` = "abc".
    pub number: bool,
    /// Row 1100: `set` = "training" (not a set).
    pub set: bool,
}

impl Bad {
    /// Every bad row but the bad set (which only a column split reads).
    pub const ALL_BUT_SET: Bad = Bad {
        malformed: true,
        missing_item: true,
        missing_category: true,
        number: true,
        set: false,
    };
}

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `n` rows of user, item, time, price, click, buy, set. Every 37th item is `NA` (a
/// missing marker: joins missing values); times repeat (ties), so a temporal split
/// must keep file order among equal times.
pub fn log_csv(n: usize, items: usize, bad: Bad) -> String {
    let mut s = String::from("user,item,time,price,click,buy,set\n");
    let mut next = xorshift(77);
    for i in 0..n {
        let (u, it) = (next() % 40, next() % items as u64);
        let item = if i % 37 == 11 {
            "NA".to_string()
        } else {
            format!("i{it}")
        };
        let time = 1_600_000_000 + (next() % 500) * 60;
        let price = if i % 11 == 3 {
            String::new()
        } else {
            format!("{}", (next() % 1000) as f64 / 100.0)
        };
        let click = ((u + it) % 3 == 0) as u8;
        let buy = if i % 7 == 0 {
            String::new()
        } else {
            ((click == 1 && u % 2 == 0) as u8).to_string()
        };
        let set = ["train", "train", "train", "valid", "test"][(next() % 5) as usize];
        match i {
            300 if bad.malformed => s.push_str("u1,i1,1,2,3,4,5,6\n"),
            500 if bad.missing_item => {
                s.push_str("u1,i999,1600000000,1.5,1,0,train\n");
            }
            700 if bad.missing_category => {
                s.push_str(&format!("u2,i{},1600000000,1.5,1,0,test\n", items));
            }
            900 if bad.number => s.push_str("u1,i1,1600000000,abc,1,0,train\n"),
            1100 if bad.set => s.push_str("u1,i1,1600000000,1.0,1,0,training\n"),
            _ => {}
        }
        s.push_str(&format!("u{u},{item},{time},{price},{click},{buy},{set}\n"));
    }
    s
}

/// The item table: `items` items plus `i{items}` whose category `c99` the category
/// table lacks; every 9th weight missing, every 13th category missing.
pub fn items_csv(items: usize) -> String {
    let mut s = String::from("item,category,brand,weight\n");
    let mut next = xorshift(5);
    for i in 0..items {
        let cat = if i % 13 == 4 {
            String::new()
        } else {
            format!("c{}", next() % 12)
        };
        let weight = if i % 9 == 2 {
            String::new()
        } else {
            format!("{}", (next() % 500) as f64 / 10.0)
        };
        s.push_str(&format!("i{i},{cat},b{},{weight}\n", next() % 7));
    }
    s.push_str(&format!("i{items},c99,b1,1.0\n"));
    s
}

/// The category table (a chained join on `item_category`).
pub fn categories_csv() -> String {
    let mut s = String::from("cat_id,dept\n");
    for c in 0..12 {
        s.push_str(&format!("c{c},d{}\n", c % 4));
    }
    s
}

/// Writes log.csv (n rows), items.csv, categories.csv into `dir`.
pub fn write_fixture(dir: &Path, n: usize, bad: Bad) {
    std::fs::write(dir.join("log.csv"), log_csv(n, 300, bad)).unwrap();
    std::fs::write(dir.join("items.csv"), items_csv(300)).unwrap();
    std::fs::write(dir.join("categories.csv"), categories_csv()).unwrap();
}

/// A run config: user, item, the joined item category, brand and weight, the chained
/// department, price; click and buy; `split` the `[split]` body; `extra` more `[data]`.
pub fn config_text(split: &str, extra: &str) -> String {
    let user_item = user_item(2);
    format!(
        r#"
[data]
files = ["log.csv"]
header = true
missing_values = ["", "NA"]
{extra}

[[data.join]]
file = "items.csv"
left_on = "item"
right_on = "item"
prefix = "item_"

[[data.join]]
file = "categories.csv"
left_on = "item_category"
right_on = "cat_id"

{user_item}[[features]]
name = "item_category"
kind = "categorical"
dim = 4
[[features]]
name = "dept"
kind = "categorical"
dim = 4
[[features]]
name = "item_weight"
kind = "numeric"
[[features]]
name = "price"
kind = "numeric"

{CLICK_BUY_TASKS}
[split]
{split}

{TINY_MMOE}"#
    )
}

pub const RANDOM: &str = "kind = \"random\"\nseed = 7\ntrain = 0.6\nvalid = 0.2";
pub const COLUMN: &str = "kind = \"column\"\ncolumn = \"set\"";

/// `mtrec train` on `<dir>/run.toml` into `<dir>/<out>` (2 epochs of batches of 128, 2
/// threads, the tests' chunk size) with `--set` `sets`; its stderr.
pub fn train(dir: &Path, out: &str, sets: &[&str]) -> String {
    let out = dir.join(out);
    let cfg = dir.join("run.toml");
    let mut args = vec![
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "2",
        "--quiet",
    ];
    for s in ["train.epochs=2", "train.batch_size=128"]
        .iter()
        .chain(sets)
    {
        args.extend(["--set", s]);
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(&args)
        .env("MTREC_STREAM_CHUNK", CHUNK)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "mtrec train failed:\n{err}");
    err
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `mtrec train` on `<dir>/run.toml` twice: in memory into `<dir>/<tag>mem`, and from
/// a streamed cache (`data.shuffle_window=0`) into `<dir>/<tag>cached`; asserts the
/// console says the cache streamed, and that both runs have the same test metrics (an
/// AUC among them), row counts, spec, split and bad rows. Returns both summaries.
pub fn assert_trains_like_memory(dir: &Path, tag: &str) -> (serde_json::Value, serde_json::Value) {
    let (mem, cached) = (format!("{tag}mem"), format!("{tag}cached"));
    train(dir, &mem, &[]);
    let cache = format!("data.cache={:?}", dir.join("cache").display().to_string());
    let err = train(dir, &cached, &[&cache, "data.shuffle_window=0"]);
    assert!(err.contains("data cache: streamed"), "{tag}: {err}");
    assert!(!err.contains("in-memory reader"), "{tag}: {err}");
    let summary = |run: &str| json(&dir.join(run).join("summary.json"));
    let (a, b) = (summary(&mem), summary(&cached));
    assert_eq!(a["tasks"], b["tasks"], "{tag}: test metrics differ");
    assert_eq!(a["rows"], b["rows"], "{tag}");
    assert!(a["tasks"]["click"]["test"]["auc"].is_number(), "{tag}: {a}");
    for f in ["spec.json", "split.csv", "bad_rows.txt"] {
        let read = |run: &str| std::fs::read_to_string(dir.join(run).join(f)).unwrap();
        assert_eq!(read(&mem), read(&cached), "{tag}: {f} differs");
    }
    (a, b)
}
