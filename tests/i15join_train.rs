//! Issue #15, side tables, end to end through the `mtrec` binary: a run with
//! `[[data.join]]` has the joined features in spec.json and the side tables in
//! data_files.json, equals the same run on a pre-joined CSV (metrics and predictions),
//! and `predict` / `eval` join the side tables too.

mod i15join_support;

use i15join_support::{config, mtrec, p, temp_dir, train, write_tables, JOINS};
use std::path::Path;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_joined_run_equals_the_run_on_a_pre_joined_csv_and_predict_joins_too() {
    let dir = temp_dir("train-equal");
    write_tables(&dir, 300);
    let joined = train(&dir, "joined", &config("interactions.csv", "", JOINS)).unwrap();
    let flat = train(&dir, "flat", &config("joined.csv", "", "")).unwrap();

    // the side tables' columns are features of the run
    let spec = std::fs::read_to_string(joined.join("spec.json")).unwrap();
    for name in ["\"genre\"", "\"price\"", "\"user_age\"", "\"user_gender\""] {
        assert!(spec.contains(name), "spec.json lacks {name}");
    }
    assert_eq!(
        spec,
        std::fs::read_to_string(flat.join("spec.json")).unwrap(),
        "the same vocabularies and scalings as on the pre-joined file"
    );
    let a = json(&joined.join("summary.json"));
    let b = json(&flat.join("summary.json"));
    assert!(a["tasks"]["click"]["test"]["auc"].as_f64().is_some());
    assert_eq!(a["tasks"], b["tasks"], "same metrics");
    assert_eq!(a["best_epoch"], b["best_epoch"]);

    // the side tables are part of the run's data fingerprint
    let files = json(&joined.join("data_files.json"));
    let names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["interactions.csv", "items.csv", "users.csv"]);

    // predict: raw interactions, joined with the run's side tables, score as the
    // pre-joined rows score on the pre-joined run
    let (ok, _, err) = mtrec(&[
        "predict",
        "--run",
        p(&joined),
        "--input",
        p(&dir.join("interactions.csv")),
        "--data-dir",
        p(&dir),
        "--output",
        p(&dir.join("joined_scores.csv")),
        "--keep",
        "item_id,genre",
    ]);
    assert!(ok, "predict on a joined run failed: {err}");
    let (ok, _, err) = mtrec(&[
        "predict",
        "--run",
        p(&flat),
        "--input",
        p(&dir.join("joined.csv")),
        "--output",
        p(&dir.join("flat_scores.csv")),
        "--keep",
        "item_id,genre",
    ]);
    assert!(ok, "{err}");
    let js = std::fs::read_to_string(dir.join("joined_scores.csv")).unwrap();
    let fs = std::fs::read_to_string(dir.join("flat_scores.csv")).unwrap();
    assert_eq!(js.lines().count(), 301, "one output row per input row");
    assert_eq!(js, fs);

    // predict stops at a row whose key the side table lacks, naming it
    let input = dir.join("new.csv");
    std::fs::write(&input, "user_id,item_id\nu1,100\nu2,555\n").unwrap();
    let (ok, _, err) = mtrec(&[
        "predict",
        "--run",
        p(&joined),
        "--input",
        p(&input),
        "--data-dir",
        p(&dir),
        "--output",
        p(&dir.join("new_scores.csv")),
    ]);
    assert!(!ok);
    assert!(
        err.contains("new.csv:3") && err.contains("`555`") && err.contains("items.csv"),
        "{err}"
    );
}

#[test]
fn eval_refuses_a_run_whose_side_table_changed() {
    let dir = temp_dir("train-eval");
    write_tables(&dir, 200);
    let run = train(&dir, "run", &config("interactions.csv", "", JOINS)).unwrap();
    let eval = || mtrec(&["eval", "--run", p(&run), "--data-dir", p(&dir)]);
    let (ok, out, err) = eval();
    assert!(ok, "{err}");
    assert!(out.contains("auc"), "{out}");
    let users = dir.join("users.csv");
    let text = std::fs::read_to_string(&users)
        .unwrap()
        .replace(",F\n", ",M\n");
    std::fs::write(&users, text).unwrap();
    let (ok, _, err) = eval();
    assert!(!ok, "eval used a changed side table silently");
    assert!(
        err.contains("users.csv") && err.contains("other contents"),
        "{err}"
    );
}

#[test]
fn train_skips_and_reports_rows_with_unknown_keys() {
    let dir = temp_dir("train-skip");
    write_tables(&dir, 200);
    let path = dir.join("interactions.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("u3,4242,1,2.5\n");
    std::fs::write(&path, text).unwrap();
    let err = train(&dir, "strict", &config("interactions.csv", "", JOINS)).unwrap_err();
    assert!(
        err.contains("interactions.csv:202") && err.contains("`4242`"),
        "{err}"
    );
    let run = train(
        &dir,
        "lenient",
        &config("interactions.csv", "bad_rows = \"skip\"", JOINS),
    )
    .unwrap();
    let report = std::fs::read_to_string(run.join("bad_rows.txt")).unwrap();
    assert!(report.contains("skipped 1 malformed row"), "{report}");
    assert!(
        report.contains("interactions.csv:202") && report.contains("`4242`"),
        "{report}"
    );
}

#[test]
#[ignore = "needs ../shared/data"]
fn the_movielens_plain_files_example_trains_with_its_side_tables() {
    let data = std::env::var("MTREC_DATA").expect("set MTREC_DATA to ../shared/data");
    let dir = temp_dir("train-movielens");
    let run = dir.join("run");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/example_join.toml");
    let (ok, _, err) = mtrec(&[
        "train",
        "--config",
        p(&config),
        "--data-dir",
        &data,
        "--out",
        p(&run),
        "--quiet",
        "--set",
        "train.epochs=1",
    ]);
    assert!(ok, "{err}");
    let spec = std::fs::read_to_string(run.join("spec.json")).unwrap();
    for name in ["\"user_occupation\"", "\"user_age\"", "\"film_noir\""] {
        assert!(spec.contains(name), "spec.json lacks {name}");
    }
    let files = std::fs::read_to_string(run.join("data_files.json")).unwrap();
    assert!(files.contains("ml-100k/u.item") && files.contains("ml-100k/u.user"));
    let summary = json(&run.join("summary.json"));
    assert!(summary["tasks"]["like"]["test"]["auc"].as_f64().unwrap() > 0.6);
}
