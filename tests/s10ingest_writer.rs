//! Pass 2 of the streamed cache build writes each chunk's rows straight into a shared
//! writable memory map of the preallocated set files with `MTREC_STREAM_WRITE=mapped`
//! (src/data/cache/build/encode.rs); the default writes each segment through a buffer
//! and `pwrite`. Both `mtrec train` runs (the variable set on the child
//! process only) must leave the same cache folder, byte for byte, on a file with every
//! kind of column the sets hold (categorical, numeric with missing cells, multi-hot
//! lists of varying length, two tasks, a skipped bad row) cut into many small chunks,
//! at one and at three threads; the console names the writer used.

use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s10writer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `n` rows: user, item (categorical), price (numeric, every 11th missing), tags
/// (multi-hot, 0–4 tags, every 13th missing), click and buy; line 40 has a bad price.
fn write_rows(dir: &Path, n: usize) {
    let mut s = String::from("user,item,price,tags,click,buy\n");
    let mut x: u64 = 1234;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let (u, it) = (next() % 300, next() % 2000);
        let price = if i % 11 == 0 {
            String::new()
        } else if i == 38 {
            "cheap".to_string()
        } else {
            format!("{}.{}", next() % 100, next() % 100)
        };
        let tags = if i % 13 == 0 {
            String::new()
        } else {
            let k = next() % 5;
            (0..k)
                .map(|_| format!("t{}", next() % 60))
                .collect::<Vec<_>>()
                .join("|")
        };
        let click = ((u + it) % 3 == 0) as u8;
        let buy = (click == 1 && next() % 2 == 0) as u8;
        s.push_str(&format!("{u},{it},{price},{tags},{click},{buy}\n"));
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

const CONFIG: &str = r#"
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

[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "buy"
type = "binary"
column = "buy"

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
"#;

/// `mtrec train` with the cache in `dir/<cache>`, `threads` threads and `writer` as
/// `MTREC_STREAM_WRITE` (of the child only); returns its console.
fn train(dir: &Path, cache: &str, threads: &str, writer: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    cmd.args(["train", "--config"])
        .arg(dir.join("run.toml"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(dir.join(format!("out_{cache}")))
        .args(["--overwrite", "--threads", threads, "--set"])
        .arg(format!("data.cache=\"{}\"", dir.join(cache).display()))
        .env("MTREC_STREAM_CHUNK", "4096")
        .env_remove("MTREC_STREAM_WRITE");
    if let Some(w) = writer {
        cmd.env("MTREC_STREAM_WRITE", w);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// Every file of the one cache folder under `root`, by name.
fn folder_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "one cache folder expected in {}",
        root.display()
    );
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dirs[0])
        .unwrap()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_mapped_writer_leaves_the_pwrite_writers_bytes_at_any_thread_count() {
    let dir = temp_dir("bytes");
    write_rows(&dir, 6_000);
    std::fs::write(dir.join("run.toml"), CONFIG).unwrap();
    let reference = train(&dir, "pwrite", "2", None);
    assert!(
        reference.contains("pass 2 (encode, pwrite)"),
        "the default should say it wrote through pwrite: {reference}"
    );
    let want = folder_files(&dir.join("pwrite"));
    let names: Vec<&str> = want.iter().map(|f| f.0.as_str()).collect();
    for set in [
        "train.bin",
        "valid.bin",
        "test.bin",
        "cold.bin",
        "meta.json",
    ] {
        assert!(names.contains(&set), "{set} missing: {names:?}");
    }
    for threads in ["1", "3"] {
        let cache = format!("mapped{threads}");
        let err = train(&dir, &cache, threads, Some("mapped"));
        assert!(
            err.contains("pass 2 (encode, mapped)"),
            "MTREC_STREAM_WRITE=mapped should write through the memory map: {err}"
        );
        let got = folder_files(&dir.join(&cache));
        assert_eq!(got.len(), want.len());
        for ((gn, gb), (wn, wb)) in got.iter().zip(&want) {
            assert_eq!(gn, wn);
            assert!(
                gb == wb,
                "{gn} differs between the mapped and the pwrite writer ({threads} threads)"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
