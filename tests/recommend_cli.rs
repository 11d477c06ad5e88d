//! `mtrec recommend` end to end: a tiny run trained on a synthetic CSV written here,
//! then lists for every user (K rows each, no training-history item, the same task
//! values as `mtrec predict` on the same (user, item) rows), the errors of an
//! unassigned feature and of an output that exists or lies in the run folder, the
//! diversity cap, and `--eval` / `--sweep`.

use mtrec::config::RunConfig;
use mtrec::data::features::split_rows;
use mtrec::data::ingest::read_table;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

mod recommend_support;
use recommend_support::{genre, mtrec, ok, segment, trained, CONFIG};

/// (user, item) of the training split, through the library's split.
fn train_pairs(dir: &Path) -> HashSet<(String, String)> {
    let cfg = RunConfig::from_str(CONFIG, "test", &[]).unwrap();
    let table = read_table(&cfg.data, dir, &["user_id", "item_id", "click", "rating"]).unwrap();
    let rows = split_rows(&table, &cfg.split, &cfg.data.missing_values).unwrap();
    let (u, i) = (
        table.column("user_id").unwrap(),
        table.column("item_id").unwrap(),
    );
    rows.train
        .iter()
        .map(|&r| (u.get(r).to_string(), i.get(r).to_string()))
        .collect()
}

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            head.iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn lists_have_k_rows_no_history_and_the_scores_of_predict() {
    let (dir, run) = trained("lists");
    let recs = dir.join("recs.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    ok(mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--all-users",
        "--k",
        "5",
        "--output",
        &s(&recs),
        "--quiet",
    ]));
    let rows = read_csv(&recs);
    let history = train_pairs(&dir);
    let mut per_user: HashMap<String, Vec<&BTreeMap<String, String>>> = HashMap::new();
    for r in &rows {
        per_user.entry(r["user"].clone()).or_default().push(r);
    }
    let train_users: HashSet<&String> = history.iter().map(|(u, _)| u).collect();
    assert_eq!(per_user.len(), train_users.len());
    for (u, list) in &per_user {
        assert_eq!(list.len(), 5, "user {u}");
        let ranks: Vec<&str> = list.iter().map(|r| r["rank"].as_str()).collect();
        assert_eq!(ranks, ["1", "2", "3", "4", "5"]);
        let scores: Vec<f32> = list.iter().map(|r| r["score"].parse().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{u}: {scores:?}");
        for r in list {
            assert!(
                !history.contains(&(u.clone(), r["item"].clone())),
                "{u} got history item {}",
                r["item"]
            );
        }
    }
    // the same (user, item) rows through mtrec predict
    let mut input = String::from("user_id,item_id,segment,age,genre\n");
    for r in &rows {
        let u: usize = r["user"][1..].parse().unwrap();
        let i: usize = r["item"][1..].parse().unwrap();
        input += &format!(
            "{},{},{},{},{}\n",
            r["user"],
            r["item"],
            segment(u),
            20 + u * 3,
            genre(i)
        );
    }
    std::fs::write(dir.join("pairs.csv"), input).unwrap();
    let pred = dir.join("pred.csv");
    let patched = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        patched.contains("[recommend]"),
        "the run folder keeps the [recommend] section"
    );
    ok(mtrec(&[
        "predict",
        "--run",
        &s(&run),
        "--input",
        &s(&dir.join("pairs.csv")),
        "--output",
        &s(&pred),
    ]));
    let pred = read_csv(&pred);
    assert_eq!(pred.len(), rows.len());
    for (r, p) in rows.iter().zip(&pred) {
        for t in ["click", "rating"] {
            let (a, b): (f32, f32) = (r[t].parse().unwrap(), p[t].parse().unwrap());
            assert!((a - b).abs() <= 2e-6, "{t}: recommend {a}, predict {b}");
        }
    }
}

#[test]
fn errors_name_the_unassigned_feature_and_protect_files() {
    let (dir, run) = trained("errors");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let base = [
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--all-users",
        "--quiet",
    ];
    let mut a = base.to_vec();
    let out_path = s(&dir.join("x.csv"));
    a.extend(["--item-features", "item_id", "--output", &out_path]);
    let out = mtrec(&a);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("genre") && err.contains("not assigned"),
        "{err}"
    );
    assert!(!dir.join("x.csv").exists(), "no output after an error");

    // an existing file is kept without --force, replaced with it
    std::fs::write(dir.join("keep.csv"), "precious\n").unwrap();
    let keep = s(&dir.join("keep.csv"));
    let mut a = base.to_vec();
    a.extend(["--output", &keep]);
    let out = mtrec(&a);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.csv")).unwrap(),
        "precious\n"
    );
    a.push("--force");
    ok(mtrec(&a));
    assert!(std::fs::read_to_string(dir.join("keep.csv"))
        .unwrap()
        .starts_with("user,rank,item,score,click,rating"));

    // never into the run folder
    let inside = s(&run.join("recs.csv"));
    let mut a = base.to_vec();
    a.extend(["--output", &inside]);
    let out = mtrec(&a);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run folder"));
    assert!(!run.join("recs.csv").exists());

    // a weight on a task the run does not have
    let mut a = base.to_vec();
    let out_path = s(&dir.join("y.csv"));
    a.extend(["--weight", "buy=1", "--output", &out_path]);
    let err = String::from_utf8_lossy(&mtrec(&a).stderr).to_string();
    assert!(
        err.contains("buy") && err.contains("click, rating"),
        "{err}"
    );
}

#[test]
fn diversity_allow_list_users_file_jsonl_and_eval() {
    let (dir, run) = trained("more");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // users file: a known user and a new one with its features
    std::fs::write(dir.join("users_known.csv"), "user_id\nu1\nu2\n").unwrap();
    let out = dir.join("div.csv");
    ok(mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--users",
        &s(&dir.join("users_known.csv")),
        "--k",
        "4",
        "--diversity-column",
        "genre",
        "--max-per-value",
        "1",
        "--output",
        &s(&out),
        "--quiet",
    ]));
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 8);
    for u in ["u1", "u2"] {
        let genres: HashSet<String> = rows
            .iter()
            .filter(|r| r["user"] == u)
            .map(|r| genre(r["item"][1..].parse().unwrap()))
            .collect();
        assert_eq!(genres.len(), 4, "{u}: one item per genre");
    }
    // a user unknown to the run needs its features; then it gets a full list
    std::fs::write(dir.join("users_new.csv"), "user_id,segment,age\nnew,b,40\n").unwrap();
    std::fs::write(dir.join("allow.txt"), "item_id\ni1\ni2\ni3\nnot-an-item\n").unwrap();
    let out = dir.join("new.jsonl");
    let out_run = mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--users",
        &s(&dir.join("users_new.csv")),
        "--k",
        "5",
        "--candidates",
        &s(&dir.join("allow.txt")),
        "--output",
        &s(&out),
        "--quiet",
    ]);
    let out_run_ok = out_run.status.success();
    assert!(out_run_ok, "{}", String::from_utf8_lossy(&out_run.stderr));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "only the three allowed items");
    assert!(
        String::from_utf8_lossy(&out_run.stderr).contains("1 of 1 users got fewer than 5 items")
    );
    assert!(String::from_utf8_lossy(&out_run.stderr).contains("1 of the ids in"));
    for l in &lines {
        assert_eq!(l["user"], "new");
        assert!(["i1", "i2", "i3"].contains(&l["item"].as_str().unwrap()));
        assert!(l["tasks"]["click"].is_number() && l["tasks"]["rating"].is_number());
    }
    std::fs::write(dir.join("users_bad.csv"), "user_id\nnew\n").unwrap();
    let out = mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--users",
        &s(&dir.join("users_bad.csv")),
        "--output",
        &s(&dir.join("bad.csv")),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("segment"), "{err}");

    // --eval and --sweep
    let text = ok(mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--eval",
        "--k",
        "5",
        "--fusion",
        "sum",
        "--sweep",
        "click=0,1",
        "--sweep",
        "rating=0,1",
        "--quiet",
    ]));
    let json_end = text.find("\n}").unwrap() + 2;
    let m: serde_json::Value = serde_json::from_str(&text[..json_end]).unwrap();
    for key in ["hr", "ndcg", "mrr", "coverage"] {
        let x = m[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{key} = {x}");
    }
    assert!(m["users"].as_u64().unwrap() > 0);
    assert_eq!(m["tasks"].as_array().unwrap().len(), 2);
    let table: Vec<&str> = text[json_end..]
        .lines()
        .filter(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        table.len(),
        2 + 4,
        "header, rule, 2 × 2 weight settings, one of them all 0:\n{}",
        &text[json_end..]
    );
    assert!(table[0].contains("w_click") && table[0].contains("HR@5"));
    assert!(table[2].contains("all weights 0"), "{}", table[2]);
    assert_eq!(
        table[5].split('|').count(),
        table[0].split('|').count(),
        "full rows as wide as the header"
    );
}

#[test]
fn a_catalogue_file_replaces_the_training_items_and_unknown_items_are_counted() {
    let (dir, run) = trained("catalogue");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // three known items and one the model never saw (out-of-vocabulary id)
    std::fs::write(
        dir.join("items.csv"),
        "item_id,genre,extra\ni1,g1,x\ni2,g2,x\ni3,g3,x\nbrand-new,g0,x\n",
    )
    .unwrap();
    let out_path = dir.join("cat.csv");
    let out = mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--all-users",
        "--include-history",
        "--k",
        "10",
        "--catalogue",
        &s(&dir.join("items.csv")),
        "--output",
        &s(&out_path),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    ok(out);
    assert!(
        err.contains("catalogue: 4 items from") && err.contains("1 with an unknown"),
        "{err}"
    );
    let rows = read_csv(&out_path);
    let items: HashSet<&str> = rows.iter().map(|r| r["item"].as_str()).collect();
    assert_eq!(items, ["i1", "i2", "i3", "brand-new"].into_iter().collect());
    assert_eq!(
        rows.len(),
        4 * 12,
        "every user gets the whole (small) catalogue"
    );

    // a catalogue without an item feature: the error names it
    std::fs::write(dir.join("items_bad.csv"), "item_id\ni1\n").unwrap();
    let out = mtrec(&[
        "recommend",
        "--run",
        &s(&run),
        "--data-dir",
        &s(&dir),
        "--all-users",
        "--catalogue",
        &s(&dir.join("items_bad.csv")),
        "--output",
        &s(&dir.join("bad.csv")),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("genre"), "{err}");
    // nothing half-written is left behind
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
