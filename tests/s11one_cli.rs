//! Issue #17 §1/§2 (s11): by default `mtrec train` builds the streamed cache in one
//! parse of the data file (src/data/cache/build/spill.rs, copy.rs) and says so on the
//! console (`pass 1 (one parse: ...)`, `pass 2 (encode, pwrite) ... from a ... MB
//! spill`); the two-pass build (`MTREC_STREAM_ONEPASS=0`, `the file parsed again`)
//! leaves the same cache bytes. The spill never stays behind: not in the cache folder after a
//! build, not after a build that fails on a bad value found after rows were spilled,
//! not after one that falls back to the in-memory reader (a quoted field spanning
//! lines in a later chunk).

mod rows_cache_support;

use rows_cache_support::{write_rows, CLICK_BUY_TASKS};
use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s11cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The run config: `rows.csv`'s columns, two tasks, a random split.
fn config_text() -> String {
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
bad_rows = "skip"
missing_values = [""]

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
min_count = 2
[[features]]
name = "price"
kind = "numeric"
[[features]]
name = "tags"
kind = "multi_hot"
dim = 4

{CLICK_BUY_TASKS}
[split]
kind = "random"
seed = 9
train = 0.7
valid = 0.15

[model]
arch = "mmoe"
num_experts = 2
expert = [4]
tower = [4]

[train]
batch_size = 256
epochs = 1
"#
    )
}

/// `mtrec train` with the cache in `dir/<cache>` (`onepass`: `MTREC_STREAM_ONEPASS` of
/// the child, else unset); returns whether it succeeded, and its console.
fn train(dir: &Path, cache: &str, onepass: Option<&str>, extra: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    cmd.args(["train", "--config"])
        .arg(dir.join("run.toml"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(dir.join(format!("out_{cache}")))
        .args(["--overwrite", "--threads", "2", "--set"])
        .arg(format!("data.cache=\"{}\"", dir.join(cache).display()))
        .args(extra.iter().flat_map(|e| ["--set", e]))
        .env("MTREC_STREAM_CHUNK", "4096")
        .env_remove("MTREC_STREAM_ONEPASS")
        .env_remove("MTREC_STREAM");
    if let Some(v) = onepass {
        cmd.env("MTREC_STREAM_ONEPASS", v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `root` (any depth), by path relative to it, with its bytes.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let name = p.strip_prefix(root).unwrap().display().to_string();
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn train_parses_the_file_once_and_leaves_the_two_pass_bytes() {
    let dir = temp_dir("once");
    write_rows(&dir, 6_000);
    std::fs::write(dir.join("run.toml"), config_text()).unwrap();
    let (ok, one) = train(&dir, "one", None, &[]);
    assert!(ok, "{one}");
    assert!(
        one.contains("data cache: streamed")
            && one.contains("pass 1 (one parse: vocabularies, split, spill)"),
        "the build should say it parsed the file once: {one}"
    );
    assert!(
        one.contains("pass 2 (encode, pwrite)") && one.contains("MB spill"),
        "{one}"
    );
    let (ok, two) = train(&dir, "two", Some("0"), &[]);
    assert!(ok, "{two}");
    assert!(two.contains("(the file parsed again)"), "{two}");
    let (a, b) = (tree(&dir.join("one")), tree(&dir.join("two")));
    assert!(
        a.len() >= 5,
        "{:?}",
        a.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let names = |v: &[(String, Vec<u8>)]| {
        v.iter()
            .map(|f| {
                Path::new(&f.0)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    assert!(!names(&a)
        .iter()
        .any(|n| n.contains("spill") || n.contains(".tmp-")));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x == y,
            "{name} differs between the one- and the two-pass build"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_or_fallen_back_build_leaves_no_spill() {
    let dir = temp_dir("fail");
    write_rows(&dir, 6_000);
    std::fs::write(dir.join("run.toml"), config_text()).unwrap();
    // bad_rows = "error": the bad price of line 40 is the run's error, found after pass 1
    // has spilled every chunk
    let (ok, err) = train(&dir, "bad", Some("1"), &["data.bad_rows=\"error\""]);
    assert!(!ok, "the bad price should stop the build: {err}");
    assert!(err.contains("cheap"), "{err}");
    assert!(
        tree(&dir.join("bad")).is_empty(),
        "{:?}",
        tree(&dir.join("bad"))
            .iter()
            .map(|f| &f.0)
            .collect::<Vec<_>>()
    );
    // a quoted field spanning lines near the end: the in-memory reader builds in the
    // same temp folder, after pass 1 spilled the chunks before it
    let mut rows = std::fs::read_to_string(dir.join("rows.csv")).unwrap();
    rows.push_str("7,8,1.5,\"t1\nt2\",1,0\n");
    std::fs::write(dir.join("rows.csv"), rows).unwrap();
    let (ok, err) = train(&dir, "multi", Some("1"), &[]);
    assert!(ok, "{err}");
    assert!(err.contains("quoted field spanning lines"), "{err}");
    let files = tree(&dir.join("multi"));
    assert!(files.iter().any(|f| f.0.ends_with("train.bin")), "{err}");
    for (name, _) in &files {
        assert!(
            !name.contains("spill") && !name.contains(".tmp-"),
            "{name} left behind"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
