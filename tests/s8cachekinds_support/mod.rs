//! Shared helpers of the `s8cachekinds_*` tests: temp folders, `mtrec train` runs with
//! and without `data.cache`, and their summaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh folder under the temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s8cachekinds-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `mtrec train --config <dir>/<cfg> --data-dir <dir> --out <dir>/<out>` plus `extra`
/// (the shared text-embedding cache in `<dir>/shared_cache`), which must succeed; its
/// stderr.
pub fn train(dir: &Path, cfg: &str, out: &str, extra: &[&str]) -> String {
    let (c, o) = (dir.join(cfg), dir.join(out));
    let r = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(["train", "--config", c.to_str().unwrap()])
        .args(["--data-dir", dir.to_str().unwrap()])
        .args(["--out", o.to_str().unwrap()])
        .args(extra)
        .env("MTREC_CACHE", dir.join("shared_cache"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "mtrec train failed:\n{err}");
    err
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Trains `config` twice, in memory (`mem`) and with `data.cache` in `<dir>/cache` and a
/// full shuffle (`cached`, which must build the cache), and returns both summaries.
pub fn mem_and_cached(
    dir: &Path,
    config: &str,
    extra: &[&str],
) -> (serde_json::Value, serde_json::Value) {
    std::fs::write(dir.join("mem.toml"), config).unwrap();
    let cache = dir.join("cache");
    let cached = config.replacen(
        "[data]\n",
        &format!(
            "[data]\ncache = {:?}\nshuffle_window = 0\n",
            cache.display().to_string()
        ),
        1,
    );
    std::fs::write(dir.join("cached.toml"), cached).unwrap();
    train(dir, "mem.toml", "mem", extra);
    let err = train(dir, "cached.toml", "cached", extra);
    assert!(err.contains("data cache: built"), "{err}");
    (
        json(&dir.join("mem/summary.json")),
        json(&dir.join("cached/summary.json")),
    )
}
