//! Issue #17 §1: `data.dedup` and text features together with `[[data.join]]`, and
//! `data.dedup` of Parquet input, stream into the cache (no in-memory read), and the
//! cache folder is byte for byte the in-memory build's (`MTREC_STREAM=0`) at 1–3
//! threads (src/data/cache/build/{dedup,text,join,parquet}.rs).
//!
//! The joined fixture is s9join_support's: a log joined to an item table, itself joined
//! to a category table (chained), with a malformed row, an item the item table lacks,
//! an item whose category the category table lacks, a bad price, and `NA` items (a
//! missing marker: the joined cells are `NA`). Here every row may come back later
//! (exact repeats, across chunk boundaries), the bad ones too.

// s9join_support and s9text_support each include rows_cache_support.
#![allow(clippy::duplicate_mod)]

mod parquet_fixture_support;
mod s9join_support;
mod s9text_support;

use mtrec::config::RunConfig;
use parquet_fixture_support::{write_parquet, Col};
use s9join_support::{config_text, log_csv, Bad, COLUMN, RANDOM};
use s9text_support::{assert_streams_like_memory, config, temp_dir, texts, xorshift, ENV};
use s9text_support::{cache_meta, text_of, CLICK_TASK, RANDOM_SPLIT, TINY_SHARED_BOTTOM};
use std::path::Path;

const CHUNK: usize = 900;

/// s9join_support's log of `n` rows (every bad row in it) with exact repeats: after
/// every 3rd row a copy of an earlier one, and after rows 1000 and 2000 a copy of each
/// bad row (malformed, missing item, missing category, bad price).
fn log_with_repeats(n: usize) -> String {
    let log = log_csv(n, 300, Bad::ALL_BUT_SET);
    let mut lines = log.lines();
    let mut s = format!("{}\n", lines.next().unwrap());
    let rows: Vec<&str> = lines.collect();
    let is_bad = |l: &str| {
        l.split(',').count() != 7
            || l.contains("i999")
            || l.contains(",i300,")
            || l.contains(",abc,")
    };
    let bads: Vec<&str> = rows.iter().copied().filter(|l| is_bad(l)).collect();
    assert_eq!(bads.len(), 4, "the fixture's bad rows: {bads:?}");
    let mut next = xorshift(31);
    for (i, row) in rows.iter().enumerate() {
        s += row;
        s.push('\n');
        if i % 3 == 2 {
            s += rows[(next() % i as u64) as usize];
            s.push('\n');
        }
        if i == 1000 || i == 2000 {
            for b in &bads {
                s += b;
                s.push('\n');
            }
        }
    }
    s
}

/// Writes the joined fixture (log with repeats) into a fresh folder.
fn joined_fixture(tag: &str) -> std::path::PathBuf {
    let dir = temp_dir(tag, CHUNK);
    std::fs::write(dir.join("log.csv"), log_with_repeats(2400)).unwrap();
    std::fs::write(dir.join("items.csv"), s9join_support::items_csv(300)).unwrap();
    std::fs::write(dir.join("categories.csv"), s9join_support::categories_csv()).unwrap();
    dir
}

/// s9join_support's config with text features: the joined `item_category` (text+id
/// on `item`), the chained `dept` (text only on `dept`) and the log's own `user`.
fn text_config(split: &str, extra: &str) -> String {
    let cfg = config_text(split, extra);
    // the text table goes at the end of the feature's table (before the next table)
    let with = |cfg: String, feature: &str, t: String| {
        let start = cfg.find(&format!("name = \"{feature}\"\n")).expect(feature);
        let end = start + cfg[start..].find("\n[").unwrap() + 1;
        format!("{}{t}{}", &cfg[..end], &cfg[end..])
    };
    let cfg = with(cfg, "user", text_of("user", "text+id"));
    let cfg = with(cfg, "item", text_of("item_category", "text+id"));
    with(cfg, "dept", text_of("dept", "text"))
}

fn rows_kept(files: &[(String, Vec<u8>)]) -> u64 {
    let meta = cache_meta(files);
    (["train", "valid", "test"].iter())
        .map(|s| meta["rows"][s].as_u64().unwrap())
        .sum()
}

#[test]
fn dedup_with_a_join_streams_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = joined_fixture("s10jd-dedup-join");
    for split in [RANDOM, COLUMN] {
        let cfg = config(
            &dir,
            &config_text(split, "bad_rows = \"skip\"\ndedup = true"),
        );
        let (skipped, files) = assert_streams_like_memory(&cfg, &dir);
        // 2400 rows + 800 repeats + 8 repeated bad rows; the malformed row's repeats are
        // malformed rows (not hashed), the others duplicates
        assert!(skipped.duplicates > 700, "{}", skipped.duplicates);
        let missing_item = (skipped.first.iter())
            .filter(|r| r.reason.contains("`i999` is not a key"))
            .count();
        assert_eq!(
            missing_item, 1,
            "the repeats of a missing key are duplicates"
        );
        let malformed = (skipped.first.iter())
            .filter(|r| r.reason.contains("fields"))
            .count();
        assert!(
            malformed >= 3,
            "each repeat is a malformed row: {:?}",
            skipped.first
        );
        // the log's 2400 distinct usable rows, each kept once
        assert_eq!(rows_kept(&files), 2400);
        let _ = std::fs::remove_dir_all(dir.join("mem"));
        for t in 1..=3 {
            let _ = std::fs::remove_dir_all(dir.join(format!("t{t}")));
        }
    }
}

#[test]
fn text_features_with_a_join_stream_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = joined_fixture("s10jd-text-join");
    for (split, extra) in [
        (RANDOM, "bad_rows = \"skip\""),
        (COLUMN, "bad_rows = \"skip\"\ndedup = true"),
    ] {
        let cfg = config(&dir, &text_config(split, extra));
        let (_, files) = assert_streams_like_memory(&cfg, &dir);
        // the joined category: the item table's categories (c99 of an item no kept row
        // joins included), then the marker keys `NA` (an `NA` item) after them
        let cats = texts(&files, 1);
        let c99 = cats.iter().position(|t| t == "c99").expect("c99");
        let na = cats.iter().position(|t| t == "NA").expect("the NA marker");
        assert!(c99 < na && na == cats.len() - 1, "{cats:?}");
        // the chained department: the category table's, then the markers `` and `NA`
        let depts = texts(&files, 2);
        assert!(
            depts.len() >= 6 && depts[..4].iter().all(|d| d.starts_with('d')),
            "{depts:?}"
        );
        assert!(depts[4..].contains(&"NA".to_string()), "{depts:?}");
        let _ = std::fs::remove_dir_all(dir.join("mem"));
        for t in 1..=3 {
            let _ = std::fs::remove_dir_all(dir.join(format!("t{t}")));
        }
    }
}

/// `n` Parquet rows drawn from a pool of 90, row groups of uneven sizes. Pool row k
/// is row `b = k % 45` with `weight` 0.1 (k < 45) or 0.1 + 1e-16 (the same `f32`, a
/// different text): 88 distinct usable rows, the in-memory reader's texts tell each
/// pair apart. `added` (a DATE no feature reads) differs on every row: the rows repeat
/// only in the projected columns, which is what the reader compares. Row b = 44's
/// `tag` is not UTF-8 (a bad row, and its repeats).
fn write_parquet_rows(path: &Path, n: usize, seed: u64) {
    let mut next = xorshift(seed);
    let ks: Vec<u64> = (0..n).map(|_| next() % 90).collect();
    let sizes = [700, 130, 1000, 333];
    let (mut at, mut g, mut groups) = (0, 0, Vec::new());
    while at < n {
        let chunk = &ks[at..(at + sizes[g % sizes.len()]).min(n)];
        let first = at;
        at += chunk.len();
        g += 1;
        let b = |k: &u64| k % 45;
        groups.push(vec![
            Col::text(
                chunk
                    .iter()
                    .map(|k| (b(k) % 17 != 4).then(|| format!("u{}", b(k) % 13))),
            ),
            Col::I64(
                chunk
                    .iter()
                    .map(|k| Some((b(k) % 11) as i64 * 7 - 20))
                    .collect(),
            ),
            Col::Bytes(
                (chunk.iter())
                    .map(|k| match b(k) {
                        44 => Some(vec![b'x', 0xff]),
                        b => (b % 9 != 2).then(|| format!("t{}", b % 5).into_bytes()),
                    })
                    .collect(),
            ),
            Col::F64(
                chunk
                    .iter()
                    .map(|&k| Some(if k < 45 { 0.1 } else { 0.1 + 1e-16 }))
                    .collect(),
            ),
            Col::I32((0..chunk.len()).map(|i| Some((first + i) as i32)).collect()),
            Col::Bool(chunk.iter().map(|k| Some(b(k) % 3 == 0)).collect()),
        ]);
    }
    write_parquet(
        path,
        "message m { optional binary user (UTF8); required int64 item; optional binary tag; \
         optional double weight; required int32 added (DATE); required boolean click; }",
        groups,
    );
}

fn parquet_config() -> String {
    format!(
        r#"
[data]
files = ["a.parquet", "b.parquet"]
format = "parquet"
missing_values = [""]
bad_rows = "skip"
dedup = true

[[features]]
names = ["user", "item", "tag"]
kind = "categorical"
dim = 4
[[features]]
name = "weight"
kind = "numeric"

{CLICK_TASK}
{RANDOM_SPLIT}
{TINY_SHARED_BOTTOM}"#
    )
}

#[test]
fn dedup_of_parquet_streams_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10jd-parquet", CHUNK);
    write_parquet_rows(&dir.join("a.parquet"), 2600, 5);
    write_parquet_rows(&dir.join("b.parquet"), 900, 6);
    let cfg: RunConfig = config(&dir, &parquet_config());
    let (skipped, files) = assert_streams_like_memory(&cfg, &dir);
    assert!(skipped.duplicates > 3000, "{}", skipped.duplicates);
    assert!(skipped.count > 20, "the non-UTF-8 tags: {}", skipped.count);
    // 44 usable rows, each with weight 0.1 and 0.1 + 1e-16: every one kept once
    assert_eq!(rows_kept(&files), 88);
}
