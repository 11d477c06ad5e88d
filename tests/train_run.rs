//! `mtrec train` end to end: the run folder, exact `--resume`, and (with the shared
//! data) the census-income MMoE reproduction.

use mtrec::train::run::{train, RunOptions};
use std::path::{Path, PathBuf};

mod events_support;

use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

/// The events table and a run config for it (MMoE on click, buy and watch).
fn write_data(dir: &Path) {
    write_events(dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 4, "")).unwrap();
}

fn opts(dir: &Path, out: &str) -> RunOptions {
    RunOptions {
        config: dir.join("run.toml"),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

#[test]
fn a_run_folder_has_everything_and_summary_has_the_documented_keys() {
    let dir = temp_dir("train-folder");
    write_data(&dir);
    let summary = train(&opts(&dir, "run")).unwrap();
    let out = dir.join("run");
    for f in [
        "config.toml",
        "spec.json",
        "metrics.jsonl",
        "model.safetensors",
        "state.safetensors",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "run folder lacks {f}");
    }
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 4, "one metrics line per epoch");
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(on_disk, summary);
    for key in [
        "model",
        "best_epoch",
        "epochs_run",
        "train_samples_per_s",
        "peak_rss_mb",
        "tasks",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(summary["model"], "mmoe");
    let tasks = &summary["tasks"];
    assert_eq!(tasks["click"]["type"], "binary");
    assert!(tasks["click"]["test"]["auc"].as_f64().is_some());
    assert!(tasks["buy"]["test"]["logloss"].as_f64().is_some());
    assert_eq!(tasks["watch"]["type"], "regression");
    assert!(
        tasks["watch"]["test"]["rmse"].as_f64().is_some()
            && tasks["watch"]["test"]["mae"].as_f64().is_some()
    );
    // Masked labels: every 7th row has no buy label.
    assert!(
        tasks["buy"]["test"]["labelled"].as_f64().unwrap()
            < tasks["click"]["test"]["labelled"].as_f64().unwrap()
    );
    // The resolved config loads back.
    mtrec::config::RunConfig::from_file(out.join("config.toml"), &[]).unwrap();
    // A second run into the same folder is refused rather than mixed in.
    let err = train(&opts(&dir, "run")).unwrap_err().to_string();
    assert!(err.contains("already holds a run"), "{err}");
}

#[test]
fn resuming_a_killed_run_gives_the_same_result_as_an_uninterrupted_one() {
    // every loss balancer: GradNorm's and DWA's task weights, PCGrad's order generator
    // and uncertainty's log-variances must all come back from the checkpoint
    for balance in ["fixed", "dwa", "gradnorm", "pcgrad", "uncertainty"] {
        let dir = temp_dir(&format!("resume_{balance}"));
        write_data(&dir);
        let set = vec![format!("train.balance={balance}")];
        let mut full = opts(&dir, "full");
        full.overrides.clone_from(&set);
        let full = train(&full).unwrap();
        let mut first = opts(&dir, "killed");
        first.overrides.clone_from(&set);
        first.stop_after = Some(2); // stands in for a kill after epoch 2's checkpoint
        train(&first).unwrap();
        let mut rest = opts(&dir, "killed");
        rest.overrides.clone_from(&set);
        rest.resume = true;
        let resumed = train(&rest).unwrap();
        assert_eq!(
            full["tasks"], resumed["tasks"],
            "{balance}: metrics after --resume must equal the uninterrupted run"
        );
        assert_eq!(full["best_epoch"], resumed["best_epoch"], "{balance}");
        assert_eq!(full["epochs_run"], resumed["epochs_run"], "{balance}");
        // every epoch's line, not only the restored best epoch's test metrics
        assert_eq!(
            epoch_lines(&dir.join("full")),
            epoch_lines(&dir.join("killed")),
            "{balance}: metrics.jsonl after --resume must equal the uninterrupted run's"
        );
    }
}

/// The lines of a run's metrics.jsonl without their timings.
fn epoch_lines(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.as_object_mut().unwrap();
            m.remove("samples_per_s");
            m.remove("train_seconds");
            v
        })
        .collect()
}

fn shared_data() -> PathBuf {
    let dir = std::env::var_os("MTREC_DATA")
        .map(PathBuf::from)
        .expect("MTREC_DATA is not set: point it at the shared data folder (../shared/data)");
    assert!(
        dir.join("census-income/census-income.test.gz").is_file(),
        "{} has no census-income/census-income.test.gz",
        dir.display()
    );
    dir
}

#[test]
#[ignore = "needs ../shared/data"]
fn census_mmoe_reaches_the_auc_floors() {
    let data = shared_data();
    let out = temp_dir("train-census");
    let o = RunOptions {
        config: Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/census_mmoe.toml"),
        models_dir: None,
        data_dir: data,
        out: out.join("run"),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    };
    let s = train(&o).unwrap();
    let auc = |t: &str| s["tasks"][t]["test"]["auc"].as_f64().unwrap();
    assert!(
        auc("income") >= 0.944,
        "income test AUC {} < 0.944",
        auc("income")
    );
    assert!(
        auc("never_married") >= 0.993,
        "never-married test AUC {} < 0.993",
        auc("never_married")
    );
}
