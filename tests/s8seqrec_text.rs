//! `mtrec seq` runs with text items (`model.item_input = "text"` and `"text+id"`; the item
//! texts embedded by the tiny BERT of tests/tiny_bert_support) in `mtrec recommend`,
//! `mtrec serve`, `mtrec eval` and `mtrec predict` (all refused them before s8): the item
//! matrix is built once at load through the text cache, and
//! - `recommend --eval` and `eval` give the run's summary test metrics;
//! - `recommend`'s lists equal the ranking of the run's own pair scores (`mtrec predict`
//!   of every (user, item)), history left out;
//! - the served recommend route equals `mtrec recommend` for the same user.

mod s8seqrec_support;
mod serve_support;
#[path = "tiny_bert_support/mod.rs"]
mod tiny_bert_support;

use s8seqrec_support::cli_support::{mtrec, ok, seq_train, write_beauty_tiny};
use s8seqrec_support::{cli_eval, cli_lists, json, summary, List};
use serde_json::{json, Value};
use serve_support::Server;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const WORDS: [&str; 6] = [
    "toy story",
    "heat (1995)",
    "a",
    "toy",
    "story (1995)",
    "ab toy",
];

/// beauty-tiny with a text per item, the tiny BERT, and a run reading `item_input`.
fn trained(item_input: &str) -> (PathBuf, PathBuf, PathBuf) {
    let tag = item_input.replace('+', "-");
    let root = tiny_bert_support::scratch("mtrec-s8seqrec-text", &tag);
    let data = root.join("data");
    write_beauty_tiny(&data, 50);
    let texts: String = (0..30)
        .map(|i| format!("B{i:03}\t{} {}\n", WORDS[i % 6], WORDS[(i / 6) % 6]))
        .collect();
    std::fs::write(data.join("beauty-tiny/items.txt"), texts).unwrap();
    let model = root.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    tiny_bert_support::write_model(&model, 2, &tiny_bert_support::tiny(2));
    let cfg = format!(
        "[data]\nformat = \"sequences\"\ndir = \"beauty-tiny\"\nitem_text = \"items.txt\"\nseed = 5\nmax_len = 6\n\
         [model]\nitem_input = \"{item_input}\"\ntext_model = \"{}\"\ntext_cache = \"{}\"\n\
         dim = 16\nblocks = 1\nheads = 1\ndropout = 0.0\n\
         [train]\nepochs = 2\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = 3\n",
        model.display(),
        root.join("cache").display()
    );
    let cfg_path = root.join("run.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let run = root.join("run");
    seq_train(&cfg_path, &data, &run);
    (root, data, run)
}

/// The lists of the run's own pair scores: `mtrec predict` of every (user, item) pair of
/// `users`, ranked by `next_item_logit`, the user's history left out, ties by item order
/// in the catalogue. user → [(item, logit)].
fn predicted_lists(
    root: &Path,
    data: &Path,
    run: &Path,
    users: &[String],
    k: usize,
) -> Vec<(String, Vec<(String, f64)>)> {
    let cfg = mtrec::train::seq::SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    let seqs = mtrec::train::seq::load_data(&cfg, data).unwrap();
    let mut input = String::from("user,item\n");
    for u in users {
        for item in &seqs.item_keys[1..] {
            input.push_str(&format!("{u},{item}\n"));
        }
    }
    let (inp, out) = (
        root.join("all-pairs.csv"),
        root.join("all-pairs-scored.csv"),
    );
    std::fs::write(&inp, input).unwrap();
    let _ = std::fs::remove_file(&out);
    ok(&mtrec(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--input",
        inp.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]));
    let index: HashMap<&str, usize> = seqs
        .item_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut by_user: HashMap<String, Vec<(f64, usize)>> = HashMap::new();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "line,user,item,next_item_logit,next_item,rank"
    );
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        by_user
            .entry(f[1].to_string())
            .or_default()
            .push((f[3].parse().unwrap(), index[f[2]]));
    }
    users
        .iter()
        .map(|u| {
            let seq = &seqs.seqs[seqs.users.iter().position(|x| x == u).unwrap()];
            let mut s: Vec<(f64, usize)> = by_user[u]
                .iter()
                .copied()
                .filter(|(_, i)| !seq.contains(&(*i as u32)))
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let list = s
                .iter()
                .take(k)
                .map(|&(x, i)| (seqs.item_keys[i].clone(), x))
                .collect();
            (u.clone(), list)
        })
        .collect()
}

fn check(item_input: &str) {
    let (root, data, run) = trained(item_input);
    assert_eq!(summary(&run)["item_input"], json!(item_input));
    let test = summary(&run)["test"].clone();
    // --eval and eval: the run's own test metrics
    for k in [5usize, 10] {
        let m = cli_eval(&data, &run, k);
        for (ours, theirs) in [
            ("hr", format!("hr{k}")),
            ("ndcg", format!("ndcg{k}")),
            ("mrr", "mrr".into()),
        ] {
            let (a, b) = (m[ours].as_f64().unwrap(), test[&theirs].as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-12,
                "{item_input} K={k}: {ours} {a} vs summary {theirs} {b}"
            );
        }
    }
    let m = json(&ok(&mtrec(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ])));
    for f in ["hr5", "ndcg5", "hr10", "ndcg10", "mrr"] {
        assert_eq!(m[f], test[f], "{item_input}: mtrec eval {f}");
    }
    // the lists: the ranking of the run's own pair scores
    let k = 5;
    let lists = cli_lists(&root, &data, &run, k, "text.csv");
    assert!(lists.len() >= 45, "{} lists", lists.len());
    let users: Vec<String> = lists.iter().step_by(6).map(|(u, _)| u.clone()).collect();
    let want = predicted_lists(&root, &data, &run, &users, k);
    for (u, w) in &want {
        let got = &lists.iter().find(|(x, _)| x == u).unwrap().1;
        let items = |l: Vec<&String>| l.into_iter().cloned().collect::<Vec<_>>();
        assert_eq!(
            items(got.iter().map(|x| &x.0).collect()),
            items(w.iter().map(|x| &x.0).collect()),
            "{item_input} user {u}"
        );
        for (g, w) in got.iter().zip(w) {
            assert!(
                (g.1 - w.1).abs() < 2e-6,
                "{item_input} {u} {}: {} vs {}",
                g.0,
                g.1,
                w.1
            );
        }
    }
    // serve: the same lists
    let server = Server::start(
        &root,
        &[&format!("sas={}", run.display())],
        &["--data-dir", data.to_str().unwrap(), "--threads", "1"],
    );
    let m = server.call("GET", "/v2/models/sas", None).json();
    assert_eq!(m["parameters"]["item_input"], json!(item_input), "{m}");
    for (user, list) in lists.iter().step_by(9) {
        let body = json!({ "user": user, "k": k }).to_string();
        let r = server.call("POST", "/v1/models/sas/recommend", Some(&body));
        assert_eq!(r.status, 200, "{}", r.text());
        let reply: Value = r.json();
        let got: List = reply["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["item"].as_str().unwrap().to_string(),
                    x["score"].as_f64().unwrap(),
                    x["tasks"]["next_item"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), list.len());
        for (g, w) in got.iter().zip(list) {
            assert_eq!(g.0, w.0, "{item_input} user {user}");
            assert!(
                (g.1 - w.1).abs() < 2e-6 && (g.2 - w.2).abs() < 2e-6,
                "{g:?} vs {w:?}"
            );
        }
    }
}

#[test]
fn s8seqrec_text_items_are_recommended_served_and_evaluated_as_the_run_scores() {
    check("text");
}

#[test]
fn s8seqrec_text_and_id_items_are_recommended_served_and_evaluated_as_the_run_scores() {
    check("text+id");
}
