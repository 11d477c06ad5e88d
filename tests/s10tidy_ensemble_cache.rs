//! `mtrec ensemble`, `mtrec eval` and `mtrec predict` of members trained with
//! `data.cache = "auto"`: the members' validation and test rows are read from their
//! caches a mini-batch at a time, and every result equals the same members read with
//! `cache = "off"` (copies of the member folders with only that key changed: the same
//! weights, so the same scores).

mod i19ens_support;

use i19ens_support::*;
use std::path::{Path, PathBuf};

/// Two cached members (MMoE, Shared-Bottom) on the three tasks, and their twins that
/// read the rows in memory.
fn cached_members_and_twins(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut cached = Vec::new();
    let mut off = Vec::new();
    for (i, (arch, seed)) in [("mmoe", 1), ("shared_bottom", 3)].iter().enumerate() {
        let cfg = config(THREE_TASKS, arch, *seed, "").replacen(
            "header = true\n",
            "header = true\ncache = \"auto\"\n",
            1,
        );
        assert!(cfg.contains("cache = \"auto\""), "{cfg}");
        let run = dir.join(format!("c{i}"));
        train_member(dir, &cfg, &run);
        let twin = dir.join(format!("o{i}"));
        std::fs::create_dir_all(&twin).unwrap();
        for e in std::fs::read_dir(&run).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), twin.join(e.file_name())).unwrap();
            }
        }
        let toml = std::fs::read_to_string(run.join("config.toml")).unwrap();
        let toml_off = toml.replace("cache = \"auto\"", "cache = \"off\"");
        assert_ne!(toml, toml_off, "the run's config.toml names the cache");
        std::fs::write(twin.join("config.toml"), toml_off).unwrap();
        cached.push(run);
        off.push(twin);
    }
    assert!(
        dir.join("mtrec_cache").is_dir(),
        "the members trained through the data cache"
    );
    (cached, off)
}

/// Every number in `a` within `tol` of the one at the same place in `b`.
fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value, tol: f64, at: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                assert_json_close(v, &y[k], tol, &format!("{at}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_json_close(v, w, tol, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= tol, "{at}: cached {x} vs in memory {y}");
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// `summary.json` without the member folders' paths (they differ by name).
fn summary(ens: &Path) -> serde_json::Value {
    let mut s = read_json(&ens.join("summary.json"));
    for m in s["members"].as_array_mut().unwrap() {
        m.as_object_mut().unwrap().remove("run");
    }
    s
}

fn eval(dir: &Path, run: &Path, split: &str) -> serde_json::Value {
    let (ok, out, err) = mtrec(
        dir,
        &[
            "eval",
            "--run",
            &run.display().to_string(),
            "--split",
            split,
        ],
    );
    assert!(
        ok,
        "mtrec eval {} --split {split} failed: {err}",
        run.display()
    );
    serde_json::from_str(&out).unwrap()
}

/// The bytes `mtrec predict` writes for `test.csv`.
fn predict_bytes(dir: &Path, run: &Path, name: &str) -> Vec<u8> {
    let out = dir.join(name);
    let (ok, _, err) = mtrec(
        dir,
        &[
            "predict",
            "--run",
            &run.display().to_string(),
            "--input",
            &dir.join("test.csv").display().to_string(),
            "--output",
            &out.display().to_string(),
        ],
    );
    assert!(ok, "mtrec predict {} failed: {err}", run.display());
    std::fs::read(out).unwrap()
}

#[test]
fn ensembles_of_cached_members_equal_the_same_members_read_in_memory() {
    let dir = temp_dir("s10tidy_ens_cache");
    write_split_events(&dir);
    let (cached, off) = cached_members_and_twins(&dir);
    for method in ["mean", "stack"] {
        let ens_c = dir.join(format!("ens_cached_{method}"));
        let ens_o = dir.join(format!("ens_off_{method}"));
        ensemble(&dir, &cached, method, &ens_c);
        ensemble(&dir, &off, method, &ens_o);
        // the fit (stack: on the validation labels) and every metric of summary.json
        assert_json_close(&summary(&ens_c), &summary(&ens_o), 1e-6, method);
        let ec = read_json(&ens_c.join("ensemble.json"));
        let eo = read_json(&ens_o.join("ensemble.json"));
        assert_json_close(&ec["tasks"], &eo["tasks"], 1e-6, "ensemble.json tasks");
        // mtrec eval of the ensemble folders, both splits
        for split in ["valid", "test"] {
            let (a, b) = (eval(&dir, &ens_c, split), eval(&dir, &ens_o, split));
            assert!(a["click"]["auc"].is_number(), "{a}");
            assert_json_close(&a, &b, 1e-6, &format!("eval {method} {split}"));
        }
        // mtrec predict: the same members, so the same bytes
        let pc = predict_bytes(&dir, &ens_c, &format!("pc_{method}.csv"));
        let po = predict_bytes(&dir, &ens_o, &format!("po_{method}.csv"));
        assert!(pc.len() > 100, "predict wrote {} bytes", pc.len());
        assert!(
            pc == po,
            "{method}: predictions of the cached ensemble differ"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
