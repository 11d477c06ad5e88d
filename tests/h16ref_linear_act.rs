//! The fused layer's fast path (bias rows, packed GEMM past `SMALL_MNK`, the parallel
//! activation / f′ passes past 2¹⁵ elements) against its public reference
//! (`ops::linear_act::linear_act_{forward,backward}_reference`) for every activation,
//! `Exp` included, forward and backward, on one thread and four.

mod h16ref_support;

use h16ref_support::{assert_close, on_1_and_4_threads, Lcg};
use mtrec::autograd::UnaryFn;
use mtrec::ops::linear_act::{
    linear_act_backward, linear_act_backward_reference, linear_act_forward,
    linear_act_forward_reference, LinearActGrads, LinearActSaved, LinearShape,
};

const ACTIVATIONS: [Option<UnaryFn>; 6] = [
    None,
    Some(UnaryFn::Relu),
    Some(UnaryFn::Sigmoid),
    Some(UnaryFn::Tanh),
    Some(UnaryFn::Gelu),
    Some(UnaryFn::Exp),
];

fn check(b: usize, d_in: usize, d_out: usize, seed: u64) {
    let s = LinearShape { b, d_in, d_out };
    let mut r = Lcg(seed);
    let x = r.vec(b * d_in);
    let w: Vec<f32> = r
        .vec(d_in * d_out)
        .iter()
        .map(|v| v / (d_in as f32).sqrt())
        .collect();
    let bias = r.vec(d_out);
    let dy = r.vec(b * d_out);
    for f in ACTIVATIONS {
        let (want_y, want_z) = linear_act_forward_reference(&x, &w, &bias, s, f);
        let (want_dx, want_dw, want_db) = linear_act_backward_reference(&dy, &x, &w, &bias, s, f);
        on_1_and_4_threads(|| {
            let n = rayon::current_num_threads();
            let tag = format!("{f:?} B={b} D_in={d_in} D_out={d_out} on {n} threads");
            let mut y = vec![0f32; b * d_out];
            let mut pre = if f == Some(UnaryFn::Gelu) {
                vec![0f32; b * d_out]
            } else {
                Vec::new()
            };
            linear_act_forward(
                &mut y,
                &mut pre,
                &x,
                &w,
                &bias,
                LinearShape { b, d_in, d_out },
                f,
            );
            assert_close(&format!("y, {tag}"), &y, &want_y);
            if !pre.is_empty() {
                assert_close(&format!("z, {tag}"), &pre, &want_z);
            }
            let (mut dx, mut dw, mut db) = (
                vec![0f32; b * d_in],
                vec![0f32; d_in * d_out],
                vec![0f32; d_out],
            );
            let mut scratch = Vec::new();
            let grads = LinearActGrads {
                dx: Some(&mut dx),
                dw: Some(&mut dw),
                db: Some(&mut db),
            };
            let saved = LinearActSaved {
                out: &y,
                pre: &pre,
                f,
            };
            linear_act_backward(grads, &mut scratch, &dy, saved, &x, &w, s);
            assert_close(&format!("dx, {tag}"), &dx, &want_dx);
            assert_close(&format!("dW, {tag}"), &dw, &want_dw);
            assert_close(&format!("db, {tag}"), &db, &want_db);
        });
    }
}

#[test]
fn linear_act_small_products_and_serial_activation() {
    check(3, 5, 7, 1); // 105 multiply-adds: the plain GEMM loops
    check(4, 1, 3, 2);
}

#[test]
fn linear_act_packed_gemm() {
    check(17, 33, 20, 3); // past SMALL_MNK, activation serial
}

#[test]
fn linear_act_parallel_activation_past_par_min() {
    check(300, 24, 130, 4); // 39 000 outputs > 2¹⁵
}
