//! A tiny MMoE run with a text feature (the item's title embedded by the tiny BERT of
//! tests/tiny_bert_support through a MoE adaptor), a `[recommend]` section, and the
//! commands the s7rectext tests run on it with their own text cache (`MTREC_CACHE`).
#![allow(dead_code)]

#[path = "../tiny_bert_support/mod.rs"]
mod tiny_bert_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TITLES: [&str; 6] = [
    "toy story",
    "heat (1995)",
    "a",
    "toy",
    "story (1995)",
    "ab toy",
];

/// A scratch folder with the tiny BERT in `tiny-bert/`.
pub fn setup(tag: &str) -> (PathBuf, PathBuf) {
    let dir = tiny_bert_support::scratch("mtrec-s7rectext", tag);
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    tiny_bert_support::write_model(&model, 2, &tiny_bert_support::tiny(2));
    (dir, model)
}

/// Writes `rows.csv` (user, item, title, click, rating; 8 users × 6 items) and
/// `run.toml` (MMoE, the title a `text+id` feature of the item) into `dir`.
pub fn write_run(dir: &Path, model: &Path) {
    let mut csv = String::from("user,item,title,click,rating\n");
    for i in 0..300u32 {
        let (u, it) = (i % 8, (i * 5 + i / 8) % 6);
        let click = (u * 3 + it) % 2;
        let rating = 1 + (u + 2 * it) % 5;
        csv.push_str(&format!(
            "{u},{it},{},{click},{rating}\n",
            TITLES[it as usize]
        ));
    }
    std::fs::write(dir.join("rows.csv"), &csv).unwrap();
    let cfg = format!(
        r#"
[data]
files = ["rows.csv"]
header = true

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
[features.text]
column = "title"
mode = "text+id"
encoder = "{}"
adaptor = "moe"
experts = 2
dim = 4

[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "rating"
type = "regression"
column = "rating"

[split]
kind = "random"
seed = 3
train = 0.7
valid = 0.15

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]

[train]
epochs = 2
batch_size = 32
[train.early_stopping]
task = "click"
metric = "auc"
direction = "max"

[recommend]
user_column = "user"
item_column = "item"
user_features = ["user"]
item_features = ["item", "title"]
[recommend.fusion]
kind = "product"
weights = {{ click = 1.0, rating = 0.5 }}
"#,
        model.to_str().unwrap().replace('\\', "/")
    );
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
}

/// Runs the binary with `MTREC_CACHE = <dir>/cache`, `MTREC_DATA = dir`; (ok, stdout, stderr).
pub fn mtrec(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .env("MTREC_CACHE", dir.join("cache"))
        .env("MTREC_DATA", dir)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// Trains the text run into `<dir>/run`.
pub fn train(dir: &Path) -> PathBuf {
    train_into(dir, "run", &[])
}

/// Trains the text run into `<dir>/<name>` with `extra` flags (e.g. `--set ...`).
pub fn train_into(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let run = dir.join(name);
    let (cfg, data) = (dir.join("run.toml"), p(dir).to_string());
    let mut args = vec![
        "train",
        "--config",
        p(&cfg),
        "--data-dir",
        &data,
        "--out",
        p(&run),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = mtrec(dir, &args);
    assert!(ok, "mtrec train failed: {err}");
    run
}

/// One line of a list: user, item, task values (click, rating).
pub type Listed = (String, String, Vec<f64>);

/// `mtrec recommend --all-users --include-history --k <k> <extra>`: the lists and stderr.
pub fn recommend(dir: &Path, run: &Path, k: usize, extra: &[&str]) -> (Vec<Listed>, String) {
    let out = dir.join("lists.csv");
    let ks = k.to_string();
    let mut args = vec![
        "recommend",
        "--run",
        p(run),
        "--data-dir",
        p(dir),
        "--all-users",
        "--include-history",
        "--k",
        &ks,
        "--quiet",
        "--force",
        "--output",
        p(&out),
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = mtrec(dir, &args);
    assert!(ok, "mtrec recommend failed: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "user,rank,item,score,click,rating");
    let rows = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let v = f[4..].iter().map(|x| x.parse().unwrap()).collect();
            (f[0].to_string(), f[2].to_string(), v)
        })
        .collect();
    (rows, err)
}

/// The title of item `it` (each item has one).
pub fn title(it: &str) -> &'static str {
    TITLES[it.parse::<usize>().unwrap()]
}

/// `mtrec predict` on (user, item, title) rows: (user, item) → [click, rating].
pub fn predict(
    dir: &Path,
    run: &Path,
    pairs: &[(String, String)],
) -> BTreeMap<(String, String), Vec<f64>> {
    let rows: Vec<[String; 3]> = pairs
        .iter()
        .map(|(u, i)| [u.clone(), i.clone(), title(i).to_string()])
        .collect();
    let values = predict_rows(dir, run, &rows);
    rows.into_iter()
        .zip(values)
        .map(|([u, i, _], v)| ((u, i), v))
        .collect()
}

/// `mtrec predict` on `rows` (user, item, title): per row, [click, rating].
pub fn predict_rows(dir: &Path, run: &Path, rows: &[[String; 3]]) -> Vec<Vec<f64>> {
    let input = dir.join("pairs.csv");
    let mut csv = String::from("user,item,title\n");
    for [u, i, t] in rows {
        csv.push_str(&format!("{u},{i},{t}\n"));
    }
    std::fs::write(&input, csv).unwrap();
    let out = dir.join("predicted.csv");
    let (ok, _, err) = mtrec(
        dir,
        &[
            "predict",
            "--run",
            p(run),
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--force",
        ],
    );
    assert!(ok, "mtrec predict failed: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "line,user,item,click,rating");
    lines
        .map(|l| l.split(',').skip(3).map(|x| x.parse().unwrap()).collect())
        .collect()
}

/// Every task value of `a` within `tol` of `b`'s, item for item.
pub fn assert_close(a: &[Listed], b: &[Listed], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (&x.0, &x.1),
            (&y.0, &y.1),
            "different lists: {x:?} vs {y:?}"
        );
        for (u, v) in x.2.iter().zip(&y.2) {
            assert!((u - v).abs() <= tol, "{x:?} vs {y:?}");
        }
    }
}
