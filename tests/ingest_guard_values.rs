//! `data.bad_rows` for values (issue #13, items 10 and 15): a number or label that
//! cannot be used stops the run at its `path:line:field` under `error`, and under
//! `skip` costs exactly its row, which is counted and listed like a malformed row.
//! Missing markers are not bad values. A label too large for f32 (1e39) is named at
//! its place instead of turning into an infinite loss.

use mtrec::config::{BadRows, RunConfig};
use mtrec::data::features::{drop_bad_values, prepare};
use mtrec::data::loaders::load_table;
use mtrec::train::run::setup;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "mtrec-ingest-guard-values-{}-{n}-{tag}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run on `data.csv` (header `a,c,y,r`): numeric `a`, categorical `c`, binary task
/// `y`, regression task `r`; `extra` is appended to `[data]`.
fn config(dir: &Path, policy: BadRows, extra_task: &str) -> RunConfig {
    let policy = match policy {
        BadRows::Error => "error",
        BadRows::Skip => "skip",
    };
    let text = format!(
        r#"
[data]
files = ["data.csv"]
header = true
bad_rows = "{policy}"

[[features]]
name = "a"
kind = "numeric"
[[features]]
name = "c"
kind = "categorical"
dim = 2

[[tasks]]
name = "y"
type = "binary"
column = "y"
{extra_task}
[[tasks]]
name = "r"
type = "regression"
column = "r"

[split]
kind = "random"
seed = 1
train = 0.6
valid = 0.2

[model]
arch = "shared_bottom"
bottom = [4]
tower = [2]

[train]
epochs = 1
batch_size = 8
[train.early_stopping]
task = "y"
metric = "auc"
"#
    );
    let path = dir.join("run.toml");
    std::fs::write(&path, &text).unwrap();
    RunConfig::from_file(&path, &[]).unwrap()
}

/// 20 good rows (lines 2..=21), then `bad` (line 22), then 5 good rows.
fn write_data(dir: &Path, bad: &str) -> PathBuf {
    let mut s = String::from("a,c,y,r\n");
    for i in 0..20 {
        s.push_str(&format!(
            "{}.5,{},{},{}.25\n",
            i,
            ["x", "y"][i % 2],
            i % 2,
            i
        ));
    }
    s.push_str(bad);
    s.push('\n');
    for i in 0..5 {
        s.push_str(&format!("{i},x,{},0.5\n", i % 2));
    }
    let path = dir.join("data.csv");
    std::fs::write(&path, s).unwrap();
    path
}

/// Every kind of bad value: (row, 1-based field, words the message must hold).
const BAD: &[(&str, usize, &str)] = &[
    ("abc,x,1,0.5", 1, "expected a number"),
    ("nan,x,1,0.5", 1, "expected a finite number"),
    ("inf,x,1,0.5", 1, "expected a finite number"),
    ("1e39,x,1,0.5", 1, "expected a finite number"),
    ("1,x,2,0.5", 3, "0 or 1"),
    ("1,x,yes,0.5", 3, "0 or 1"),
    ("1,x,-1,0.5", 3, "0 or 1"),
    ("1,x,1,abc", 4, "a finite number within f32"),
    ("1,x,1,1e39", 4, "a finite number within f32"),
    ("1,x,1,-1e39", 4, "a finite number within f32"),
];

#[test]
fn error_policy_names_file_line_field_for_every_kind_of_bad_value() {
    for (i, &(row, field, words)) in BAD.iter().enumerate() {
        let dir = temp_dir(&format!("error-{i}"));
        let data = write_data(&dir, row);
        let msg = match setup(config(&dir, BadRows::Error, ""), &dir) {
            Ok(_) => panic!("`{row}` was accepted under bad_rows = \"error\""),
            Err(e) => e.to_string(),
        };
        let place = format!("{}:22:{field}:", data.display());
        assert!(msg.starts_with(&place), "`{row}`: {msg}");
        assert!(msg.contains(words), "`{row}`: {msg}");
        assert!(msg.contains("bad_rows = \"skip\""), "`{row}`: {msg}");
        assert!(!msg.contains("learning rate"), "`{row}`: {msg}");
    }
}

#[test]
fn skip_policy_drops_exactly_the_row_of_every_kind_of_bad_value() {
    for (i, &(row, _, words)) in BAD.iter().enumerate() {
        let dir = temp_dir(&format!("skip-{i}"));
        let data = write_data(&dir, row);
        let s = setup(config(&dir, BadRows::Skip, ""), &dir)
            .unwrap_or_else(|e| panic!("`{row}` stopped the run under skip: {e}"));
        let p = &s.prepared;
        let kept = p.train.len() + p.valid.len() + p.test.len();
        assert_eq!(kept, 25, "`{row}`: the other rows are kept");
        assert_eq!(s.skipped.count, 1, "`{row}`: {}", s.skipped.report());
        let r = &s.skipped.first[0];
        assert_eq!((r.path.as_str(), r.line), (data.to_str().unwrap(), 22));
        assert!(r.reason.contains(words), "`{row}`: {}", r.reason);
        assert_eq!(r.text, row);
        assert!(
            s.skipped.report().contains(":22: column `"),
            "{}",
            s.skipped.report()
        );
        // Every label and number that made it through is finite.
        for e in [&p.train, &p.valid, &p.test] {
            assert!(e.labels.iter().all(|y| y.is_finite()), "`{row}`");
            assert!(e.num.iter().all(|x| x.is_finite()), "`{row}`");
        }
    }
}

#[test]
fn missing_values_are_not_bad_values_under_either_policy() {
    for policy in [BadRows::Error, BadRows::Skip] {
        let dir = temp_dir("missing");
        // A missing number (filled), a missing binary label and a missing regression
        // label (masked).
        let mut s = String::from("a,c,y,r\n");
        for i in 0..20 {
            s.push_str(&format!("{i},x,{},{i}\n", i % 2));
        }
        s.push_str("NA,x,1,1\n2,y,,3\n4,x,0,?\n");
        std::fs::write(dir.join("data.csv"), s).unwrap();
        let cfg = config(&dir, policy, "");
        let mut table = load_table(&cfg.data, &dir, &cfg.needed_columns()).unwrap();
        let dropped =
            drop_bad_values(&mut table, &cfg.features, &cfg.tasks, &cfg.split, &cfg.data).unwrap();
        assert_eq!((dropped, table.num_rows()), (0, 23), "{policy:?}");
        assert!(table.skipped.is_empty());
        let p = prepare(
            &table,
            &cfg.features,
            &cfg.tasks,
            &cfg.split,
            &cfg.data.missing_values,
        )
        .unwrap();
        let masked: f32 = [&p.train, &p.valid, &p.test]
            .iter()
            .map(|e| e.mask.iter().filter(|&&m| m == 0.0).count() as f32)
            .sum();
        assert_eq!(masked, 2.0, "{policy:?}: two masked labels");
    }
}

#[test]
fn a_threshold_task_compares_large_numbers_and_skips_text() {
    // With `threshold`, 1e39 is a number (≥ 0.5: label 1); `yes` is not.
    let dir = temp_dir("threshold");
    write_data(&dir, "1,x,1e39,0.5");
    let s = setup(config(&dir, BadRows::Error, "threshold = 0.5"), &dir).unwrap();
    assert!(s.skipped.is_empty());
    write_data(&dir, "1,x,yes,0.5");
    let s = setup(config(&dir, BadRows::Skip, "threshold = 0.5"), &dir).unwrap();
    assert_eq!(s.skipped.count, 1);
    assert!(
        s.skipped.first[0].reason.contains("threshold"),
        "{:?}",
        s.skipped.first
    );
}

#[test]
fn a_huge_bad_value_is_shown_as_a_bounded_excerpt() {
    let huge = format!("1e{}", "9".repeat(100_000));
    for policy in [BadRows::Error, BadRows::Skip] {
        for (i, row) in [
            format!("{huge},x,1,0.5"),
            format!("1,x,1,{huge}"),
            format!("1,x,{huge},0.5"),
        ]
        .iter()
        .enumerate()
        {
            let dir = temp_dir(&format!("huge-{i}"));
            write_data(&dir, row);
            let text = match setup(config(&dir, policy, ""), &dir) {
                Err(e) => e.to_string(),
                Ok(s) => {
                    assert_eq!(s.skipped.count, 1, "{policy:?}");
                    s.skipped.report()
                }
            };
            assert!(
                text.contains(":22:"),
                "{policy:?} {i}: {}",
                &text[..300.min(text.len())]
            );
            assert!(text.len() < 1200, "{policy:?} {i}: {} bytes", text.len());
        }
    }
}
