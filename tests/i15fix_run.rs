//! Issue #15 part 3 on `mtrec train` / `mtrec predict`: the out-of-vocabulary row is
//! trained by `oov_dropout`, `best_epoch` is 1-based everywhere, the split of every row
//! is in `split.csv`, `predict` writes the id columns and counts unseen ids, and
//! resolved configs print numbers as written.

use mtrec::config::RunConfig;
use mtrec::data::features::random_assignment;
use mtrec::train::run::{train, RunOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod events_support;

use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

fn opts(dir: &Path, config: &str, out: &str) -> RunOptions {
    RunOptions {
        config: dir.join(config),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

/// A run of `epochs` epochs on events.csv with `train_extra` in `[train]`; the run folder.
fn run(dir: &Path, name: &str, epochs: usize, train_extra: &str) -> PathBuf {
    let cfg = format!("{name}.toml");
    std::fs::write(
        dir.join(&cfg),
        events_config(THREE_TASKS, epochs, train_extra),
    )
    .unwrap();
    train(&opts(dir, &cfg, name)).unwrap();
    dir.join(name)
}

/// Row 0 (the out-of-vocabulary row) of the table `input.emb.<feature>` of a safetensors file.
fn oov_row(path: &Path, feature: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(&format!("input.emb.{feature}")).unwrap();
    let dim = t.shape()[1];
    t.data()[..4 * dim]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Row 0 of the same table freshly initialised (the run's seed, before any step).
fn initial_oov_row(run: &Path, data_dir: &Path, feature: &str) -> Vec<f32> {
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let s = mtrec::train::run::setup(cfg, data_dir).unwrap();
    let id = s.store.find(&format!("input.emb.{feature}")).unwrap();
    let dim = s.store.info(id).cols;
    s.store.value(id)[..dim].to_vec()
}

#[test]
fn the_oov_row_is_trained_with_oov_dropout_and_untouched_without() {
    let dir = temp_dir("i15fix-oov");
    write_events(&dir);
    // every user and item of events.csv is in the training split: nothing is id 0
    let off = run(&dir, "off", 2, "");
    let on = run(&dir, "on", 2, "oov_dropout = 0.1");
    let init = initial_oov_row(&off, &dir, "item");
    assert_eq!(
        oov_row(&off.join("model.safetensors"), "item"),
        init,
        "without oov_dropout no training row looks up row 0"
    );
    for feature in ["item", "user"] {
        let init = initial_oov_row(&on, &dir, feature);
        let trained = oov_row(&on.join("model.safetensors"), feature);
        assert_eq!(trained.len(), init.len());
        assert!(
            trained.iter().zip(&init).all(|(a, b)| a != b),
            "{feature}: row 0 was not trained: {trained:?} vs {init:?}"
        );
    }
    // the key is written to the resolved config (as given) and read back
    let toml = std::fs::read_to_string(on.join("config.toml")).unwrap();
    assert!(toml.contains("oov_dropout = 0.1\n"), "{toml}");
    // out of range: an error naming the key and the range
    std::fs::write(
        dir.join("bad.toml"),
        events_config(THREE_TASKS, 1, "oov_dropout = 0.9"),
    )
    .unwrap();
    let err = train(&opts(&dir, "bad.toml", "bad"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train.oov_dropout") && err.contains("[0, 0.5]"),
        "{err}"
    );
}

#[test]
fn oov_dropout_runs_are_reproducible() {
    let dir = temp_dir("i15fix-oov-repro");
    write_events(&dir);
    let a = run(&dir, "a", 2, "oov_dropout = 0.2");
    let b = run(&dir, "b", 2, "oov_dropout = 0.2");
    assert_eq!(
        std::fs::read(a.join("model.safetensors")).unwrap(),
        std::fs::read(b.join("model.safetensors")).unwrap()
    );
}

#[test]
fn best_epoch_is_one_based_in_summary_and_metrics() {
    let dir = temp_dir("i15fix-best");
    write_events(&dir);
    let out = run(&dir, "run", 4, "");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let lines: Vec<Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // epochs are numbered as the console prints them: 1/4 … 4/4
    let epochs: Vec<u64> = lines.iter().map(|l| l["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [1, 2, 3, 4]);
    // the best epoch is the line with the best valid click AUC (the first of equals)
    let score = |l: &Value| l["early_stopping"]["score"].as_f64().unwrap();
    let mut best = &lines[0];
    for l in &lines {
        if score(l) > score(best) {
            best = l;
        }
    }
    let best_epoch = best["epoch"].as_u64().unwrap();
    assert_eq!(
        summary["best_epoch"].as_u64(),
        Some(best_epoch),
        "{summary}"
    );
    let last = lines.last().unwrap();
    assert_eq!(
        last["early_stopping"]["best_epoch"].as_u64(),
        Some(best_epoch)
    );
    // and --resume still finds its epochs in the renumbered log
    let mut o = opts(&dir, "run.toml", "resumed");
    o.stop_after = Some(2);
    train(&o).unwrap();
    o.stop_after = None;
    o.resume = true;
    let resumed = train(&o).unwrap();
    assert_eq!(resumed["best_epoch"], summary["best_epoch"]);
}

#[test]
fn split_csv_names_the_set_of_every_row() {
    let dir = temp_dir("i15fix-split");
    write_events(&dir);
    let out = run(&dir, "run", 1, "");
    let text = std::fs::read_to_string(out.join("split.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("file,line,set"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 600, "one line per data row");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for (i, r) in rows.iter().enumerate() {
        assert!(r[0].ends_with("events.csv"), "{r:?}");
        // data line i + 2 (the header is line 1) is table row i
        assert_eq!(r[1], (i + 2).to_string());
        // the split of events_config: random, seed 7, 0.6 / 0.2
        let want = ["train", "valid", "test"][random_assignment(7, i as u64, 0.6, 0.2) as usize];
        assert_eq!(r[2], want, "row {i}");
    }
    for set in ["train", "valid", "test"] {
        let n = rows.iter().filter(|r| r[2] == set).count() as u64;
        assert_eq!(summary["rows"][set].as_u64(), Some(n), "{set}");
    }
}

#[test]
fn split_csv_marks_cold_rows_of_an_item_holdout_split() {
    let dir = temp_dir("i15fix-split-cold");
    write_events(&dir);
    let cfg = events_config(THREE_TASKS, 1, "").replace(
        "kind = \"random\"",
        "kind = \"item_holdout\"\nitem_column = \"item\"\nholdout = 0.2",
    );
    std::fs::write(dir.join("cold.toml"), cfg).unwrap();
    let summary = train(&opts(&dir, "cold.toml", "cold")).unwrap();
    let text = std::fs::read_to_string(dir.join("cold/split.csv")).unwrap();
    let cold = text.lines().filter(|l| l.ends_with(",cold")).count() as u64;
    assert!(cold > 0);
    assert_eq!(summary["rows"]["cold"].as_u64(), Some(cold), "{summary}");
    assert_eq!(text.lines().count(), 601);
}

fn mtrec(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn predict_writes_the_id_columns_and_counts_unseen_ids() {
    let dir = temp_dir("i15fix-predict");
    write_events(&dir);
    let run_dir = run(&dir, "run", 1, "");
    // five rows: two with an item training never saw, one with an unseen user
    let input = dir.join("new.csv");
    std::fs::write(
        &input,
        "user,item,price,genres\n1,2,3.0,a\n1,999,3.0,a\n77,2,1.0,b\n2,abc,2.0,c|zz\n3,4,1.0,\n",
    )
    .unwrap();
    let out = dir.join("scores.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let base = [
        "predict".to_string(),
        "--run".into(),
        s(&run_dir),
        "--input".into(),
        s(&input),
        "--output".into(),
        s(&out),
        "--force".into(),
    ];
    let args: Vec<&str> = base.iter().map(String::as_str).collect();
    let (ok, err) = mtrec(&args);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("line,user,item,click,buy,watch"));
    let keys: Vec<String> = lines
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(keys, ["2,1,2", "3,1,999", "4,77,2", "5,2,abc", "6,3,4"]);
    assert!(
        err.contains("user 1 of 5 rows") && err.contains("item 2 of 5 rows"),
        "{err}"
    );
    // `zz` is not a genre of the training rows
    assert!(err.contains("genres 1 of 5 rows"), "{err}");

    // --no-keys: only the line and the scores; --keep chooses the columns
    let mut no_keys = args.clone();
    no_keys.push("--no-keys");
    let (ok, err) = mtrec(&no_keys);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("line,click,buy,watch\n"), "{text}");
    let mut keep = args.clone();
    keep.extend(["--keep", "price"]);
    let (ok, err) = mtrec(&keep);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("line,price,click,buy,watch\n"), "{text}");
}

#[test]
fn a_seq_config_writes_its_numbers_as_given() {
    let text = r#"
[data]
dataset = "ml-100k"
dir = "ml-100k"
user_fraction = 0.3

[model]
dropout = 0.3

[train]
lr = 0.001
keyword_weight = 0.7
"#;
    let cfg = mtrec::train::seq::SeqRunConfig::parse(text, "test", &[]).unwrap();
    let toml = cfg.to_toml().unwrap();
    for line in [
        "user_fraction = 0.3\n",
        "dropout = 0.3\n",
        "lr = 0.001\n",
        "keyword_weight = 0.7\n",
        "like_weight = 1.0\n",
    ] {
        assert!(toml.contains(line), "`{}` not in\n{toml}", line.trim());
    }
    assert!(!toml.contains("0000"), "{toml}");
    // and it reads back to the same values
    let again = mtrec::train::seq::SeqRunConfig::parse(&toml, "again", &[]).unwrap();
    assert_eq!(again, cfg);
}

#[test]
fn a_run_folder_of_an_older_version_with_0_based_epochs_still_resumes() {
    let dir = temp_dir("i15fix-legacy");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 4, "")).unwrap();
    let mut o = opts(&dir, "run.toml", "old");
    o.stop_after = Some(2);
    train(&o).unwrap();
    // the log as older versions wrote it: epochs 0, 1
    let path = dir.join("old/metrics.jsonl");
    let old: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let e = v["epoch"].as_u64().unwrap();
            v["epoch"] = (e - 1).into();
            serde_json::to_string(&v).unwrap() + "\n"
        })
        .collect();
    assert!(old.starts_with("{") && old.contains("\"epoch\":0"), "{old}");
    std::fs::write(&path, old).unwrap();
    o.stop_after = None;
    o.resume = true;
    let s = train(&o).unwrap();
    assert_eq!(s["epochs_run"], 4);
    let lines = std::fs::read_to_string(&path).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
    // a log of both numberings (old lines, then new ones) resumes again
    std::fs::write(dir.join("run8.toml"), events_config(THREE_TASKS, 6, "")).unwrap();
    let mut more = opts(&dir, "run8.toml", "old");
    more.resume = true;
    more.allow_config_change = true;
    let s = train(&more).unwrap();
    assert_eq!(s["epochs_run"], 6);
}
