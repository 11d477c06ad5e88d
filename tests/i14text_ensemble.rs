//! `mtrec recommend` on an ensemble folder (`mtrec ensemble`): every candidate row is
//! scored by each member (with its own features) and combined as the ensemble does, so
//! the lists' task values equal `mtrec predict` on the ensemble for those (user, item)
//! rows, and the lists are those rows ranked.

mod i14text_support;

use i14text_support::*;
use std::collections::BTreeMap;

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
    // the default (auto) took member 0's two-tower split above (member 1, Shared-Bottom,
    // on the plain path); --two-tower says so once (issue #14, s7)
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
        ok && err.matches("no two-tower split").count() == 1,
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
