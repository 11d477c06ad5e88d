//! Attention's fast kernels (parallel over (b, h), eight-lane dot products with a tail)
//! against the public references (`ops::attention::attention_forward_naive`,
//! `attention_backward_reference`): head widths below, at and past eight lanes, causal
//! and padded sequences, forward and backward, with a tolerance under which a 1 % error
//! in one gradient element fails.

mod h16ref_support;

use h16ref_support::{assert_close, on_1_and_4_threads, Lcg};
use mtrec::ops::attention::{
    attention_backward, attention_backward_reference, attention_forward, attention_forward_naive,
    AttnDims, Qkv, QkvGrads,
};

fn check(b: usize, t: usize, h: usize, dh: usize, causal: bool, lengths: &[usize], seed: u64) {
    let d = AttnDims {
        b,
        t,
        h,
        dh,
        causal,
    };
    let n = b * t * h * dh;
    let mut r = Lcg(seed);
    let (q, k, v, dout) = (r.vec(n), r.vec(n), r.vec(n), r.vec(n));
    let mut want = vec![0f32; n];
    attention_forward_naive(&mut want, &q, &k, &v, lengths, d);
    let [want_dq, want_dk, want_dv] = attention_backward_reference(&dout, &q, &k, &v, lengths, d);
    on_1_and_4_threads(|| {
        let nt = rayon::current_num_threads();
        let tag = format!("B={b} T={t} H={h} Dh={dh} causal={causal} on {nt} threads");
        let (mut o, mut p) = (vec![0f32; n], vec![0f32; b * h * t * t]);
        let qkv = Qkv {
            q: &q,
            k: &k,
            v: &v,
        };
        attention_forward(&mut o, &mut p, qkv, lengths, d);
        assert_close(&format!("o, {tag}"), &o, &want);
        let (mut dq, mut dk, mut dv) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        let grads = QkvGrads {
            dq: Some(&mut dq),
            dk: Some(&mut dk),
            dv: Some(&mut dv),
        };
        attention_backward(grads, &dout, qkv, &p, lengths, d);
        assert_close(&format!("dQ, {tag}"), &dq, &want_dq);
        assert_close(&format!("dK, {tag}"), &dk, &want_dk);
        assert_close(&format!("dV, {tag}"), &dv, &want_dv);
    });
}

#[test]
fn attention_head_widths_around_eight_lanes() {
    for (dh, seed) in [(3, 1), (8, 2), (13, 3), (16, 4)] {
        check(2, 5, 2, dh, false, &[5, 5], seed);
    }
}

#[test]
fn attention_padding_and_causal_masks() {
    check(3, 6, 2, 8, false, &[6, 3, 0], 5);
    check(3, 6, 3, 5, true, &[6, 4, 1], 6);
}

#[test]
fn attention_many_heads_in_parallel() {
    check(4, 12, 4, 12, true, &[12, 7, 12, 9], 7);
}
