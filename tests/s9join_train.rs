//! Issue #17 §1: `mtrec train` from a streamed cache of a joined config (an item table
//! and a chained category table, column split) gives the summary metrics of the same
//! run with `cache = "off"` (full shuffle), with the same spec, split and bad rows.

mod s9join_support;

use s9join_support::*;
use std::path::Path;
use std::process::Command;

fn train(dir: &Path, out: &str, sets: &[&str]) -> String {
    let out = dir.join(out);
    let cfg = dir.join("run.toml");
    let mut args = vec![
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "2",
        "--quiet",
    ];
    for s in ["train.epochs=2", "train.batch_size=128"]
        .iter()
        .chain(sets)
    {
        args.extend(["--set", s]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(&args)
        .env("MTREC_STREAM_CHUNK", CHUNK)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "mtrec train failed:\n{err}");
    err
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_streamed_join_cache_trains_to_the_in_memory_metrics() {
    let dir = temp_dir("train");
    let bad = Bad {
        malformed: true,
        missing_item: true,
        missing_category: true,
        number: true,
        set: false,
    };
    write_fixture(&dir, 3000, bad);
    std::fs::write(
        dir.join("run.toml"),
        config_text(COLUMN, "bad_rows = \"skip\""),
    )
    .unwrap();
    train(&dir, "mem", &[]);
    let cache = format!("data.cache={:?}", dir.join("cache").display().to_string());
    let err = train(&dir, "cached", &[&cache, "data.shuffle_window=0"]);
    assert!(err.contains("data cache: streamed"), "{err}");
    assert!(!err.contains("in-memory reader"), "{err}");
    let (a, b) = (
        json(&dir.join("mem/summary.json")),
        json(&dir.join("cached/summary.json")),
    );
    assert_eq!(a["tasks"], b["tasks"], "test metrics differ");
    assert_eq!(a["rows"], b["rows"]);
    assert!(a["tasks"]["click"]["test"]["auc"].is_number());
    for f in ["spec.json", "split.csv", "bad_rows.txt"] {
        let read = |run: &str| std::fs::read_to_string(dir.join(run).join(f)).unwrap();
        assert_eq!(read("mem"), read("cached"), "{f} differs");
    }
}
