//! `mtrec recommend`'s pieces without a model: fusion math against hand-computed
//! values, weight validation, top-K by partial selection against a full sort, filters.

use mtrec::config::{RunConfig, TaskConfig};
use mtrec::recommend::filters::candidates;
use mtrec::recommend::topk::{top_k, top_k_capped, Scored};
use mtrec::recommend::{Fusion, FusionConfig, FusionKind, TaskScale};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

fn tasks() -> Vec<TaskConfig> {
    let text = r#"
[data]
files = ["a.csv"]
columns = ["x", "click", "buy", "rating"]
[[features]]
name = "x"
kind = "numeric"
[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "buy"
type = "binary"
column = "buy"
[[tasks]]
name = "rating"
type = "regression"
column = "rating"
[train.early_stopping]
task = "click"
"#;
    RunConfig::from_str(text, "inline", &[]).unwrap().tasks
}

fn cfg(kind: FusionKind, w: &[(&str, f64)]) -> FusionConfig {
    FusionConfig {
        kind,
        weights: w
            .iter()
            .map(|(t, x)| (t.to_string(), *x))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    }
}

const SCALES: [TaskScale; 3] = [
    TaskScale::Probability,
    TaskScale::Probability,
    TaskScale::MinMax { lo: 1.0, hi: 5.0 },
];

#[test]
fn product_is_ctr_alpha_times_cvr_beta() {
    let f = Fusion::new(
        &cfg(FusionKind::Product, &[("click", 1.0), ("buy", 0.5)]),
        &tasks(),
    )
    .unwrap();
    // 0.2^1 · 0.09^0.5 = 0.2 · 0.3 = 0.06; rating has weight 0
    let s = f.score(&[0.2, 0.09, 4.0], &SCALES).unwrap();
    assert!((s - 0.06).abs() < 1e-6, "{s}");
    // rating 4 on [1, 5] scales to 0.75: 0.2 · 0.75^2 = 0.1125
    let f = Fusion::new(
        &cfg(FusionKind::Product, &[("click", 1.0), ("rating", 2.0)]),
        &tasks(),
    )
    .unwrap();
    let s = f.score(&[0.2, 0.09, 4.0], &SCALES).unwrap();
    assert!((s - 0.1125).abs() < 1e-6, "{s}");
}

#[test]
fn sum_weights_scaled_values() {
    let f = Fusion::new(
        &cfg(
            FusionKind::Sum,
            &[("click", 2.0), ("buy", 1.0), ("rating", 0.5)],
        ),
        &tasks(),
    )
    .unwrap();
    // 2·0.2 + 1·0.09 + 0.5·(3−1)/4 = 0.4 + 0.09 + 0.25 = 0.74
    let s = f.score(&[0.2, 0.09, 3.0], &SCALES).unwrap();
    assert!((s - 0.74).abs() < 1e-6, "{s}");
    // regression values outside the training range are clamped to [0, 1]
    let s = f.score(&[0.0, 0.0, 9.0], &SCALES).unwrap();
    assert!((s - 0.5).abs() < 1e-6, "{s}");
    // no weights: every task weight 1
    let f = Fusion::new(&cfg(FusionKind::Sum, &[]), &tasks()).unwrap();
    assert_eq!(
        f,
        Fusion::Sum {
            w: vec![1.0, 1.0, 1.0]
        }
    );
}

#[test]
fn lexicographic_filters_then_ranks() {
    let c = FusionConfig {
        kind: FusionKind::Lexicographic,
        filter_task: Some("click".into()),
        threshold: Some(0.5),
        rank_task: Some("rating".into()),
        ..Default::default()
    };
    let f = Fusion::new(&c, &tasks()).unwrap();
    assert_eq!(f.score(&[0.6, 0.1, 3.5], &SCALES), Some(3.5));
    assert_eq!(f.score(&[0.5, 0.1, 2.0], &SCALES), Some(2.0));
    assert_eq!(f.score(&[0.49, 0.9, 5.0], &SCALES), None);
    let err = Fusion::new(
        &FusionConfig {
            threshold: None,
            ..c
        },
        &tasks(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("threshold"), "{err}");
}

#[test]
fn weights_are_validated() {
    let t = tasks();
    let err = Fusion::new(&cfg(FusionKind::Product, &[("clik", 1.0)]), &t)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("clik") && err.contains("click, buy, rating"),
        "{err}"
    );
    let err = Fusion::new(&cfg(FusionKind::Sum, &[("click", f64::NAN)]), &t)
        .unwrap_err()
        .to_string();
    assert!(err.contains("finite"), "{err}");
    let err = Fusion::new(&cfg(FusionKind::Sum, &[("click", f64::INFINITY)]), &t)
        .unwrap_err()
        .to_string();
    assert!(err.contains("finite"), "{err}");
    let err = Fusion::new(&cfg(FusionKind::Product, &[("click", 0.0)]), &t)
        .unwrap_err()
        .to_string();
    assert!(err.contains("all 0"), "{err}");
}

fn full_sort(c: &[Scored], k: usize) -> Vec<Scored> {
    let mut v: Vec<Scored> = c.iter().copied().filter(|x| !x.0.is_nan()).collect();
    v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
    v.truncate(k);
    v
}

proptest! {
    // scores from a small set so that ties are frequent
    #[test]
    fn top_k_equals_a_full_sort(scores in prop::collection::vec(0u8..6, 0..200), k in 0usize..40) {
        let c: Vec<Scored> = scores.iter().enumerate().map(|(i, &s)| (s as f32 * 0.5, i as u32)).collect();
        let mut shuffled = c.clone();
        shuffled.reverse();
        prop_assert_eq!(top_k(&mut shuffled, k), full_sort(&c, k));
    }

    #[test]
    fn capped_top_k_equals_a_greedy_walk_of_the_full_sort(
        scores in prop::collection::vec(0u8..8, 1..150), k in 1usize..20, cap in 1usize..4, ncat in 1u32..5,
    ) {
        let c: Vec<Scored> = scores.iter().enumerate().map(|(i, &s)| (s as f32, i as u32)).collect();
        let cat: Vec<u32> = (0..c.len() as u32).map(|i| (i * 7 + 3) % ncat).collect();
        let mut count = vec![0usize; ncat as usize];
        let mut want = Vec::new();
        for x in full_sort(&c, c.len()) {
            if want.len() < k && count[cat[x.1 as usize] as usize] < cap {
                count[cat[x.1 as usize] as usize] += 1;
                want.push(x);
            }
        }
        let mut v = c.clone();
        prop_assert_eq!(top_k_capped(&mut v, k, &cat, cap), want);
    }
}

#[test]
fn nan_scores_never_reach_a_list() {
    let mut c = vec![(f32::NAN, 0), (0.5, 1), (0.7, 2)];
    assert_eq!(top_k(&mut c, 3), vec![(0.7, 2), (0.5, 1)]);
}

#[test]
fn filters_history_and_allow_list() {
    let hist: HashSet<u32> = [1, 3].into_iter().collect();
    assert_eq!(candidates(5, None, Some(&hist), true), vec![0, 2, 4]);
    assert_eq!(candidates(5, None, Some(&hist), false), vec![0, 1, 2, 3, 4]);
    assert_eq!(candidates(5, None, None, true), vec![0, 1, 2, 3, 4]);
    // allow-list: sorted, deduplicated, history still removed, out-of-range dropped
    assert_eq!(
        candidates(5, Some(&[4, 3, 0, 4, 9]), Some(&hist), true),
        vec![0, 4]
    );
}

#[test]
fn per_category_cap_keeps_lower_scored_items_of_other_values() {
    // items 0..4 in categories a a a b b, scores descending with the index
    let cat = [0, 0, 0, 1, 1];
    let mut c: Vec<Scored> = (0..5).map(|i| (1.0 - i as f32 * 0.1, i)).collect();
    let got: Vec<u32> = top_k_capped(&mut c, 3, &cat, 1)
        .iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(got, vec![0, 3]); // only two values: at most two items
    let mut c: Vec<Scored> = (0..5).map(|i| (1.0 - i as f32 * 0.1, i)).collect();
    let got: Vec<u32> = top_k_capped(&mut c, 3, &cat, 2)
        .iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(got, vec![0, 1, 3]);
}
