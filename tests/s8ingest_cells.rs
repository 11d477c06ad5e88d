//! The cell fast paths of the streaming cache build (src/data/cache/build/cells.rs and
//! src/data/ingest/number.rs: delimiter bit masks, the chunk-local code table, the
//! missing-value test, `trim` without the Unicode scan, Clinger's f32 parse) against the
//! in-memory path on a file made to hit their edges: long and short categorical texts,
//! more distinct texts per chunk than the code table's first size, texts equal to
//! missing values, numeric-looking missing values (`-1`), decimals on and off the fast
//! path, exponents, infinities, non-numbers, padded and quoted cells, Unicode spaces.
//! The cache must equal the in-memory preparation bit for bit, with the same skipped
//! rows and the same first error.

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use mtrec::data::features::{drop_bad_values, prepare, Prepared};
use mtrec::data::ingest::SkippedRows;
use mtrec::data::loaders::load_table;
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    // 64 KiB chunks: ~1,500 rows each, so a chunk holds hundreds of distinct texts
    std::env::set_var("MTREC_STREAM_CHUNK", "65536");
    let d = std::env::temp_dir().join(format!("mtrec-s8cells-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `n` rows of `a` (categorical, thousands of values, 1 to 40 bytes), `b` (categorical,
/// few values, some quoted or padded), `x`, `z` (numeric) and `click`; `bad` adds a
/// non-number, an infinite number and a bad label.
fn cells_csv(n: usize, bad: bool) -> String {
    let mut s = String::from("a,b,x,z,click\n");
    let mut r: u64 = 12345;
    let mut next = move || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    let decimals = [
        "0.853198",
        "12",
        "-3.5e-2",
        "0",
        "-0",
        "+7.",
        ".5",
        "16777217",
        "0.1234567891234",
        "1e11",
        "2.5E-12",
        "3.4028235e38",
        "1e-45",
        "00012.500",
        "-1",
        "NA",
        "?",
        "",
        "7e0",
    ];
    for i in 0..n {
        let a = match next() % 10 {
            0 => "NA".to_string(),
            1 => "?".to_string(),
            2 => format!(
                "long-text-{}-{}",
                next() % 3000,
                "x".repeat((next() % 24) as usize)
            ),
            _ => format!("{}", next() % 5000),
        };
        let b = match next() % 8 {
            0 => "\"q,1\"".to_string(),
            1 => " padded ".to_string(),
            2 => "-1".to_string(),
            v => format!("b{v}"),
        };
        let x = decimals[(next() % decimals.len() as u64) as usize].to_string();
        let z = match next() % 9 {
            0 => format!("{}", (next() % 100_000_000) as f64 / 1e6),
            1 => format!(" {}.{} ", next() % 100, next() % 1000),
            2 => format!("\u{a0}{}", next() % 50),
            3 => format!("{:e}", f32::from_bits((next() % 0x7f00_0000) as u32)),
            _ => format!("0.{:06}", next() % 1_000_000),
        };
        let click = (next() % 3 == 0) as u8;
        match i {
            700 if bad => s.push_str("a1,b1,abc,1,0\n"),
            900 if bad => s.push_str("a1,b1,1,1e39,0\n"),
            1100 if bad => s.push_str("a1,b1,1,2,7\n"),
            _ => {}
        }
        s.push_str(&format!("{a},{b},{x},{z},{click}\n"));
    }
    s
}

fn config(dir: &Path, bad_rows: &str) -> RunConfig {
    let text = format!(
        r#"
[data]
files = ["cells.csv"]
header = true
bad_rows = "{bad_rows}"
missing_values = ["", "NA", "?", "-1", "a missing value longer than sixty-three bytes, compared in full"]

[[features]]
name = "a"
kind = "categorical"
dim = 4
[[features]]
name = "b"
kind = "categorical"
dim = 4
[[features]]
name = "x"
kind = "numeric"
[[features]]
name = "z"
kind = "numeric"
scale = "minmax"

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 3
train = 0.7
valid = 0.15

[model]
arch = "mmoe"
num_experts = 2
expert = [4]
tower = [4]
"#
    );
    let path = dir.join(format!("run_{bad_rows}.toml"));
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

#[test]
fn edge_cells_stream_like_the_in_memory_path() {
    let dir = temp_dir("skip");
    std::fs::write(dir.join("cells.csv"), cells_csv(20_000, true)).unwrap();
    let cfg = config(&dir, "skip");
    let (mem, mem_skipped) = in_memory(&cfg, &dir).unwrap();
    let (p, sets, skipped) = open_or_build(&cfg, &dir, &dir.join("cache")).unwrap();
    assert!(sets.streamed, "the cache was not built by streaming");
    assert_eq!(p.spec, mem.spec, "fitted spec differs");
    assert_eq!(p.report, mem.report);
    assert_eq!(skipped, mem_skipped);
    assert_eq!(skipped.count, 3, "{}", skipped.report());
    assert!(
        mem.spec.categorical[0].encoder.size() > 3000,
        "fixture too narrow"
    );
    assert!(mem.train.len() > 13_000, "fixture too small");
    assert_eq!(sets.train.to_encoded(), mem.train, "train rows differ");
    assert_eq!(sets.valid.to_encoded(), mem.valid, "valid rows differ");
    assert_eq!(sets.test.to_encoded(), mem.test, "test rows differ");
}

#[test]
fn the_first_bad_cell_is_the_in_memory_paths_error() {
    let dir = temp_dir("error");
    std::fs::write(dir.join("cells.csv"), cells_csv(5_000, true)).unwrap();
    let cfg = config(&dir, "error");
    let Err(mem) = in_memory(&cfg, &dir) else {
        panic!("the in-memory path accepted bad cells");
    };
    let Err(streamed) = open_or_build(&cfg, &dir, &dir.join("cache")) else {
        panic!("the streamed build accepted bad cells");
    };
    assert_eq!(streamed.to_string(), mem.to_string());
}
