//! Issue #15 §2: `mtrec train` on interaction logs ranks the **validation** pairs as it
//! ranks the test pairs (`summary.json`'s `ranking_valid`, per behaviour, beside
//! popularity), so settings can be chosen without reading the test split. Checked against
//! popularity ranks worked out by hand on the shared small log.

use mtrec::train::run::{train, RunOptions};
use std::path::Path;

mod interactions_support;

use interactions_support::{CLICK_BUY_DATA, CLICK_BUY_INPUTS, LOG};

/// The run config of these tests.
fn config() -> String {
    format!(
        r#"
baselines = []
{CLICK_BUY_DATA}[data.negatives]
k = 1
eval_k = 2
resample = "epoch"
[data.ranking]
k = [1, 3]
candidates = 0
{CLICK_BUY_INPUTS}[model]
arch = "shared_bottom"
bottom = [4]
tower = [4]
[train]
epochs = 2
batch_size = 4
[train.early_stopping]
task = "click"
metric = "auc"
"#
    )
}

fn opts(dir: &Path) -> RunOptions {
    RunOptions {
        config: dir.join("run.toml"),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join("run"),
        overrides: vec![],
        resume: false,
        overwrite: true,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

#[test]
fn s7beauty_validation_pairs_are_ranked_like_test_pairs() {
    let dir = interactions_support::temp_dir("s7beauty", "valid-ranking");
    std::fs::write(dir.join("log.csv"), LOG).unwrap();
    std::fs::write(dir.join("run.toml"), config()).unwrap();
    let summary = train(&opts(&dir)).unwrap();
    let r = &summary["ranking_valid"];
    assert!(
        r["candidates"].as_str().unwrap().contains("full catalogue"),
        "{r}"
    );
    // validation pairs u1-b (pv, buy) and u2-c (pv): 2 users
    assert_eq!(r["items"], 5);
    assert_eq!(r["users"], 2);
    let close = |v: &serde_json::Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-12;
    // popularity, click: training pairs u1-a, u2-a, u3-a, u4-d → s = c_click + c/4:
    // a 3.75, d 1.25, b = c = e = 0. Candidates: all items but the user's training item a.
    //   u1 target b (0) among c 0, d 1.25, e 0 → rank 4
    //   u2 target c (0) among b 0, d 1.25, e 0 → rank 4
    let pop = &r["popularity"]["click"];
    assert_eq!(pop["held_out"], 2);
    assert!(close(&pop["hr@3"], 0.0), "{pop}");
    assert!(close(&pop["mrr"], 0.25), "{pop}");
    // buy: only u2-a was bought in training → a 1.75, d 0.25, others 0;
    //   u1 target b (0) among c 0, d 0.25, e 0 → rank 4
    let buy = &r["popularity"]["buy"];
    assert_eq!(buy["held_out"], 1);
    assert!(close(&buy["mrr"], 0.25), "{buy}");
    // the model's ranks are ranks among 3 other items
    let mrr = r["model"]["click"]["mrr"].as_f64().unwrap();
    assert!((0.25..=1.0).contains(&mrr), "{}", r["model"]);
    // the test ranking is still there, over its own pairs (3 users)
    assert_eq!(summary["ranking"]["users"], 3);
    let _ = std::fs::remove_dir_all(&dir);
}
