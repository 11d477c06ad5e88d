//! Issue #17 §1 (s11): a categorical feature's string column numbered per dictionary
//! (`src/data/ingest/parquet/dict.rs`: each dictionary entry looked up once per row
//! group, each cell coded through its dictionary index; plain pages per cell) against
//! the naive numbering of the record API's texts (the reference twin), each distinct
//! text numbered at its first row of the row group: dictionary-only chunks, chunks
//! that fall back to plain pages (a small dictionary page limit), plain-only chunks,
//! page v1 and v2, nulls, empty strings, the missing-value markers as values and as a
//! null's text, several row groups (larger and smaller than a batch, one of one row).
//! A wrong code for any cell fails here.

mod s11pq_support;
mod s9parquet_support;

use mtrec::config::DataConfig;
use mtrec::data::ingest::{parquet_cells, parquet_codes};
use s11pq_support::{data_pages, temp_dir, write, Layout, STRINGS};
use std::collections::HashMap;
use std::path::Path;

fn data_cfg(missing: &[&str]) -> DataConfig {
    toml::from_str(&format!(
        "files = [\"x\"]\nformat = \"parquet\"\nmissing_values = {missing:?}"
    ))
    .unwrap()
}

/// Checks `path` under `missing` (its first entry: a null's text): every string
/// column's codes are the naive numbering of its texts (`coded`: the chunks are read
/// as codes; else they have none) and its texts the record API's. Returns the nulls.
fn check(path: &Path, missing: &[&str], coded: bool) -> usize {
    let cfg = data_cfg(missing);
    let got = parquet_codes(&cfg, path, &STRINGS).unwrap();
    let records = parquet_cells(&cfg, path, &STRINGS, &[false; 4], true).unwrap();
    let good: Vec<_> = records.iter().filter_map(|r| r.1.as_ref().ok()).collect();
    assert_eq!(got.len(), good.len(), "rows");
    assert!(got.len() > 3000, "fixture too small");
    let mut nulls = 0;
    for (j, name) in STRINGS.iter().enumerate() {
        let (mut naive, mut group) = (HashMap::new(), usize::MAX);
        for ((g, row), want) in got.iter().zip(&good) {
            let (code, text) = &row[j];
            assert_eq!(text, &want[j].0, "{name}: text");
            if *g != group {
                (group, naive) = (*g, HashMap::new());
            }
            nulls += usize::from(text == missing[0]);
            match code {
                Some(code) => {
                    assert!(coded, "{name}: codes on a chunk not read as codes");
                    let n = naive.len() as u32;
                    let expected = *naive.entry(text.clone()).or_insert(n);
                    assert_eq!(*code, expected, "{name}: row group {g}, text {text:?}");
                }
                None => assert!(!coded, "{name}: no codes"),
            }
        }
    }
    nulls
}

const GROUPS: [usize; 3] = [2500, 301, 1];

#[test]
fn dictionary_codes_are_the_numbering_of_the_texts() {
    let dir = temp_dir("dict");
    let plain = Layout {
        dictionary: false,
        ..Layout::dict()
    };
    let mixed = Layout {
        dict_limit: 300,
        ..Layout::dict()
    };
    let mixed_v2 = Layout {
        v2: true,
        plain_fallback: true,
        ..mixed
    };
    let dict_v2 = Layout {
        v2: true,
        ..Layout::dict()
    };
    for (name, layout) in [
        ("dict.parquet", Layout::dict()),
        ("mixed.parquet", mixed),
        ("plain.parquet", plain),
        ("mixed_v2.parquet", mixed_v2),
        ("dict_v2.parquet", dict_v2),
    ] {
        let path = dir.join(name);
        write(&path, 7000, 5, &GROUPS, layout);
        // the fixture is what it says: dictionary pages, plain pages, or both
        let (dict, plain, other) = data_pages(&path, "a");
        assert_eq!(
            dict > 0,
            layout.dictionary,
            "{name}: {dict} dictionary pages"
        );
        let fallback = layout.dict_limit < 1000 || !layout.dictionary;
        assert_eq!(plain > 0, fallback, "{name}: {plain} plain pages");
        assert_eq!(other, 0, "{name}");
        // a null's text is no value's; then a missing-value marker that is a value
        // ("NA") and the empty string ("") as a null's text
        for missing in [&["<null>", ""][..], &["NA", "-"], &["", "NA"]] {
            let nulls = check(&path, missing, true);
            assert!(nulls > 500, "{name}: the fixture has nulls: {nulls}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn delta_chunks_stay_texts() {
    // page v2's default fallback is DELTA_BYTE_ARRAY, which dict.rs does not read:
    // those chunks keep the text path, and their texts are the record API's
    let dir = temp_dir("delta");
    let path = dir.join("delta.parquet");
    let layout = Layout {
        v2: true,
        dict_limit: 300,
        ..Layout::dict()
    };
    write(&path, 4000, 9, &[4000], layout);
    let (dict, _, delta) = data_pages(&path, "a");
    assert!(
        dict > 0 && delta > 0,
        "dictionary then DELTA pages: {dict}, {delta}"
    );
    let cfg = data_cfg(&[""]);
    let got = parquet_codes(&cfg, &path, &["a"]).unwrap();
    let records = parquet_cells(&cfg, &path, &["a"], &[false], true).unwrap();
    assert_eq!(got.len(), records.len());
    for ((_, row), want) in got.iter().zip(&records) {
        assert_eq!(row[0].0, None, "a DELTA chunk has no codes");
        assert_eq!(row[0].1, want.1.as_ref().unwrap()[0].0);
    }
    std::fs::remove_dir_all(&dir).ok();
}
