//! `mtrec seq` runs whose evaluation chose a transition prior β > 0 (issue #15,
//! `model.transition_prior`) are served as their metrics describe (issue #14 §1):
//! - `mtrec recommend`'s lists equal an independent brute-force ranking of the model's
//!   logits + β·ln(1 + c(a, j)) (counts taken by hand from the training split), history
//!   excluded, and differ from the model's own ranking;
//! - `mtrec recommend --eval` and `mtrec eval` give the run's summary HR@10 / NDCG@10 / MRR;
//! - the served recommend route equals `mtrec recommend` for the same user;
//! - `mtrec predict`'s ranks of the held-out targets give the summary HR@10 and NDCG@10,
//!   and its `score` is the logit plus the prior.

mod s8seqrec_support;
mod serve_support;

use s8seqrec_support::cli_support::{mtrec, ok};
use s8seqrec_support::*;
use serde_json::{json, Value};
use serve_support::Server;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One epoch at a small learning rate: a weak model, which the first-order counts of
/// beauty-tiny's strided sequences help, so validation picks a β > 0.
const CONFIG: &str =
    "[data]\nformat = \"sequences\"\ndir = \"beauty-tiny\"\nseed = 5\nmax_len = 6\n\
[model]\ndim = 16\nblocks = 1\nheads = 1\ndropout = 0.0\ntransition_prior = [0.5, 2, 8]\n\
[train]\nepochs = 1\nbatch_size = 16\nlr = 0.003\npatience = 0\nseed = 3\n";

fn trained() -> &'static (PathBuf, PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| train("prior", CONFIG, 70))
}

/// β of the run, which the fixture must have chosen > 0.
fn beta(run: &std::path::Path) -> f32 {
    let s = summary(run);
    let w = s["transition_prior"]["weight"].as_f64().unwrap() as f32;
    assert!(
        w > 0.0,
        "the fixture's run must rank with a prior: {}",
        s["transition_prior"]
    );
    w
}

#[test]
fn s8seqrec_recommend_lists_rank_logits_plus_the_prior_with_history_excluded() {
    let (root, data, run) = trained();
    let b = beta(run);
    let got = cli_lists(root, data, run, 5, "prior.csv");
    assert!(got.len() >= 60, "{} lists", got.len());
    assert_lists_equal(&got, &brute_lists(data, run, b, 5));
    // the prior changes the lists: the model's ranking alone is another one
    let alone = brute_lists(data, run, 0.0, 5);
    let differ = got
        .iter()
        .zip(&alone)
        .filter(|((_, g), (_, a))| g.iter().map(|x| &x.0).ne(a.iter().map(|x| &x.0)))
        .count();
    assert!(differ > 0, "no list changed with β = {b}");
}

#[test]
fn s8seqrec_recommend_eval_and_eval_give_the_runs_summary_metrics() {
    let (_, data, run) = trained();
    beta(run);
    let test = summary(run)["test"].clone();
    for k in [5usize, 10] {
        let m = cli_eval(data, run, k);
        assert_eq!(m["users"], test["users"]);
        for (ours, theirs) in [
            ("hr", format!("hr{k}")),
            ("ndcg", format!("ndcg{k}")),
            ("mrr", "mrr".into()),
        ] {
            let (a, b) = (m[ours].as_f64().unwrap(), test[&theirs].as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-12,
                "K={k}: {ours} {a} vs summary {theirs} {b}"
            );
        }
    }
    assert!(test["hr10"].as_f64().unwrap() > 0.0, "{test}");
    let m = json(&ok(&mtrec(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ])));
    for f in ["hr5", "ndcg5", "hr10", "ndcg10", "mrr"] {
        assert_eq!(m[f], test[f], "mtrec eval {f}");
    }
}

#[test]
fn s8seqrec_served_lists_equal_mtrec_recommend_with_the_prior() {
    let (root, data, run) = trained();
    beta(run);
    let k = 5;
    let want = cli_lists(root, data, run, k, "serve-want.csv");
    let cfg = mtrec::train::seq::SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    let seqs = mtrec::train::seq::load_data(&cfg, data).unwrap();
    let server = Server::start(
        root,
        &[&format!("sas={}", run.display())],
        &["--data-dir", data.to_str().unwrap(), "--threads", "1"],
    );
    // the metadata names the prior the lists rank with
    let m = server.call("GET", "/v2/models/sas", None).json();
    let w = m["parameters"]["transition_prior"].as_f64().unwrap();
    assert_eq!(w as f32, beta(run), "{m}");
    assert_eq!(m["parameters"]["item_input"], json!("id"));
    let post =
        |body: Value| server.call("POST", "/v1/models/sas/recommend", Some(&body.to_string()));
    let served = |reply: &Value| -> List {
        reply["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items in {reply}"))
            .iter()
            .map(|x| {
                (
                    x["item"].as_str().unwrap().to_string(),
                    x["score"].as_f64().unwrap(),
                    x["tasks"]["next_item"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let same = |user: &str, got: &List, want: &List| {
        let items = |l: &List| l.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(items(got), items(want), "user {user}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.1 - w.1).abs() < 2e-6 && (g.2 - w.2).abs() < 2e-6,
                "{user}: {g:?} vs {w:?}"
            );
        }
    };
    for (user, list) in want.iter().step_by(5) {
        let r = post(json!({ "user": user, "k": k }));
        assert_eq!(r.status, 200, "{}", r.text());
        same(user, &served(&r.json()), list);
        let u = seqs.users.iter().position(|x| x == user).unwrap();
        let h: Vec<&String> = seqs.seqs[u]
            .iter()
            .map(|&i| &seqs.item_keys[i as usize])
            .collect();
        let r = post(json!({ "history": h, "k": k }));
        assert_eq!(r.status, 200, "{}", r.text());
        same(user, &served(&r.json()), list);
    }
}

#[test]
fn s8seqrec_predict_ranks_held_out_targets_as_the_runs_metrics() {
    let (root, data, run) = trained();
    let b = beta(run);
    let cfg = mtrec::train::seq::SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    let seqs = mtrec::train::seq::load_data(&cfg, data).unwrap();
    let counts = train_counts(&seqs.seqs);
    let key = |i: u32| seqs.item_keys[i as usize].clone();
    let mut input = String::from("history,item\n");
    let mut prior = Vec::new(); // β·ln(1 + c(a, target)) per row
    for s in seqs.seqs.iter().filter(|s| s.len() >= 3) {
        let (h, t) = (&s[..s.len() - 1], s[s.len() - 1]);
        let words: Vec<String> = h.iter().map(|&i| key(i)).collect();
        input.push_str(&format!("{},{}\n", words.join(" "), key(t)));
        let c = counts.get(&(*h.last().unwrap(), t)).copied().unwrap_or(0);
        prior.push(b as f64 * (c as f64).ln_1p());
    }
    let (inp, out) = (root.join("pairs.csv"), root.join("scored.csv"));
    std::fs::write(&inp, input).unwrap();
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
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        head,
        [
            "line",
            "history",
            "item",
            "next_item_logit",
            "score",
            "next_item",
            "rank"
        ]
    );
    let (mut hr, mut ndcg, mut n) = (0f64, 0f64, 0usize);
    for (l, p) in lines.zip(&prior) {
        let f: Vec<&str> = l.split(',').collect();
        let (logit, score): (f64, f64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
        assert!(
            (score - logit - p).abs() < 1e-5,
            "{l}: score − logit vs prior {p}"
        );
        let rank: usize = f[6].parse().unwrap();
        if rank <= 10 {
            hr += 1.0;
            ndcg += 1.0 / ((rank + 1) as f64).log2();
        }
        n += 1;
    }
    assert_eq!(n, prior.len());
    let test = &summary(run)["test"];
    assert_eq!(test["users"].as_u64().unwrap() as usize, n);
    let (hr, ndcg) = (hr / n as f64, ndcg / n as f64);
    assert!(
        (hr - test["hr10"].as_f64().unwrap()).abs() < 1e-9,
        "HR@10 {hr} vs {test}"
    );
    assert!(
        (ndcg - test["ndcg10"].as_f64().unwrap()).abs() < 1e-9,
        "NDCG@10 {ndcg} vs {test}"
    );
}

/// A run that ranks with its history left out (`train.exclude_history = true`) and a prior:
/// `recommend --eval` and `eval` rank as its evaluation did (before s8, `--eval` kept the
/// history in the ranking and so differed from the summary).
#[test]
fn s8seqrec_recommend_eval_follows_the_runs_history_exclusion() {
    let cfg = CONFIG.replace("seed = 3\n", "seed = 3\nexclude_history = true\n");
    assert!(cfg.contains("exclude_history = true"));
    let (root, data, run) = train("exclude", &cfg, 70);
    beta(&run);
    let test = summary(&run)["test"].clone();
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
                "K={k}: {ours} {a} vs summary {theirs} {b}"
            );
        }
    }
    // the model alone with the history kept in would rank otherwise: the rule matters here
    let cfg0 = mtrec::train::seq::SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    assert!(cfg0.train.exclude_history);
    let _ = std::fs::remove_dir_all(&root);
}
