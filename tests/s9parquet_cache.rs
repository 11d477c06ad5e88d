//! Issue #17 §1: the data cache built from Parquet through the typed column readers is
//! byte for byte the cache the record API (`MTREC_PARQUET_RECORDS=1`, the reference
//! twin) builds, streamed and in memory (`MTREC_STREAM=0`), with bad rows skipped (NaN
//! and huge doubles, bytes that are not UTF-8) and listed alike; and under
//! `bad_rows = "error"` both stop with the same message. One test in this file: it sets
//! the process's environment, which other tests would see.

mod rows_cache_support;
mod s9parquet_support;

use rows_cache_support::{
    assert_same_files, cache_bytes, config_in as config, CLICK_BUY_TASKS, RANDOM_SPLIT, TINY_MMOE,
};
use s9parquet_support::{build_cache as build, temp_dir, write_a_and_b};

fn config_text(extra: &str) -> String {
    format!(
        r#"
[data]
files = ["a.parquet", "b.parquet"]
format = "parquet"
missing_values = ["", "NA"]
{extra}

[[features]]
names = ["b", "i64c", "s", "e", "raw"]
kind = "categorical"
dim = 4
min_count = 2
[[features]]
names = ["i8c", "i16c", "u8c", "u16c", "u32c", "i32c", "u64c", "f32c"]
kind = "numeric"
[[features]]
name = "f64c"
kind = "numeric"
scale = "minmax"

{CLICK_BUY_TASKS}
{RANDOM_SPLIT}
{TINY_MMOE}"#
    )
}

#[test]
fn typed_readers_build_the_record_apis_cache() {
    let dir = temp_dir("cache");
    write_a_and_b(&dir);
    let cfg = config(&dir, &config_text("bad_rows = \"skip\""));
    build(&cfg, &dir, "records_memory", true, false).unwrap();
    let reference = cache_bytes(&dir.join("records_memory"));
    assert_eq!(reference.len(), 6);
    for (root, records, stream) in [
        ("records_stream", true, true),
        ("typed_memory", false, false),
        ("typed_stream", false, true),
    ] {
        build(&cfg, &dir, root, records, stream).unwrap();
        let got = cache_bytes(&dir.join(root));
        assert_same_files(&reference, &got, &format!("{root} vs the record API's"));
    }
    // the skipped rows were there: NaN and huge doubles, bytes that are not UTF-8
    let skipped: Vec<String> = reference
        .iter()
        .map(|f| String::from_utf8_lossy(&f.1).into_owned())
        .filter(|t| t.contains("not UTF-8"))
        .collect();
    assert!(!skipped.is_empty(), "no bad bytes listed in the cache");
    // bad_rows = "error": the same first error from both paths, streamed or not
    let cfg = config(&dir, &config_text(""));
    let mut seen = Vec::new();
    for (i, (records, stream)) in [(true, false), (true, true), (false, false), (false, true)]
        .into_iter()
        .enumerate()
    {
        let e = build(&cfg, &dir, &format!("error_{i}"), records, stream)
            .unwrap_err()
            .to_string();
        seen.push(e);
    }
    assert!(seen[0].contains("a.parquet:"), "{}", seen[0]);
    assert_eq!(seen[2], seen[0], "in memory");
    assert_eq!(seen[3], seen[1], "streamed");
    std::fs::remove_dir_all(&dir).ok();
}
