//! Issue #15's Beauty quality target, asserted on a preset as shipped:
//! `configs/beauty_sasrec_prior.toml` (SASRec, text + ID, transition prior with its weight
//! chosen on validation NDCG@10) must reach a test NDCG@10 at least 10 % above the
//! `transition` baseline that the same run counts on the same split (docs/benchmarks.md,
//! "Baselines"). To keep `.ci/run` short it trains the preset's `--quick` budget (2
//! epochs); the full 12-epoch run is recorded in docs/benchmarks.md.
//!
//! Without the prior (the old Beauty preset) the model stays below `transition` (0.0383
//! against 0.0426), so this fails there.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
#[ignore = "needs ../shared/data"]
fn s7beauty_prior_preset_beats_transition_ndcg10_by_10_percent() {
    let data =
        PathBuf::from(std::env::var("MTREC_DATA").unwrap_or_else(|_| "../shared/data".into()));
    let beauty = data.join("amazon-beauty/user_sequence.txt");
    assert!(
        beauty.is_file(),
        "{} is missing: set MTREC_DATA to the shared data folder",
        beauty.display()
    );
    let models = data.join("../models");
    assert!(
        models.join("all-MiniLM-L6-v2").is_dir(),
        "{} has no all-MiniLM-L6-v2 (the item text encoder)",
        models.display()
    );
    let dir = std::env::temp_dir().join(format!("mtrec-s7beauty-q-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(["seq", "--config"])
        .arg(root.join("configs/beauty_sasrec_prior.toml"))
        .arg("--quick")
        .arg("--data-dir")
        .arg(&data)
        .arg("--models-dir")
        .arg(&models)
        .arg("--out")
        .arg(dir.join("run"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mtrec seq failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/summary.json")).unwrap())
            .unwrap();
    let model = num(&s["test"]["ndcg10"]);
    let transition = num(&s["baselines"]["transition"]["ndcg10"]);
    assert!(
        model >= 1.1 * transition,
        "test NDCG@10 {model:.4} is not 10 % above transition {transition:.4} (prior {})",
        s["transition_prior"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
