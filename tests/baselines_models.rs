//! The reference models of `crate::baselines` against values computed by hand on tiny
//! tables and sequence sets (the arithmetic is in the comments).

use mtrec::baselines::biases::{Biases, SWEEPS};
use mtrec::baselines::popularity::{logit, Popularity};
use mtrec::baselines::transition::{self, Transitions};
use mtrec::baselines::{report, verdicts};
use mtrec::config::TaskType;
use mtrec::data::sequences::Holdout;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn popularity_binary_is_the_smoothed_positive_rate_as_a_logit() {
    // items 1 1 1 2 0; labels 1 0 1 1 (0, unlabelled); α = 2
    // ȳ = (1 + 0 + 1 + 1) / 4 = 0.75
    // item 1: (2 + 2·0.75) / (3 + 2) = 0.7;  item 2: (1 + 1.5) / (1 + 2) = 0.8333…
    // item 0: its only row is unlabelled, so ȳ; item 9: never seen, ȳ
    let p = Popularity::fit(
        &[1, 1, 1, 2, 0],
        &[1.0, 0.0, 1.0, 1.0, 0.0],
        &[1.0, 1.0, 1.0, 1.0, 0.0],
        TaskType::Binary,
        2.0,
    );
    assert!(close(p.global, 0.75, 1e-12));
    assert!(close(p.mean(1), 0.7, 1e-12));
    assert!(close(p.mean(2), 2.5 / 3.0, 1e-12));
    assert!(close(p.mean(0), 0.75, 1e-12));
    assert!(close(p.mean(9), 0.75, 1e-12));
    assert!(close(p.output(1) as f64, (0.7f64 / 0.3).ln(), 1e-6));
    assert!(close(p.output(9) as f64, 3f64.ln(), 1e-6));
}

#[test]
fn popularity_regression_is_the_item_mean_shrunk_to_the_global_mean() {
    // items 1 1 2, ratings 4 2 5, α = 1: ȳ = 11/3
    // item 1: (6 + 11/3) / (2 + 1) = 29/9;  item 2: (5 + 11/3) / (1 + 1) = 13/3
    let p = Popularity::fit(
        &[1, 1, 2],
        &[4.0, 2.0, 5.0],
        &[1.0; 3],
        TaskType::Regression,
        1.0,
    );
    assert!(close(p.output(1) as f64, 29.0 / 9.0, 1e-5));
    assert!(close(p.output(2) as f64, 13.0 / 3.0, 1e-5));
    // α = 0: the raw item mean
    let raw = Popularity::fit(
        &[1, 1, 2],
        &[4.0, 2.0, 5.0],
        &[1.0; 3],
        TaskType::Regression,
        0.0,
    );
    assert!(close(raw.output(1) as f64, 3.0, 1e-6));
}

#[test]
fn logit_clamps_certain_rates() {
    assert!(logit(1.0).is_finite() && logit(1.0) > 13.0);
    assert!(logit(0.0).is_finite() && logit(0.0) < -13.0);
}

#[test]
fn biases_regression_one_sweep_by_hand() {
    // rows (u, i, y): (0,0,5) (0,1,3) (1,0,4); λ = 1; start μ = 4, b = 0
    // users: b_u0 = ((5−4) + (3−4)) / (1+2) = 0;  b_u1 = (4−4) / (1+1) = 0
    // items: b_i0 = ((5−4−0) + (4−4−0)) / (1+2) = 1/3;  b_i1 = (3−4−0) / (1+1) = −1/2
    // μ = ((5 − 1/3) + (3 + 1/2) + (4 − 1/3)) / 3 = 71/18
    let b = Biases::fit(
        &[0, 0, 1],
        &[0, 1, 0],
        &[5.0, 3.0, 4.0],
        &[1.0; 3],
        TaskType::Regression,
        1.0,
        1,
    );
    assert!(close(b.user[0], 0.0, 1e-12) && close(b.user[1], 0.0, 1e-12));
    assert!(close(b.item[0], 1.0 / 3.0, 1e-12));
    assert!(close(b.item[1], -0.5, 1e-12));
    assert!(close(b.mu, 71.0 / 18.0, 1e-12));
    // (u1, i1) was never rated: μ + 0 − 1/2
    assert!(close(b.output(1, 1) as f64, 71.0 / 18.0 - 0.5, 1e-6));
    // an unseen user and item: μ
    assert!(close(b.output(7, 7) as f64, 71.0 / 18.0, 1e-6));
}

#[test]
fn biases_regression_recovers_an_additive_table_without_penalty() {
    // y = 3 + a_u + c_i on a complete 3 × 4 grid: λ = 0 fits it exactly
    let (a, c) = ([0.5, -1.0, 0.25], [1.0, 0.0, -0.5, 2.0]);
    let (mut us, mut is, mut ys) = (vec![], vec![], vec![]);
    for (u, au) in a.iter().enumerate() {
        for (i, ci) in c.iter().enumerate() {
            us.push(u as u32);
            is.push(i as u32);
            ys.push((3.0 + au + ci) as f32);
        }
    }
    let b = Biases::fit(
        &us,
        &is,
        &ys,
        &vec![1.0; ys.len()],
        TaskType::Regression,
        0.0,
        SWEEPS,
    );
    for ((&u, &i), &y) in us.iter().zip(&is).zip(&ys) {
        assert!(close(b.output(u, i) as f64, y as f64, 1e-5), "({u}, {i})");
    }
}

#[test]
fn biases_ridge_solution_is_stationary() {
    // at the fitted point every ∂L/∂b = −Σ(y − z) + λ b vanishes (the closed form's condition)
    let us = [0u32, 0, 1, 1, 2, 2, 2];
    let is = [0u32, 1, 1, 2, 0, 1, 2];
    let ys = [5.0f32, 3.0, 4.0, 1.0, 2.0, 5.0, 3.0];
    let lambda = 2.0;
    let b = Biases::fit(&us, &is, &ys, &[1.0; 7], TaskType::Regression, lambda, 500);
    for u in 0..3 {
        let g: f64 = (0..7)
            .filter(|&r| us[r] == u)
            .map(|r| -(ys[r] as f64 - b.output(us[r], is[r]) as f64))
            .sum::<f64>()
            + lambda * b.user[u as usize];
        assert!(g.abs() < 1e-4, "user {u}: gradient {g}");
    }
}

#[test]
fn biases_binary_one_newton_sweep_by_hand() {
    // rows (u, i, y): (0,0,1) (0,1,0) (1,0,1) (1,1,1); λ = 1; μ₀ = logit(3/4) = ln 3
    // users at z = μ₀: σ = 0.75, σ(1−σ) = 0.1875
    //   b_u0 = −((0.75−1) + (0.75−0)) / (2·0.1875 + 1) = −0.5/1.375 = −4/11;  b_u1 = +4/11
    // items with those user biases (one Newton step each from 0), then μ (no penalty):
    //   b_i0 = 0.37339974, b_i1 = −0.35557288, μ = 1.15385441 (worked out from the formulas
    //   of biases.rs: g = Σ(σ(z) − y) + λb, h = Σσ(z)(1−σ(z)) + λ, b ← b − g/h)
    let b = Biases::fit(
        &[0, 0, 1, 1],
        &[0, 1, 0, 1],
        &[1.0, 0.0, 1.0, 1.0],
        &[1.0; 4],
        TaskType::Binary,
        1.0,
        1,
    );
    assert!(close(b.user[0], -4.0 / 11.0, 1e-9));
    assert!(close(b.user[1], 4.0 / 11.0, 1e-9));
    assert!(close(b.item[0], 0.373_399_737_5, 1e-8));
    assert!(close(b.item[1], -0.355_572_877_4, 1e-8));
    assert!(close(b.mu, 1.153_854_407_8, 1e-8));
    assert!(close(b.output(0, 1) as f64, 0.434_645_166_8, 1e-6));
}

#[test]
fn biases_binary_converges_to_the_penalised_optimum() {
    let us = [0u32, 0, 0, 1, 1, 2, 2, 2, 3];
    let is = [0u32, 1, 2, 0, 2, 0, 1, 2, 1];
    let ys = [1.0f32, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0];
    let lambda = 0.5;
    let b = Biases::fit(&us, &is, &ys, &[1.0; 9], TaskType::Binary, lambda, 200);
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    for i in 0..3u32 {
        let g: f64 = (0..9)
            .filter(|&r| is[r] == i)
            .map(|r| sig(b.output(us[r], is[r]) as f64) - ys[r] as f64)
            .sum::<f64>()
            + lambda * b.item[i as usize];
        assert!(g.abs() < 1e-4, "item {i}: gradient {g}");
    }
    let g_mu: f64 = (0..9)
        .map(|r| sig(b.output(us[r], is[r]) as f64) - ys[r] as f64)
        .sum();
    assert!(g_mu.abs() < 1e-4, "μ: gradient {g_mu}");
}

fn tiny_transitions() -> Transitions {
    // sequences 1 2 3 | 1 2 4 | 2 3; V = 5
    // n = [1:2, 2:3, 3:2, 4:1, 5:0], N = 8;  c(1,2) = 2, c(2,3) = 2, c(2,4) = 1
    let seqs: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![1, 2, 4], vec![2, 3]];
    Transitions::fit(seqs.iter().map(Vec::as_slice), 5)
}

#[test]
fn transition_counts_with_popularity_back_off() {
    let t = tiny_transitions();
    assert_eq!(t.count, vec![0, 2, 3, 2, 1, 0]);
    assert_eq!(t.next[&2][&3], 2);
    assert_eq!(t.next[&2][&4], 1);
    assert_eq!(t.next[&1][&2], 2);
    // after 2: (N+1)·s_j = 9·c(2, j) + n_j = [2, 3, 9·2+2, 9·1+1, 0]
    assert_eq!(
        t.transition_scores(&[1, 2]),
        vec![2.0, 3.0, 20.0, 10.0, 0.0]
    );
    // after 5 (never followed by anything) and after nothing: popularity alone
    assert_eq!(t.transition_scores(&[5]), vec![2.0, 3.0, 2.0, 1.0, 0.0]);
    assert_eq!(t.transition_scores(&[]), t.popularity_scores());
    // ties count against the target: item 1 after 5 ties with item 3, below item 2
    assert_eq!(
        transition::rank_of(0, &t.transition_scores(&[5])).unwrap(),
        3
    );
    assert_eq!(
        transition::rank_of(3, &t.transition_scores(&[2])).unwrap(),
        2
    );
}

#[test]
fn next_item_metrics_by_hand() {
    let t = tiny_transitions();
    let h = |history: Vec<u32>, target: u32| Holdout {
        user: 0,
        history,
        target,
        rating: None,
    };
    let holdouts = vec![h(vec![1, 2], 3), h(vec![3], 1)];
    // transition: 3 after 2 is first; 1 after 3 (no successors) has rank 3 → NDCG@10 =
    // (1/log₂2 + 1/log₂4) / 2 = 0.75, MRR = (1 + 1/3) / 2
    let m = transition::evaluate(&holdouts, |h| t.transition_scores(h)).unwrap();
    assert_eq!(m.users, 2);
    assert!(close(m.hr10, 1.0, 1e-12) && close(m.hr5, 1.0, 1e-12));
    assert!(close(m.ndcg10, 0.75, 1e-12));
    assert!(close(m.mrr, 2.0 / 3.0, 1e-12));
    // popularity: item 3 (n = 2) ties with item 1 below item 2 → rank 3; item 1 → rank 3
    let p = transition::evaluate(&holdouts, |_| t.popularity_scores()).unwrap();
    assert!(close(p.ndcg10, 0.5, 1e-12));
    assert!(close(p.mrr, 1.0 / 3.0, 1e-12));
}

#[test]
fn verdicts_and_the_table_name_every_lost_comparison() {
    let m = |pairs: &[(&str, &str, f64)]| {
        let mut out = report::Metrics::new();
        for (t, k, v) in pairs {
            out.entry(t.to_string())
                .or_default()
                .insert(k.to_string(), *v);
        }
        out
    };
    let model = m(&[
        ("buy", "auc", 0.70),
        ("buy", "logloss", 0.30),
        ("rating", "rmse", 0.95),
    ]);
    let pop = m(&[
        ("buy", "auc", 0.72),
        ("buy", "logloss", 0.40),
        ("rating", "rmse", 1.00),
    ]);
    let baselines = vec![("popularity".to_string(), pop)];
    let v = verdicts(&model, &baselines);
    let lost: Vec<_> = v
        .iter()
        .filter(|v| !v.beats)
        .map(|v| (v.task.as_str(), v.metric.as_str()))
        .collect();
    assert_eq!(lost, vec![("buy", "auc")]);
    let table = report::table(&model, &baselines, "test");
    assert!(
        table.contains("model does NOT beat popularity on buy AUC (0.7000 vs 0.7200)"),
        "{table}"
    );
    assert!(!table.contains("NOT beat popularity on rating"), "{table}");
    let verdict = report::task_verdict(&v, "buy").unwrap();
    assert_eq!(verdict["all"], false);
    assert_eq!(verdict["popularity"]["auc"], false);
    assert_eq!(verdict["popularity"]["logloss"], true);
    assert_eq!(report::task_verdict(&v, "rating").unwrap()["all"], true);
    // a tie does not beat
    let tie = verdicts(&model, &[("p".to_string(), m(&[("rating", "rmse", 0.95)]))]);
    assert!(!tie[0].beats);
}
