//! Parquet fixtures of string columns for the dictionary numbering (issue #17 §1, s11;
//! `mod s11pq_support;`): `a` optional UTF8 with many distinct values (Zipf-like, so a
//! small dictionary page limit makes the writer fall back to plain pages), `b` required
//! UTF8 with few values, `c` optional UTF8 holding empty strings, the missing-value
//! markers `NA` / `-` and non-ASCII texts, `raw` optional unannotated bytes (some not
//! UTF-8 when asked), `click` and `buy` labels and `x` a DOUBLE numeric.

#![allow(dead_code)] // each test file uses a part

use parquet::basic::{Compression, Encoding};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::s9parquet_support::{defs, Gen};

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s11pq-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub const SCHEMA: &str = "message m { optional binary a (UTF8); required binary b (UTF8); \
    optional binary c (UTF8); optional binary raw; required int32 click; optional int32 buy; \
    optional double x; }";

/// The string columns.
pub const STRINGS: [&str; 4] = ["a", "b", "c", "raw"];

/// How a fixture is written.
#[derive(Clone, Copy)]
pub struct Layout {
    /// Page v2 (else v1).
    pub v2: bool,
    /// Dictionary encoding on (the writer's default).
    pub dictionary: bool,
    /// The dictionary page size limit in bytes (small: plain fallback pages).
    pub dict_limit: usize,
    /// The fallback encoding when set (v2 writes DELTA_BYTE_ARRAY by default).
    pub plain_fallback: bool,
    /// `raw` holds bytes that are not UTF-8 now and then.
    pub bad_raw: bool,
}

impl Layout {
    /// Dictionary pages only (a large limit), page v1.
    pub fn dict() -> Layout {
        Layout {
            v2: false,
            dictionary: true,
            dict_limit: 1 << 20,
            plain_fallback: false,
            bad_raw: false,
        }
    }
}

/// `n` rows (xorshift `seed`) as Parquet at `path`, row groups cycling through `groups`.
pub fn write(path: &Path, n: usize, seed: u64, groups: &[usize], layout: Layout) {
    let schema = Arc::new(parse_message_type(SCHEMA).unwrap());
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_writer_version(if layout.v2 {
            WriterVersion::PARQUET_2_0
        } else {
            WriterVersion::PARQUET_1_0
        })
        .set_dictionary_enabled(layout.dictionary)
        .set_dictionary_page_size_limit(layout.dict_limit)
        .set_data_page_row_count_limit(500)
        .set_write_batch_size(64);
    if layout.plain_fallback {
        props = props.set_encoding(Encoding::PLAIN);
    }
    let props = Arc::new(props.build());
    let mut g = Gen(seed | 1);
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let (mut at, mut k) = (0, 0);
    while at < n {
        let rows = groups[k % groups.len()].min(n - at);
        at += rows;
        k += 1;
        let mut rg = w.next_row_group().unwrap();
        let mut c = 0;
        while let Some(mut col) = rg.next_column().unwrap() {
            let mut strings = |f: &mut dyn FnMut(&mut Gen, usize) -> Option<Vec<u8>>| {
                let o: Vec<Option<ByteArray>> = (0..rows)
                    .map(|r| f(&mut g, r).map(ByteArray::from))
                    .collect();
                let v: Vec<ByteArray> = o.iter().flatten().cloned().collect();
                let d = defs(&o);
                (v, d)
            };
            match c {
                0 => {
                    let (v, d) = strings(&mut |g, _| {
                        let x = g.next();
                        // Zipf-like: small ids often, large ones rarely
                        let id = (x % 1000) * (x >> 40) % 20_000 / (1 + (x >> 20) % 40);
                        g.opt(12, format!("item-{id}").into_bytes())
                    });
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                1 => {
                    let (v, _) = strings(&mut |g, _| {
                        Some(["x", "yy", "zzz", "NA"][(g.next() % 4) as usize].into())
                    });
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, None, None)
                        .unwrap();
                }
                2 => {
                    let (v, d) = strings(&mut |g, _| {
                        let t = ["", "NA", "-", "é", "naïve", "日本", "a b", " pad "];
                        let x = g.next();
                        g.opt(6, t[(x % t.len() as u64) as usize].into())
                    });
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                3 => {
                    let (v, d) = strings(&mut |g, r| {
                        let x = g.next();
                        let t = if layout.bad_raw && r % 450 == 17 {
                            vec![0xff, 0xfe, b'x']
                        } else {
                            format!("r{}", x % 300).into_bytes()
                        };
                        g.opt(9, t)
                    });
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                4 => {
                    let v: Vec<i32> = (0..rows).map(|_| (g.next() % 2) as i32).collect();
                    col.typed::<Int32Type>()
                        .write_batch(&v, None, None)
                        .unwrap();
                }
                5 => {
                    let o: Vec<Option<i32>> = (0..rows)
                        .map(|_| {
                            let x = g.next();
                            g.opt(5, (x % 2) as i32)
                        })
                        .collect();
                    let v: Vec<i32> = o.iter().flatten().copied().collect();
                    col.typed::<Int32Type>()
                        .write_batch(&v, Some(&defs(&o)), None)
                        .unwrap();
                }
                _ => {
                    let o: Vec<Option<f64>> = (0..rows)
                        .map(|_| {
                            let x = g.next();
                            g.opt(7, (x % 10_000) as f64 / 77.0)
                        })
                        .collect();
                    let v: Vec<f64> = o.iter().flatten().copied().collect();
                    col.typed::<DoubleType>()
                        .write_batch(&v, Some(&defs(&o)), None)
                        .unwrap();
                }
            }
            col.close().unwrap();
            c += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

/// The data pages of column `name` in the file at `path`, over all row groups:
/// (dictionary-encoded, PLAIN, other encodings).
pub fn data_pages(path: &Path, name: &str) -> (usize, usize, usize) {
    use parquet::column::page::Page;
    let r = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut n = (0, 0, 0);
    for g in 0..r.num_row_groups() {
        let group = r.get_row_group(g).unwrap();
        let meta = group.metadata();
        let i = (0..meta.num_columns())
            .position(|i| meta.column(i).column_path().string() == name)
            .unwrap();
        let mut pages = group.get_column_page_reader(i).unwrap();
        while let Some(p) = pages.get_next_page().unwrap() {
            let e = match p {
                Page::DataPage { encoding, .. } | Page::DataPageV2 { encoding, .. } => encoding,
                Page::DictionaryPage { .. } => continue,
            };
            match e {
                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => n.0 += 1,
                Encoding::PLAIN => n.1 += 1,
                _ => n.2 += 1,
            }
        }
    }
    n
}

pub const FILES: [&str; 4] = ["a.parquet", "b.parquet", "c.parquet", "d.parquet"];

/// The fixture files in `dir`: mixed v1 with bad bytes, mixed v2 (plain fallback),
/// plain only, v2 with DELTA fallback.
pub fn write_files(dir: &Path) {
    let mixed = Layout {
        dict_limit: 300,
        bad_raw: true,
        ..Layout::dict()
    };
    let plain = Layout {
        dictionary: false,
        ..Layout::dict()
    };
    let mixed_v2 = Layout {
        v2: true,
        plain_fallback: true,
        ..mixed
    };
    let delta = Layout { v2: true, ..mixed };
    write(&dir.join(FILES[0]), 3000, 3, &[1100, 301, 1], mixed);
    write(&dir.join(FILES[1]), 1500, 4, &[700], mixed_v2);
    write(&dir.join(FILES[2]), 800, 5, &[800], plain);
    write(&dir.join(FILES[3]), 900, 6, &[400], delta);
}

pub fn config_text(missing: &str) -> String {
    format!(
        r#"
[data]
files = {FILES:?}
format = "parquet"
missing_values = {missing}
bad_rows = "skip"

[[features]]
names = ["a", "b", "c", "raw"]
kind = "categorical"
dim = 4
min_count = 2
[[features]]
name = "x"
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

[model]
arch = "mmoe"
num_experts = 2
expert = [4]
tower = [4]

[train]
epochs = 1
batch_size = 128
seed = 3
"#
    )
}
