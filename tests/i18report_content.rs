//! `mtrec report`'s page checked without a browser: series values, the best epoch, the
//! early-stopping decision, tables, notes on what a run folder lacks, the comparison of
//! several runs, HTML escaping, and that the page loads nothing.

use mtrec::report::{load_run, render};
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i18report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A `mtrec train` run folder by hand: two tasks, `aucs` the valid AUC of `click` per
/// epoch (early stopping on it with `patience`), `lr` per epoch.
fn write_run(dir: &Path, lr: f64, aucs: &[f64], patience: usize, epochs: usize, finished: bool) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[model]\narch = \"mmoe\"\nnum_experts = 2\n\n[train]\nlr = {lr}\nepochs = {epochs}\nbalance = \"uncertainty\"\n\n[train.early_stopping]\ntask = \"click\"\nmetric = \"auc\"\npatience = {patience}\n\n[[tasks]]\nname = \"click\"\ntype = \"binary\"\ncolumn = \"click\"\n\n[[tasks]]\nname = \"watch\"\ntype = \"regression\"\ncolumn = \"watch\"\n"
        ),
    )
    .unwrap();
    let mut best: Option<(usize, f64)> = None;
    let mut lines = String::new();
    for (e, &auc) in aucs.iter().enumerate() {
        if best.is_none_or(|(_, b)| auc > b) {
            best = Some((e, auc));
        }
        let (be, b) = best.unwrap();
        let line = serde_json::json!({
            "epoch": e,
            "train_loss": { "click": 0.7 - 0.01 * e as f64, "watch": 1.5 - 0.1 * e as f64 },
            "valid": { "click": { "auc": auc, "logloss": 0.6, "labelled": 100.0 },
                       "watch": { "rmse": 1.25 - 0.01 * e as f64, "mae": 1.0 } },
            "early_stopping": { "task": "click", "metric": "auc", "score": auc, "best": b, "best_epoch": be },
            "task_weights": [1.0 + 0.125 * e as f64, 0.5],
            "gate_weights": [[0.875, 0.125], [0.25, 0.75]],
            "task_gradient_cosines": [1.0, -0.375, -0.375, 1.0],
            "lr": lr * (1.0 - 0.0625 * e as f64),
            "samples_per_s": 1000.0,
        });
        lines.push_str(&format!("{line}\n"));
    }
    std::fs::write(dir.join("metrics.jsonl"), lines).unwrap();
    if finished {
        let (be, b) = best.unwrap();
        let summary = serde_json::json!({
            "model": "mmoe", "best_epoch": be, "epochs_run": aucs.len(),
            "train_samples_per_s": 1234.5, "threads": 2, "seconds": 9.75,
            "tasks": {
                "click": { "type": "binary", "valid": { "auc": b, "logloss": 0.6 }, "test": { "auc": b - 0.0125, "logloss": 0.61 } },
                "watch": { "type": "regression", "valid": { "rmse": 1.2 }, "test": { "rmse": 1.21 } }
            }
        });
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    }
    std::fs::write(
        dir.join("run_info.json"),
        r#"{"invocations":[{"command_line":["mtrec","train","--config","c.toml"],"mtrec_version":"0.1.0","commit":"abc123","host":"box","os":"linux","arch":"x86_64","cpu":"Test CPU","cores":8,"threads":2}]}"#,
    )
    .unwrap();
}

fn page_of(dirs: &[&Path]) -> String {
    let runs: Vec<_> = dirs.iter().map(|d| load_run(d).unwrap()).collect();
    render(&runs)
}

#[test]
fn one_run_shows_series_best_epoch_early_stopping_and_tables() {
    let d = temp_dir("one").join("run_a");
    // best at epoch 2 (1-based), then 2 epochs without improvement = patience 2
    write_run(&d, 0.01, &[0.61, 0.7125, 0.69, 0.6875], 2, 10, true);
    let p = page_of(&[&d]);
    // every valid AUC of the series is a point of the chart
    for (e, v) in ["0.61", "0.7125", "0.69", "0.6875"].iter().enumerate() {
        let point = format!("valid auc epoch {}: {v}</title>", e + 1);
        assert!(p.contains(&point), "{point} missing");
    }
    // learning rate per epoch (0.01 · (1 − e/16))
    assert!(
        p.contains("learning rate epoch 2: 0.009375</title>"),
        "lr series missing"
    );
    // task weights over time, gate heat map cells, cosine matrix
    assert!(
        p.contains("click epoch 3: 1.25</title>"),
        "task weight series missing"
    );
    assert!(
        p.contains("click × e0: 0.875</title>"),
        "gate heat map missing"
    );
    assert!(
        p.contains("click × watch: -0.375</title>"),
        "cosine heat map missing"
    );
    assert!(
        p.contains("click · watch epoch 1: -0.375</title>"),
        "cosine series missing"
    );
    assert!(p.contains("train.balance = &quot;uncertainty&quot;"));
    // the best epoch marked and the decision explained
    assert!(
        p.contains("best epoch 2</text>"),
        "best epoch not marked on the charts"
    );
    assert!(p.contains("<b>Best epoch 2</b> by valid auc of click = 0.7125"));
    assert!(p.contains("<b>stopped early</b> after epoch 4: 2 epochs without improvement reached the patience of 2"));
    // final metrics table, run facts
    assert!(
        p.contains("<th>test auc</th>") && p.contains("<td>0.7</td>"),
        "test auc of the best epoch missing"
    );
    for fact in [
        "mtrec train --config c.toml",
        "0.1.0 (commit abc123)",
        "box · linux/x86_64 · Test CPU · 8 cores",
        "9.75 s",
        "1234",
    ] {
        assert!(p.contains(fact), "{fact} missing");
    }
    assert!(
        !p.contains("Missing or incomplete"),
        "a complete run has no notes"
    );
}

#[test]
fn a_run_that_ran_all_epochs_says_so() {
    let d = temp_dir("all").join("r");
    write_run(&d, 0.01, &[0.5, 0.55, 0.6], 5, 3, true);
    let p = page_of(&[&d]);
    assert!(p.contains("Training ran all 3 epochs (train.epochs); 0 epochs without improvement at the end, patience 5."));
    assert!(p.contains("best epoch 3</text>"));
}

#[test]
fn a_killed_run_shows_what_is_there_and_what_is_missing() {
    let d = temp_dir("killed").join("r");
    write_run(&d, 0.01, &[0.5, 0.625], 5, 10, false);
    std::fs::remove_file(d.join("run_info.json")).unwrap();
    // a kill in the middle of the third line
    let mut m = std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
    m.push_str(r#"{"epoch":2,"train_loss":{"cli"#);
    std::fs::write(d.join("metrics.jsonl"), m).unwrap();
    let p = page_of(&[&d]);
    assert!(p.contains("Missing or incomplete"));
    assert!(p.contains("metrics.jsonl line 3 is cut short"));
    assert!(p.contains("summary.json is missing"));
    assert!(p.contains("run_info.json is missing"));
    assert!(p.contains("<b>not finished</b> (still training, or killed) after epoch 2 of 10"));
    // the two complete epochs are still drawn
    assert!(p.contains("valid auc epoch 2: 0.625</title>"));
}

#[test]
fn an_old_format_run_and_a_folder_with_only_a_config() {
    let d = temp_dir("old").join("r");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("config.toml"), "[train]\nlr = 0.003\n").unwrap();
    // lines of an older mtrec: no lr, weights, gates or cosines
    std::fs::write(
        d.join("metrics.jsonl"),
        "{\"epoch\":0,\"train_loss\":{\"ctr\":0.5},\"valid\":{\"ctr\":{\"auc\":0.75}}}\n",
    )
    .unwrap();
    let p = page_of(&[&d]);
    assert!(p.contains("Not recorded per epoch in metrics.jsonl; the config's train.lr is 0.003"));
    assert!(p.contains("No task weights, gate weights or task-gradient cosines"));
    assert!(
        p.contains("ctr: valid auc"),
        "tasks named by the lines when the config has none"
    );
    assert!(
        p.contains("No early-stopping record") || p.contains("valid auc epoch 1: 0.75</title>")
    );

    let only = temp_dir("only").join("r");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::write(only.join("config.toml"), "[train]\nlr = 0.1\n").unwrap();
    let p = page_of(&[&only]);
    assert!(p.contains("metrics.jsonl is missing"));
    assert!(p.contains("no data recorded") || p.contains("No early-stopping record"));
}

#[test]
fn not_a_run_folder_is_an_error_that_says_what_to_give() {
    let d = temp_dir("empty");
    let e = load_run(&d).unwrap_err().to_string();
    assert!(e.contains("is not a run folder"), "{e}");
    assert!(load_run(&d.join("nope")).is_err());
}

#[test]
fn several_runs_are_compared_with_best_marked_and_differing_keys() {
    let root = temp_dir("cmp");
    let (a, b) = (root.join("lr_small"), root.join("lr_large"));
    write_run(&a, 0.01, &[0.6, 0.65], 5, 2, true);
    write_run(&b, 0.05, &[0.6, 0.75], 5, 2, true);
    let p = page_of(&[&a, &b]);
    assert!(p.contains("<h2>Comparison</h2>"));
    // overlaid curves: one line per run, named by the folder
    assert!(
        p.contains("lr_small epoch 2: 0.65</title>")
            && p.contains("lr_large epoch 2: 0.75</title>")
    );
    // the final metrics side by side; the better run per metric marked
    let row = |label: &str| {
        let i = p
            .find(&format!("<th>{label}</th>"))
            .unwrap_or_else(|| panic!("row {label}"));
        p[i..i + p[i..].find("</tr>").unwrap()].to_string()
    };
    let auc = row("click valid auc");
    assert!(
        auc.contains("<td>0.65</td>") && auc.contains(r#"<td class="best">★ 0.75</td>"#),
        "{auc}"
    );
    // RMSE: lower is better (both equal here: both marked)
    assert!(row("watch test rmse").matches("★").count() == 2);
    // config keys that differ: lr only (epochs, patience, tasks equal)
    let i = p.find("Config keys that differ").unwrap();
    let diff = &p[i..i + p[i..].find("</table>").unwrap()];
    assert!(
        diff.contains("<th>train.lr</th><td>0.01</td><td>0.05</td>"),
        "{diff}"
    );
    assert!(
        !diff.contains("train.epochs") && !diff.contains("tasks[0].name"),
        "{diff}"
    );
}

#[test]
fn config_strings_are_escaped_and_the_page_loads_nothing() {
    let d = temp_dir("esc").join("r");
    write_run(&d, 0.01, &[0.5], 5, 1, true);
    let mut c = std::fs::read_to_string(d.join("config.toml")).unwrap();
    c = c.replace(
        "name = \"watch\"",
        "name = \"<script>alert('x')</script>&\"",
    );
    std::fs::write(d.join("config.toml"), c).unwrap();
    let p = page_of(&[&d]);
    assert!(
        !p.contains("<script"),
        "a config string reached the page unescaped"
    );
    assert!(p.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
    // self-contained: no scripts, no external resources
    for bad in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!p.contains(bad), "page refers outside itself: {bad}");
    }
    assert!(p.starts_with("<!DOCTYPE html>") && p.trim_end().ends_with("</html>"));
}
