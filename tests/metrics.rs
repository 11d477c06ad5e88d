//! Metrics: hand-computed cases (arithmetic in the comments), scikit-learn fixtures from
//! `tests/fixtures/metrics/` (made by `reference/metrics/make_fixtures.py`; no Python
//! needed here) to 1e-6, and error cases whose messages name the problem.

use mtrec::metrics::*;
use serde_json::Value;

const TOL: f64 = 1e-6;

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= TOL,
        "{what}: got {got}, expected {want}"
    );
}

fn err_msg<T: std::fmt::Debug>(r: mtrec::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

// ---------------------------------------------------------------- classification, by hand

#[test]
fn auc_by_hand() {
    // positives 0.35, 0.8; negatives 0.1, 0.4. Pairs: (0.35>0.1) 1, (0.35<0.4) 0,
    // (0.8>0.1) 1, (0.8>0.4) 1  → 3 / (2·2) = 0.75
    close(
        auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]).unwrap(),
        0.75,
        "auc",
    );
    // ties: positives 0.5, 0.9; negatives 0.5, 0.2. (0.5=0.5) ½, (0.5>0.2) 1, (0.9>0.5) 1,
    // (0.9>0.2) 1  → 3.5 / 4 = 0.875
    close(
        auc(&[0.5, 0.5, 0.2, 0.9], &[1.0, 0.0, 0.0, 1.0]).unwrap(),
        0.875,
        "auc ties",
    );
    // every score equal: every pair is a tie → ½
    close(
        auc(&[0.3; 5], &[1.0, 0.0, 0.0, 1.0, 0.0]).unwrap(),
        0.5,
        "auc all tied",
    );
    // reversed: no pair right → 0; ±∞ still order: 1
    close(
        auc(&[0.9, 0.8, 0.1], &[0.0, 0.0, 1.0]).unwrap(),
        0.0,
        "auc reversed",
    );
    let inf = f32::INFINITY;
    close(
        auc(&[-inf, inf, 0.0], &[0.0, 1.0, 0.0]).unwrap(),
        1.0,
        "auc with infinities",
    );
    // −0 and +0 are the same score: one tie → ½
    close(
        auc(&[-0.0, 0.0], &[1.0, 0.0]).unwrap(),
        0.5,
        "auc signed zeros",
    );
}

#[test]
fn auc_does_not_depend_on_row_order() {
    let (s, y) = (
        [0.5, 0.5, 0.2, 0.9, 0.2, 0.7],
        [1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
    );
    let a = auc(&s, &y).unwrap();
    let perm = [3, 1, 5, 0, 4, 2];
    let (sp, yp): (Vec<f32>, Vec<f32>) = perm.iter().map(|&i| (s[i], y[i])).unzip();
    assert_eq!(auc(&sp, &yp).unwrap(), a);
}

#[test]
fn gauc_by_hand_skips_one_class_users() {
    // user 1: scores 0.9 (+), 0.2 (−), 0.5 (−) → AUC 1, 3 rows
    // user 2: scores 0.3 (+), 0.6 (−)          → AUC 0, 2 rows
    // user 3: two positives                    → skipped
    // GAUC = (3·1 + 2·0) / (3 + 2) = 0.6
    let users = [1, 2, 3, 1, 2, 3, 1];
    let scores = [0.9, 0.3, 0.4, 0.2, 0.6, 0.8, 0.5];
    let labels = [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0];
    let g = gauc(&scores, &labels, &users).unwrap();
    close(g.value, 0.6, "gauc");
    assert_eq!((g.users_used, g.users_skipped), (2, 1));
}

#[test]
fn log_loss_by_hand() {
    // p = ½ for both rows: −ln ½ each → ln 2
    close(
        log_loss(&[0.5, 0.5], &[1.0, 0.0]).unwrap(),
        std::f64::consts::LN_2,
        "log_loss",
    );
    // y = 1, p = 0.9: −ln 0.9 (0.9f32 read exactly as f64)
    close(
        log_loss(&[0.9], &[1.0]).unwrap(),
        -(0.9f32 as f64).ln(),
        "log_loss 0.9",
    );
    // p = 0 for a positive is clipped to 1e-7: −ln 1e-7 = 7·ln 10 ≈ 16.118
    close(
        log_loss(&[0.0], &[1.0]).unwrap(),
        7.0 * std::f64::consts::LN_10,
        "log_loss clipped",
    );
    assert_eq!(LOG_LOSS_EPS, 1e-7);
}

#[test]
fn confusion_by_hand() {
    // t = 0.5: predicted 1 for 0.9 (y 1: TP), 0.6 (y 0: FP), 0.7 (y 1: TP), 0.5 (y 0: FP,
    // ≥ t); predicted 0 for 0.4 (y 1: FN), 0.2 (y 0: TN). TP 2, FP 2, TN 1, FN 1.
    let c = Confusion::at_threshold(
        &[0.9, 0.6, 0.4, 0.2, 0.7, 0.5],
        &[1., 0., 1., 0., 1., 0.],
        0.5,
    )
    .unwrap();
    assert_eq!(
        (c.true_pos, c.false_pos, c.true_neg, c.false_neg),
        (2, 2, 1, 1)
    );
    close(c.accuracy(), 3.0 / 6.0, "accuracy"); // (2 + 1) / 6
    close(c.precision(), 2.0 / 4.0, "precision"); // 2 / (2 + 2)
    close(c.recall(), 2.0 / 3.0, "recall"); // 2 / (2 + 1)
    close(c.f1(), 4.0 / 7.0, "f1"); // 2·2 / (2·2 + 2 + 1)
                                    // nothing predicted positive: precision = 0/0 := 0, f1 = 0/(0+0+2) = 0
    let c = Confusion::at_threshold(&[0.1, 0.2], &[1.0, 1.0], 0.5).unwrap();
    assert_eq!(
        (c.precision(), c.recall(), c.f1(), c.accuracy()),
        (0.0, 0.0, 0.0, 0.0)
    );
    // no positive label: recall = 0/0 := 0
    let c = Confusion::at_threshold(&[0.1, 0.9], &[0.0, 0.0], 0.5).unwrap();
    assert_eq!((c.recall(), c.accuracy()), (0.0, 0.5));
    assert_eq!(Confusion::default().accuracy(), 0.0);
}

// ---------------------------------------------------------------- regression, by hand

#[test]
fn regression_by_hand() {
    // p − y = [−0.5, 0, 2]: MSE = (0.25 + 0 + 4) / 3, MAE = (0.5 + 0 + 2) / 3
    let (p, y) = ([1.0, 2.0, 3.0], [1.5, 2.0, 1.0]);
    close(mse(&p, &y).unwrap(), 4.25 / 3.0, "mse");
    close(rmse(&p, &y).unwrap(), (4.25f64 / 3.0).sqrt(), "rmse");
    close(mae(&p, &y).unwrap(), 2.5 / 3.0, "mae");
}

// ---------------------------------------------------------------- ranking, by hand

#[test]
fn ranking_by_hand() {
    // one relevant item at rank 3: DCG = 1/log₂ 4 = 0.5, IDCG = 1
    close(ndcg_at_k(&[7, 8, 9], &[9], 3).unwrap(), 0.5, "ndcg rank 3");
    // relevant {1, 2} at ranks 1 and 3: DCG = 1/log₂2 + 1/log₂4 = 1.5, IDCG = 1 + 1/log₂3
    close(
        ndcg_at_k(&[1, 5, 2, 6], &[1, 2], 4).unwrap(),
        1.5 / (1.0 + 1.0 / 3f64.log2()),
        "ndcg two",
    );
    // |R| = 3 > k = 2: IDCG over min(3, 2) = 2 ranks; both hits → 1
    close(
        ndcg_at_k(&[1, 2, 3], &[1, 2, 3], 2).unwrap(),
        1.0,
        "ndcg |R| > k",
    );
    // list shorter than k: hit at rank 2 → 1/log₂ 3
    close(
        ndcg_at_k(&[5, 1], &[1], 10).unwrap(),
        1.0 / 3f64.log2(),
        "ndcg short list",
    );
    // hit rate: relevant item at rank 3
    assert_eq!(hit_rate_at_k(&[4, 5, 6], &[6], 2).unwrap(), 0.0);
    assert_eq!(hit_rate_at_k(&[4, 5, 6], &[6], 3).unwrap(), 1.0);
    // recall: 2 of 4 relevant items in the top 3; duplicates in `relevant` count once
    close(
        recall_at_k(&[1, 9, 3], &[1, 2, 3, 4, 4], 3).unwrap(),
        0.5,
        "recall",
    );
    // MRR: first relevant at rank 2 → ½; none → 0; MRR@1 of the same list → 0
    assert_eq!(mrr(&[4, 5, 6], &[5, 6]).unwrap(), 0.5);
    assert_eq!(mrr(&[4, 5, 6], &[8]).unwrap(), 0.0);
    assert_eq!(mrr(&[4, 5, 6][..1], &[5, 6]).unwrap(), 0.0);
}

#[test]
fn ranking_means_over_users() {
    // user 0: hit at rank 1 (NDCG 1, RR 1); user 1: hit at rank 3 (NDCG ½, RR ⅓)
    let ranked = vec![vec![1, 2, 3], vec![4, 5, 6]];
    let relevant = vec![vec![1], vec![6]];
    close(
        mean_over_users(&ranked, &relevant, |r, rel| ndcg_at_k(r, rel, 3)).unwrap(),
        0.75,
        "mean ndcg",
    );
    let s = ranking_summary(&ranked, &relevant, 2).unwrap();
    // at k = 2 user 1 misses: HR (1 + 0)/2, Recall (1 + 0)/2, NDCG (1 + 0)/2, MRR@2 (1 + 0)/2
    assert_eq!(
        (s.users, s.hit_rate, s.recall, s.ndcg, s.mrr),
        (2, 0.5, 0.5, 0.5, 0.5)
    );
    let s = ranking_summary(&ranked, &relevant, 3).unwrap();
    close(s.mrr, (1.0 + 1.0 / 3.0) / 2.0, "mrr@3");
}

#[test]
fn full_ranking_ties_count_against_the_target() {
    let scores = [0.3, 0.9, 0.3, 0.1, 0.3];
    // item 0: others ≥ 0.3 are 0.9, 0.3 (item 2), 0.3 (item 4) → rank 1 + 3 = 4
    assert_eq!(rank_of(0, &scores).unwrap(), 4);
    assert_eq!(rank_of(2, &scores).unwrap(), 4); // same score, same rank: ids do not matter
    assert_eq!(rank_of(1, &scores).unwrap(), 1);
    assert_eq!(rank_of(3, &scores).unwrap(), 5);
    // a constant model gets the worst rank for every item
    assert!((0..6).all(|t| rank_of(t, &[0.2; 6]).unwrap() == 6));
    // seen items set to −∞ rank below any finite target
    assert_eq!(rank_of(0, &[0.1, f32::NEG_INFINITY, 0.5]).unwrap(), 2);
    // sampled evaluation: 1 + #{0.5, 0.7 ≥ 0.5} = 3
    assert_eq!(rank_among(0.5, &[0.5, 0.7, 0.1]).unwrap(), 3);
    assert_eq!((hit_at_rank(3, 5), hit_at_rank(6, 5)), (1.0, 0.0));
    assert_eq!((ndcg_at_rank(3, 5), ndcg_at_rank(6, 5)), (0.5, 0.0)); // 1/log₂ 4
                                                                      // top_k: 0.9 (id 1), then the three 0.3s by id (0, 2, 4), then 0.1 (id 3)
    assert_eq!(top_k(&scores, 3).unwrap(), vec![1, 0, 2]);
    assert_eq!(top_k(&scores, 10).unwrap(), vec![1, 0, 2, 4, 3]);
}

#[test]
fn masks_keep_labelled_rows() {
    // row 2 is unlabelled (mask 0); with it AUC would be ½, without it 1
    let (s, y, m) = ([0.1, 0.9, 0.95], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]);
    let (sm, ym) = masked(&s, &y, Some(&m)).unwrap();
    assert_eq!((sm, ym.clone()), (vec![0.1, 0.9], vec![0.0, 1.0]));
    assert_eq!(masked(&s, &y, None).unwrap().0, s.to_vec());
    assert_eq!(select_rows(&[7u64, 8, 9], &m).unwrap(), vec![7, 8]);
    let msg = err_msg(select_rows(&[1.0, 2.0], &[1.0, 0.5]));
    assert!(msg.contains("label mask at position 1 is 0.5"), "{msg}");
    let msg = err_msg(masked(&s, &y, Some(&[1.0])));
    assert!(
        msg.contains("mask") && msg.contains("1 elements; expected 3"),
        "{msg}"
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_name_the_problem() {
    let msg = err_msg(auc(&[0.1, 0.2], &[0.0, 0.0]));
    assert!(msg.contains("auc") && msg.contains("no positive"), "{msg}");
    let msg = err_msg(auc(&[0.1, 0.2], &[1.0, 1.0]));
    assert!(msg.contains("no negative"), "{msg}");
    let msg = err_msg(auc(&[0.1, 0.2, f32::NAN], &[0.0, 1.0, 1.0]));
    assert!(msg.contains("score at position 2 is NaN"), "{msg}");
    let msg = err_msg(auc(&[0.1, 0.2, 0.3, 0.4], &[0.0, 1.0, 1.0]));
    assert!(
        msg.contains("labels") && msg.contains("3 elements; expected 4"),
        "{msg}"
    );
    let msg = err_msg(auc(&[0.1, 0.2], &[0.0, 2.0]));
    assert!(msg.contains("label at position 1 is 2"), "{msg}");
    let msg = err_msg(gauc(&[0.1, 0.2], &[0.0, 1.0], &[1]));
    assert!(msg.contains("gauc") && msg.contains("users"), "{msg}");
    let msg = err_msg(gauc(&[0.1, 0.2], &[0.0, 1.0], &[1, 2]));
    assert!(msg.contains("none of the 2 users"), "{msg}");
    let msg = err_msg(log_loss(&[0.5, 1.5], &[0.0, 1.0]));
    assert!(msg.contains("probability at position 1 is 1.5"), "{msg}");
    let msg = err_msg(log_loss(&[], &[]));
    assert!(msg.contains("no rows"), "{msg}");
    let msg = err_msg(Confusion::at_threshold(&[0.1], &[1.0], f32::NAN));
    assert!(msg.contains("threshold"), "{msg}");
    let msg = err_msg(mse(&[1.0, f32::INFINITY], &[1.0, 2.0]));
    assert!(msg.contains("prediction at position 1 is inf"), "{msg}");
    let msg = err_msg(mae(&[1.0], &[1.0, 2.0]));
    assert!(
        msg.contains("targets") && msg.contains("2 elements; expected 1"),
        "{msg}"
    );
    let msg = err_msg(ndcg_at_k(&[1, 2], &[], 2));
    assert!(msg.contains("no relevant items"), "{msg}");
    let msg = err_msg(recall_at_k(&[1, 2, 1], &[1], 2));
    assert!(msg.contains("ranked item id at position 2"), "{msg}");
    let msg = err_msg(hit_rate_at_k(&[1], &[1], 0));
    assert!(msg.contains("k = 0"), "{msg}");
    let msg = err_msg(mean_over_users(
        &[vec![1u64], vec![2]],
        &[vec![1u64], vec![]],
        mrr,
    ));
    assert!(
        msg.contains("user 1") && msg.contains("no relevant items"),
        "{msg}"
    );
    let msg = err_msg(rank_of(5, &[0.1, 0.2]));
    assert!(msg.contains("rank_of") && msg.contains("index 5"), "{msg}");
    let msg = err_msg(top_k(&[0.1, f32::NAN], 1));
    assert!(msg.contains("score at position 1 is NaN"), "{msg}");
}

// ---------------------------------------------------------------- scikit-learn fixtures

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/metrics/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; regenerate with reference/metrics/make_fixtures.py")
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn sklearn_fixtures_classification() {
    let f = fixture("classification.json");
    for c in f["auc"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        close(
            auc(&f32s(&c["scores"]), &f32s(&c["labels"])).unwrap(),
            num(&c["expected"]),
            name,
        );
    }
    let g = &f["gauc"];
    let got = gauc(&f32s(&g["scores"]), &f32s(&g["labels"]), &u64s(&g["users"])).unwrap();
    close(got.value, num(&g["expected"]), "gauc");
    assert_eq!(got.users_used as u64, g["users_used"].as_u64().unwrap());
    assert_eq!(
        got.users_skipped as u64,
        g["users_skipped"].as_u64().unwrap()
    );
    for c in f["log_loss"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        close(
            log_loss(&f32s(&c["probs"]), &f32s(&c["labels"])).unwrap(),
            num(&c["expected"]),
            name,
        );
    }
    for c in f["confusion"].as_array().unwrap() {
        let t = num(&c["threshold"]) as f32;
        let m = Confusion::at_threshold(&f32s(&c["scores"]), &f32s(&c["labels"]), t).unwrap();
        close(
            m.accuracy(),
            num(&c["accuracy"]),
            &format!("accuracy at {t}"),
        );
        close(
            m.precision(),
            num(&c["precision"]),
            &format!("precision at {t}"),
        );
        close(m.recall(), num(&c["recall"]), &format!("recall at {t}"));
        close(m.f1(), num(&c["f1"]), &format!("f1 at {t}"));
    }
}

#[test]
fn sklearn_fixtures_regression() {
    let f = fixture("regression.json");
    let (p, y) = (f32s(&f["preds"]), f32s(&f["targets"]));
    close(mse(&p, &y).unwrap(), num(&f["mse"]), "mse");
    close(rmse(&p, &y).unwrap(), num(&f["rmse"]), "rmse");
    close(mae(&p, &y).unwrap(), num(&f["mae"]), "mae");
}

#[test]
fn sklearn_fixtures_ranking() {
    let f = fixture("ranking.json");
    let users = f["users"].as_array().unwrap();
    let ranked: Vec<Vec<u64>> = users.iter().map(|u| u64s(&u["ranked"])).collect();
    let relevant: Vec<Vec<u64>> = users.iter().map(|u| u64s(&u["relevant"])).collect();
    for (i, u) in users.iter().enumerate() {
        let (r, rel) = (&ranked[i], &relevant[i]);
        let scores = f32s(&u["scores"]);
        assert_eq!(
            &top_k(&scores, scores.len()).unwrap(),
            r,
            "user {i}: top_k = argsort(−scores)"
        );
        close(
            mrr(r, rel).unwrap(),
            num(&u["mrr"]),
            &format!("user {i} mrr"),
        );
        for c in u["at_k"].as_array().unwrap() {
            let k = c["k"].as_u64().unwrap() as usize;
            let what = |m: &str| format!("user {i} {m}@{k}");
            close(
                hit_rate_at_k(r, rel, k).unwrap(),
                num(&c["hit_rate"]),
                &what("hit_rate"),
            );
            close(
                recall_at_k(r, rel, k).unwrap(),
                num(&c["recall"]),
                &what("recall"),
            );
            close(
                ndcg_at_k(r, rel, k).unwrap(),
                num(&c["ndcg"]),
                &what("ndcg"),
            );
            close(mrr(&r[..k], rel).unwrap(), num(&c["mrr"]), &what("mrr"));
        }
    }
    for m in f["means"].as_array().unwrap() {
        let k = m["k"].as_u64().unwrap() as usize;
        let s = ranking_summary(&ranked, &relevant, k).unwrap();
        assert_eq!(s.users, users.len());
        close(
            s.hit_rate,
            num(&m["hit_rate"]),
            &format!("mean hit_rate@{k}"),
        );
        close(s.recall, num(&m["recall"]), &format!("mean recall@{k}"));
        close(s.ndcg, num(&m["ndcg"]), &format!("mean ndcg@{k}"));
        close(s.mrr, num(&m["mrr"]), &format!("mean mrr@{k}"));
    }
    let full = &f["full"];
    let scores = f32s(&full["scores"]);
    for (t, want) in u64s(&full["targets"]).iter().zip(u64s(&full["ranks"])) {
        assert_eq!(
            rank_of(*t as usize, &scores).unwrap() as u64,
            want,
            "rank of item {t}"
        );
    }
    let k = full["top_k"]["k"].as_u64().unwrap() as usize;
    assert_eq!(top_k(&scores, k).unwrap(), u64s(&full["top_k"]["ids"]));
}
