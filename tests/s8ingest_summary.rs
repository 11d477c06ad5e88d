//! `summary.json`'s `data_seconds` (issue #17 §2, the scale benchmark's "ingest"): the
//! data preparation measured inside the run, for the streamed cache and the in-memory
//! path — a positive number of seconds, part of the run's `seconds`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s8ingest-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mtrec(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mtrec {args:?} failed:\n{err}");
    err
}

fn summary(dir: &Path, out: &str, sets: &[&str]) -> serde_json::Value {
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/aliexpress_mmoe.toml");
    let out = dir.join(out);
    let mut args = vec![
        "train",
        "--config",
        preset.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "2",
        "--quiet",
    ];
    for s in [
        "data.files=[\"ae.csv\"]",
        "train.epochs=1",
        "train.batch_size=256",
    ]
    .iter()
    .chain(sets)
    {
        args.extend(["--set", s]);
    }
    mtrec(&args);
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_summary_reports_the_data_preparation_seconds() {
    let dir = temp_dir("summary");
    let csv = dir.join("ae.csv");
    let rows = ["--rows", "4000", "--seed", "3", "--out"];
    mtrec(
        &[
            &["gen", "aliexpress"][..],
            &rows[..],
            &[csv.to_str().unwrap()],
        ]
        .concat(),
    );
    let cache = format!("data.cache={:?}", dir.join("cache").display().to_string());
    for (run, sets) in [("mem", vec![]), ("cached", vec![cache.as_str()])] {
        let s = summary(&dir, run, &sets);
        let data = s["data_seconds"]
            .as_f64()
            .unwrap_or_else(|| panic!("{run}: no data_seconds in {s}"));
        let all = s["seconds"].as_f64().unwrap();
        assert!(data > 0.0, "{run}: data_seconds {data}");
        assert!(data < all, "{run}: data_seconds {data} ≥ the run's {all} s");
        if run == "cached" {
            assert!(s["data_cache"].is_string(), "{run}: {s}");
        }
    }
}
