//! `mtrec ensemble` mean / logit_mean / rank_mean: the ensemble folder's `predict` and
//! `eval` against values computed here by hand from the members' own `predict` outputs.

mod i19ens_support;

use i19ens_support::*;
use std::path::Path;

/// Labels of `test.csv`: (click, watch) per row.
fn test_labels(dir: &Path) -> (Vec<f32>, Vec<f32>) {
    let text = std::fs::read_to_string(dir.join("test.csv")).unwrap();
    let mut click = Vec::new();
    let mut watch = Vec::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        click.push(f[4].parse().unwrap());
        watch.push(f[6].parse().unwrap());
    }
    (click, watch)
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: row counts");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol,
            "{what} row {i}: ensemble {x} vs by hand {y}"
        );
    }
}

/// Mid-rank of `s` among `r`: (#below + ½ #equal) / |r|.
fn mid_rank(r: &[f64], s: f64) -> f64 {
    let below = r.iter().filter(|&&v| v < s).count() as f64;
    let equal = r.iter().filter(|&&v| v == s).count() as f64;
    (below + 0.5 * equal) / r.len() as f64
}

#[test]
fn mean_logit_mean_and_rank_mean_equal_the_members_predictions_combined_by_hand() {
    let dir = temp_dir("i19ens-methods");
    write_split_events(&dir);
    let runs = three_members(&dir);
    let test = dir.join("test.csv");
    // member m, task k (click, buy, watch), row i
    let members: Vec<Vec<Vec<f64>>> = runs
        .iter()
        .enumerate()
        .map(|(m, r)| predict(&dir, r, &test, &format!("m{m}.csv")))
        .collect();
    let valid: Vec<Vec<Vec<f64>>> = runs
        .iter()
        .enumerate()
        .map(|(m, r)| predict(&dir, r, &dir.join("valid.csv"), &format!("v{m}.csv")))
        .collect();
    let rows = members[0][0].len();
    assert_eq!(rows, 120);
    let by_hand = |k: usize, f: &dyn Fn(usize, f64) -> f64| -> Vec<f64> {
        (0..rows)
            .map(|i| (0..3).map(|m| f(m, members[m][k][i])).sum::<f64>() / 3.0)
            .collect()
    };

    // mean: of probabilities (binary), of values (regression)
    let e = dir.join("ens-mean");
    ensemble(&dir, &runs, "mean", &e);
    let got = predict(&dir, &e, &test, "e-mean.csv");
    for (k, g) in got.iter().enumerate() {
        assert_close(g, &by_hand(k, &|_, p| p), 2e-6, &format!("mean task {k}"));
    }
    // eval of the ensemble folder = metrics of the hand-combined scores
    let (click, watch) = test_labels(&dir);
    let (ok, out, err) = mtrec(
        &dir,
        &["eval", "--run", &e.display().to_string(), "--split", "test"],
    );
    assert!(ok, "{err}");
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mean_click: Vec<f32> = by_hand(0, &|_, p| p).iter().map(|&p| p as f32).collect();
    let mean_watch: Vec<f32> = by_hand(2, &|_, v| v).iter().map(|&v| v as f32).collect();
    let auc = mtrec::metrics::auc(&mean_click, &click).unwrap();
    let rmse = mtrec::metrics::rmse(&mean_watch, &watch).unwrap();
    assert!(
        (m["click"]["auc"].as_f64().unwrap() - auc).abs() < 1e-3,
        "{m} vs auc {auc}"
    );
    assert!(
        (m["watch"]["rmse"].as_f64().unwrap() - rmse).abs() < 1e-5,
        "{m} vs rmse {rmse}"
    );
    // and summary.json says the same of the test split
    let summary = read_json(&e.join("summary.json"));
    assert_eq!(summary["ensemble"]["test"], m);
    assert_eq!(summary["members"].as_array().unwrap().len(), 3);

    // logit_mean: σ of the mean logit
    let e = dir.join("ens-logit");
    ensemble(&dir, &runs, "logit_mean", &e);
    let got = predict(&dir, &e, &test, "e-logit.csv");
    for (k, g) in got.iter().enumerate().take(2) {
        let want: Vec<f64> = by_hand(k, &|_, p| logit(p))
            .into_iter()
            .map(sigmoid)
            .collect();
        assert_close(g, &want, 1e-4, &format!("logit_mean task {k}"));
    }
    assert_close(&got[2], &by_hand(2, &|_, v| v), 2e-6, "logit_mean watch");

    // rank_mean: each member's mid-rank among its own validation scores (σ is monotone,
    // so ranks of probabilities are ranks of logits; 6-decimal rounding may move a score
    // past a tie: at most one position of 120 per member)
    let e = dir.join("ens-rank");
    ensemble(&dir, &runs, "rank_mean", &e);
    let got = predict(&dir, &e, &test, "e-rank.csv");
    for (k, g) in got.iter().enumerate().take(2) {
        let want = by_hand(k, &|m, p| mid_rank(&valid[m][k], p));
        assert_close(g, &want, 1.0 / 120.0 + 1e-6, &format!("rank_mean task {k}"));
        let mean = by_hand(k, &|_, p| p);
        assert!(
            g.iter().zip(&mean).any(|(a, b)| (a - b).abs() > 0.01),
            "rank_mean equals the plain mean"
        );
    }
    assert_close(&got[2], &by_hand(2, &|_, v| v), 2e-6, "rank_mean watch");
}
