//! Issue #17 §1 (s10): a categorical feature's integer column numbered by value
//! (`src/data/ingest/parquet/codes.rs`) against the naive numbering, each distinct text
//! numbered at its first row of the row group, on the s9 fixtures: INT32 as INT_8 /
//! INT_16 / UINT_8 / UINT_16 / UINT_32 (values outside those ranges), INT32, INT64 and
//! UINT_64 with the extremes, nulls, dictionary and plain pages, row groups larger and
//! smaller than a batch, page v1 and v2. The texts are the record API's (the reference
//! twin), and a column that is neither integers nor strings has no codes.

mod s9parquet_support;

use mtrec::config::DataConfig;
use mtrec::data::ingest::{parquet_cells, parquet_codes};
use s9parquet_support::{temp_dir, write, Hard};
use std::collections::HashMap;
use std::path::Path;

const INTS: [&str; 10] = [
    "i8c", "i16c", "u8c", "u16c", "u32c", "i32c", "i64c", "u64c", "click", "buy",
];
const OTHERS: [&str; 4] = ["s", "f64c", "b", "raw"];

fn data_cfg(missing: &[&str]) -> DataConfig {
    toml::from_str(&format!(
        "files = [\"x\"]\nformat = \"parquet\"\nmissing_values = {missing:?}"
    ))
    .unwrap()
}

/// Checks `path` under `missing` (its first entry: a null's text); `distinct`: no
/// value has the null's text, so the codes are exactly the naive numbering.
fn check(path: &Path, missing: &[&str], distinct: bool) {
    let cfg = data_cfg(missing);
    let columns: Vec<&str> = INTS.iter().chain(&OTHERS).copied().collect();
    let coded = parquet_codes(&cfg, path, &columns).unwrap();
    let records = parquet_cells(&cfg, path, &columns, &[false; 14], true).unwrap();
    let good: Vec<_> = records.iter().filter_map(|r| r.1.as_ref().ok()).collect();
    assert_eq!(coded.len(), good.len(), "rows");
    assert!(coded.len() > 1000, "fixture too small");
    let mut nulls = 0;
    for j in 0..columns.len() {
        // per row group: the naive numbering (text → first-appearance code) and the
        // texts of each code seen so far
        let (mut naive, mut texts) = (HashMap::new(), Vec::<String>::new());
        let mut group = usize::MAX;
        for ((g, row), want) in coded.iter().zip(&good) {
            let (code, text) = &row[j];
            assert_eq!(text, &want[j].0, "{}: text", columns[j]);
            if j >= INTS.len() {
                // string columns have codes too since s11 (tests/s11pq_dict.rs)
                if !["s", "raw"].contains(&columns[j]) {
                    assert_eq!(*code, None, "{} has codes", columns[j]);
                }
                continue;
            }
            if *g != group {
                (group, naive, texts) = (*g, HashMap::new(), Vec::new());
            }
            let code = code.expect("an integer column has codes") as usize;
            // codes come in first-appearance order, each with one text
            assert!(code <= texts.len(), "{}: code {code} skips", columns[j]);
            if code == texts.len() {
                texts.push(text.clone());
            }
            assert_eq!(&texts[code], text, "{}: code {code}", columns[j]);
            nulls += usize::from(text == missing[0]);
            let n = naive.len();
            let expected = *naive.entry(text.clone()).or_insert(n);
            if distinct {
                assert_eq!(code, expected, "{}: group {g}", columns[j]);
            }
        }
    }
    assert!(nulls > 100, "the fixture has nulls: {nulls}");
}

#[test]
fn integer_codes_are_the_numbering_of_the_texts() {
    let dir = temp_dir("s10codes");
    // no bad rows: every row's codes are seen (a bad row has codes, not cells)
    let hard = Hard {
        non_finite: true,
        bad_raw: false,
        bad_utf8: false,
    };
    for (name, groups, v2) in [
        ("a.parquet", &[4500usize, 301, 1][..], false),
        ("b.parquet", &[700][..], true),
        ("c.parquet", &[5000][..], false),
    ] {
        let path = dir.join(name);
        write(&path, 5000, 11 + groups.len() as u64, groups, v2, hard);
        // a null's text is no value's
        check(&path, &["<null>", ""], true);
        // a null's text is also a value's ("0"): the codes differ from the texts'
        // numbering only there, each code still one text
        check(&path, &["0", "-1"], false);
    }
    std::fs::remove_dir_all(&dir).ok();
}
