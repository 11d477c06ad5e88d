//! `data.loader = "interactions"` with the data cache (issue #17 §1, #15 §1): the
//! encoded rows (training pairs with epoch 0's negatives, validation and test rows) are
//! in the cache; the interaction pairs stay in memory for drawing each epoch's negatives
//! and for the ranking evaluation. A cached run with a full shuffle gives the in-memory
//! run's metrics, ranking and baselines.

mod interactions_support;
mod s8cachekinds_support;

use interactions_support::{CLICK_BUY_DATA, CLICK_BUY_INPUTS};
use s8cachekinds_support::{mem_and_cached, temp_dir, xorshift};

/// The run config of these tests.
fn config() -> String {
    format!(
        r#"
{CLICK_BUY_DATA}[data.negatives]
k = 2
eval_k = 2
resample = "epoch"
[data.ranking]
k = [1, 5]
candidates = 0
{CLICK_BUY_INPUTS}[model]
arch = "shared_bottom"
bottom = [8]
tower = [4]
[train]
epochs = 3
batch_size = 16
seed = 9
threads = 1
[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#
    )
}

#[test]
fn a_cached_interactions_run_with_a_full_shuffle_gives_the_in_memory_metrics() {
    let dir = temp_dir("interactions");
    // 40 users × 10 events over 25 items (popular ones first), every 4th a buy
    let mut next = xorshift(5);
    let mut log = String::new();
    for u in 0..40 {
        for t in 0..10 {
            let item = (next() % 25).min(next() % 25);
            let b = if next().is_multiple_of(4) {
                "buy"
            } else {
                "pv"
            };
            log += &format!("u{u},i{item},{b},{t}\n");
        }
    }
    std::fs::write(dir.join("log.csv"), log).unwrap();
    let (mem, cached) = mem_and_cached(&dir, &config(), &[]);
    assert!(mem["ranking"]["model"]["click"]["mrr"].is_number(), "{mem}");
    assert_eq!(mem["tasks"], cached["tasks"], "test metrics differ");
    assert_eq!(mem["ranking"], cached["ranking"], "ranking differs");
    assert_eq!(mem["ranking_valid"], cached["ranking_valid"]);
    assert_eq!(mem["baselines"], cached["baselines"]);
    assert_eq!(mem["best_epoch"], cached["best_epoch"]);
    let losses = |run: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join(run).join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["train_loss"].clone())
            .collect()
    };
    // epochs 2 and 3 train on fresh negatives drawn from the cached training pairs
    assert_eq!(losses("mem"), losses("cached"));
    assert_eq!(losses("cached").len(), 3);
}
