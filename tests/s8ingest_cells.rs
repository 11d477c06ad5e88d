//! The cell fast paths of the streaming cache build (src/data/cache/build/cells.rs and
//! src/data/ingest/number.rs: delimiter bit masks, the chunk-local code table, the
//! missing-value test, `trim` without the Unicode scan, Clinger's f32 parse) against the
//! in-memory path on a file made to hit their edges: long and short categorical texts,
//! more distinct texts per chunk than the code table's first size, texts equal to
//! missing values, numeric-looking missing values (`-1`), decimals on and off the fast
//! path, exponents, infinities, non-numbers, padded and quoted cells, Unicode spaces.
//! The cache must equal the in-memory preparation bit for bit, with the same skipped
//! rows and the same first error.

mod events_support;
mod rows_cache_support;

use events_support::xorshift;
use mtrec::config::RunConfig;
use rows_cache_support::{assert_same_as_memory, assert_same_error, config_file_in};
use rows_cache_support::{random_split, CLICK_TASK, TINY_MMOE};
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    // 64 KiB chunks: ~1,500 rows each, so a chunk holds hundreds of distinct texts
    std::env::set_var("MTREC_STREAM_CHUNK", "65536");
    events_support::temp_dir(&format!("s8cells-{tag}"))
}

/// `n` rows of `a` (categorical, thousands of values, 1 to 40 bytes), `b` (categorical,
/// few values, some quoted or padded), `x`, `z` (numeric) and `click`; `bad` adds a
/// non-number, an infinite number and a bad label.
fn cells_csv(n: usize, bad: bool) -> String {
    let mut s = String::from("a,b,x,z,click\n");
    let mut next = xorshift(12345);
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
        let click = next().is_multiple_of(3) as u8;
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
    let split = random_split(3, 0.7, 0.15);
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

{CLICK_TASK}
{split}
{TINY_MMOE}"#
    );
    config_file_in(dir, &format!("run_{bad_rows}.toml"), &text)
}

#[test]
fn edge_cells_stream_like_the_in_memory_path() {
    let dir = temp_dir("skip");
    std::fs::write(dir.join("cells.csv"), cells_csv(20_000, true)).unwrap();
    let cfg = config(&dir, "skip");
    let (mem, _, skipped) = assert_same_as_memory(&cfg, &dir, "cache");
    assert_eq!(skipped.count, 3, "{}", skipped.report());
    assert!(
        mem.spec.categorical[0].encoder.size() > 3000,
        "fixture too narrow"
    );
    assert!(mem.train.len() > 13_000, "fixture too small");
}

#[test]
fn the_first_bad_cell_is_the_in_memory_paths_error() {
    let dir = temp_dir("error");
    std::fs::write(dir.join("cells.csv"), cells_csv(5_000, true)).unwrap();
    let cfg = config(&dir, "error");
    assert_same_error(&cfg, &dir, "cache"); // bad cells
}
