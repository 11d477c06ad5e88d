//! `data.cache`: the on-disk columnar cache of encoded rows (issue #17 part 1).
//! A cached run with a full shuffle gives the in-memory run's metrics; a second run
//! reuses the cache, a changed file or encoding config rebuilds it; eval, `--resume`
//! and `bad_rows = "skip"` work from the cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod rows_cache_support;

/// A fresh folder under the temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i17cache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `rows.csv`: `n` rows of user, item (categorical), price (numeric), click and buy
/// (binary; every 7th buy unlabelled), labels depending on the features; with `bad`,
/// line 11 has a field too many.
fn write_rows(dir: &Path, n: usize, bad: bool) {
    let mut s = String::from("user,item,price,click,buy\n");
    let mut x: u64 = 99;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let (u, it) = (next() % 25, next() % 40);
        let price = (next() % 1000) as f64 / 100.0;
        let click = ((u + it) % 3 == 0) as u8;
        let buy = if i % 7 == 0 {
            String::new()
        } else {
            ((click == 1 && price < 5.0) as u8).to_string()
        };
        if bad && i == 9 {
            s.push_str("1,2,3,4,5,6\n");
        }
        s.push_str(&format!("{u},{it},{price},{click},{buy}\n"));
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

/// A run config for `rows.csv`; `data_extra` adds lines to `[data]`.
fn config(data_extra: &str) -> String {
    rows_cache_support::rows_config(data_extra, 2, MODEL_AND_TRAIN)
}

const MODEL_AND_TRAIN: &str = r#"
[model]
arch = "mmoe"
num_experts = 3
expert = [8]
tower = [4]

[train]
lr = 0.01
batch_size = 32
epochs = 3
seed = 3
threads = 1

[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#;

fn mtrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap()
}

/// `mtrec train` of `cfg` (a file in `dir`) into `dir/out`, then the `extra` arguments.
fn train_run(dir: &Path, cfg: &str, out: &str, extra: &[&str]) -> Output {
    let (c, d, o) = (dir.join(cfg), dir.to_path_buf(), dir.join(out));
    let mut args = vec![
        "train",
        "--config",
        c.to_str().unwrap(),
        "--data-dir",
        d.to_str().unwrap(),
        "--out",
        o.to_str().unwrap(),
    ];
    args.extend(extra);
    mtrec(&args)
}

/// [`train_run`] with `--set` `sets`, which must succeed; its stderr.
fn train(dir: &Path, cfg: &str, out: &str, sets: &[&str]) -> String {
    let extra: Vec<&str> = sets.iter().flat_map(|s| ["--set", *s]).collect();
    let r = train_run(dir, cfg, out, &extra);
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "mtrec train failed:\n{err}");
    err
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// metrics.jsonl without its timings.
fn epoch_lines(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.as_object_mut().unwrap();
            m.remove("train_seconds");
            m.remove("samples_per_s");
            v
        })
        .collect()
}

/// The key folders of a cache (not temp folders).
fn key_folders(cache: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cache)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_cached_run_with_a_full_shuffle_gives_the_in_memory_metrics() {
    let dir = temp_dir("same");
    write_rows(&dir, 900, false);
    std::fs::write(dir.join("mem.toml"), config("")).unwrap();
    let cache = dir.join("cache");
    std::fs::write(
        dir.join("cached.toml"),
        config(&format!(
            "cache = {:?}\nshuffle_window = 0",
            cache.display().to_string()
        )),
    )
    .unwrap();
    train(&dir, "mem.toml", "mem", &[]);
    let err = train(&dir, "cached.toml", "cached", &[]);
    assert!(err.contains("data cache: built"), "{err}");
    assert_eq!(key_folders(&cache).len(), 1);
    let (mem, cached) = (dir.join("mem"), dir.join("cached"));
    let (a, b) = (
        json(&mem.join("summary.json")),
        json(&cached.join("summary.json")),
    );
    assert_eq!(a["tasks"], b["tasks"], "test metrics differ");
    assert_eq!(a["rows"], b["rows"]);
    assert_eq!(a["best_epoch"], b["best_epoch"]);
    assert_eq!(
        epoch_lines(&mem),
        epoch_lines(&cached),
        "epoch lines differ"
    );
    assert_eq!(
        std::fs::read_to_string(mem.join("split.csv")).unwrap(),
        std::fs::read_to_string(cached.join("split.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(mem.join("spec.json")).unwrap(),
        std::fs::read_to_string(cached.join("spec.json")).unwrap()
    );
    // eval reads the test rows from the cache: the training run's test metrics
    let r = mtrec(&[
        "eval",
        "--run",
        cached.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--split",
        "test",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let m: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let auc = |v: &serde_json::Value| v["click"]["auc"].as_f64().unwrap();
    assert!((auc(&m) - b["tasks"]["click"]["test"]["auc"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn a_second_run_reuses_the_cache_and_a_change_rebuilds_it() {
    let dir = temp_dir("reuse");
    write_rows(&dir, 400, false);
    std::fs::write(dir.join("run.toml"), config("cache = \"auto\"")).unwrap();
    let cache = dir.join("mtrec_cache");
    let first = train(&dir, "run.toml", "r1", &[]);
    assert!(first.contains("data cache: built"), "{first}");
    let second = train(&dir, "run.toml", "r2", &[]);
    assert!(second.contains("data cache: reusing"), "{second}");
    assert!(!second.contains("data cache: built"), "{second}");
    assert_eq!(key_folders(&cache).len(), 1);
    let (a, b) = (
        json(&dir.join("r1/summary.json")),
        json(&dir.join("r2/summary.json")),
    );
    assert_eq!(
        a["tasks"], b["tasks"],
        "a reused cache must train the same model"
    );
    // a training setting is not part of the key
    let lr = train(&dir, "run.toml", "r3", &["train.lr=0.02"]);
    assert!(lr.contains("data cache: reusing"), "{lr}");
    // an encoding setting is
    let mc = train(&dir, "run.toml", "r4", &["split.seed=8"]);
    assert!(mc.contains("data cache: built"), "{mc}");
    assert_eq!(key_folders(&cache).len(), 2);
    // a changed file (same size: the click label of the first row flipped) too
    let text = std::fs::read_to_string(dir.join("rows.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut f: Vec<String> = lines[1].split(',').map(String::from).collect();
    f[3] = if f[3] == "1" { "0" } else { "1" }.to_string();
    lines[1] = f.join(",");
    let new = lines.join("\n") + "\n";
    assert_eq!(new.len(), text.len());
    std::fs::write(dir.join("rows.csv"), new).unwrap();
    let changed = train(&dir, "run.toml", "r5", &[]);
    assert!(changed.contains("data cache: built"), "{changed}");
    assert_eq!(key_folders(&cache).len(), 3);
}

#[test]
fn a_block_shuffled_run_is_deterministic_and_resumes_exactly() {
    let dir = temp_dir("block");
    write_rows(&dir, 700, false);
    let cfg = config("cache = \"auto\"\nshuffle_block = 50\nshuffle_window = 128");
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
    train(&dir, "run.toml", "a", &[]);
    train(&dir, "run.toml", "b", &[]);
    let (a, b) = (dir.join("a"), dir.join("b"));
    assert_eq!(epoch_lines(&a), epoch_lines(&b));
    // the block shuffle is another order than the full shuffle: other losses
    train(&dir, "run.toml", "full", &["data.shuffle_window=0"]);
    assert_ne!(
        epoch_lines(&a)[0]["train_loss"],
        epoch_lines(&dir.join("full"))[0]["train_loss"]
    );
    // --resume after epoch 1: the stream continues where it stopped
    let o = dir.join("killed");
    let r = train_run(&dir, "run.toml", "killed", &["--stop-after", "1"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = train_run(&dir, "run.toml", "killed", &["--resume"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(epoch_lines(&a), epoch_lines(&o));
    assert_eq!(
        json(&a.join("summary.json"))["tasks"],
        json(&o.join("summary.json"))["tasks"]
    );
}

#[test]
fn skipped_rows_are_counted_from_the_cache_and_bad_rows_stop_the_build() {
    let dir = temp_dir("skip");
    write_rows(&dir, 300, true);
    std::fs::write(
        dir.join("run.toml"),
        config("cache = \"auto\"\nbad_rows = \"skip\""),
    )
    .unwrap();
    train(&dir, "run.toml", "a", &[]);
    let again = train(&dir, "run.toml", "b", &[]);
    assert!(again.contains("data cache: reusing"), "{again}");
    for run in ["a", "b"] {
        let bad = std::fs::read_to_string(dir.join(run).join("bad_rows.txt")).unwrap();
        assert!(bad.contains("rows.csv:11"), "{run}: {bad}");
        assert!(bad.contains('1'), "{run}: {bad}");
    }
    // without skip the build stops at the row, with its place
    std::fs::write(dir.join("err.toml"), config("cache = \"auto\"")).unwrap();
    let r = train_run(&dir, "err.toml", "c", &[]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("rows.csv:11"), "{err}");
}

#[test]
fn a_damaged_cache_file_is_an_error_that_says_what_to_do() {
    let dir = temp_dir("damaged");
    write_rows(&dir, 200, false);
    std::fs::write(dir.join("run.toml"), config("cache = \"auto\"")).unwrap();
    train(&dir, "run.toml", "a", &[]);
    let cache = dir.join("mtrec_cache");
    let key = key_folders(&cache).pop().unwrap();
    let bin = cache.join(&key).join("train.bin");
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() - 4]).unwrap();
    let r = train_run(&dir, "run.toml", "b", &[]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("train.bin") && err.contains("delete the cache folder"),
        "{err}"
    );
}

#[test]
fn multi_hot_features_are_accepted_with_the_cache() {
    // refused before s8; held by the cache since (tests/s8cachekinds_multihot.rs)
    let cfg = config("cache = \"auto\"").replace(
        "[[features]]\nname = \"price\"",
        "[[features]]\nname = \"tags\"\nkind = \"multi_hot\"\ndim = 2\n[[features]]\nname = \"price\"",
    );
    mtrec::config::RunConfig::from_str(&cfg, "run.toml", &[]).unwrap();
}
