//! Parquet fixtures for the streamed cache build's tests (`mod s8parquet_support;`):
//! files of several row groups (of uneven sizes), nulls, a bytes column that may hold a
//! value that is not UTF-8, a numeric column stored as text, and an unused column of a
//! type the reader refuses (only the needed columns are decoded).

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

#[path = "../parquet_fixture_support/mod.rs"]
mod parquet_fixture_support;
use parquet_fixture_support::{write_parquet, Col};

// the streamed-cache comparison the Parquet tests share with the CSV ones
#[path = "../rows_cache_support/mod.rs"]
mod rows_cache_support;
/// `text` as `<dir>/run.toml`, read.
#[allow(unused_imports)] // each test file uses a part
pub use rows_cache_support::config_in as config;
#[allow(unused_imports)] // each test file uses a part
pub use rows_cache_support::{
    assert_same, assert_streams_to_memory_bytes, cache_bytes, cached, in_memory,
};
use rows_cache_support::{CLICK_BUY_TASKS, RANDOM_SPLIT, TINY_MMOE};

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s8pq-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Which bad values [`write_rows`] puts far into the file (row numbers 1-based).
#[derive(Clone, Copy, Default)]
pub struct Bad {
    /// Row 1300: `tag` bytes that are not UTF-8 (a bad row for the reader).
    pub bytes: bool,
    /// Row 1700: `price` = "abc" (not a number).
    pub number: bool,
    /// Row 2100: `buy` = 2 (not a binary label).
    pub label: bool,
}

/// One row: user (text or null), item, tag (bytes or null), price (text, "" = null),
/// weight (or null), added (a DATE, unused), click, buy (or null).
struct Row {
    user: Option<String>,
    item: i64,
    tag: Option<Vec<u8>>,
    price: Option<String>,
    weight: Option<f64>,
    added: i32,
    click: bool,
    buy: Option<i32>,
}

fn rows(n: usize, seed: u64, bad: Bad) -> Vec<Row> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let (u, it) = (next() % 30, next() % 50);
            let click = (u + it) % 3 == 0;
            let row = i + 1;
            Row {
                user: (i % 17 != 4).then(|| format!("u{u}")),
                item: it as i64 * 7 - 20,
                tag: if bad.bytes && row == 1300 {
                    Some(vec![b'x', 0xff, 0xfe])
                } else {
                    (i % 9 != 2).then(|| format!("t{}", next() % 6).into_bytes())
                },
                price: if bad.number && row == 1700 {
                    Some("abc".into())
                } else {
                    (i % 11 != 3).then(|| format!("{}", (next() % 1000) as f64 / 100.0))
                },
                weight: (i % 13 != 6).then(|| (next() % 997) as f64 * 0.37 - 40.0),
                added: 18000 + i as i32,
                click,
                buy: if bad.label && row == 2100 {
                    Some(2)
                } else {
                    (i % 7 != 0).then_some((click && u % 2 == 0) as i32)
                },
            }
        })
        .collect()
}

/// `n` rows (xorshift `seed`) as Parquet, row groups cycling through `groups` rows.
pub fn write_rows(path: &Path, n: usize, seed: u64, groups: &[usize], bad: Bad) {
    let all = rows(n, seed, bad);
    let mut chunks = Vec::new();
    let (mut at, mut g) = (0, 0);
    while at < all.len() {
        let chunk = &all[at..(at + groups[g % groups.len()]).min(all.len())];
        at += chunk.len();
        g += 1;
        chunks.push(vec![
            Col::text(chunk.iter().map(|r| r.user.clone())),
            Col::I64(chunk.iter().map(|r| Some(r.item)).collect()),
            Col::Bytes(chunk.iter().map(|r| r.tag.clone()).collect()),
            Col::text(chunk.iter().map(|r| r.price.clone())),
            Col::F64(chunk.iter().map(|r| r.weight).collect()),
            Col::I32(chunk.iter().map(|r| Some(r.added)).collect()),
            Col::Bool(chunk.iter().map(|r| Some(r.click)).collect()),
            Col::I32(chunk.iter().map(|r| r.buy).collect()),
        ]);
    }
    write_parquet(
        path,
        "message m { optional binary user (UTF8); required int64 item; optional binary tag; \
         optional binary price (UTF8); optional double weight; required int32 added (DATE); \
         required boolean click; optional int32 buy; }",
        chunks,
    );
}

/// A run config reading `files` as Parquet (`extra` goes into `[data]`).
pub fn config_text(files: &str, extra: &str) -> String {
    format!(
        r#"
[data]
files = {files}
format = "parquet"
missing_values = [""]
{extra}

[[features]]
names = ["user", "item", "tag"]
kind = "categorical"
dim = 4
min_count = 2
[[features]]
name = "price"
kind = "numeric"
[[features]]
name = "weight"
kind = "numeric"
scale = "minmax"

{CLICK_BUY_TASKS}
{RANDOM_SPLIT}
{TINY_MMOE}"#
    )
}
