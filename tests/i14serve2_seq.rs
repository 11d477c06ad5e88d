//! `mtrec serve` for an `mtrec seq` run (SASRec; issue #14): the recommend route ranks
//! the catalogue from an item history (original item ids) and its lists equal
//! `mtrec recommend`'s on that run for the user with that history; `user` reads the
//! run's own sequence; `GET /v2/models/{name}` describes the model; `/infer` and
//! malformed requests are JSON 400s naming what is wrong.

mod cli_support;
mod serve_support;

use cli_support::{mtrec, ok};
use mtrec::train::seq::{load_data, SeqRunConfig};
use serde_json::{json, Value};
use serve_support::Server;
use std::path::{Path, PathBuf};

const CONFIG: &str =
    "[data]\ndataset = \"amazon-beauty\"\ndir = \"beauty-tiny\"\nseed = 7\nmax_len = 6\n\
[model]\ndim = 16\nblocks = 1\nheads = 2\ndropout = 0.0\n\
[train]\nepochs = 3\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = 3\n";

/// A tiny Beauty-format data set and a SASRec run trained on it: (root, data, run).
fn trained() -> (PathBuf, PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("mtrec-i14serve2-seq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    cli_support::write_beauty_tiny(&data, 60);
    let cfg = root.join("tiny_sasrec.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let run = root.join("run");
    cli_support::seq_train(&cfg, &data, &run);
    (root, data, run)
}

/// One list: (item, score, next_item) best first.
type List = Vec<(String, f64, f64)>;

/// `mtrec recommend --all-users` on the seq run: user → [(item, score, next_item)].
fn cli_lists(root: &Path, data: &Path, run: &Path, k: usize) -> Vec<(String, List)> {
    let out = root.join("recs.csv");
    ok(&mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--all-users",
        "--k",
        &k.to_string(),
        "--output",
        out.to_str().unwrap(),
    ]));
    let mut lists: Vec<(String, List)> = Vec::new();
    for line in std::fs::read_to_string(&out).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let row = (
            f[2].to_string(),
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
        );
        match lists.last_mut() {
            Some((u, l)) if u == f[0] => l.push(row),
            _ => lists.push((f[0].to_string(), vec![row])),
        }
    }
    lists
}

fn served_list(reply: &Value) -> Vec<(String, f64, f64)> {
    reply["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {reply}"))
        .iter()
        .enumerate()
        .map(|(i, x)| {
            assert_eq!(x["rank"], json!(i + 1));
            (
                x["item"].as_str().unwrap().to_string(),
                x["score"].as_f64().unwrap(),
                x["tasks"]["next_item"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_same(user: &str, got: &[(String, f64, f64)], want: &[(String, f64, f64)]) {
    let items = |l: &[(String, f64, f64)]| l.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(items(got), items(want), "user {user}: items differ");
    for (g, w) in got.iter().zip(want) {
        // the command writes 6 decimals
        assert!(
            (g.1 - w.1).abs() < 2e-6,
            "user {user}, {}: score {} vs {}",
            g.0,
            g.1,
            w.1
        );
        assert!(
            (g.2 - w.2).abs() < 2e-6,
            "user {user}, {}: p {} vs {}",
            g.0,
            g.2,
            w.2
        );
    }
}

#[test]
fn a_served_seq_run_recommends_from_a_history_as_mtrec_recommend_does() {
    let (root, data, run) = trained();
    let k = 5;
    let want = cli_lists(&root, &data, &run, k);
    assert!(want.len() >= 50, "{} lists", want.len());
    // the users' histories in original item ids, as a client would send them
    let cfg = SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    let seqs = load_data(&cfg, &data).unwrap();
    let history = |user: &str| -> Vec<String> {
        let u = seqs.users.iter().position(|x| x == user).unwrap();
        seqs.seqs[u]
            .iter()
            .map(|&i| seqs.item_keys[i as usize].clone())
            .collect()
    };

    let run_arg = format!("sas={}", run.display());
    let server = Server::start(
        &root,
        &[&run_arg],
        &["--data-dir", data.to_str().unwrap(), "--threads", "1"],
    );
    let post =
        |body: Value| server.call("POST", "/v1/models/sas/recommend", Some(&body.to_string()));

    for (user, list) in want.iter().step_by(7) {
        let h = history(user);
        let r = post(json!({ "history": h, "k": k }));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_same(user, &served_list(&r.json()), list);
        // the run's own sequence of the user: the same list, and the user named
        let r = post(json!({ "user": user, "k": k }));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["user"], json!(user));
        assert_same(user, &served_list(&r.json()), list);
    }

    // metadata describes the seq model
    let m = server.call("GET", "/v2/models/sas", None);
    assert_eq!(m.status, 200, "{}", m.text());
    let m = m.json();
    assert_eq!(m["name"], json!("sas"));
    assert_eq!(m["parameters"]["model"], json!("sasrec"));
    let v = m["parameters"]["num_items"].as_u64().unwrap() as usize;
    assert_eq!(v, seqs.item_keys.len() - 1);
    assert!(v > 20, "{v} items");
    assert_eq!(m["parameters"]["max_len"], json!(6));
    assert_eq!(m["inputs"][0]["name"], json!("history"));
    assert_eq!(
        m["parameters"]["recommend"],
        json!("/v1/models/sas/recommend")
    );
    // history left in: the history's items may come back; left out (default): never
    let (user, _) = &want[3];
    let h = history(user);
    let r = post(json!({ "history": h, "k": v, "exclude_history": false }));
    assert_eq!(r.status, 200, "{}", r.text());
    let all = served_list(&r.json());
    assert_eq!(all.len(), v, "the whole catalogue is ranked");
    let r = post(json!({ "history": h, "k": v }));
    let left = served_list(&r.json());
    assert!(left.iter().all(|x| !h.contains(&x.0)));
    assert_eq!(
        left.len() + h.iter().collect::<std::collections::BTreeSet<_>>().len(),
        v
    );

    // an allow-list: only those items, in the order of the full ranking
    let allow: Vec<String> = all.iter().rev().take(4).map(|x| x.0.clone()).collect();
    let r = post(json!({ "history": h, "k": 10, "candidates": allow, "exclude_history": false }));
    assert_eq!(r.status, 200, "{}", r.text());
    let got: Vec<String> = served_list(&r.json()).into_iter().map(|x| x.0).collect();
    let mut expect = allow.clone();
    expect.reverse();
    assert_eq!(got, expect);

    // unknown history ids are left out and counted
    let mut h2 = h.clone();
    h2.push("NOT-AN-ITEM".into());
    let r = post(json!({ "history": h2, "k": k }));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["unknown_history"], json!(1));
    assert_same(user, &served_list(&r.json()), &want[3].1);

    let ready = server.call("GET", "/v2/models/sas/ready", None);
    assert_eq!(ready.status, 200, "{}", ready.text());

    // what is refused, with a JSON error naming the field
    for (body, needle) in [
        (json!({ "k": 5 }), "`history` is missing"),
        (
            json!({ "history": h, "user": user }),
            "both `history` and `user`",
        ),
        (json!({ "history": "B001" }), "`history`"),
        (json!({ "history": [1.5] }), "`history`"),
        (json!({ "history": h, "k": 0 }), "`k`"),
        (
            json!({ "history": h, "features": {} }),
            "unknown field `features`",
        ),
        (
            json!({ "history": h, "candidates": ["nope"] }),
            "`candidates`",
        ),
        (
            json!({ "history": h, "exclude_history": "yes" }),
            "`exclude_history`",
        ),
    ] {
        let r = post(body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let e = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(e.contains(needle), "{body}: {e}");
    }
    let r = post(json!({ "user": "NOBODY" }));
    assert_eq!(r.status, 404, "{}", r.text());
    let r = server.infer("sas", "{\"inputs\": []}");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("sequence model"), "{}", r.text());
    let _ = std::fs::remove_dir_all(&root);
}
