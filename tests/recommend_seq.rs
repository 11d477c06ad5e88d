//! `mtrec recommend` on an `mtrec seq` run (SASRec): a tiny Beauty-format data set is
//! written here, `mtrec seq` trains on it, then
//! - `--eval` gives exactly the run's test HR@K, NDCG@K and MRR (summary.json), K = 5, 10;
//! - the lists of `--all-users` equal a naive scoring: each user encoded alone, every item
//!   scored by its own dot product, history removed, a full sort;
//! - MMoE-only flags and unknown users are errors naming them.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::sequences::{Holdout, SeqBatch};
use mtrec::models::sasrec::SasRec;
use mtrec::train::seq::{load_data, model_config, SeqRunConfig};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CONFIG: &str =
    "[data]\ndataset = \"amazon-beauty\"\ndir = \"beauty-tiny\"\nseed = 7\nmax_len = 6\n\
[model]\ndim = 16\nblocks = 1\nheads = 2\ndropout = 0.0\n\
[train]\nepochs = 4\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = 3\n";

mod cli_support;

use cli_support::{mtrec, ok};

/// The data folder and the trained run, made once per test process.
fn trained() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("mtrec-recseq-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let data = root.join("data");
        cli_support::write_beauty_tiny(&data, 70);
        let cfg = root.join("tiny_sasrec.toml");
        std::fs::write(&cfg, CONFIG).unwrap();
        let run = root.join("run");
        cli_support::seq_train(&cfg, &data, &run);
        (data, run)
    })
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn recommend_seq_eval_equals_the_runs_test_metrics() {
    let (data, run) = trained();
    let summary = json(&std::fs::read_to_string(run.join("summary.json")).unwrap());
    let test = &summary["test"];
    for k in [5usize, 10] {
        let out = mtrec(&[
            "recommend",
            "--run",
            run.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--eval",
            "--k",
            &k.to_string(),
        ]);
        let m = json(&ok(&out));
        assert_eq!(m["users"], test["users"]);
        for (ours, theirs) in [
            ("hr", format!("hr{k}")),
            ("ndcg", format!("ndcg{k}")),
            ("mrr", "mrr".into()),
        ] {
            let (a, b) = (m[ours].as_f64().unwrap(), test[&theirs].as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-12,
                "K={k}: {ours} {a} vs mtrec seq's {theirs} {b}"
            );
        }
        // the written lists (history left out) are scored too: shares of the same users
        for f in ["lists_hr", "lists_ndcg", "lists_mrr", "coverage"] {
            let x = m[f].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&x), "{f} = {x}");
        }
    }
    assert!(
        test["hr10"].as_f64().unwrap() > 0.0,
        "the tiny model ranks some targets: {test}"
    );
}

/// Each user's list by the plainest means: the user alone through the encoder, one dot
/// product per item, history removed, a full sort (ties by smaller item id).
fn naive_lists(data_dir: &Path, run: &Path, k: usize) -> Vec<(String, Vec<(String, f32)>)> {
    let cfg = SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    let data = load_data(&cfg, data_dir).unwrap();
    let mcfg = model_config(&cfg, &data, 0).unwrap();
    let mut store = ParamStore::new();
    let model = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(99)).unwrap();
    mtrec::checkpoint::load_params(run.join("model.safetensors"), &mut store).unwrap();
    let (d, v) = (mcfg.dim, mcfg.num_items);
    let mut g = Graph::new(0);
    g.set_training(false);
    let mut out = Vec::new();
    for (u, seq) in data.seqs.iter().enumerate() {
        let h = Holdout {
            user: 0,
            history: seq.clone(),
            target: 1,
            rating: None,
        };
        let batch = SeqBatch::eval(&[&h], mcfg.max_len);
        g.reset();
        let hid = model.forward(&mut g, &store, &batch.input(), None).unwrap();
        let f = g.value(hid.h).to_vec();
        let m = g.value(hid.items).to_vec(); // (V+1, D)
        let mut scored: Vec<(f32, u32)> = (1..=v as u32)
            .filter(|i| !seq.contains(i))
            .map(|i| {
                let row = &m[i as usize * d..(i as usize + 1) * d];
                (f.iter().zip(row).map(|(a, b)| a * b).sum::<f32>(), i)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let list = scored
            .iter()
            .take(k)
            .map(|&(s, i)| (data.item_keys[i as usize].clone(), s))
            .collect();
        out.push((data.users[u].clone(), list));
    }
    out
}

#[test]
fn recommend_seq_lists_equal_naive_per_user_scoring() {
    let (data, run) = trained();
    let root = run.parent().unwrap();
    let csv = root.join("lists.csv");
    let _ = std::fs::remove_file(&csv);
    let out = mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--all-users",
        "--k",
        "5",
        "--output",
        csv.to_str().unwrap(),
        "--quiet",
    ]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pairs/s"), "{stderr}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "user,rank,item,score,next_item");
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let naive = naive_lists(data, run, 5);
    let expected: usize = naive.iter().map(|(_, l)| l.len()).sum();
    assert_eq!(rows.len(), expected, "one row per listed item");
    let mut at = 0;
    for (user, list) in &naive {
        let mut p_prev = f32::INFINITY;
        for (rank, (item, score)) in list.iter().enumerate() {
            let r = &rows[at];
            at += 1;
            assert_eq!(
                (&r[0], r[1].parse::<usize>().unwrap(), &r[2]),
                (user, rank + 1, item),
                "user {user} rank {}",
                rank + 1
            );
            let s: f32 = r[3].parse().unwrap();
            assert!((s - score).abs() < 1e-4, "{user} {item}: {s} vs {score}");
            let p: f32 = r[4].parse().unwrap();
            assert!(p > 0.0 && p < 1.0 && p <= p_prev + 1e-6, "P(next) {p}");
            p_prev = p;
        }
    }
}

#[test]
fn recommend_seq_refuses_mmoe_flags_and_unknown_users() {
    let (data, run) = trained();
    let root = run.parent().unwrap();
    let csv = root.join("refused.csv");
    let base = |extra: &[&str]| {
        let mut a = vec![
            "recommend",
            "--run",
            run.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--output",
            csv.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        mtrec(&a)
    };
    let out = base(&["--all-users", "--two-tower"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--two-tower") && err.contains("mtrec seq"),
        "{err}"
    );
    // --eval writes no seq lists: an --output beside it is an error, not a missing file
    let out = base(&["--eval"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--output"), "{err}");
    let users = root.join("users.csv");
    std::fs::write(&users, "user_id\nU001\nnobody\n").unwrap();
    let out = base(&["--users", users.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nobody"), "{err}");
    assert!(!csv.exists(), "no list file on error");
    // a known user gets a list of its own
    std::fs::write(&users, "user_id\nU001\n").unwrap();
    ok(&base(&["--users", users.to_str().unwrap(), "--k", "3"]));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().skip(1).all(|l| l.starts_with("U001,")));
}
