//! Parquet fixtures with every type the reader reads (`mod s9parquet_support;`): a
//! boolean; INT32 plain and as INT_8 / INT_16 / UINT_8 / UINT_16 / UINT_32 (with values
//! outside those ranges: the record API's casts); INT64 plain and UINT_64 with the
//! extremes; FLOAT and DOUBLE with zeros, subnormals, huge values, NaN and doubles whose
//! `f32` differs between `v as f32` and parsing their text (double rounding); UTF8,
//! ENUM and unannotated bytes (some not UTF-8); nulls in every optional column. Small
//! dictionary pages (so chunks hold dictionary and plain pages), several data pages per
//! column chunk, row groups larger and smaller than the reader's batch, page v1 or v2.

#![allow(dead_code)] // each test file uses a part

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use mtrec::data::features::Prepared;
use parquet::basic::Compression;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s9pq-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub const SCHEMA: &str = "message m { optional boolean b; optional int32 i8c (INT_8); \
    optional int32 i16c (INT_16); optional int32 u8c (UINT_8); optional int32 u16c (UINT_16); \
    optional int32 u32c (UINT_32); optional int32 i32c; optional int64 i64c; \
    optional int64 u64c (UINT_64); optional float f32c; optional double f64c; \
    optional binary s (UTF8); optional binary e (ENUM); optional binary raw; \
    required int32 click; optional int64 buy; }";

/// Every column of [`SCHEMA`], in order.
pub const COLUMNS: [&str; 16] = [
    "b", "i8c", "i16c", "u8c", "u16c", "u32c", "i32c", "i64c", "u64c", "f32c", "f64c", "s", "e",
    "raw", "click", "buy",
];

/// Doubles whose `f32` by `as` differs from the `f32` of their shortest text, found
/// near `f32` midpoints (the double-rounding cases), plus edge values.
pub fn hard_doubles() -> Vec<f64> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        f64::from(f32::MAX),
        -f64::from(f32::MAX),
        3.4028235677973366e38, // just above f32::MAX: rounds to f32::MAX or overflows
        1e300,
        -1e300,
        1e-300,
        -1e-300,
        5e-324,
        f64::from(f32::MIN_POSITIVE),
        1.401298464324817e-45, // the smallest f32 subnormal
        0.1,
        0.853198,
        16777217.0, // 2^24 + 1: a tie between two f32s
        9007199254740993.0,
    ];
    // around the midpoint of adjacent f32s a, a⁺: a few f64 steps either side
    let mut x: u32 = 0x3f80_0001;
    for i in 0..200u32 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223 + i);
        let a = f32::from_bits(x & 0x7f7f_ffff); // finite, positive
        let m = (f64::from(a) + f64::from(a.next_up())) / 2.0;
        let mut lo = m;
        let mut hi = m;
        v.push(m);
        for _ in 0..3 {
            lo = lo.next_down();
            hi = hi.next_up();
            v.push(lo);
            v.push(-hi);
        }
    }
    v
}

/// xorshift64: the fixtures' values (also `s11pq_support`'s).
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// `None` about one time in `k`.
    pub fn opt<T>(&mut self, k: u64, v: T) -> Option<T> {
        (!self.next().is_multiple_of(k)).then_some(v)
    }
}

/// Parquet definition levels of optional values (1 = present).
pub fn defs<T>(v: &[Option<T>]) -> Vec<i16> {
    v.iter().map(|x| i16::from(x.is_some())).collect()
}

/// Which hard cases the rows hold (each a bad value for some configs).
#[derive(Clone, Copy, Default)]
pub struct Hard {
    /// NaN / huge doubles and NaN floats (not finite numbers).
    pub non_finite: bool,
    /// `raw` (unannotated) bytes that are not UTF-8: a bad row on both paths.
    pub bad_raw: bool,
    /// `s` (UTF8) bytes that are not UTF-8: a bad row on the typed path, a decoder
    /// error on the record API's.
    pub bad_utf8: bool,
}

impl Hard {
    /// Non-finite numbers and `raw` bytes that are not UTF-8: rows both paths drop alike.
    pub const DROPPED_ALIKE: Hard = Hard {
        non_finite: true,
        bad_raw: true,
        bad_utf8: false,
    };
}

/// The cache tests' files, both [`Hard::DROPPED_ALIKE`]: `<dir>/a.parquet` (5000 rows
/// in groups of 4500, 301 and 1, page v1) and `<dir>/b.parquet` (1500 rows in groups
/// of 700, page v2).
pub fn write_a_and_b(dir: &Path) {
    let hard = Hard::DROPPED_ALIKE;
    write(
        &dir.join("a.parquet"),
        5000,
        11,
        &[4500, 301, 1],
        false,
        hard,
    );
    write(&dir.join("b.parquet"), 1500, 4, &[700], true, hard);
}

/// Builds the cache of `cfg` under `<dir>/<root>` through the record API (`records`:
/// the reference twin, `MTREC_PARQUET_RECORDS=1`) or the typed column readers,
/// streamed or in memory (`stream = false`: `MTREC_STREAM=0`); asserts it streamed
/// when asked to. It sets the process's environment: one test a file.
pub fn build_cache(
    cfg: &RunConfig,
    dir: &Path,
    root: &str,
    records: bool,
    stream: bool,
) -> mtrec::Result<Prepared> {
    let on = |b: bool| if b { "1" } else { "0" };
    std::env::set_var("MTREC_PARQUET_RECORDS", on(records));
    std::env::set_var("MTREC_STREAM", on(stream));
    let got = open_or_build(cfg, dir, &dir.join(root));
    std::env::remove_var("MTREC_PARQUET_RECORDS");
    std::env::remove_var("MTREC_STREAM");
    let (p, sets, _) = got?;
    assert_eq!(sets.streamed, stream, "{root}");
    Ok(p)
}

/// `n` rows (xorshift `seed`) as Parquet, row groups cycling through `groups` rows.
pub fn write(path: &Path, n: usize, seed: u64, groups: &[usize], v2: bool, hard: Hard) {
    let schema = Arc::new(parse_message_type(SCHEMA).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_writer_version(if v2 {
                WriterVersion::PARQUET_2_0
            } else {
                WriterVersion::PARQUET_1_0
            })
            .set_dictionary_page_size_limit(200)
            .set_data_page_row_count_limit(97)
            .set_write_batch_size(31)
            .build(),
    );
    let doubles = hard_doubles();
    let mut g = Gen(seed | 1);
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let (mut at, mut k) = (0, 0);
    while at < n {
        let rows = groups[k % groups.len()].min(n - at);
        let base = at;
        at += rows;
        k += 1;
        let mut rg = w.next_row_group().unwrap();
        let mut c = 0;
        while let Some(mut col) = rg.next_column().unwrap() {
            macro_rules! put {
                ($t:ty, $f:expr) => {{
                    let o: Vec<_> = (0..rows).map(|r| $f(&mut g, base + r)).collect();
                    let v: Vec<_> = o.iter().flatten().cloned().collect();
                    col.typed::<$t>()
                        .write_batch(&v, Some(&defs(&o)), None)
                        .unwrap();
                }};
            }
            let small = |g: &mut Gen, _| {
                let x = g.next();
                g.opt(9, ((x % 700) as i32) - 350)
            };
            let wide = |g: &mut Gen, _| {
                let x = g.next();
                g.opt(
                    9,
                    if x.is_multiple_of(3) {
                        x as i32
                    } else {
                        (x % 100) as i32
                    },
                )
            };
            match c {
                0 => put!(BoolType, |g: &mut Gen, _| {
                    let x = g.next();
                    g.opt(8, x.is_multiple_of(2))
                }),
                1..=4 => put!(Int32Type, small),
                5 | 6 => put!(Int32Type, wide),
                7 | 8 => put!(Int64Type, |g: &mut Gen, _| {
                    let x = g.next();
                    let v = match x % 7 {
                        0 => i64::MIN,
                        1 => i64::MAX,
                        2 => -1,
                        3 => (1 << 53) + 1,
                        _ => (x % 50) as i64,
                    };
                    g.opt(9, v)
                }),
                9 => put!(FloatType, |g: &mut Gen, r: usize| {
                    let x = g.next();
                    let v = match x % 11 {
                        0 => f32::from_bits(x as u32 & 0x807f_ffff), // ±subnormal or 0
                        1 => f32::MAX,
                        2 if hard.non_finite && r % 500 == 77 => f32::NAN,
                        _ => f32::from_bits((x as u32 % 0x0400_0000) + 0x3c00_0000),
                    };
                    g.opt(9, v)
                }),
                10 => put!(DoubleType, |g: &mut Gen, r: usize| {
                    let x = g.next();
                    let d = doubles[(x % doubles.len() as u64) as usize];
                    let v = if hard.non_finite && r % 400 == 5 {
                        f64::NAN
                    } else if !hard.non_finite && d.abs() > f64::from(f32::MAX) {
                        0.25
                    } else {
                        d
                    };
                    g.opt(9, v)
                }),
                11 => put!(ByteArrayType, |g: &mut Gen, r: usize| {
                    let x = g.next();
                    let t = if hard.bad_utf8 && r % 700 == 301 {
                        vec![b'a', 0xc3]
                    } else if x.is_multiple_of(5) {
                        format!("u{}", x % 100_000).into_bytes() // fills the dictionary
                    } else {
                        format!("s{}", x % 13).into_bytes()
                    };
                    g.opt(10, ByteArray::from(t))
                }),
                12 => put!(ByteArrayType, |g: &mut Gen, _| {
                    let x = g.next();
                    g.opt(
                        10,
                        ByteArray::from(["RED", "GREEN", "blue é"][(x % 3) as usize]),
                    )
                }),
                13 => put!(ByteArrayType, |g: &mut Gen, r: usize| {
                    let x = g.next();
                    let t = if hard.bad_raw && r % 600 == 17 {
                        vec![0xff, 0xfe, b'x']
                    } else {
                        format!("r{}", x % 40).into_bytes()
                    };
                    g.opt(10, ByteArray::from(t))
                }),
                14 => {
                    let v: Vec<i32> = (0..rows).map(|_| (g.next() % 2) as i32).collect();
                    col.typed::<Int32Type>()
                        .write_batch(&v, None, None)
                        .unwrap();
                }
                _ => put!(Int64Type, |g: &mut Gen, _| {
                    let x = g.next();
                    g.opt(4, (x % 2) as i64)
                }),
            }
            col.close().unwrap();
            c += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}
