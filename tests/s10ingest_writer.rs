//! Pass 2 of the streamed cache build writes each chunk's rows straight into a shared
//! writable memory map of the preallocated set files with `MTREC_STREAM_WRITE=mapped`
//! (src/data/cache/build/encode.rs); the default writes each segment through a buffer
//! and `pwrite`. Both `mtrec train` runs (the variable set on the child
//! process only) must leave the same cache folder, byte for byte, on a file with every
//! kind of column the sets hold (categorical, numeric with missing cells, multi-hot
//! lists of varying length, two tasks, a skipped bad row) cut into many small chunks,
//! at one and at three threads; the console names the writer used.

mod rows_cache_support;

use rows_cache_support::{
    assert_same_files, numeric, one_cache_folder, random_split, user_item, write_rows,
};
use rows_cache_support::{CLICK_BUY_TASKS, TINY_MMOE};
use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s10writer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config_text() -> String {
    let (user_item, price) = (user_item(2), numeric("price"));
    let split = random_split(9, 0.7, 0.15);
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
bad_rows = "skip"
missing_values = [""]

{user_item}{price}[[features]]
name = "tags"
kind = "multi_hot"
dim = 4

{CLICK_BUY_TASKS}
{split}
{TINY_MMOE}
[train]
batch_size = 256
epochs = 1
"#
    )
}

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

#[test]
fn the_mapped_writer_leaves_the_pwrite_writers_bytes_at_any_thread_count() {
    let dir = temp_dir("bytes");
    write_rows(&dir, 6_000);
    std::fs::write(dir.join("run.toml"), config_text()).unwrap();
    let reference = train(&dir, "pwrite", "2", None);
    assert!(
        reference.contains("pass 2 (encode, pwrite)"),
        "the default should say it wrote through pwrite: {reference}"
    );
    let want = one_cache_folder(&dir.join("pwrite"));
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
        let got = one_cache_folder(&dir.join(&cache));
        let what = format!("the mapped writer ({threads} threads) vs the pwrite writer");
        assert_same_files(&want, &got, &what);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
