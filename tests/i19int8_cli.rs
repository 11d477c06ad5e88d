//! `mtrec compress --int8` end to end on a tiny self-made run: the folder it writes is
//! scored by `predict` and `eval` like the original (scores close), loaded by the
//! recommend / serve loader, and bad inputs get clear errors.

#[path = "i19ens_support/mod.rs"]
mod i19ens_support;

use i19ens_support::*;
use std::path::Path;

fn compress(dir: &Path, run: &Path, out: &Path) -> (bool, String, String) {
    mtrec(
        dir,
        &[
            "compress",
            "--run",
            &run.display().to_string(),
            "--int8",
            "--out",
            &out.display().to_string(),
        ],
    )
}

fn eval_auc(dir: &Path, run: &Path) -> f64 {
    let (ok, out, err) = mtrec(dir, &["eval", "--run", &run.display().to_string()]);
    assert!(ok, "mtrec eval failed: {err}");
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    m["click"]["auc"].as_f64().unwrap()
}

#[test]
fn compressed_run_scores_like_the_original() {
    let dir = temp_dir("i19int8-cli");
    write_split_events(&dir);
    let run = dir.join("run");
    train_member(&dir, &config(THREE_TASKS, "mmoe", 1, ""), &run);
    let small = dir.join("run-int8");
    let (ok, _, err) = compress(&dir, &run, &small);
    assert!(ok, "mtrec compress failed: {err}");

    // what was quantised, and the file is smaller
    let report = read_json(&small.join("compress.json"));
    assert!(
        !report["dense_int8"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(
        !report["tables_int8"].as_array().unwrap().is_empty(),
        "{report}"
    );
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&small.join("model.int8.safetensors")) < size(&run.join("model.safetensors")));
    assert!(!small.join("model.safetensors").exists());

    // Tolerance: each int8 layer errs by at most (s_w/2)Σ|x| + (s_x/2)Σ|Ŵ| (docs/math.md),
    // about 1/127 of Σ|x|·max|w| per layer; this model's logits are O(1) through three
    // such layers (expert, tower, head), so logits move by a few hundredths at most and
    // probabilities (σ′ ≤ ¼) by less than 0.02.
    let input = dir.join("test.csv");
    let a = predict(&dir, &run, &input, "f32.csv");
    let b = predict(&dir, &small, &input, "int8.csv");
    assert_eq!(a.len(), b.len());
    let mut max_diff = 0f64;
    let mut any_diff = false;
    for (ca, cb) in a.iter().zip(&b) {
        assert_eq!(ca.len(), cb.len());
        for (x, y) in ca.iter().zip(cb) {
            max_diff = max_diff.max((x - y).abs());
            any_diff |= x != y;
        }
    }
    assert!(max_diff < 0.02, "int8 scores differ by {max_diff}");
    assert!(
        any_diff,
        "the compressed run scored exactly like the f32 one: int8 not used?"
    );

    // eval runs on the compressed folder, with nearly the same AUC
    let (auc32, auc8) = (eval_auc(&dir, &run), eval_auc(&dir, &small));
    assert!((auc32 - auc8).abs() < 0.03, "AUC {auc32} → {auc8}");

    // the recommend / serve loader takes it, with the int8 weights attached
    let saved = mtrec::train::run::saved::load_saved(&small).unwrap();
    assert!(saved.store.num_int8() > 0);

    // --out that exists is refused and left alone
    let (ok, _, err) = compress(&dir, &run, &small);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert!(small.join("model.int8.safetensors").is_file());
    // compressing a compressed folder is refused
    let (ok, _, err) = compress(&dir, &small, &dir.join("twice"));
    assert!(!ok && err.contains("already compressed"), "{err}");
    // without --int8 there is nothing to do
    let (ok, _, err) = mtrec(
        &dir,
        &[
            "compress",
            "--run",
            &run.display().to_string(),
            "--out",
            "x",
        ],
    );
    assert!(!ok && err.contains("--int8"), "{err}");

    // a damaged int8 file is an error naming it, not wrong scores
    let bad = dir.join("run-int8-bad");
    let (ok, _, err) = compress(&dir, &run, &bad);
    assert!(ok, "{err}");
    let p = bad.join("model.int8.safetensors");
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x5a;
    std::fs::write(&p, bytes).unwrap();
    let (ok, _, err) = mtrec(
        &dir,
        &[
            "predict",
            "--run",
            &bad.display().to_string(),
            "--input",
            &input.display().to_string(),
            "--output",
            &dir.join("bad.csv").display().to_string(),
        ],
    );
    assert!(
        !ok && err.contains("checksum") && err.contains("model.int8.safetensors"),
        "{err}"
    );
}

#[test]
fn missing_or_broken_run_folders_are_refused() {
    let dir = temp_dir("i19int8-refuse");
    let (ok, _, err) = compress(&dir, &dir.join("nope"), &dir.join("out"));
    assert!(!ok && err.contains("not a run folder"), "{err}");
    assert!(!dir.join("out").exists());
    // a folder with a config but no weights (training never finished an epoch)
    write_split_events(&dir);
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("config.toml"),
        config(THREE_TASKS, "mmoe", 1, ""),
    )
    .unwrap();
    let (ok, _, err) = compress(&dir, &broken, &dir.join("out"));
    assert!(!ok, "compressed a folder without weights");
    assert!(
        err.contains("spec.json") || err.contains("model.safetensors"),
        "{err}"
    );
    assert!(
        !dir.join("out").exists(),
        "a failed compress left its --out behind"
    );
}

/// A run with learned task weights (`train.balance = "uncertainty"`, as the MovieLens
/// preset) keeps them in its checkpoint: `eval` must build them before loading, for the
/// f32 run and for its int8 copy (it refused both with "2 in the checkpoint but not in
/// the model" before).
#[test]
fn eval_loads_runs_with_uncertainty_weights() {
    let dir = temp_dir("i19int8-uncertainty");
    write_split_events(&dir);
    let run = dir.join("run");
    let cfg = config(THREE_TASKS, "mmoe", 4, "")
        .replace("[train]\n", "[train]\nbalance = \"uncertainty\"\n");
    assert!(cfg.contains("balance = \"uncertainty\""));
    train_member(&dir, &cfg, &run);
    let small = dir.join("run-int8");
    let (ok, _, err) = compress(&dir, &run, &small);
    assert!(ok, "{err}");
    let (a, b) = (eval_auc(&dir, &run), eval_auc(&dir, &small));
    assert!((a - b).abs() < 0.03, "AUC {a} → {b}");
}
