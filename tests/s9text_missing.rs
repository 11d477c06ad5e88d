//! A multi-hot feature with `missing = "error"` in the streamed cache build (issue #17
//! §1, src/data/cache/build/missing.rs): without missing cells it streams to the
//! in-memory bytes; with one (a missing cell, or a missing token inside a list) the
//! build stops with the in-memory path's error, also when a categorical feature's
//! missing cell (which the in-memory encoder finds first) comes later in the file.

mod s9text_support;

use s9text_support::{assert_streams_like_memory, build, config, temp_dir, xorshift, ENV};
use std::path::Path;

/// `n` rows of user, tags, price, click; `tags` of row `bad_tags` is `bad`, user of row
/// `bad_user` is `NA`.
fn write_rows(dir: &Path, n: usize, bad_tags: Option<(usize, &str)>, bad_user: Option<usize>) {
    let mut next = xorshift(17);
    let mut s = String::from("user,tags,price,click\n");
    for i in 0..n {
        let user = match bad_user {
            Some(r) if r == i => "NA".to_string(),
            _ => format!("u{}", next() % 25),
        };
        let tags = match bad_tags {
            Some((r, t)) if r == i => t.to_string(),
            _ => {
                let k = 1 + next() % 4;
                let t: Vec<String> = (0..k).map(|_| format!("g{}", next() % 11)).collect();
                t.join("|")
            }
        };
        s += &format!("{user},{tags},{},{}\n", next() % 100, next() % 2);
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

const CONFIG: &str = r#"
[data]
files = ["rows.csv"]
header = true
missing_values = ["NA"]

[[features]]
name = "user"
kind = "categorical"
dim = 4
missing = "error"
[[features]]
name = "tags"
kind = "multi_hot"
separator = "|"
dim = 3
missing = "error"
[[features]]
name = "price"
kind = "numeric"

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 1
train = 0.7
valid = 0.15

[model]
arch = "shared_bottom"
bottom = [4]
tower = [4]
"#;

/// The error of the in-memory build and of the streamed one (which must fail alike).
fn errors(dir: &Path) -> (String, String) {
    let cfg = config(dir, CONFIG);
    let mem = build(&cfg, dir, "mem", 2, false).unwrap_err().to_string();
    let streamed = build(&cfg, dir, "streamed", 2, true)
        .unwrap_err()
        .to_string();
    (mem, streamed)
}

#[test]
fn a_multi_hot_feature_with_missing_error_streams_when_nothing_is_missing() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("bag-ok", 400);
    write_rows(&dir, 1200, None, None);
    let cfg = config(&dir, CONFIG);
    assert_streams_like_memory(&cfg, &dir);
}

#[test]
fn a_missing_list_or_token_is_the_in_memory_error() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    for (tag, bad) in [("cell", "NA"), ("token", "g1|NA|g2"), ("spaced", "g3| NA ")] {
        let dir = temp_dir(&format!("bag-{tag}"), 400);
        write_rows(&dir, 1200, Some((700, bad)), None);
        let (mem, streamed) = errors(&dir);
        assert!(mem.contains("tags") && mem.contains(":702:"), "{mem}");
        assert_eq!(streamed, mem);
    }
}

#[test]
fn a_later_categorical_missing_cell_comes_first_as_in_memory() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("bag-cat", 400);
    write_rows(&dir, 1200, Some((300, "NA")), Some(1000));
    let (mem, streamed) = errors(&dir);
    assert!(mem.contains("user") && mem.contains(":1002:"), "{mem}");
    assert_eq!(streamed, mem);
}
