//! Issue #17 §1 (s11): the streamed Parquet build with string categorical columns
//! numbered per dictionary (`src/data/ingest/parquet/dict.rs`) writes byte for byte the
//! cache of the in-memory build through the record API (the reference twin, texts
//! numbered by text): mixed dictionary / plain pages (v1 and v2), plain-only files,
//! v2's DELTA fallback (read as texts), nulls, empty strings, several row groups, rows
//! dropped for bytes that are not UTF-8, the missing-value markers as values and as a
//! null's text (`tests/s11pq_predict.rs`: `mtrec predict` writes the same scores). One
//! test in this file: it sets the process's environment, which other tests would see.
mod s11pq_support;
mod s9parquet_support;

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use s11pq_support::{config_text, temp_dir, write_files};
use std::path::Path;

fn config(dir: &Path, missing: &str) -> RunConfig {
    let path = dir.join("run.toml");
    std::fs::write(&path, config_text(missing)).unwrap();
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
    assert_eq!(p.spec.categorical.len(), 4, "{root}");
}

#[test]
fn dictionary_codes_build_the_record_apis_cache() {
    let dir = temp_dir("cache");
    write_files(&dir);
    for (i, missing) in [r#"["", "NA"]"#, r#"["NA", "-", ""]"#].iter().enumerate() {
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
