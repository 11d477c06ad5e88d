//! `mtrec recommend` on an ensemble folder (`mtrec ensemble`): every candidate row is
//! scored by each member (with its own features) and combined as the ensemble does, so
//! the lists' task values equal `mtrec predict` on the ensemble for those (user, item)
//! rows, and the lists are those rows ranked.

#[path = "i19ens_support/mod.rs"]
mod i19ens_support;

use i19ens_support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const RECOMMEND: &str = r#"
[recommend]
user_column = "user"
item_column = "item"
user_features = ["user"]
item_features = ["item", "genres", "price"]
[recommend.fusion]
kind = "lexicographic"
filter_task = "click"
threshold = 0.0
rank_task = "click"
"#;

const GENRES: &str =
    "[[features]]\nname = \"genres\"\nkind = \"multi_hot\"\ndim = 3\nseparator = \"|\"\n";

/// Member 0: MMoE with every feature and the `[recommend]` section; member 1:
/// Shared-Bottom without `genres` (members may differ in features).
fn members(dir: &Path) -> Vec<PathBuf> {
    let m0 = dir.join("m0");
    train_member(dir, &(config(THREE_TASKS, "mmoe", 1, "") + RECOMMEND), &m0);
    let cfg1 = config(THREE_TASKS, "shared_bottom", 2, "");
    assert!(cfg1.contains(GENRES));
    let m1 = dir.join("m1");
    train_member(dir, &cfg1.replace(GENRES, ""), &m1);
    vec![m0, m1]
}

/// The catalogue as the recommender builds it: each item of train.csv with the
/// `genres` and `price` of its first row.
fn catalogue(dir: &Path) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(dir.join("train.csv")).unwrap();
    let mut out = BTreeMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        out.entry(f[1].to_string())
            .or_insert((f[3].to_string(), f[2].to_string()));
    }
    out
}

/// `mtrec recommend --all-users --include-history`: rows (user, item, [task values]).
fn recommend(dir: &Path, run: &Path, k: usize, extra: &[&str]) -> Vec<(String, String, Vec<f64>)> {
    let out = dir.join("lists.csv");
    let ks = k.to_string();
    let mut args = vec![
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--all-users",
        "--include-history",
        "--k",
        &ks,
        "--quiet",
        "--force",
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = mtrec(dir, &args);
    assert!(ok, "mtrec recommend failed: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "user,rank,item,score,click,buy,watch"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let v = f[4..].iter().map(|x| x.parse().unwrap()).collect();
            (f[0].to_string(), f[2].to_string(), v)
        })
        .collect()
}

fn check(method: &str, tag: &str) {
    let dir = temp_dir(tag);
    write_split_events(&dir);
    let runs = members(&dir);
    let ens = dir.join("ens");
    ensemble(&dir, &runs, method, &ens);
    let cat = catalogue(&dir);
    let users: Vec<String> = (0..20).map(|u| u.to_string()).collect();
    // every (user, catalogue item) row, scored by mtrec predict on the ensemble
    let mut input = String::from("user,item,price,genres,click,buy,watch\n");
    let mut keys = Vec::new();
    for u in &users {
        for (item, (genres, price)) in &cat {
            input.push_str(&format!("{u},{item},{price},{genres},0,0,0\n"));
            keys.push((u.clone(), item.clone()));
        }
    }
    std::fs::write(dir.join("pairs.csv"), input).unwrap();
    let pred = predict(&dir, &ens, &dir.join("pairs.csv"), "pred.csv");
    let mut want: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for (r, key) in keys.iter().enumerate() {
        want.insert(key.clone(), pred.iter().map(|c| c[r]).collect());
    }
    // the whole catalogue per user: every row's task values equal predict's
    let all = recommend(&dir, &ens, cat.len(), &[]);
    assert_eq!(all.len(), users.len() * cat.len());
    for (u, i, v) in &all {
        let w = &want[&(u.clone(), i.clone())];
        for (a, b) in v.iter().zip(w) {
            assert!(
                (a - b).abs() < 2e-5,
                "{method} ({u}, {i}): {v:?} vs predict {w:?}"
            );
        }
    }
    // top 5: the rows of the highest predicted click per user, in that order
    let top = recommend(&dir, &ens, 5, &[]);
    for u in &users {
        let got: Vec<f64> = top
            .iter()
            .filter(|(x, _, _)| x == u)
            .map(|(_, i, _)| want[&(u.clone(), i.clone())][0])
            .collect();
        let mut clicks: Vec<f64> = cat
            .keys()
            .map(|i| want[&(u.clone(), i.clone())][0])
            .collect();
        clicks.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(got.len(), 5, "user {u}");
        for (g, c) in got.iter().zip(&clicks) {
            assert!(
                (g - c).abs() < 2e-5,
                "{method} user {u}: {got:?} vs {clicks:?}"
            );
        }
    }
    // two-tower is refused by name; the default (auto) took the plain path above
    let out = dir.join("tt.csv");
    let (ok, _, err) = mtrec(
        &dir,
        &[
            "recommend",
            "--run",
            ens.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
            "--all-users",
            "--two-tower",
            "--quiet",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        !ok && err.contains("ensemble") && err.contains("--two-tower"),
        "{err}"
    );
}

#[test]
fn recommend_on_a_mean_ensemble_equals_ranking_predicts_scores() {
    check("mean", "i14text-ens-mean");
}

#[test]
fn recommend_on_a_stack_ensemble_equals_ranking_predicts_scores() {
    check("stack", "i14text-ens-stack");
}
