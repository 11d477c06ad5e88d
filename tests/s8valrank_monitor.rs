//! Issue #15: interactions runs rank the validation pairs after every epoch (the
//! `[data.ranking]` metrics join each task's `valid` metrics in `metrics.jsonl`), and
//! `train.early_stopping.metric` may be such a ranking metric (`ndcg@10`, `hr@K`, `mrr`):
//! the best epoch is then the one with the best validation ranking, and `--resume`
//! continues to the uninterrupted run.

use interactions_support::{CLICK_BUY_DATA, CLICK_BUY_INPUTS};
use mtrec::config::RunConfig;
use mtrec::train::run::{train, RunOptions};
use serde_json::Value;
use std::path::Path;

mod interactions_support;
mod run_folder_support;

/// 36 users in three taste groups over 24 items (group g views items ≡ g mod 3 mostly),
/// 7 views each in time order, a buy on every third viewed item. Deterministic.
fn log() -> String {
    let mut s = String::new();
    let mut x: u64 = 12345;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    for u in 0..36u64 {
        let g = u % 3;
        for t in 0..7u64 {
            let item = if next(5) == 0 {
                next(24)
            } else {
                3 * next(8) + g
            };
            s += &format!("u{u},i{item},pv,{}\n", 10 * t + 1);
            if t % 3 == 1 {
                s += &format!("u{u},i{item},buy,{}\n", 10 * t + 2);
            }
        }
    }
    s
}

fn config(metric: &str, ks: &str, extra: &str) -> String {
    format!(
        r#"
baselines = []
{CLICK_BUY_DATA}[data.negatives]
k = 2
eval_k = 2
resample = "epoch"
[data.ranking]
k = {ks}
candidates = 0
{CLICK_BUY_INPUTS}[model]
arch = "shared_bottom"
bottom = [8]
tower = [4]
[train]
epochs = 6
batch_size = 16
lr = 0.05
[train.early_stopping]
task = "click"
metric = "{metric}"
patience = 0
{extra}
"#
    )
}

fn write(dir: &Path, cfg: &str) {
    std::fs::write(dir.join("log.csv"), log()).unwrap();
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
}

fn opts(dir: &Path, out: &str) -> RunOptions {
    RunOptions {
        config: dir.join("run.toml"),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: vec![],
        resume: false,
        overwrite: true,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

fn metrics(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn err_text(e: mtrec::error::Error) -> String {
    e.to_string()
}

#[test]
fn s8valrank_each_epoch_logs_the_valid_ranking_and_the_best_epoch_is_its_argmax() {
    let dir = interactions_support::temp_dir("s8valrank", "argmax");
    write(&dir, &config("ndcg@10", "[1, 10]", ""));
    let summary = train(&opts(&dir, "run")).unwrap();
    let lines = metrics(&dir.join("run"));
    assert_eq!(lines.len(), 6, "every epoch ran (patience 0)");
    let mut logged = Vec::new();
    for (e, l) in lines.iter().enumerate() {
        for task in ["click", "buy"] {
            let v = &l["valid"][task];
            for m in ["hr@1", "ndcg@1", "hr@10", "ndcg@10", "mrr"] {
                let x = v[m]
                    .as_f64()
                    .unwrap_or_else(|| panic!("epoch {e} {task}: {v}"));
                assert!((0.0..=1.0).contains(&x), "epoch {e} {task} {m} = {x}");
            }
            assert!(v["ranked"].as_f64().unwrap() > 0.0, "{v}");
            assert!(v["auc"].is_f64(), "the per-row metrics stay: {v}");
        }
        logged.push(l["valid"]["click"]["ndcg@10"].as_f64().unwrap());
        assert_eq!(l["early_stopping"]["metric"], "ndcg@10");
        assert_eq!(l["early_stopping"]["score"], l["valid"]["click"]["ndcg@10"]);
    }
    assert!(
        logged.windows(2).any(|w| w[0] != w[1]),
        "the fixture must move the ranking between epochs: {logged:?}"
    );
    // the first epoch of the highest value (a later equal one is no improvement)
    let best = (0..logged.len()).fold(0, |b, i| if logged[i] > logged[b] { i } else { b });
    assert_eq!(summary["best_epoch"], best + 1, "{logged:?}");
    let last = &lines[lines.len() - 1]["early_stopping"];
    assert_eq!(last["best_epoch"], best + 1);
    assert_eq!(last["best"].as_f64(), Some(logged[best]));
    // the kept weights are that epoch's: the end-of-run validation ranking repeats it
    let end = summary["ranking_valid"]["model"]["click"]["ndcg@10"]
        .as_f64()
        .unwrap();
    assert_eq!(end, logged[best], "{logged:?}");
    // the test split is ranked once, at the end
    assert!(summary["ranking"]["model"]["click"]["ndcg@10"].is_f64());
    assert!(lines.iter().all(|l| l.get("ranking").is_none()));
}

#[test]
fn s8valrank_mean_of_a_ranking_metric_averages_the_ranked_tasks() {
    let dir = interactions_support::temp_dir("s8valrank", "mean");
    let cfg = config("mrr", "[10]", "").replace("task = \"click\"", "task = \"mean\"");
    write(&dir, &cfg);
    train(&opts(&dir, "run")).unwrap();
    for l in metrics(&dir.join("run")) {
        let v = &l["valid"];
        let mean = (v["click"]["mrr"].as_f64().unwrap() + v["buy"]["mrr"].as_f64().unwrap()) / 2.0;
        let score = l["early_stopping"]["score"].as_f64().unwrap();
        assert!((score - mean).abs() < 1e-12, "{score} vs {mean}");
    }
}

#[test]
fn s8valrank_resume_continues_to_the_uninterrupted_run() {
    let dir = interactions_support::temp_dir("s8valrank", "resume");
    write(&dir, &config("hr@10", "[10]", ""));
    let full = train(&opts(&dir, "full")).unwrap();
    let cut = RunOptions {
        stop_after: Some(2),
        ..opts(&dir, "cut")
    };
    train(&cut).unwrap();
    assert_eq!(metrics(&dir.join("cut")).len(), 2);
    let resumed = train(&RunOptions {
        resume: true,
        overwrite: false,
        stop_after: None,
        ..cut
    })
    .unwrap();
    run_folder_support::assert_same_run(&dir.join("full"), &dir.join("cut"));
    for key in ["best_epoch", "ranking", "ranking_valid", "tasks"] {
        assert_eq!(full[key], resumed[key], "{key}");
    }
}

#[test]
fn s8valrank_unknown_metrics_and_cutoffs_name_the_choices() {
    let dir = interactions_support::temp_dir("s8valrank", "errors");
    std::fs::write(dir.join("log.csv"), log()).unwrap();
    let parse = |text: &str| {
        std::fs::write(dir.join("run.toml"), text).unwrap();
        RunConfig::from_file(dir.join("run.toml"), &[]).map(|_| ())
    };
    let e = err_text(parse(&config("ndgc@10", "[10]", "")).unwrap_err());
    assert!(
        e.contains("`ndgc@10` is not an early-stopping metric") && e.contains("ndcg@K, mrr"),
        "{e}"
    );
    let e = err_text(parse(&config("ndcg@5", "[1, 10]", "")).unwrap_err());
    assert!(
        e.contains("K = 5 is not one of data.ranking.k = [1, 10]")
            && e.contains("hr@1, ndcg@1, hr@10, ndcg@10, mrr"),
        "{e}"
    );
    let e = err_text(parse(&config("ndcg@0", "[10]", "")).unwrap_err());
    assert!(e.contains("K must be a whole number ≥ 1"), "{e}");
    // a per-row metric still parses, and its direction is as before
    parse(&config("logloss", "[10]", "direction = \"min\"")).unwrap();
    let e = err_text(parse(&config("ndcg@10", "[10]", "direction = \"min\"")).unwrap_err());
    assert!(e.contains("which is better when higher"), "{e}");
    // ranking needs [data.ranking] on interactions data, ranked every epoch
    let no_ranking =
        config("mrr", "[10]", "").replace("[data.ranking]\nk = [10]\ncandidates = 0\n", "");
    let e = err_text(parse(&no_ranking).unwrap_err());
    assert!(e.contains("[data.ranking] missing"), "{e}");
    let off =
        config("mrr", "[10]", "").replace("candidates = 0", "candidates = 0\nper_epoch = false");
    let e = err_text(parse(&off).unwrap_err());
    assert!(e.contains("per_epoch = false"), "{e}");
    // the task must read a behaviour label
    let e = err_text(
        parse(&config("mrr", "[10]", "").replace("task = \"click\"", "task = \"clicks\""))
            .unwrap_err(),
    );
    assert!(
        e.contains("`clicks` is not a task") && e.contains("[\"click\", \"buy\"]"),
        "{e}"
    );
}

#[test]
fn s8valrank_per_epoch_off_leaves_the_epochs_unranked() {
    let dir = interactions_support::temp_dir("s8valrank", "off");
    let cfg =
        config("auc", "[10]", "").replace("candidates = 0", "candidates = 0\nper_epoch = false");
    write(&dir, &cfg);
    let summary = train(&opts(&dir, "run")).unwrap();
    for l in metrics(&dir.join("run")) {
        assert!(l["valid"]["click"].get("ndcg@10").is_none(), "{l}");
    }
    assert!(summary["ranking_valid"]["model"]["click"]["ndcg@10"].is_f64());
}

#[test]
fn s8valrank_a_behaviour_without_validation_pairs_is_refused_before_training() {
    let dir = interactions_support::temp_dir("s8valrank", "undefined");
    // buys only in training pairs: the validation pairs (second latest per user) are views
    let log =
        "u1,a,pv,1\nu1,a,buy,2\nu1,b,pv,3\nu1,c,pv,4\nu2,a,pv,1\nu2,b,pv,2\nu2,c,pv,3\nu2,d,pv,4\n\
               u3,e,pv,1\nu3,f,pv,2\nu3,g,pv,3\nu4,h,pv,1\n";
    std::fs::write(dir.join("log.csv"), log).unwrap();
    let cfg = config("ndcg@10", "[10]", "").replace("task = \"click\"", "task = \"buy\"");
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
    let e = err_text(train(&opts(&dir, "run")).unwrap_err());
    assert!(
        e.contains("valid ndcg@10 of `buy` cannot be computed")
            && e.contains("`buy`: 0 held-out pairs"),
        "{e}"
    );
    assert!(!dir.join("run/metrics.jsonl").exists(), "no epoch ran");
}
