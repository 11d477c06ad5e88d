//! Comparing two run folders file by file, timings aside (`mod run_folder_support;`).

#![allow(dead_code)] // each test file uses a part

use serde_json::Value;
use std::path::Path;

/// Fields that measure time or memory, not the run's result.
const TIMINGS: &[&str] = &[
    "train_seconds",
    "samples_per_s",
    "seconds",
    "peak_rss_mb",
    "train_samples_per_s",
    "data_seconds",
];

fn drop_timings(v: &mut Value) {
    if let Some(m) = v.as_object_mut() {
        for k in TIMINGS {
            m.remove(*k);
        }
        for x in m.values_mut() {
            drop_timings(x);
        }
    }
}

/// A safetensors file as (header JSON, data bytes); `extra.train_seconds` dropped.
fn safetensors_parts(bytes: &[u8]) -> (Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut h: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    if let Some(m) = h.get_mut("__metadata__").and_then(|m| m.as_object_mut()) {
        m.remove("extra.train_seconds");
    }
    (h, bytes[8 + n..].to_vec())
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file of `a` equals its twin in `b`: the same names; text files byte for byte,
/// JSON without timings, `model.safetensors` byte for byte, the training state's tensor
/// bytes exactly and its header as JSON without its timing. `.lock` holds the writer's
/// pid and is only checked to exist in both.
pub fn assert_same_run(a: &Path, b: &Path) {
    assert_eq!(names(a), names(b), "the two run folders hold other files");
    for name in names(a) {
        let (x, y) = (
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
        );
        // run_info.json records each invocation (a resumed run has one more), not results
        if name == ".lock" || name == "run_info.json" {
            continue;
        } else if name == "model.safetensors" {
            assert!(x == y, "{name}: the files differ byte for byte");
        } else if name.ends_with(".safetensors") {
            let (hx, dx) = safetensors_parts(&x);
            let (hy, dy) = safetensors_parts(&y);
            assert_eq!(hx, hy, "{name}: headers differ");
            assert!(dx == dy, "{name}: tensor bytes differ");
        } else if name.ends_with(".json") {
            let mut vx: Value = serde_json::from_slice(&x).unwrap();
            let mut vy: Value = serde_json::from_slice(&y).unwrap();
            drop_timings(&mut vx);
            drop_timings(&mut vy);
            assert_eq!(vx, vy, "{name} differs");
        } else if name.ends_with(".jsonl") {
            let lines = |t: &[u8]| -> Vec<Value> {
                String::from_utf8_lossy(t)
                    .split_inclusive('\n')
                    .map(|l| {
                        assert!(l.ends_with('\n'), "{name}: a half line `{l}`");
                        let mut v: Value = serde_json::from_str(l)
                            .unwrap_or_else(|e| panic!("{name}: `{l}` is not JSON: {e}"));
                        drop_timings(&mut v);
                        v
                    })
                    .collect()
            };
            assert_eq!(lines(&x), lines(&y), "{name} differs");
        } else {
            assert!(x == y, "{name} differs");
        }
    }
}
