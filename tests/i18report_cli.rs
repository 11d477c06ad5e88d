//! `mtrec train --report` and `mtrec report` end to end on the small events table: the
//! page is rewritten after every epoch (a run stopped after one epoch has a page of one
//! epoch that says it has not finished), holds the run's own numbers at the end, and
//! `run_info.json` records the command line.

use std::path::Path;
use std::process::Command;

mod events_support;

use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");

fn train(dir: &Path, out: &str, extra: &[&str]) {
    let o = Command::new(BIN)
        .args(["train", "--quiet", "--report", "--config"])
        .arg(dir.join("run.toml"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn train_report_is_rewritten_every_epoch_and_report_compares_runs() {
    let dir = temp_dir("i18report-cli");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 3, "")).unwrap();

    // killed after its first epoch: the page already exists and says so
    train(&dir, "part", &["--stop-after", "1"]);
    let page = std::fs::read_to_string(dir.join("part/report.html")).unwrap();
    assert!(page.contains("<b>not finished</b>"), "after one epoch");
    assert!(page.contains("valid auc epoch 1: ") && !page.contains("valid auc epoch 2: "));
    assert!(page.contains("summary.json is missing"));

    train(&dir, "a", &[]);
    let a = dir.join("a");
    let page = std::fs::read_to_string(a.join("report.html")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    // the final table holds the run's test AUC of click, as the page formats numbers
    let auc = summary["tasks"]["click"]["test"]["auc"].as_f64().unwrap();
    assert!(
        page.contains(&format!("<td>{}</td>", mtrec::report::svg::num(auc))),
        "test auc {auc}"
    );
    assert!(page.contains("valid auc epoch 3: "), "every epoch drawn");
    assert!(!page.contains("summary.json is missing"));
    assert!(page.contains("--report"), "the command line is shown");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("run_info.json")).unwrap()).unwrap();
    let inv = &info["invocations"][0];
    assert!(inv["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "--report"));
    assert_eq!(inv["mtrec_version"], env!("CARGO_PKG_VERSION"));
    assert!(inv["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(inv["threads"].as_u64().is_some_and(|t| t >= 1));

    // two runs compared into a file of one's choosing
    train(&dir, "b", &["--set", "train.lr=0.05"]);
    let out = dir.join("cmp.html");
    let o = Command::new(BIN)
        .arg("report")
        .arg(&a)
        .arg(dir.join("b"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.contains("<h2>Comparison</h2>"));
    assert!(page.contains("<th>train.lr</th><td>0.01</td><td>0.05</td>"));
    assert!(page.contains("★"));

    // a folder that is not a run: an error naming it
    let o = Command::new(BIN)
        .arg("report")
        .arg(dir.join("nothing"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a run folder"));
}
