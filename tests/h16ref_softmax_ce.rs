//! Softmax cross-entropy's fast paths (rows in parallel above `PAR_MIN` = 2¹⁵ logits)
//! against its public reference (`ops::softmax_ce::softmax_ce_{forward,backward}_reference`),
//! on one thread and four.

mod h16ref_support;

use h16ref_support::{assert_close, on_1_and_4_threads, Lcg};
use mtrec::ops::softmax_ce::{
    softmax_ce_backward, softmax_ce_backward_reference, softmax_ce_forward,
    softmax_ce_forward_reference,
};

fn check(b: usize, v: usize, seed: u64) {
    let mut r = Lcg(seed);
    let z: Vec<f32> = r.vec(b * v).iter().map(|x| 4.0 * x).collect();
    let classes: Vec<u32> = (0..b).map(|_| r.below(v)).collect();
    let coef: Vec<f32> = (0..b).map(|_| 0.5 + r.next().abs()).collect();
    let dl = 0.7f32;
    let (want_l, want_p) = softmax_ce_forward_reference(&z, &classes, &coef, b, v);
    let want_dz = softmax_ce_backward_reference(dl, &z, &classes, &coef, b, v);
    on_1_and_4_threads(|| {
        let tag = format!("B={b} V={v} on {} threads", rayon::current_num_threads());
        let (mut p, mut terms) = (vec![0f32; b * v], vec![0f64; b]);
        let l = softmax_ce_forward(&mut p, &mut terms, &z, &classes, &coef, b, v);
        assert_close(&format!("L, {tag}"), &[l], &[want_l]);
        assert_close(&format!("p, {tag}"), &p, &want_p);
        let mut dz = vec![0f32; b * v];
        softmax_ce_backward(&mut dz, dl, &p, &classes, &coef, b, v);
        assert_close(&format!("dz, {tag}"), &dz, &want_dz);
    });
}

#[test]
fn softmax_ce_serial_below_par_min() {
    check(5, 7, 1);
    check(17, 300, 2); // more rows than one task
}

#[test]
fn softmax_ce_parallel_past_par_min() {
    check(100, 1000, 3); // 100 000 logits
    check(40, 1 << 15, 4); // a long row per sample
}
