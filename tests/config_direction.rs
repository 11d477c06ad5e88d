//! `train.early_stopping.direction` must agree with the metric: a preset's explicit
//! `direction = "max"` kept after `--set train.early_stopping.metric=rmse` would restore
//! the worst epoch as the "best" one.

use mtrec::config::RunConfig;

fn load(overrides: &[&str]) -> Result<RunConfig, String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/movielens_mmoe.toml"
    ))
    .unwrap();
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    RunConfig::from_str(&text, "configs/movielens_mmoe.toml", &o).map_err(|e| e.to_string())
}

#[test]
fn preset_loads_as_shipped() {
    let c = load(&[]).unwrap();
    assert!(c.train.early_stopping.maximize());
}

#[test]
fn explicit_max_with_a_lower_is_better_metric_is_refused() {
    let e = load(&[
        "train.early_stopping.task=rating",
        "train.early_stopping.metric=rmse",
    ])
    .unwrap_err();
    assert!(e.contains("train.early_stopping.direction"), "{e}");
    assert!(e.contains("\"min\" or \"auto\""), "{e}");
}

#[test]
fn auto_or_min_with_rmse_is_accepted_and_minimises() {
    for d in ["auto", "min"] {
        let c = load(&[
            "train.early_stopping.task=rating",
            "train.early_stopping.metric=rmse",
            &format!("train.early_stopping.direction={d}"),
        ])
        .unwrap();
        assert!(!c.train.early_stopping.maximize(), "direction {d}");
    }
}

#[test]
fn explicit_min_with_auc_is_refused() {
    let e = load(&["train.early_stopping.direction=min"]).unwrap_err();
    assert!(e.contains("better when higher"), "{e}");
}
