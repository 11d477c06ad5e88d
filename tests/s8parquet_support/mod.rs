//! Parquet fixtures for the streamed cache build's tests (`mod s8parquet_support;`):
//! files of several row groups (of uneven sizes), nulls, a bytes column that may hold a
//! value that is not UTF-8, a numeric column stored as text, and an unused column of a
//! type the reader refuses (only the needed columns are decoded).

#![allow(dead_code)] // each test file uses a part

use mtrec::config::RunConfig;
use mtrec::data::cache::{open_or_build, CachedSets};
use mtrec::data::features::{drop_bad_values, prepare, Prepared};
use mtrec::data::ingest::SkippedRows;
use mtrec::data::loaders::load_table;
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

fn defs<T>(v: &[Option<T>]) -> Vec<i16> {
    v.iter().map(|x| i16::from(x.is_some())).collect()
}

/// `n` rows (xorshift `seed`) as Parquet, row groups cycling through `groups` rows.
pub fn write_rows(path: &Path, n: usize, seed: u64, groups: &[usize], bad: Bad) {
    let schema = Arc::new(
        parse_message_type(
            "message m { optional binary user (UTF8); required int64 item; optional binary tag; \
             optional binary price (UTF8); optional double weight; required int32 added (DATE); \
             required boolean click; optional int32 buy; }",
        )
        .unwrap(),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let all = rows(n, seed, bad);
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let (mut at, mut g) = (0, 0);
    while at < all.len() {
        let chunk = &all[at..(at + groups[g % groups.len()]).min(all.len())];
        at += chunk.len();
        g += 1;
        let mut rg = w.next_row_group().unwrap();
        let mut k = 0;
        while let Some(mut col) = rg.next_column().unwrap() {
            let bytes = |v: Vec<Option<Vec<u8>>>| -> (Vec<ByteArray>, Vec<i16>) {
                let d = defs(&v);
                (v.into_iter().flatten().map(ByteArray::from).collect(), d)
            };
            match k {
                0 | 2 | 3 => {
                    let v: Vec<Option<Vec<u8>>> = chunk
                        .iter()
                        .map(|r| match k {
                            0 => r.user.clone().map(String::into_bytes),
                            2 => r.tag.clone(),
                            _ => r.price.clone().map(String::into_bytes),
                        })
                        .collect();
                    let (v, d) = bytes(v);
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                1 => {
                    let v: Vec<i64> = chunk.iter().map(|r| r.item).collect();
                    col.typed::<Int64Type>()
                        .write_batch(&v, None, None)
                        .unwrap();
                }
                4 => {
                    let o: Vec<Option<f64>> = chunk.iter().map(|r| r.weight).collect();
                    let v: Vec<f64> = o.iter().flatten().copied().collect();
                    col.typed::<DoubleType>()
                        .write_batch(&v, Some(&defs(&o)), None)
                        .unwrap();
                }
                5 => {
                    let v: Vec<i32> = chunk.iter().map(|r| r.added).collect();
                    col.typed::<Int32Type>()
                        .write_batch(&v, None, None)
                        .unwrap();
                }
                6 => {
                    let v: Vec<bool> = chunk.iter().map(|r| r.click).collect();
                    col.typed::<BoolType>().write_batch(&v, None, None).unwrap();
                }
                _ => {
                    let o: Vec<Option<i32>> = chunk.iter().map(|r| r.buy).collect();
                    let v: Vec<i32> = o.iter().flatten().copied().collect();
                    col.typed::<Int32Type>()
                        .write_batch(&v, Some(&defs(&o)), None)
                        .unwrap();
                }
            }
            col.close().unwrap();
            k += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
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

[model]
arch = "mmoe"
num_experts = 2
expert = [4]
tower = [4]
"#
    )
}

pub fn config(dir: &Path, text: &str) -> RunConfig {
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    RunConfig::from_file_in(&path, &[], Some(dir)).unwrap()
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
