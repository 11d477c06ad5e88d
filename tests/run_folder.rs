//! Issue #13, the run folder: one writer at a time, no foreign run mixed in, a resumed
//! folder checked against its state, config changes on `--resume` refused or recorded,
//! early stopping that can always pick a best epoch, and `patience = 0`.
//! (Kills at random moments: `run_folder_kill.rs`.)

use mtrec::train::run::{folder, train, RunOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

mod events_support;
mod run_folder_support;

use events_support::{events_config, temp_dir, write_events, CLICK_BUY};
use run_folder_support::assert_same_run;

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");
/// A learning rate so small that no weight changes: every epoch scores like the first,
/// so the best epoch stays 0 and every later epoch counts as one without improvement.
const FROZEN_LR: &str = "train.lr=1e-30";

fn setup(tag: &str, epochs: usize) -> PathBuf {
    let dir = temp_dir(tag);
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(CLICK_BUY, epochs, "")).unwrap();
    dir
}

fn opts(dir: &Path, out: &str, set: &[&str]) -> RunOptions {
    RunOptions {
        config: dir.join("run.toml"),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: set.iter().map(|s| s.to_string()).collect(),
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

fn resume(o: &RunOptions) -> RunOptions {
    RunOptions {
        resume: true,
        stop_after: None,
        ..o.clone()
    }
}

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["train", "--quiet", "--threads", "1", "--data-dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn err_text(e: mtrec::error::Error) -> String {
    e.to_string()
}

// Item 1: one writer per folder.

#[test]
fn a_second_writer_on_a_locked_out_is_refused_and_writes_nothing() {
    let dir = setup("rf-lock", 2);
    let out = dir.join("run");
    let held = folder::lock(&out).unwrap(); // stands in for a first `train` still running
    let cfg = dir.join("run.toml");
    let o = cli(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a second writer must fail");
    assert!(
        stderr.contains("in use by another mtrec process"),
        "{stderr}"
    );
    assert!(
        folder::run_files_in(&out).unwrap().is_empty(),
        "the refused writer wrote files"
    );
    drop(held);
    let o = cli(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_lone_run_file_makes_out_a_run_and_overwrite_replaces_only_run_files() {
    let dir = setup("rf-overwrite", 3);
    train(&opts(&dir, "clean", &[])).unwrap();
    for lone in ["model.safetensors", "metrics.jsonl", "summary.json"] {
        let out = dir.join(format!("lone-{lone}"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(lone), "from another run").unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        let o = opts(&dir, &format!("lone-{lone}"), &[]);
        let e = err_text(train(&o).unwrap_err());
        assert!(e.contains("already holds a run") && e.contains(lone), "{e}");
        assert_eq!(
            std::fs::read_to_string(out.join(lone)).unwrap(),
            "from another run"
        );
        // --overwrite: the stale file is replaced, the user's file kept
        let s = train(&RunOptions {
            overwrite: true,
            ..o.clone()
        })
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("notes.txt")).unwrap(),
            "mine"
        );
        std::fs::remove_file(out.join("notes.txt")).unwrap();
        assert_same_run(&dir.join("clean"), &out);
        assert!(s["best_epoch"].is_u64());
        // --resume and --overwrite together make no sense
        let both = RunOptions {
            resume: true,
            overwrite: true,
            ..o
        };
        assert!(err_text(train(&both).unwrap_err()).contains("give one"));
    }
}

// Item 5 (the parts a kill leaves behind, made by hand).

#[test]
fn resume_drops_log_lines_past_the_state_and_stale_temp_files() {
    let dir = setup("rf-log", 4);
    train(&opts(&dir, "full", &[])).unwrap();
    let o = RunOptions {
        stop_after: Some(2),
        ..opts(&dir, "cut", &[])
    };
    train(&o).unwrap();
    let out = dir.join("cut");
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let last = log.lines().last().unwrap().to_string();
    // a duplicated epoch line, then half of one: what a kill during the append leaves
    let damaged = format!("{log}{last}\n{}", &last[..last.len() / 2]);
    std::fs::write(out.join("metrics.jsonl"), damaged).unwrap();
    for stale in [
        "model.safetensors.tmp-4194303-7",
        "summary.json.tmp-4194303",
    ] {
        std::fs::write(out.join(stale), "half a file").unwrap();
    }
    train(&resume(&o)).unwrap();
    assert_same_run(&dir.join("full"), &out);
}

// Item 7: the model a resumed run reports must be the state's best epoch.

#[test]
fn resume_refuses_a_missing_directory_or_fifo_model_the_state_needs() {
    let dir = setup("rf-model", 4);
    let o = RunOptions {
        stop_after: Some(2),
        ..opts(&dir, "run", &[FROZEN_LR])
    };
    train(&o).unwrap();
    let model = dir.join("run/model.safetensors");
    let kept = dir.join("model.kept");
    std::fs::rename(&model, &kept).unwrap();
    let e = err_text(train(&resume(&o)).unwrap_err());
    assert!(
        e.contains("is missing") && e.contains("epoch 0 is the best"),
        "{e}"
    );
    std::fs::create_dir(&model).unwrap();
    let e = err_text(train(&resume(&o)).unwrap_err());
    assert!(e.contains("not a regular file"), "{e}");
    std::fs::remove_dir(&model).unwrap();
    let fifo = Command::new("mkfifo").arg(&model).status().unwrap();
    assert!(fifo.success());
    let e = err_text(train(&resume(&o)).unwrap_err());
    assert!(e.contains("not a regular file"), "{e}");
    std::fs::remove_file(&model).unwrap();
    // another run's weights in its place (a twin run whose lr is not frozen)
    let twin = RunOptions {
        stop_after: Some(2),
        ..opts(&dir, "twin", &[])
    };
    train(&twin).unwrap();
    std::fs::copy(dir.join("twin/model.safetensors"), &model).unwrap();
    let e = err_text(train(&resume(&o)).unwrap_err());
    assert!(e.contains("written by another run"), "{e}");
    std::fs::rename(&kept, &model).unwrap();
    let s = train(&resume(&o)).unwrap();
    assert_eq!(s["best_epoch"], 1, "1-based: the first epoch");
}

#[test]
fn a_kill_between_state_and_model_is_repaired_from_the_state() {
    let dir = setup("rf-repair", 3);
    // no later epoch improves (FROZEN_LR), so no later epoch writes the model again
    train(&opts(&dir, "full", &[FROZEN_LR])).unwrap();
    let o = RunOptions {
        stop_after: Some(1),
        ..opts(&dir, "run", &[FROZEN_LR])
    };
    train(&o).unwrap();
    // epoch 0 is the best and the last saved one: its weights are the state's
    std::fs::remove_file(dir.join("run/model.safetensors")).unwrap();
    train(&resume(&o)).unwrap();
    assert_same_run(&dir.join("full"), &dir.join("run"));
}

// Item 6: a run that cannot score validation is refused before it trains.

#[test]
fn early_stopping_that_validation_cannot_score_is_refused_at_the_start() {
    let dir = setup("rf-undefined", 2);
    // `never` is 0 on every row: AUC needs both classes
    let csv = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    let mut lines = csv.lines();
    let mut s = format!("{},never,unlabelled\n", lines.next().unwrap());
    for l in lines {
        s.push_str(&format!("{l},0,\n"));
    }
    std::fs::write(dir.join("events.csv"), s).unwrap();
    let tasks = "[[tasks]]\nname = \"never\"\ntype = \"binary\"\ncolumn = \"never\"\n[[tasks]]\nname = \"unlabelled\"\ntype = \"binary\"\ncolumn = \"unlabelled\"\n";
    let cfg = events_config(tasks, 2, "").replace("task = \"click\"", "task = \"never\"");
    std::fs::write(dir.join("run.toml"), &cfg).unwrap();
    let config = dir.join("run.toml");
    let o = cli(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join("a").to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "must not exit 0: {stderr}");
    assert!(
        stderr.contains("0 positive") && stderr.contains("logloss"),
        "{stderr}"
    );
    assert!(!dir.join("a/model.safetensors").exists() && !dir.join("a/summary.json").exists());
    // no labelled rows at all: not even log loss
    let o = cli(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join("b").to_str().unwrap(),
            "--set",
            "train.early_stopping.task=unlabelled",
            "--set",
            "train.early_stopping.metric=logloss",
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("0 labelled"),
        "{stderr}"
    );
    // log loss of `never` is defined with one class: the run goes through, with its model
    let o = cli(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join("c").to_str().unwrap(),
            "--set",
            "train.early_stopping.metric=logloss",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("c/model.safetensors").is_file());
}

// Item 8: a changed config on --resume.

#[test]
fn resume_refuses_a_changed_config_unless_allowed_and_records_the_change() {
    let dir = setup("rf-config", 4);
    let o = RunOptions {
        stop_after: Some(2),
        ..opts(&dir, "run", &[])
    };
    train(&o).unwrap();
    let stored = std::fs::read_to_string(dir.join("run/config.toml")).unwrap();
    for set in ["train.lr=0.02", "train.batch_size=32", "model.dropout=0.1"] {
        let changed = RunOptions {
            overrides: vec![set.into()],
            ..resume(&o)
        };
        let e = err_text(train(&changed).unwrap_err());
        let key = set.split('=').next().unwrap();
        assert!(
            e.contains(key) && e.contains("--allow-config-change"),
            "{e}"
        );
        let now = std::fs::read_to_string(dir.join("run/config.toml")).unwrap();
        assert_eq!(now, stored, "a refused change must leave config.toml alone");
    }
    let allowed = RunOptions {
        overrides: vec!["train.lr=0.02".into()],
        allow_config_change: true,
        ..resume(&o)
    };
    train(&allowed).unwrap();
    let toml = std::fs::read_to_string(dir.join("run/config.toml")).unwrap();
    assert!(
        toml.contains("lr = 0.02"),
        "config.toml must hold the new value:\n{toml}"
    );
    let log = std::fs::read_to_string(dir.join("run/config_changes.jsonl")).unwrap();
    let rec: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(rec["after_epoch"], 2);
    assert_eq!(rec["changes"][0]["key"], "train.lr");
    assert_eq!(rec["changes"][0]["old"], "0.01");
    assert_eq!(rec["changes"][0]["new"], "0.02");
    assert_eq!(rec["equals_uninterrupted"], false);
}

#[test]
fn raising_epochs_on_resume_equals_an_uninterrupted_longer_run() {
    let dir = setup("rf-epochs", 2);
    train(&opts(&dir, "short", &[])).unwrap();
    train(&opts(&dir, "long", &["train.epochs=4"])).unwrap();
    let more = RunOptions {
        overrides: vec!["train.epochs=4".into()],
        ..resume(&opts(&dir, "short", &[]))
    };
    train(&more).unwrap();
    let log = std::fs::read_to_string(dir.join("short/config_changes.jsonl")).unwrap();
    assert!(log.contains("\"equals_uninterrupted\":true"), "{log}");
    std::fs::remove_file(dir.join("short/config_changes.jsonl")).unwrap();
    assert_same_run(&dir.join("long"), &dir.join("short"));
    // under a cosine schedule the epoch count shapes every step's learning rate
    let cos = ["train.schedule=\"cosine\""];
    train(&RunOptions {
        stop_after: Some(1),
        ..opts(&dir, "cos", &cos)
    })
    .unwrap();
    let more = RunOptions {
        overrides: vec![cos[0].into(), "train.epochs=4".into()],
        ..resume(&opts(&dir, "cos", &cos))
    };
    let e = err_text(train(&more).unwrap_err());
    assert!(e.contains("train.epochs"), "{e}");
}

// Item 9: patience 0 never stops early (docs/config.md).

#[test]
fn patience_zero_never_stops_early() {
    let dir = setup("rf-patience", 4);
    let o = opts(&dir, "run", &[FROZEN_LR, "train.early_stopping.patience=0"]);
    let s = train(&o).unwrap();
    assert_eq!(s["epochs_run"], 4, "patience 0 stopped early");
    assert_eq!(s["best_epoch"], 1, "1-based: the first epoch");
    // and patience 1 with no improvement stops after one bad epoch
    let o = opts(&dir, "one", &[FROZEN_LR, "train.early_stopping.patience=1"]);
    assert_eq!(train(&o).unwrap()["epochs_run"], 2);
}
