//! `mtrec train` on a streamed data cache gives the in-memory run's metrics (same seed,
//! full shuffle), on a generated AliExpress-shaped file with the preset's model, and
//! the console names the streaming passes; `bad_rows = "skip"` counts match.

use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s7train-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mtrec(args: &[&str], chunk: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .env("MTREC_STREAM_CHUNK", chunk)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Trains the AliExpress preset on `ae.csv` of `dir` into `dir/<out>` with `sets`.
fn train(dir: &Path, out: &str, sets: &[&str]) -> String {
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
        "train.epochs=2",
        "train.batch_size=256",
    ]
    .iter()
    .chain(sets)
    {
        args.extend(["--set", s]);
    }
    let (ok, err) = mtrec(&args, "20000");
    assert!(ok, "mtrec train failed:\n{err}");
    err
}

#[test]
fn a_streamed_cache_trains_to_the_in_memory_metrics() {
    let dir = temp_dir("ae");
    let csv = dir.join("ae.csv");
    let (ok, err) = mtrec(
        &[
            "gen",
            "aliexpress",
            "--rows",
            "6000",
            "--seed",
            "5",
            "--out",
            csv.to_str().unwrap(),
        ],
        "20000",
    );
    assert!(ok, "{err}");
    // a row with a field too many and one with a conversion without a click, far apart
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut funnel: Vec<String> = lines[4000].split(',').map(str::to_string).collect();
    let n = funnel.len();
    (funnel[n - 2], funnel[n - 1]) = ("0".into(), "1".into());
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[4000] = funnel.join(",");
    out[1500] = format!("{},9", out[1500]);
    text = out.join("\n") + "\n";
    std::fs::write(&csv, text).unwrap();

    let skip = "data.bad_rows=\"skip\"";
    train(&dir, "mem", &[skip]);
    let cache = format!("data.cache={:?}", dir.join("cache").display().to_string());
    let err = train(&dir, "cached", &[skip, &cache, "data.shuffle_window=0"]);
    assert!(err.contains("data cache: streamed"), "{err}");
    assert!(!err.contains("in-memory reader"), "{err}");
    let (a, b) = (
        json(&dir.join("mem/summary.json")),
        json(&dir.join("cached/summary.json")),
    );
    assert_eq!(a["tasks"], b["tasks"], "test metrics differ");
    assert_eq!(a["rows"], b["rows"]);
    assert!(a["tasks"]["click"]["test"]["auc"].as_f64().unwrap() > 0.5);
    for f in ["spec.json", "split.csv", "bad_rows.txt"] {
        let read = |run: &str| std::fs::read_to_string(dir.join(run).join(f)).unwrap();
        assert_eq!(read("mem"), read("cached"), "{f} differs");
    }
}
