//! Issue #17 §1 (s10): the streamed Parquet build with integer categorical columns
//! numbered by value (`src/data/ingest/parquet/codes.rs`) writes byte for byte the
//! cache of the in-memory build through the record API (the reference twin, texts
//! numbered by text), on the s9 fixtures with every integer kind as a categorical
//! feature: extremes, values outside a converted type's range, nulls, dictionary and
//! plain pages, page v1 and v2, rows dropped (NaN doubles, bytes that are not UTF-8);
//! with a null's text no value's, and with a null's text a value's (`"0"`) and an
//! integer's text a missing value (`"-1"`). One test in this file: it sets the
//! process's environment, which other tests would see.

mod s9parquet_support;

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use s9parquet_support::{temp_dir, write, Hard};
use std::path::Path;

fn config(dir: &Path, missing: &str) -> RunConfig {
    let text = format!(
        r#"
[data]
files = ["a.parquet", "b.parquet"]
format = "parquet"
missing_values = {missing}
bad_rows = "skip"

[[features]]
names = ["i8c", "i16c", "u8c", "u16c", "u32c", "i32c", "i64c", "u64c", "s", "b"]
kind = "categorical"
dim = 4
min_count = 2
[[features]]
names = ["f32c", "f64c"]
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
"#
    );
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    RunConfig::from_file_in(&path, &[], Some(dir)).unwrap()
}

/// Every file of every cache folder under `root`, by name.
fn cache_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
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

/// Builds the cache of `cfg` under `dir/root`: the record API in memory (the
/// reference) or the typed readers streamed.
fn build(cfg: &RunConfig, dir: &Path, root: &str, reference: bool) {
    let on = |b: bool| if b { "1" } else { "0" };
    std::env::set_var("MTREC_PARQUET_RECORDS", on(reference));
    std::env::set_var("MTREC_STREAM", on(!reference));
    let got = open_or_build(cfg, dir, &dir.join(root));
    std::env::remove_var("MTREC_PARQUET_RECORDS");
    std::env::remove_var("MTREC_STREAM");
    let (p, sets, _) = got.unwrap();
    assert_eq!(sets.streamed, !reference, "{root}");
    // the integer columns are categorical features with vocabularies
    assert!(p.spec.categorical.len() == 10, "{root}");
}

#[test]
fn integer_codes_build_the_record_apis_cache() {
    let dir = temp_dir("s10cache");
    let hard = Hard {
        non_finite: true,
        bad_raw: true,
        bad_utf8: false,
    };
    write(
        &dir.join("a.parquet"),
        5000,
        11,
        &[4500, 301, 1],
        false,
        hard,
    );
    write(&dir.join("b.parquet"), 1500, 4, &[700], true, hard);
    for (i, missing) in [r#"["", "NA"]"#, r#"["0", "-1", ""]"#].iter().enumerate() {
        let cfg = config(&dir, missing);
        let (reference, streamed) = (format!("records_{i}"), format!("typed_{i}"));
        build(&cfg, &dir, &reference, true);
        build(&cfg, &dir, &streamed, false);
        let want = cache_bytes(&dir.join(&reference));
        let got = cache_bytes(&dir.join(&streamed));
        assert_eq!(want.len(), 6, "{missing}");
        assert_eq!(got.len(), want.len(), "{missing}");
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(w.0, g.0, "{missing}");
            assert!(
                w.1 == g.1,
                "{missing}: {} differs from the record API's",
                w.0
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
