//! Shared helpers of the `s9text_*` tests: a streamed cache build against the
//! in-memory one (`MTREC_STREAM=0`) at 1–3 threads, compared file by file, byte for
//! byte; a deterministic test double for the text encoder.
#![allow(dead_code)]

use mtrec::config::RunConfig;
use mtrec::data::cache::{open_or_build_with, CachedSets};
use mtrec::data::features::{Prepared, TextEmbedder, TextEnv, TextSpec};
use mtrec::data::ingest::SkippedRows;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[path = "../rows_cache_support/mod.rs"]
mod rows_cache_support;
/// The cache tests' shared fixtures: the cache folder's bytes, a config read from
/// `<dir>/run.toml`, and pieces of run configs.
#[allow(unused_imports)] // each test file uses a part
pub use rows_cache_support::{
    assert_same_files, cache_bytes, cache_meta, config_in as config, file_bytes, numeric,
    random_split, user_item, user_item_tags_price, CLICK_BUY_TASKS, CLICK_TASK, RANDOM_SPLIT,
    TINY_SHARED_BOTTOM,
};

/// `[features.text]` of the feature above it: the column `column` read as `mode`
/// (`text` or `text+id`) by the test double [`Fake`] through a linear adaptor to width 4.
pub fn text_of(column: &str, mode: &str) -> String {
    format!(
        "[features.text]\ncolumn = \"{column}\"\nmode = \"{mode}\"\nencoder = \"test-double\"\n\
         adaptor = \"linear\"\ndim = 4\n"
    )
}

/// The texts of text feature `t` (`texts-<t>.json`) among a cache folder's `files`.
pub fn texts(files: &[(String, Vec<u8>)], t: usize) -> Vec<String> {
    serde_json::from_slice(file_bytes(files, &format!("texts-{t}.json"))).unwrap()
}

/// The tests of one file share the process's environment (`MTREC_STREAM`,
/// `MTREC_STREAM_CHUNK`): each holds this lock.
pub static ENV: Mutex<()> = Mutex::new(());

/// A fresh folder under the temp dir; sets the chunk size to `chunk` bytes.
pub fn temp_dir(tag: &str, chunk: usize) -> PathBuf {
    std::env::set_var("MTREC_STREAM_CHUNK", chunk.to_string());
    let d = std::env::temp_dir().join(format!("mtrec-s9text-{tag}-{}", std::process::id()));
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

/// A text "encoder" whose vector of a text is a function of its bytes (width 3).
pub struct Fake;

impl TextEmbedder for Fake {
    fn key(&self) -> String {
        "fake-s9text".into()
    }
    fn embed(&self, texts: &[String]) -> mtrec::Result<(usize, Vec<f32>)> {
        let mut out = Vec::new();
        for t in texts {
            let b = t.as_bytes();
            let sum: u32 = b.iter().map(|&c| c as u32).sum();
            out.extend([
                b.len() as f32,
                (sum % 97) as f32,
                b.first().copied().unwrap_or(0) as f32,
            ]);
        }
        Ok((3, out))
    }
}

pub fn fake_provider(_: &TextSpec) -> mtrec::Result<Box<dyn TextEmbedder>> {
    Ok(Box::new(Fake))
}

/// Opens (building) the cache of `cfg` under `<dir>/<root>` on `threads` threads,
/// streamed or (`stream = false`) through the in-memory reader.
pub fn build(
    cfg: &RunConfig,
    dir: &Path,
    root: &str,
    threads: usize,
    stream: bool,
) -> mtrec::Result<(Prepared, CachedSets, SkippedRows)> {
    if !stream {
        std::env::set_var("MTREC_STREAM", "0");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let out = pool.install(|| {
        let provider = fake_provider;
        let env = TextEnv {
            provider: &provider,
            cache_dir: None,
        };
        open_or_build_with(cfg, dir, &dir.join(root), Some(&env))
    });
    std::env::remove_var("MTREC_STREAM");
    out
}

/// Builds `cfg` in memory and streamed at 1, 2 and 3 threads; asserts the streamed
/// builds streamed and that every cache file equals the in-memory one byte for byte.
/// Returns the in-memory build's skipped rows and cache files.
pub fn assert_streams_like_memory(
    cfg: &RunConfig,
    dir: &Path,
) -> (SkippedRows, Vec<(String, Vec<u8>)>) {
    let (_, mem, skipped) = build(cfg, dir, "mem", 2, false).unwrap();
    assert!(!mem.streamed);
    let want = cache_bytes(&dir.join("mem"));
    for threads in 1..=3 {
        let root = format!("t{threads}");
        let (_, sets, s) = build(cfg, dir, &root, threads, true).unwrap();
        assert!(sets.streamed, "the cache was not built by streaming");
        assert_eq!(s, skipped, "skipped rows differ at {threads} threads");
        let got = cache_bytes(&dir.join(&root));
        assert_same_files(&want, &got, &format!("{threads} threads"));
    }
    (skipped, want)
}
