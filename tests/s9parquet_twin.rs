//! Issue #17 §1: the typed column readers (`src/data/ingest/parquet/typed.rs`) give
//! every cell the record API (`records.rs`, the reference twin) gives, on fixtures with
//! every supported type, nulls, dictionary and plain pages, several data pages per
//! column chunk, row groups larger than a batch, page v1 and v2; and a number read
//! straight as `f32` is the `f32` its record text parses to.

mod s9parquet_support;

use mtrec::config::DataConfig;
use mtrec::data::ingest::{parquet_cells, parse_f32, CellRow};
use s9parquet_support::{temp_dir, write, Hard, COLUMNS};
use std::path::Path;

fn data_cfg(missing: &[&str]) -> DataConfig {
    toml::from_str(&format!(
        "files = [\"x\"]\nformat = \"parquet\"\nmissing_values = {missing:?}"
    ))
    .unwrap()
}

fn cells(cfg: &DataConfig, path: &Path, numbers: bool, records: bool) -> Vec<CellRow> {
    parquet_cells(cfg, path, &COLUMNS, &[numbers; COLUMNS.len()], records).unwrap()
}

/// Asserts the typed path equals the record path on `path`, as texts and as numbers.
fn assert_twins(path: &Path, cfg: &DataConfig, rows: usize) {
    let records = cells(cfg, path, false, true);
    assert_eq!(records.len(), rows);
    let texts = cells(cfg, path, false, false);
    assert_eq!(texts.len(), records.len());
    for (t, r) in texts.iter().zip(&records) {
        assert_eq!(t, r, "row {} differs as text", r.0);
    }
    // as numbers: the same texts (formatted when asked), and where an f32 comes
    // straight, it is the one the record text parses to
    let numbers = cells(cfg, path, true, false);
    let (mut straight, mut numeric) = (0, 0);
    for (n, r) in numbers.iter().zip(&records) {
        assert_eq!(n.0, r.0);
        let (Ok(n_cells), Ok(r_cells)) = (&n.1, &r.1) else {
            assert_eq!(n.1.as_ref().err(), r.1.as_ref().err(), "row {}", r.0);
            continue;
        };
        for (k, ((nt, x), (rt, _))) in n_cells.iter().zip(r_cells).enumerate() {
            assert_eq!(nt, rt, "row {} column {}", r.0, COLUMNS[k]);
            let parsed = parse_f32(rt.trim()).filter(|p| p.is_finite());
            if parsed.is_some() && !cfg.missing_values.iter().any(|m| m == rt) {
                numeric += 1;
            }
            if let Some(x) = x {
                straight += 1;
                assert_eq!(
                    Some(x.to_bits()),
                    parsed.map(f32::to_bits),
                    "row {} column {}: `{rt}`",
                    r.0,
                    COLUMNS[k]
                );
            }
        }
    }
    // the fast path is taken: all numbers but the text columns' and a few doubles
    assert!(
        numeric > 0 && straight * 10 >= numeric * 7,
        "{straight} of {numeric}"
    );
}

#[test]
fn typed_readers_give_the_record_apis_cells() {
    let dir = temp_dir("twin");
    let hard = Hard {
        non_finite: true,
        bad_raw: true,
        bad_utf8: false,
    };
    // a group larger than a batch (4096 rows), small ones, one of a single row
    write(
        &dir.join("v1.parquet"),
        5000,
        3,
        &[4500, 300, 1],
        false,
        hard,
    );
    write(&dir.join("v2.parquet"), 2100, 9, &[1000, 97], true, hard);
    for missing in [vec![""], vec!["NA", ""], vec!["nan", "null"]] {
        let cfg = data_cfg(&missing);
        assert_twins(&dir.join("v1.parquet"), &cfg, 5000);
        assert_twins(&dir.join("v2.parquet"), &cfg, 2100);
    }
    // the bad rows are there, with the record API's reasons
    let rows = cells(&data_cfg(&[""]), &dir.join("v1.parquet"), true, false);
    let bad: Vec<&String> = rows.iter().filter_map(|r| r.1.as_ref().err()).collect();
    assert!(bad.len() >= 5, "{}", bad.len());
    assert!(
        bad[0].contains("column `raw`") && bad[0].contains("not UTF-8"),
        "{}",
        bad[0]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bytes_that_are_not_utf8_in_a_utf8_column_are_a_bad_row() {
    let dir = temp_dir("utf8");
    let hard = Hard {
        bad_utf8: true,
        ..Hard::default()
    };
    let path = dir.join("u.parquet");
    write(&path, 800, 5, &[500], false, hard);
    let cfg = data_cfg(&[""]);
    let rows = cells(&cfg, &path, true, false);
    assert_eq!(rows.len(), 800);
    // row 302 (0-based 301) of the file holds the bytes
    let (line, bad) = &rows[301];
    assert_eq!(*line, 302);
    let why = bad.as_ref().unwrap_err();
    assert!(
        why.contains("column `s`") && why.contains("not UTF-8"),
        "{why}"
    );
    assert!(why.contains("row group 0"), "{why}");
    // the record API stops there instead (its decoder refuses the String)
    let e = parquet_cells(&cfg, &path, &COLUMNS, &[false; 16], true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row group 0, row 302"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
