//! Pass 1 of the streaming cache build judges numeric cells without parsing the plain
//! decimals (src/data/cache/build/parse.rs `judge_number`), and the numeric scaling
//! after pass 2 rewrites the set files through memory maps (scale.rs). Both against the
//! in-memory path on a file made for them: cells on both sides of the plain-decimal
//! shape (`1.`, `.5`, `-`, `1..2`, 33 and 40 digits: finite and infinite), a plain
//! decimal that is a missing value (`0.5`), a feature with `missing = "error"`; with
//! `bad_rows = "skip"` (the same skipped rows, hence the same split) and `"error"` (the
//! same first error), and a split with an empty validation set (a set of 0 rows
//! scaled in place).

mod events_support;
mod rows_cache_support;

use events_support::xorshift;
use mtrec::config::RunConfig;
use rows_cache_support::{assert_same_as_memory, assert_same_error, config_file_in};
use rows_cache_support::{random_split, CLICK_TASK, TINY_MMOE};
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    // 16 KiB chunks: many chunks, rows judged in each
    std::env::set_var("MTREC_STREAM_CHUNK", "16384");
    events_support::temp_dir(&format!("s9judge-{tag}"))
}

/// `n` rows of `c` (categorical), `x` (numeric: the edge cells), `w` (numeric,
/// `missing = "error"`: plain decimals, and `0.5`, a missing value, in one row of
/// every `missing_every`) and `click`.
fn judge_csv(n: usize, missing_every: Option<usize>) -> String {
    let nines33 = "9".repeat(33); // 1e33: finite, not plain
    let nines40 = "9".repeat(40); // 1e40: infinite in f32, a bad cell
    let long_plain = format!("-{}", "1".repeat(31));
    let cells: Vec<&str> = vec![
        "0.853198",
        "12",
        "-0",
        "1.",
        ".5",
        "-.5",
        "+3",
        "0.5",
        "",
        "00012.500",
        &nines33,
        &long_plain,
        "2.5e-3",
        "-",
        "1..2",
        "--1",
        &nines40,
        "abc",
    ];
    let good = cells.len() - 5; // the last five are bad cells
    let mut s = String::from("c,x,w,click\n");
    let mut next = xorshift(4242);
    for i in 0..n {
        let c = format!("c{}", next() % 40);
        // a bad cell in one row of 50
        let x = if next().is_multiple_of(50) {
            cells[good + (next() % 5) as usize]
        } else {
            cells[(next() % good as u64) as usize]
        };
        let w = if missing_every.is_some_and(|m| i % m == m / 2) {
            "0.5".to_string()
        } else {
            format!("{}.{}", next() % 100, next() % 1000)
        };
        let click = next().is_multiple_of(3) as u8;
        s.push_str(&format!("{c},{x},{w},{click}\n"));
    }
    s
}

fn config(dir: &Path, bad_rows: &str, valid: f64) -> RunConfig {
    let split = random_split(5, 0.8, valid);
    let text = format!(
        r#"
[data]
files = ["judge.csv"]
header = true
bad_rows = "{bad_rows}"
missing_values = ["", "0.5"]

[[features]]
name = "c"
kind = "categorical"
dim = 4
[[features]]
name = "x"
kind = "numeric"
[[features]]
name = "w"
kind = "numeric"
missing = "error"
scale = "minmax"

{CLICK_TASK}
{split}
{TINY_MMOE}"#
    );
    config_file_in(dir, &format!("run_{bad_rows}_{valid}.toml"), &text)
}

#[test]
fn cells_judged_without_parsing_skip_the_in_memory_paths_rows() {
    let dir = temp_dir("skip");
    std::fs::write(dir.join("judge.csv"), judge_csv(20_000, None)).unwrap();
    let cfg = config(&dir, "skip", 0.1);
    let (mem, _, skipped) = assert_same_as_memory(&cfg, &dir, "cache");
    // about one row in 50 has a bad cell; the rest are kept, `0.5` and "" as missing
    assert!(
        (300..500).contains(&skipped.count),
        "skipped {}",
        skipped.count
    );
    assert!(mem.train.len() > 14_000, "fixture too small");
}

#[test]
fn an_empty_validation_set_is_scaled_like_the_in_memory_path() {
    let dir = temp_dir("empty");
    std::fs::write(dir.join("judge.csv"), judge_csv(5_000, None)).unwrap();
    let cfg = config(&dir, "skip", 0.0);
    let (mem, _, _) = assert_same_as_memory(&cfg, &dir, "cache");
    assert_eq!(mem.valid.len(), 0, "the validation set should be empty");
    assert!(mem.test.len() > 500);
}

#[test]
fn the_first_bad_or_missing_cell_is_the_in_memory_paths_error() {
    let dir = temp_dir("error");
    // bad cells everywhere: the first one is the error
    std::fs::write(dir.join("judge.csv"), judge_csv(3_000, None)).unwrap();
    let cfg = config(&dir, "error", 0.1);
    assert_same_error(&cfg, &dir, "cache"); // bad cells
                                            // a plain decimal that is a missing value, in a feature with missing = "error"
    std::fs::write(dir.join("judge.csv"), judge_csv(3_000, Some(500))).unwrap();
    let cfg = config(&dir, "skip", 0.1);
    // a missing value under missing = "error"
    let streamed = assert_same_error(&cfg, &dir, "cache_missing");
    assert!(streamed.contains('w'), "{streamed}");
}
