//! `mtrec tune` end to end on the small events table: the leaderboard, best.toml,
//! halving, --resume after a kill, and --parallel.

use mtrec::config::RunConfig;
use mtrec::tune::{tune, Strategy, TuneOptions};
use std::path::{Path, PathBuf};

mod events_support;
use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

const SPACE: &str = r#"
seed = 4
[objective]
task = "click"
metric = "auc"
[halving]
min_epochs = 1
eta = 2
[params]
"train.lr" = { log_uniform = [0.002, 0.05], points = 2 }
"model.num_experts" = [2, 4]
"#;

fn setup(tag: &str, epochs: usize) -> PathBuf {
    let dir = temp_dir(tag);
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, epochs, "")).unwrap();
    std::fs::write(dir.join("space.toml"), SPACE).unwrap();
    dir
}

fn opts(dir: &Path, out: &str, strategy: Strategy, trials: Option<usize>) -> TuneOptions {
    TuneOptions {
        config: dir.join("run.toml"),
        space: dir.join("space.toml"),
        out: dir.join(out),
        data_dir: dir.to_path_buf(),
        models_dir: None,
        strategy,
        trials,
        parallel: 1,
        threads: 1,
        resume: false,
        device: Default::default(),
    }
}

/// leaderboard.csv as rows of cells keyed by the header.
fn board(out: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(out.join("leaderboard.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn summary(out: &Path, run: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join(run).join("summary.json")).unwrap())
        .unwrap()
}

#[test]
fn a_grid_search_writes_a_ranked_leaderboard_and_a_best_toml_that_trains() {
    let dir = setup("i18tune-grid-run", 2);
    let res = tune(&opts(&dir, "tune", Strategy::Grid, None)).unwrap();
    let out = dir.join("tune");
    let rows = board(&out);
    assert_eq!(rows.len(), 5, "the preset and 2 × 2 grid points");
    let cols: Vec<&String> = rows[0].keys().collect();
    for c in [
        "rank",
        "trial",
        "status",
        "epochs",
        "objective",
        "train.lr",
        "model.num_experts",
        "run",
        "error",
        "seconds",
    ] {
        assert!(
            cols.iter().any(|k| k.as_str() == c),
            "no column {c}: {cols:?}"
        );
    }
    let mut last = f64::INFINITY;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["rank"], (i + 1).to_string());
        assert_eq!(row["status"], "done");
        assert_eq!(row["epochs"], "2");
        // each trial is an ordinary run folder; the objective is its valid AUC of click
        let s = summary(&out, &row["run"]);
        let auc = s["tasks"]["click"]["valid"]["auc"].as_f64().unwrap();
        let obj: f64 = row["objective"].parse().unwrap();
        assert_eq!(obj, auc, "{row:?}");
        assert!(obj <= last, "ranked best first");
        last = obj;
        let cfg = RunConfig::from_file(out.join(&row["run"]).join("config.toml"), &[]).unwrap();
        if row["trial"] == "0" {
            assert_eq!(row["train.lr"], "");
            assert_eq!(cfg.train.lr, 0.01, "trial 0 is the preset");
        } else {
            assert_eq!(cfg.train.lr, row["train.lr"].parse::<f64>().unwrap());
            assert_eq!(cfg.model.num_experts.to_string(), row["model.num_experts"]);
        }
    }
    // every grid point ran once
    let mut pts: Vec<(String, String)> = rows[..]
        .iter()
        .filter(|r| r["trial"] != "0")
        .map(|r| (r["train.lr"].clone(), r["model.num_experts"].clone()))
        .collect();
    pts.sort();
    assert_eq!(
        pts,
        [("0.002", "2"), ("0.002", "4"), ("0.05", "2"), ("0.05", "4")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // best.toml is the best trial's config and round-trips through mtrec train
    let best_run = &rows[0]["run"];
    let best = RunConfig::from_file(out.join("best.toml"), &[]).unwrap();
    assert_eq!(
        best,
        RunConfig::from_file(out.join(best_run).join("config.toml"), &[]).unwrap()
    );
    assert_eq!(res["best"]["run"], best_run.as_str());
    assert_eq!(
        res["best"]["valid_objective"].as_f64().unwrap(),
        rows[0]["objective"].parse::<f64>().unwrap()
    );
    let again = mtrec::train::run::train(&mtrec::train::run::RunOptions {
        config: out.join("best.toml"),
        data_dir: dir.clone(),
        models_dir: None,
        out: dir.join("retrain"),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    })
    .unwrap();
    // the test metrics are reported once at the end, for the best trial and the preset
    assert_eq!(
        res["best"]["test"]["click"]["auc"],
        summary(&out, best_run)["tasks"]["click"]["test"]["auc"]
    );
    assert_eq!(
        res["preset"]["test"]["click"]["auc"],
        summary(&out, "trial-000")["tasks"]["click"]["test"]["auc"]
    );
    assert!(again["tasks"]["click"]["valid"]["auc"].as_f64().is_some());
    assert!(
        !std::fs::read_to_string(out.join("leaderboard.csv"))
            .unwrap()
            .contains("test"),
        "no test metric on the leaderboard"
    );
    // a second search into the same folder is refused without --resume
    let e = tune(&opts(&dir, "tune", Strategy::Grid, None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--resume"), "{e}");
}

#[test]
fn parallel_trials_give_the_same_leaderboard_as_one_at_a_time() {
    let dir = setup("i18tune-parallel", 2);
    tune(&opts(&dir, "p1", Strategy::Random, Some(3))).unwrap();
    let mut o = opts(&dir, "p2", Strategy::Random, Some(3));
    o.parallel = 2;
    o.threads = 2; // one thread per trial, as with --parallel 1 --threads 1
    tune(&o).unwrap();
    let strip = |rows: Vec<std::collections::BTreeMap<String, String>>| {
        rows.into_iter()
            .map(|mut r| {
                r.remove("seconds");
                r
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (strip(board(&dir.join("p1"))), strip(board(&dir.join("p2"))));
    assert_eq!(a.len(), 4);
    assert_eq!(a, b);
}

#[test]
fn halving_gives_more_epochs_to_the_best_and_prunes_the_rest() {
    let dir = setup("i18tune-halving", 3);
    let res = tune(&opts(&dir, "h", Strategy::Halving, Some(5))).unwrap();
    let out = dir.join("h");
    assert_eq!(res["budgets"], serde_json::json!([1, 2, 3]));
    let rows = board(&out);
    assert_eq!(rows.len(), 6);
    // rung 0 objective of each trial: its first epoch's valid AUC (metrics.jsonl)
    let first_auc = |run: &str| -> f64 {
        let text = std::fs::read_to_string(out.join(run).join("metrics.jsonl")).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        line["valid"]["click"]["auc"].as_f64().unwrap()
    };
    let trials: Vec<_> = rows.iter().filter(|r| r["trial"] != "0").collect();
    let best0 = trials
        .iter()
        .max_by(|a, b| first_auc(&a["run"]).total_cmp(&first_auc(&b["run"])))
        .unwrap();
    assert!(
        best0["epochs"].parse::<usize>().unwrap() >= 2,
        "the best trial after 1 epoch was promoted: {rows:?}"
    );
    let pruned: Vec<_> = trials.iter().filter(|r| r["status"] == "pruned").collect();
    assert!(!pruned.is_empty(), "{rows:?}");
    for r in &pruned {
        let e: usize = r["epochs"].parse().unwrap();
        assert!(e < 3);
        let lines = std::fs::read_to_string(out.join(&r["run"]).join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(lines, e, "a pruned trial trained only its budget");
    }
    let worst0 = trials
        .iter()
        .min_by(|a, b| first_auc(&a["run"]).total_cmp(&first_auc(&b["run"])))
        .unwrap();
    assert_eq!(
        worst0["epochs"], "1",
        "the worst trial after 1 epoch was not promoted"
    );
    // a promoted trial continued its own run folder (--resume), recorded as a config change
    assert!(out
        .join(&best0["run"])
        .join("config_changes.jsonl")
        .is_file());
    let done: Vec<_> = rows.iter().filter(|r| r["status"] == "done").collect();
    assert!(
        done.iter().any(|r| r["trial"] != "0"),
        "a sampled trial reached the full budget: {rows:?}"
    );
    assert!(done.iter().all(|r| r["epochs"] == "3"));
    assert_eq!(rows[0]["status"], "done");
}

#[test]
fn a_killed_search_resumes_without_running_finished_trials_again() {
    let dir = setup("i18tune-resume", 2);
    tune(&opts(&dir, "full", Strategy::Random, Some(3))).unwrap();
    let full = board(&dir.join("full"));
    // the same search killed during trial 3: trials 0–2 in the journal, trial 3's
    // folder holding one saved epoch (as a kill after the first epoch leaves it)
    tune(&opts(&dir, "killed", Strategy::Random, Some(2))).unwrap();
    let out = dir.join("killed");
    std::fs::remove_file(out.join("best.toml")).unwrap();
    std::fs::remove_file(out.join("result.json")).unwrap();
    let settings = mtrec::tune::plan(
        &mtrec::tune::space::Space::from_file(
            &dir.join("space.toml"),
            &dir.join("run.toml"),
            &RunConfig::from_file(dir.join("run.toml"), &[]).unwrap(),
        )
        .unwrap(),
        Strategy::Random,
        Some(3),
    )
    .unwrap();
    // on one thread, as the search trains each trial (--threads 1)
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let stopped = pool
        .install(|| {
            mtrec::train::run::train(&mtrec::train::run::RunOptions {
                config: dir.join("run.toml"),
                data_dir: dir.clone(),
                models_dir: None,
                out: out.join("trial-003"),
                overrides: mtrec::tune::overrides(&settings[3], 2),
                resume: false,
                overwrite: false,
                allow_config_change: false,
                progress: false,
                stop_after: Some(1),
                device: Default::default(),
            })
        })
        .unwrap();
    assert_eq!(stopped["interrupted_after_epoch"], 1);
    let stamp = |t: &str| {
        std::fs::metadata(out.join(t).join("summary.json"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before: Vec<_> = ["trial-000", "trial-001", "trial-002"].map(stamp).into();
    let mut o = opts(&dir, "killed", Strategy::Random, Some(3));
    o.resume = true;
    tune(&o).unwrap();
    let after: Vec<_> = ["trial-000", "trial-001", "trial-002"].map(stamp).into();
    assert_eq!(before, after, "finished trials were not trained again");
    let journal = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 4, "{journal}");
    // trial 3 continued from its saved epoch: two epochs in all, the same as uninterrupted
    let lines = std::fs::read_to_string(out.join("trial-003/metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
    let strip = |rows: Vec<std::collections::BTreeMap<String, String>>| {
        rows.into_iter()
            .map(|mut r| {
                r.remove("seconds");
                r
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(board(&out)), strip(full));
    assert!(out.join("best.toml").is_file());
    // resuming with another space is refused
    std::fs::write(
        dir.join("space.toml"),
        SPACE.replace("seed = 4", "seed = 5"),
    )
    .unwrap();
    let e = tune(&o).unwrap_err().to_string();
    assert!(e.contains("space"), "{e}");
}
