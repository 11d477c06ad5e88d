//! Tiny ensembles for the `mtrec ensemble` tests: the events table cut into train / valid /
//! test files, members trained in-process, the CLI spawned.

#![allow(dead_code, unused_imports)]

#[path = "../events_support/mod.rs"]
mod events_support;

pub use events_support::{temp_dir, write_events, CLICK_BUY, EVENTS_INPUT, THREE_TASKS};
use mtrec::train::run::{train, RunOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `train.csv` (360 rows), `valid.csv` (120) and `test.csv` (120) of the events table.
pub fn write_split_events(dir: &Path) {
    write_events(dir);
    let text = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    let mut lines = text.lines();
    let head = lines.next().unwrap().to_string();
    let rows: Vec<&str> = lines.collect();
    for (name, range) in [
        ("train.csv", 0..360),
        ("valid.csv", 360..480),
        ("test.csv", 480..600),
    ] {
        let mut s = head.clone() + "\n";
        for r in &rows[range] {
            s.push_str(r);
            s.push('\n');
        }
        std::fs::write(dir.join(name), s).unwrap();
    }
}

/// A run config on the three files: `tasks`, model `arch`, seed `seed`, `split_extra`
/// appended to `[split]`.
pub fn config(tasks: &str, arch: &str, seed: u64, split_extra: &str) -> String {
    let features = EVENTS_INPUT
        .split_once("[[features]]")
        .map(|(_, rest)| format!("[[features]]{rest}"))
        .unwrap();
    format!(
        r#"
[data]
files = ["train.csv", "valid.csv", "test.csv"]
header = true
missing_values = [""]
{features}{tasks}
[split]
kind = "files"
train_files = ["train.csv"]
valid_files = ["valid.csv"]
test_files = ["test.csv"]
{split_extra}
[model]
arch = "{arch}"
num_experts = 3
expert = [8]
tower = [4]
bottom = [8]

[train]
lr = 0.01
batch_size = 64
epochs = 3
seed = {seed}

[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#
    )
}

/// Trains `cfg` on the files in `data` into `out`.
pub fn train_member(data: &Path, cfg: &str, out: &Path) {
    let path = out.with_extension("toml");
    std::fs::write(&path, cfg).unwrap();
    train(&RunOptions {
        config: path,
        models_dir: None,
        data_dir: data.to_path_buf(),
        out: out.to_path_buf(),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    })
    .unwrap();
}

/// Three members (MMoE seed 1, MMoE seed 2, Shared-Bottom) on the three tasks.
pub fn three_members(data: &Path) -> Vec<PathBuf> {
    let specs = [("mmoe", 1), ("mmoe", 2), ("shared_bottom", 3)];
    specs
        .iter()
        .enumerate()
        .map(|(i, (arch, seed))| {
            let out = data.join(format!("m{i}"));
            train_member(data, &config(THREE_TASKS, arch, *seed, ""), &out);
            out
        })
        .collect()
}

/// Runs the binary with `args` and `MTREC_DATA` = `data`; (success, stdout, stderr).
pub fn mtrec(data: &Path, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .env("MTREC_DATA", data)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `mtrec ensemble --runs … --method … --out <out>`; panics with stderr on failure.
pub fn ensemble(data: &Path, runs: &[PathBuf], method: &str, out: &Path) {
    let mut args = vec!["ensemble".to_string(), "--runs".into()];
    args.extend(runs.iter().map(|r| r.display().to_string()));
    args.extend([
        "--method".into(),
        method.into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = mtrec(data, &a);
    assert!(ok, "mtrec ensemble failed: {err}");
}

/// `mtrec predict --run <run> --input <input> --no-keys`: per task column, the scores.
pub fn predict(data: &Path, run: &Path, input: &Path, name: &str) -> Vec<Vec<f64>> {
    let out = data.join(name);
    let (ok, _, err) = mtrec(
        data,
        &[
            "predict",
            "--run",
            &run.display().to_string(),
            "--input",
            &input.display().to_string(),
            "--output",
            &out.display().to_string(),
            "--no-keys",
            "--force",
        ],
    );
    assert!(ok, "mtrec predict failed: {err}");
    let text = std::fs::read_to_string(out).unwrap();
    let mut lines = text.lines();
    let k = lines.next().unwrap().split(',').count() - 1; // line, then one column per task
    let mut cols = vec![Vec::new(); k];
    for l in lines {
        for (c, v) in l.split(',').skip(1).enumerate() {
            cols[c].push(v.parse::<f64>().unwrap());
        }
    }
    cols
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}
