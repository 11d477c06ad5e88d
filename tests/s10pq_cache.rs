//! Issue #17 §1 (s10): the streamed Parquet build with integer categorical columns
//! numbered by value (`src/data/ingest/parquet/codes.rs`) writes byte for byte the
//! cache of the in-memory build through the record API (the reference twin, texts
//! numbered by text), on the s9 fixtures with every integer kind as a categorical
//! feature: extremes, values outside a converted type's range, nulls, dictionary and
//! plain pages, page v1 and v2, rows dropped (NaN doubles, bytes that are not UTF-8);
//! with a null's text no value's, and with a null's text a value's (`"0"`) and an
//! integer's text a missing value (`"-1"`). One test in this file: it sets the
//! process's environment, which other tests would see.

mod rows_cache_support;
mod s9parquet_support;

use mtrec::config::RunConfig;
use rows_cache_support::{
    assert_same_files, cache_bytes, config_in, CLICK_BUY_TASKS, RANDOM_SPLIT, TINY_MMOE,
};
use s9parquet_support::{build_cache, temp_dir, write_a_and_b};
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

{CLICK_BUY_TASKS}
{RANDOM_SPLIT}
{TINY_MMOE}"#
    );
    config_in(dir, &text)
}

/// Builds the cache of `cfg` under `dir/root`: the record API in memory (the
/// reference) or the typed readers streamed.
fn build(cfg: &RunConfig, dir: &Path, root: &str, reference: bool) {
    let p = build_cache(cfg, dir, root, reference, !reference).unwrap();
    // the integer columns are categorical features with vocabularies
    assert!(p.spec.categorical.len() == 10, "{root}");
}

#[test]
fn integer_codes_build_the_record_apis_cache() {
    let dir = temp_dir("s10cache");
    write_a_and_b(&dir);
    for (i, missing) in [r#"["", "NA"]"#, r#"["0", "-1", ""]"#].iter().enumerate() {
        let cfg = config(&dir, missing);
        let (reference, streamed) = (format!("records_{i}"), format!("typed_{i}"));
        build(&cfg, &dir, &reference, true);
        build(&cfg, &dir, &streamed, false);
        let want = cache_bytes(&dir.join(&reference));
        let got = cache_bytes(&dir.join(&streamed));
        assert_eq!(want.len(), 6, "{missing}");
        let what = format!("{missing}: the typed readers' vs the record API's");
        assert_same_files(&want, &got, &what);
    }
    std::fs::remove_dir_all(&dir).ok();
}
