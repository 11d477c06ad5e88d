//! The cache key's content hash taken while the streamed build's first pass reads the
//! file (src/data/cache/build/chunks.rs, `fingerprint::ContentHash`), instead of a read
//! of its own before the build: the same hash in any cut of the bytes, the same key
//! and folder as `cache_key` computes apart, and the reuse rules kept: a second run
//! reuses the folder, a file rewritten in place with the same size and modification
//! time is told apart by its content hash, and a folder built before stat keys (no
//! `stat_key` in its `meta.json`) is still reused.

mod rows_cache_support;

use mtrec::config::RunConfig;
use mtrec::data::cache::{cache_key, open_or_build, stat_key};
use mtrec::data::fingerprint::{fingerprint, ContentHash};
use rows_cache_support::{config_in, numeric, user_item, CLICK_TASK, TINY_MMOE};
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s10hash-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// xorshift64: a reproducible stream.
fn stream(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `n` rows of user, item, price, click; `flip` changes one digit of the prices
/// without changing the file's length.
fn rows(n: usize, flip: bool) -> String {
    let mut next = stream(77);
    let mut s = String::from("user,item,price,click\n");
    for i in 0..n {
        let price = next() % 9 + u64::from(flip && i == n / 2);
        s.push_str(&format!(
            "u{},i{},{price}.5,{}\n",
            next() % 50,
            next() % 80,
            next() % 2
        ));
    }
    s
}

fn config(dir: &Path) -> RunConfig {
    let (user_item, price) = (user_item(1), numeric("price"));
    let text = format!(
        r#"
[data]
files = ["rows.csv"]
header = true

{user_item}{price}
{CLICK_TASK}
{TINY_MMOE}"#
    );
    config_in(dir, &text)
}

#[test]
fn the_hash_of_any_cut_of_the_bytes_is_the_files_fingerprint() {
    let dir = temp_dir("cuts");
    let cfg = config(&dir);
    let mut next = stream(5);
    for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 1000, 65_537] {
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        std::fs::write(dir.join("rows.csv"), &bytes).unwrap();
        let want = &fingerprint(&cfg.data, &dir).unwrap()[0];
        for _ in 0..20 {
            let mut h = ContentHash::default();
            let mut at = 0;
            while at < len {
                let step = (next() % 20) as usize; // cuts of 0..19 bytes, empty ones too
                let end = (at + step).min(len);
                h.update(&bytes[at..end]);
                at = end;
            }
            let (size, hash) = h.finish();
            assert_eq!(size, want.size, "len {len}");
            assert_eq!(format!("{hash:016x}"), want.fnv64, "len {len}");
        }
    }
}

#[test]
fn the_key_taken_while_reading_is_the_separate_key_and_reuse_still_holds() {
    std::env::set_var("MTREC_STREAM_CHUNK", "4096");
    let dir = temp_dir("key");
    let csv = dir.join("rows.csv");
    std::fs::write(&csv, rows(3_000, false)).unwrap();
    let cfg = config(&dir);
    let root = dir.join("cache");
    // the first run: no folder holds its stat key, so it hashes while building
    let (_, sets, _) = open_or_build(&cfg, &dir, &root).unwrap();
    assert!(
        sets.built && sets.streamed,
        "the first run should stream a build"
    );
    let (key, parts) = cache_key(&cfg, &dir).unwrap();
    assert_eq!(
        sets.dir,
        root.join(&key),
        "the folder is not the separate key's"
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sets.dir.join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["key"], parts, "meta.json's key parts differ");
    let stat = meta["stat_key"].as_str().unwrap().to_string();
    assert_eq!(stat, stat_key(&cfg, &dir).unwrap());
    drop(sets);
    // the second run reuses it
    let (_, again, _) = open_or_build(&cfg, &dir, &root).unwrap();
    assert!(!again.built, "the second run should reuse the cache");
    assert_eq!(again.dir, root.join(&key));
    drop(again);
    // the same size and modification time, other bytes: the content hash tells
    let mtime = std::fs::metadata(&csv).unwrap().modified().unwrap();
    let flipped = rows(3_000, true);
    assert_eq!(
        flipped.len(),
        std::fs::metadata(&csv).unwrap().len() as usize
    );
    std::fs::write(&csv, &flipped).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&csv)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(
        stat,
        stat_key(&cfg, &dir).unwrap(),
        "the stat key should not change"
    );
    let (_, other, _) = open_or_build(&cfg, &dir, &root).unwrap();
    assert!(
        other.built,
        "a file with other bytes must not reuse the cache"
    );
    let (key2, _) = cache_key(&cfg, &dir).unwrap();
    assert_ne!(key2, key);
    assert_eq!(other.dir, root.join(&key2));
    drop(other);
    // a folder from before stat keys (no stat_key in meta.json) is reused, not built again
    for k in [&key, &key2] {
        let path = root.join(k).join("meta.json");
        let mut meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        meta.as_object_mut().unwrap().remove("stat_key");
        std::fs::write(&path, serde_json::to_string_pretty(&meta).unwrap()).unwrap();
    }
    let (_, old, _) = open_or_build(&cfg, &dir, &root).unwrap();
    assert!(!old.built, "a folder without a stat key should be reused");
    assert_eq!(old.dir, root.join(&key2));
    let _ = std::fs::remove_dir_all(&dir);
}
