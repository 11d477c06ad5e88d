//! Issue #15 §2, the Beauty protocol: leave-last-out on hand-made sequences (the test
//! history holds the validation item; nothing held out is trained on; the model's input and
//! the `transition` baseline end on the same last item), history exclusion for the model
//! and the baselines alike, and the transition prior (`p_a(j) = ln(1 + c(a, j))`), each
//! against values worked out by hand.

use mtrec::baselines::{transition, Transitions};
use mtrec::data::sequences::{leave_last_out, Holdout, SeqBatch, SeqData};
use mtrec::train::seq::eval::rank_with;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Two users with raw keys chosen so that the split is easy to read:
/// u0: a b c d e   (valid target d, test target e)
/// u1: b c a       (valid target c, test target a)
fn data() -> SeqData {
    let seq = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    SeqData::from_raw(
        "hand",
        vec!["u0".into(), "u1".into()],
        vec![seq("a b c d e"), seq("b c a")],
        None,
        7,
    )
    .unwrap()
}

#[test]
fn s7beauty_leave_last_out_test_history_holds_the_validation_item() {
    let d = data();
    let id = |k: &str| d.item_id(k).unwrap();
    let split = leave_last_out(&d).unwrap();
    // u0: valid predicts d from a b c; test predicts e from a b c d (d = the valid item)
    assert_eq!(split.valid[0].history, vec![id("a"), id("b"), id("c")]);
    assert_eq!(split.valid[0].target, id("d"));
    assert_eq!(
        split.test[0].history,
        vec![id("a"), id("b"), id("c"), id("d")]
    );
    assert_eq!(split.test[0].target, id("e"));
    // every user with ≥ 3 items is evaluated, on both splits, in the same order
    let users = |h: &[Holdout]| h.iter().map(|h| h.user).collect::<Vec<_>>();
    assert_eq!(users(&split.valid), vec![0, 1]);
    assert_eq!(users(&split.test), vec![0, 1]);
    // training never sees a held-out item at its position: u0 trains on a b c, u1 on
    // nothing (b alone gives no target)
    assert_eq!(split.train.len(), 1);
    assert_eq!(split.train[0].items, vec![id("a"), id("b"), id("c")]);
}

#[test]
fn s7beauty_model_input_and_transition_end_on_the_same_last_item() {
    let d = data();
    let split = leave_last_out(&d).unwrap();
    let refs: Vec<&Holdout> = split.test.iter().collect();
    // max_len 3 cuts u0's history a b c d to b c d; its last item is still d
    let batch = SeqBatch::eval(&refs, 3);
    for (n, h) in split.test.iter().enumerate() {
        // the row the model reads its next-item scores from holds the history's last item
        let row = batch.rows[n] as usize;
        assert_eq!(batch.ids[row], *h.history.last().unwrap(), "user {n}");
    }
    // the transition baseline (counted on the training part a b c: c(a,b) = c(b,c) = 1)
    // scores after u0's test history by c(d, ·) — d never had a successor — so
    // popularity decides; after the valid history (last item c) nothing followed c either
    let t = Transitions::fit(split.train.iter().map(|e| e.items.as_slice()), d.num_items);
    assert_eq!(
        t.transition_scores(&split.test[0].history),
        t.popularity_scores()
    );
    let id = |k: &str| d.item_id(k).unwrap();
    // after u1's test history b c: c follows b, so c's score is above popularity
    let after_b = t.transition_scores(&[id("b")]);
    assert!(after_b[id("c") as usize - 1] > t.popularity_scores()[id("c") as usize - 1]);
}

fn tiny_transitions() -> Transitions {
    // sequences 1 2 3 | 1 2 4 | 2 3; V = 5
    // n = [1:2, 2:3, 3:2, 4:1, 5:0], N = 8;  c(1,2) = 2, c(2,3) = 2, c(2,4) = 1
    let seqs: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![1, 2, 4], vec![2, 3]];
    Transitions::fit(seqs.iter().map(Vec::as_slice), 5)
}

#[test]
fn s7beauty_rank_excluding_history_by_hand() {
    // scores of items 1..5; target item 4 (index 3, score 2); history 1 2 4 1
    let s = [5.0, 4.0, 3.0, 2.0, 1.0];
    assert_eq!(transition::rank_of(3, &s).unwrap(), 4);
    // items 1 and 2 leave the ranking (counted once each); the target itself stays
    assert_eq!(transition::rank_excluding(3, &s, &[1, 2, 4, 1]).unwrap(), 2);
    // an excluded item below the target changes nothing
    assert_eq!(transition::rank_excluding(3, &s, &[5]).unwrap(), 4);
    // ties still count against the target; a tied excluded item leaves
    let tied = [2.0, 2.0, 1.0];
    assert_eq!(transition::rank_excluding(1, &tied, &[]).unwrap(), 2);
    assert_eq!(transition::rank_excluding(1, &tied, &[1]).unwrap(), 1);
}

#[test]
fn s7beauty_baselines_rank_with_history_excluded_by_hand() {
    let t = tiny_transitions();
    let h = |history: Vec<u32>, target: u32| Holdout {
        user: 0,
        history,
        target,
        rating: None,
    };
    // after 3 (no successor) popularity decides: n = [2, 3, 2, 1, 0]. Target 1 ties with 3,
    // below 2 → rank 3 kept; with history 2 3 excluded → rank 1
    let holdouts = vec![h(vec![2, 3], 1)];
    let kept = transition::evaluate_ranked(&holdouts, false, |h| t.transition_scores(h)).unwrap();
    let excl = transition::evaluate_ranked(&holdouts, true, |h| t.transition_scores(h)).unwrap();
    assert!(close(kept.mrr, 1.0 / 3.0, 1e-12));
    assert!(close(excl.mrr, 1.0, 1e-12));
    assert!(close(excl.ndcg10, 1.0, 1e-12));
    // `evaluate` is the kept rule
    let plain = transition::evaluate(&holdouts, |h| t.transition_scores(h)).unwrap();
    assert_eq!(plain, kept);
    // popularity with exclusion: target 4 (n = 1) below 2, 1, 3; history 2 1 excluded → 2
    let pop =
        transition::evaluate_ranked(&[h(vec![2, 1], 4)], true, |_| t.popularity_scores()).unwrap();
    assert!(close(pop.mrr, 0.5, 1e-12));
}

#[test]
fn s7beauty_log_prior_by_hand() {
    let t = tiny_transitions();
    // after 1 2: a = 2, c(2,3) = 2, c(2,4) = 1 → (index 2, ln 3), (index 3, ln 2)
    let p = t.log_prior(&[1, 2]);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].0, 2);
    assert!(close(p[0].1 as f64, 3f64.ln(), 1e-6));
    assert_eq!(p[1].0, 3);
    assert!(close(p[1].1 as f64, 2f64.ln(), 1e-6));
    // nothing followed 5; an empty history has no last item
    assert!(t.log_prior(&[5]).is_empty());
    assert!(t.log_prior(&[]).is_empty());
}

#[test]
fn s7beauty_rank_with_prior_and_exclusion_by_hand() {
    let row = [1.0f32, 0.5, 0.2, 0.0];
    let prior = [(2usize, 3f32.ln())];
    // β = 0: item 3 (index 2, score 0.2) is third
    assert_eq!(rank_with(2, &row, &prior, 0.0, None).unwrap(), 3);
    // β = 1: 0.2 + ln 3 = 1.30 > 1.0 → first
    assert_eq!(rank_with(2, &row, &prior, 1.0, None).unwrap(), 1);
    // β = 0.5: 0.2 + 0.55 = 0.75 → between 1.0 and 0.5 → second
    assert_eq!(rank_with(2, &row, &prior, 0.5, None).unwrap(), 2);
    // exclusion: target index 1 (0.5) with item 1 (index 0) in the history → first
    assert_eq!(rank_with(1, &row, &[], 0.0, None).unwrap(), 2);
    assert_eq!(rank_with(1, &row, &[], 0.0, Some(&[1, 2])).unwrap(), 1);
}
