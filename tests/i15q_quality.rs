//! Issue #15's MovieLens quality target, asserted on the preset as shipped:
//! `configs/movielens_mmoe.toml` must reach a test RMSE at least 0.02 below the `biases`
//! baseline that the same run fits on the same split (docs/benchmarks.md, "Baselines"),
//! without giving up the like task (its AUC must stay above `biases`' AUC).
//!
//! The preset's settings were chosen on validation only (`mtrec tune`, objective: valid
//! like AUC); the test split is read here as it is in every run, once at the end.
//! With the old preset (lr 0.001, balance "fixed") this fails: RMSE 0.9366 against
//! `biases` 0.9463, a margin of 0.0097.

use mtrec::train::run::{train, RunOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
#[ignore = "needs ../shared/data"]
fn movielens_mmoe_preset_beats_biases_rmse_by_0_02() {
    let data = std::env::var("MTREC_DATA").unwrap_or_else(|_| "../shared/data".into());
    let dir = std::env::temp_dir().join(format!("mtrec-i15q-ml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let opts = RunOptions {
        config: root.join("configs/movielens_mmoe.toml"),
        models_dir: None,
        data_dir: PathBuf::from(data),
        out: dir.join("run"),
        overrides: vec![],
        resume: false,
        overwrite: true,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    };
    let s = train(&opts).unwrap();
    let b = &s["baselines"]["biases"];
    let rmse = num(&s["tasks"]["rating"]["test"]["rmse"]);
    let biases_rmse = num(&b["rating"]["rmse"]);
    assert!(
        rmse <= biases_rmse - 0.02,
        "test RMSE {rmse:.4} is not 0.02 below biases {biases_rmse:.4}"
    );
    let auc = num(&s["tasks"]["like"]["test"]["auc"]);
    let biases_auc = num(&b["like"]["auc"]);
    assert!(
        auc > biases_auc,
        "like AUC {auc:.4} collapsed below biases {biases_auc:.4}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
