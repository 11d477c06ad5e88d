//! Pass 1 of the streaming cache build judges numeric cells without parsing the plain
//! decimals (src/data/cache/build/parse.rs `judge_number`), and the numeric scaling
//! after pass 2 rewrites the set files through memory maps (scale.rs). Both against the
//! in-memory path on a file made for them: cells on both sides of the plain-decimal
//! shape (`1.`, `.5`, `-`, `1..2`, 33 and 40 digits: finite and infinite), a plain
//! decimal that is a missing value (`0.5`), a feature with `missing = "error"`; with
//! `bad_rows = "skip"` (the same skipped rows, hence the same split) and `"error"` (the
//! same first error), and a split with an empty validation set (a set of 0 rows
//! scaled in place).

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use mtrec::data::features::{drop_bad_values, prepare, Prepared};
use mtrec::data::ingest::SkippedRows;
use mtrec::data::loaders::load_table;
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    // 16 KiB chunks: many chunks, rows judged in each
    std::env::set_var("MTREC_STREAM_CHUNK", "16384");
    let d = std::env::temp_dir().join(format!("mtrec-s9judge-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
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
    let mut r: u64 = 4242;
    let mut next = move || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    for i in 0..n {
        let c = format!("c{}", next() % 40);
        // a bad cell in one row of 50
        let x = if next() % 50 == 0 {
            cells[good + (next() % 5) as usize]
        } else {
            cells[(next() % good as u64) as usize]
        };
        let w = if missing_every.is_some_and(|m| i % m == m / 2) {
            "0.5".to_string()
        } else {
            format!("{}.{}", next() % 100, next() % 1000)
        };
        let click = (next() % 3 == 0) as u8;
        s.push_str(&format!("{c},{x},{w},{click}\n"));
    }
    s
}

fn config(dir: &Path, bad_rows: &str, valid: f64) -> RunConfig {
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

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 5
train = 0.8
valid = {valid}

[model]
arch = "mmoe"
num_experts = 2
expert = [4]
tower = [4]
"#
    );
    let path = dir.join(format!("run_{bad_rows}_{valid}.toml"));
    std::fs::write(&path, text).unwrap();
    RunConfig::from_file_in(&path, &[], Some(dir)).unwrap()
}

fn in_memory(cfg: &RunConfig, dir: &Path) -> mtrec::Result<(Prepared, SkippedRows)> {
    let mut table = load_table(&cfg.data, dir, &cfg.needed_columns())?;
    drop_bad_values(&mut table, &cfg.features, &cfg.tasks, &cfg.split, &cfg.data)?;
    let p = prepare(
        &table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data.missing_values,
    )?;
    Ok((p, table.skipped))
}

fn assert_same(cfg: &RunConfig, dir: &Path, root: &str) -> (Prepared, SkippedRows) {
    let (mem, mem_skipped) = in_memory(cfg, dir).unwrap();
    let (p, sets, skipped) = open_or_build(cfg, dir, &dir.join(root)).unwrap();
    assert!(sets.streamed, "the cache was not built by streaming");
    assert_eq!(p.spec, mem.spec, "fitted spec differs");
    assert_eq!(p.report, mem.report);
    assert_eq!(skipped, mem_skipped);
    assert_eq!(sets.train.to_encoded(), mem.train, "train rows differ");
    assert_eq!(sets.valid.to_encoded(), mem.valid, "valid rows differ");
    assert_eq!(sets.test.to_encoded(), mem.test, "test rows differ");
    (mem, skipped)
}

#[test]
fn cells_judged_without_parsing_skip_the_in_memory_paths_rows() {
    let dir = temp_dir("skip");
    std::fs::write(dir.join("judge.csv"), judge_csv(20_000, None)).unwrap();
    let cfg = config(&dir, "skip", 0.1);
    let (mem, skipped) = assert_same(&cfg, &dir, "cache");
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
    let (mem, _) = assert_same(&cfg, &dir, "cache");
    assert_eq!(mem.valid.len(), 0, "the validation set should be empty");
    assert!(mem.test.len() > 500);
}

#[test]
fn the_first_bad_or_missing_cell_is_the_in_memory_paths_error() {
    let dir = temp_dir("error");
    // bad cells everywhere: the first one is the error
    std::fs::write(dir.join("judge.csv"), judge_csv(3_000, None)).unwrap();
    let cfg = config(&dir, "error", 0.1);
    let Err(mem) = in_memory(&cfg, &dir) else {
        panic!("the in-memory path accepted bad cells");
    };
    let Err(streamed) = open_or_build(&cfg, &dir, &dir.join("cache")) else {
        panic!("the streamed build accepted bad cells");
    };
    assert_eq!(streamed.to_string(), mem.to_string());
    // a plain decimal that is a missing value, in a feature with missing = "error"
    std::fs::write(dir.join("judge.csv"), judge_csv(3_000, Some(500))).unwrap();
    let cfg = config(&dir, "skip", 0.1);
    let Err(mem) = in_memory(&cfg, &dir) else {
        panic!("the in-memory path accepted a missing value under missing = \"error\"");
    };
    let Err(streamed) = open_or_build(&cfg, &dir, &dir.join("cache_missing")) else {
        panic!("the streamed build accepted a missing value under missing = \"error\"");
    };
    assert_eq!(streamed.to_string(), mem.to_string());
    assert!(streamed.to_string().contains('w'), "{streamed}");
}
