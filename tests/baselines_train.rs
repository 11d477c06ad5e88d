//! `mtrec train` and `mtrec seq` score the baselines beside the model: summary.json holds
//! them and a verdict per task, the console names every lost comparison, `baselines = []`
//! skips them, a chosen baseline without its column is an error naming what to set.

use mtrec::config::RunConfig;
use mtrec::data::sequences::{leave_last_out, SeqData};
use mtrec::train::run::{train, RunOptions};
use mtrec::train::seq::{fit, SeqFitOptions, SeqInputs, SeqRunConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-baselines-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `ratings.csv`: 1,200 rows of 40 users × 30 items, rating = 3 + a_u + c_i + noise
/// (additive, what `biases` models), like = rating ≥ 3.5.
fn write_ratings(dir: &Path) {
    let mut next = xorshift(99);
    let mut s = String::from("user_id,item_id,genre,rating,like\n");
    for _ in 0..1200 {
        let (u, i) = (next() % 40, next() % 30);
        let a = (u % 5) as f64 * 0.3 - 0.6;
        let c = (i % 7) as f64 * 0.25 - 0.75;
        let noise = ((next() % 1000) as f64 / 1000.0 - 0.5) * 0.4;
        let r = 3.0 + a + c + noise;
        s += &format!("{u},{i},g{},{r:.3},{}\n", i % 3, u8::from(r >= 3.5));
    }
    std::fs::write(dir.join("ratings.csv"), s).unwrap();
}

/// A run config for `ratings.csv`; `top` goes before the first section, `user`/`item`
/// name the id features.
fn config(top: &str, user: &str, item: &str, epochs: usize, lr: f64) -> String {
    format!(
        r#"{top}
[data]
files = ["ratings.csv"]
header = true

[[features]]
name = "{user}"
kind = "categorical"
dim = 4
[[features]]
name = "{item}"
kind = "categorical"
dim = 4
[[features]]
name = "genre"
kind = "categorical"
dim = 2

[[tasks]]
name = "rating"
type = "regression"
column = "rating"
[[tasks]]
name = "like"
type = "binary"
column = "like"

[split]
kind = "random"
seed = 5
train = 0.7
valid = 0.15

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]

[train]
lr = {lr}
batch_size = 64
epochs = {epochs}
seed = 1

[train.early_stopping]
task = "rating"
metric = "rmse"
direction = "min"
patience = 0
"#
    )
}

/// `ratings.csv` with a header naming the id columns `user`/`item`.
fn rename_header(dir: &Path, user: &str, item: &str) {
    let p = dir.join("ratings.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let body = text.split_once('\n').unwrap().1;
    std::fs::write(p, format!("{user},{item},genre,rating,like\n{body}")).unwrap();
}

fn opts(dir: &Path, cfg: &str, overrides: &[&str]) -> RunOptions {
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
    RunOptions {
        config: dir.join("run.toml"),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join("run"),
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
        resume: false,
        overwrite: true,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn summary_holds_the_baselines_and_a_verdict_per_task() {
    let dir = temp_dir("summary");
    write_ratings(&dir);
    let summary = train(&opts(&dir, &config("", "user_id", "item_id", 3, 0.01), &[])).unwrap();
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/summary.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk, summary);
    let b = &summary["baselines"];
    for name in ["popularity", "biases"] {
        for (task, metric) in [
            ("rating", "rmse"),
            ("rating", "mae"),
            ("like", "auc"),
            ("like", "logloss"),
        ] {
            assert!(
                b[name][task][metric].is_f64(),
                "baselines.{name}.{task}.{metric}: {b}"
            );
        }
        // the same rows as the model's test metrics
        assert_eq!(
            b[name]["rating"]["labelled"],
            summary["tasks"]["rating"]["test"]["labelled"]
        );
    }
    // the data are additive in user and item: biases explains more than the item alone
    let rmse = |n: &str| num(&b[n]["rating"]["rmse"]);
    assert!(rmse("biases") < rmse("popularity"), "{b}");
    assert!(
        rmse("biases") < 0.3,
        "noise sd ≈ 0.115, biases rmse {}",
        rmse("biases")
    );
    // each verdict is the comparison of the numbers
    for task in ["rating", "like"] {
        let t = &summary["tasks"][task];
        let v = &t["beats_baselines"];
        let mut all = true;
        for name in ["popularity", "biases"] {
            let (metric, higher) = if task == "rating" {
                ("rmse", false)
            } else {
                ("auc", true)
            };
            let (m, r) = (num(&t["test"][metric]), num(&b[name][task][metric]));
            let beats = if higher { m > r } else { m < r };
            assert_eq!(v[name][metric], beats, "{task} {name} {metric}: {m} vs {r}");
            all &= v[name].as_object().unwrap().values().all(|x| x == true);
        }
        assert_eq!(v["all"], all);
    }
}

#[test]
fn an_undertrained_model_is_shown_not_to_beat_biases() {
    let dir = temp_dir("console");
    write_ratings(&dir);
    std::fs::write(
        dir.join("run.toml"),
        config("", "user_id", "item_id", 1, 1e-6),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(["train", "--quiet", "--config"])
        .arg(dir.join("run.toml"))
        .arg("--data-dir")
        .arg(&dir)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("baselines on the test split"), "{err}");
    assert!(
        err.contains("model does NOT beat biases on rating RMSE"),
        "{err}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["tasks"]["rating"]["beats_baselines"]["biases"]["rmse"],
        false
    );
    assert_eq!(summary["tasks"]["rating"]["beats_baselines"]["all"], false);
}

#[test]
fn an_empty_list_skips_the_baselines() {
    let dir = temp_dir("skip");
    write_ratings(&dir);
    let s = train(&opts(
        &dir,
        &config("baselines = []", "user_id", "item_id", 1, 0.01),
        &[],
    ))
    .unwrap();
    assert!(s.get("baselines").is_none(), "{s}");
    assert!(s["tasks"]["rating"].get("beats_baselines").is_none());
    // the same from --set, and a chosen subset from the list
    let s = train(&opts(
        &dir,
        &config("", "user_id", "item_id", 1, 0.01),
        &["baselines=[]"],
    ))
    .unwrap();
    assert!(s.get("baselines").is_none(), "{s}");
    let s = train(&opts(
        &dir,
        &config(
            "baselines = [\"popularity\"]",
            "user_id",
            "item_id",
            1,
            0.01,
        ),
        &[],
    ))
    .unwrap();
    let names: Vec<&String> = s["baselines"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["popularity"]);
}

#[test]
fn columns_come_from_the_baselines_section_or_an_error_names_what_to_set() {
    let dir = temp_dir("columns");
    write_ratings(&dir);
    rename_header(&dir, "who", "what");
    // chosen, not found: an error naming the key to set
    let e = train(&opts(
        &dir,
        &config("baselines = [\"biases\"]", "who", "what", 1, 0.01),
        &[],
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("baselines.user_column") && e.contains("who, what, genre"),
        "{e}"
    );
    // unset: skipped and said so
    let s = train(&opts(&dir, &config("", "who", "what", 1, 0.01), &[])).unwrap();
    assert!(s.get("baselines").is_none());
    assert!(
        s["baselines_skipped"].to_string().contains("item_column"),
        "{s}"
    );
    // named in [baselines]
    let top = "[baselines]\nmodels = [\"popularity\", \"biases\"]\nuser_column = \"who\"\nitem_column = \"what\"\nlambda = 5.0\n";
    let s = train(&opts(&dir, &config(top, "who", "what", 1, 0.01), &[])).unwrap();
    assert!(s["baselines"]["biases"]["rating"]["rmse"].is_f64(), "{s}");
    // the run folder's config.toml keeps the section and loads back
    let back = RunConfig::from_file(dir.join("run/config.toml"), &[]).unwrap();
    assert_eq!(
        back.baselines.unwrap().0.user_column.as_deref(),
        Some("who")
    );
}

#[test]
fn config_refuses_transition_for_tables_and_unknown_names() {
    let dir = temp_dir("config");
    let check = |top: &str, want: &str| {
        std::fs::write(
            dir.join("c.toml"),
            config(top, "user_id", "item_id", 1, 0.01),
        )
        .unwrap();
        let e = RunConfig::from_file(dir.join("c.toml"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{top}: {e}");
    };
    check("baselines = [\"transition\"]", "mtrec seq");
    check("baselines = [\"popularty\"]", "popularity");
    check("[baselines]\nlambda = -1.0\n", "baselines.lambda");
    check("[baselines]\nsmoothin = 1.0\n", "smoothin");
}

/// 30 users walking a cycle of 12 items: every item is always followed by the next.
fn cycle_data() -> SeqData {
    let seqs: Vec<Vec<String>> = (0..30)
        .map(|u| {
            (0..6 + u % 4)
                .map(|j| format!("c{:02}", (u + j) % 12))
                .collect()
        })
        .collect();
    let users = (0..30).map(|u| format!("u{u}")).collect();
    SeqData::from_raw("cycle", users, seqs, None, 3).unwrap()
}

fn seq_config(top: &str) -> SeqRunConfig {
    let text = format!(
        "{top}\n[data]\ndataset = \"ml-100k\"\ndir = \"x\"\nmax_len = 8\n[model]\ndim = 8\nblocks = 1\nheads = 1\ndropout = 0.0\n[train]\nepochs = 1\nbatch_size = 16\nlr = 0.001\npatience = 0\n"
    );
    SeqRunConfig::parse(&text, "test config", &[]).unwrap()
}

#[test]
fn seq_scores_transition_and_popularity_with_the_model_protocol() {
    let data = cycle_data();
    let split = leave_last_out(&data).unwrap();
    let inputs = SeqInputs {
        data: &data,
        split: &split,
        text: None,
        text_dim: 0,
    };
    let fitted = fit(&seq_config(""), &inputs, &SeqFitOptions::default()).unwrap();
    let b = &fitted.summary["baselines"];
    // on a cycle the last item names the next one: transition ranks every target first
    assert_eq!(b["transition"]["hr10"], 1.0);
    assert_eq!(b["transition"]["ndcg10"], 1.0);
    assert_eq!(b["transition"]["users"], 30);
    // 12 near-equally popular items: popularity ranks the target anywhere
    assert!(num(&b["popularity"]["hr5"]) < 1.0, "{b}");
    // one epoch at lr 1e-3 does not learn the cycle: shown as not beating transition
    let v = &fitted.summary["beats_baselines"];
    assert_eq!(v["transition"]["ndcg10"], false, "{v}");
    assert_eq!(v["all"], false);
    // [] skips, biases is refused
    let none = fit(
        &seq_config("baselines = []"),
        &inputs,
        &SeqFitOptions::default(),
    )
    .unwrap();
    assert!(none.summary.get("baselines").is_none());
    let text =
        "baselines = [\"biases\"]\n[data]\ndataset = \"ml-100k\"\ndir = \"x\"\n[model]\n[train]\n";
    let e = SeqRunConfig::parse(text, "t", &[]).unwrap_err().to_string();
    assert!(e.contains("mtrec train"), "{e}");
}

#[test]
#[ignore = "needs ../shared/data"]
fn movielens_mmoe_reports_popularity_and_biases() {
    let data = std::env::var("MTREC_DATA").unwrap_or_else(|_| "../shared/data".into());
    let dir = temp_dir("movielens");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let opts = RunOptions {
        config: root.join("configs/movielens_mmoe.toml"),
        models_dir: None,
        data_dir: PathBuf::from(data),
        out: dir.join("run"),
        overrides: vec!["train.epochs=1".into()],
        resume: false,
        overwrite: true,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    };
    let s = train(&opts).unwrap();
    let b = &s["baselines"];
    // published item/user-bias RMSE on MovieLens 100K is ≈ 0.94; popularity (item mean) ≈ 1.0
    let biases = num(&b["biases"]["rating"]["rmse"]);
    let pop = num(&b["popularity"]["rating"]["rmse"]);
    assert!((0.88..0.98).contains(&biases), "biases rmse {biases}");
    assert!(biases < pop && pop < 1.08, "popularity rmse {pop}");
    assert!(num(&b["biases"]["like"]["auc"]) > 0.7, "{b}");
    assert!(s["tasks"]["rating"]["beats_baselines"]["all"].is_boolean());
}
