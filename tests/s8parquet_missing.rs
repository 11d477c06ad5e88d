//! Issue #17 §1: features with `missing = "error"` in the streamed cache build. Pass 1
//! finds the missing cells; the run stops with the in-memory path's error (the same
//! file, line, column and text: a numeric feature's first missing training cell wins,
//! then the first missing cell of a categorical feature, then of a numeric one), and
//! a file without missing cells streams to the in-memory sets.

mod s8parquet_support;

use mtrec::data::features::random_assignment;
use mtrec::data::rows::Rows;
use s8parquet_support::{assert_same, cached, config, in_memory, temp_dir};

const SEED: u64 = 7;

/// `n` rows of user, item, price, weight, click with the cells `blank` (row, column
/// 0..4, 0-based data rows) empty.
fn rows_csv(n: usize, blank: &[(usize, usize)]) -> String {
    let mut s = String::from("user,item,price,weight,click\n");
    let mut x: u64 = 41;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let (u, it) = (next() % 30, next() % 50);
        let mut cells = [
            format!("u{u}"),
            format!("i{it}"),
            format!("{}", (next() % 1000) as f64 / 100.0),
            format!("{}", (next() % 77) as f64 * 0.5),
            (((u + it) % 3 == 0) as u8).to_string(),
        ];
        for &(r, c) in blank {
            if r == i {
                cells[c].clear();
            }
        }
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

fn config_text() -> String {
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
missing_values = [""]

[[features]]
name = "user"
kind = "categorical"
dim = 4
missing = "error"
[[features]]
name = "item"
kind = "categorical"
dim = 4
[[features]]
name = "price"
kind = "numeric"
missing = "error"
[[features]]
name = "weight"
kind = "numeric"
missing = "error"

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = {SEED}
train = 0.6
valid = 0.2

[model]
arch = "mmoe"
num_experts = 2
expert = [4]
tower = [4]
"#
    )
}

/// The first data row at or after `from` in set `set` (0 train, 1 valid, 2 test).
fn row_in(set: u8, from: usize) -> usize {
    (from..)
        .find(|&i| random_assignment(SEED, i as u64, 0.6, 0.2) == set)
        .unwrap()
}

#[test]
fn features_with_missing_error_stream_when_nothing_is_missing() {
    std::env::set_var("MTREC_STREAM_CHUNK", "900");
    let dir = temp_dir("miss-none");
    std::fs::write(dir.join("rows.csv"), rows_csv(2500, &[])).unwrap();
    let cfg = config(&dir, &config_text());
    let sets = assert_same(&cfg, &dir, "cache");
    assert!(sets.train.len() > 1000);
}

#[test]
fn a_missing_cell_stops_the_build_with_the_in_memory_error() {
    std::env::set_var("MTREC_STREAM_CHUNK", "900");
    let dir = temp_dir("miss-err");
    let (train_late, test_early) = (row_in(0, 1900), row_in(2, 150));
    // (case, blanked cells (row, column), `:line:column` of the error)
    type Case = (&'static str, Vec<(usize, usize)>, String);
    let cases: Vec<Case> = vec![
        // weight (numeric) missing in a test row only: the encode error
        (
            "test row",
            vec![(test_early, 3)],
            format!(":{}:4", test_early + 2),
        ),
        // user missing early, price missing in a late training row: NumSpec::fit first
        (
            "fit first",
            vec![(300, 0), (train_late, 2)],
            format!(":{}:3", train_late + 2),
        ),
        // price missing in an early test row and a late training row: the training one
        (
            "training cell",
            vec![(test_early, 2), (train_late, 2)],
            format!(":{}:3", train_late + 2),
        ),
        // user missing (categorical) and weight missing earlier in a test row:
        // categorical features are encoded first
        (
            "categorical before numeric",
            vec![(test_early, 3), (1200, 0)],
            ":1202:1".to_string(),
        ),
    ];
    for (tag, blank, place) in cases {
        std::fs::write(dir.join("rows.csv"), rows_csv(2500, &blank)).unwrap();
        let cfg = config(&dir, &config_text());
        let mem = in_memory(&cfg, &dir).map(|_| ()).unwrap_err().to_string();
        let root = tag.replace(' ', "_");
        let streamed = cached(&cfg, &dir, &root)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(streamed, mem, "{tag}");
        assert!(mem.contains(&format!("rows.csv{place}")), "{tag}: {mem}");
        assert!(mem.contains("missing = \"error\""), "{tag}: {mem}");
    }
}
