//! Tiny ensembles for the i14text tests: two members that differ in features, member 0
//! with a `[recommend]` section, on the events table cut into train / valid / test.

#![allow(dead_code, unused_imports)]

#[path = "../i19ens_support/mod.rs"]
mod i19ens_support;

pub use i19ens_support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const RECOMMEND: &str = r#"
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

pub const GENRES: &str =
    "[[features]]\nname = \"genres\"\nkind = \"multi_hot\"\ndim = 3\nseparator = \"|\"\n";

/// Member 0: MMoE with every feature and the `[recommend]` section; member 1:
/// Shared-Bottom without `genres` (members may differ in features).
pub fn members(dir: &Path) -> Vec<PathBuf> {
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
pub fn catalogue(dir: &Path) -> BTreeMap<String, (String, String)> {
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
pub fn recommend(
    dir: &Path,
    run: &Path,
    k: usize,
    extra: &[&str],
) -> Vec<(String, String, Vec<f64>)> {
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
