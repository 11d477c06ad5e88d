//! The gate combine's fast paths against its public reference
//! (`ops::gate::gate_combine_{forward,backward}_reference`) on both sides of every switch:
//! E = 64 / 65 (stack / heap scratch of the logit gradient), B·E·D below / above
//! `PAR_MIN` = 2¹⁶ (row blocks in parallel), on one thread and four.

mod h16ref_support;

use h16ref_support::{assert_close, on_1_and_4_threads, Lcg};
use mtrec::ops::gate::{
    gate_combine_backward, gate_combine_backward_reference, gate_combine_forward,
    gate_combine_forward_reference, GateShape,
};

fn check(b: usize, e: usize, width: usize, seed: u64) {
    let s = GateShape { b, e, width };
    let mut r = Lcg(seed);
    let x = r.vec(b * e * width);
    let z: Vec<f32> = r.vec(b * e).iter().map(|v| 3.0 * v).collect();
    let dy = r.vec(b * width);
    let (want_y, want_w) = gate_combine_forward_reference(&x, &z, s);
    let (want_dx, want_dz) = gate_combine_backward_reference(&dy, &x, &z, s);
    on_1_and_4_threads(|| {
        let tag = format!(
            "B={b} E={e} D={width} on {} threads",
            rayon::current_num_threads()
        );
        let (mut y, mut w) = (vec![0f32; b * width], vec![0f32; b * e]);
        gate_combine_forward(&mut y, &mut w, &x, &z, b, e, width);
        assert_close(&format!("y, {tag}"), &y, &want_y);
        assert_close(&format!("w, {tag}"), &w, &want_w);
        let (mut dx, mut dz) = (vec![0f32; b * e * width], vec![0f32; b * e]);
        gate_combine_backward(Some(&mut dx), Some(&mut dz), &dy, &x, &w, s);
        assert_close(&format!("dX, {tag}"), &dx, &want_dx);
        assert_close(&format!("dz, {tag}"), &dz, &want_dz);
    });
}

#[test]
fn gate_small_serial_stack_scratch() {
    check(3, 4, 5, 1);
    check(2, 64, 3, 2);
}

#[test]
fn gate_heap_scratch_past_64_experts() {
    check(3, 65, 4, 3);
    check(2, 100, 7, 4);
}

#[test]
fn gate_parallel_rows_past_par_min() {
    check(200, 8, 64, 5); // B·E·D = 102 400
    check(130, 64, 9, 6); // 74 880, stack scratch
    check(70, 65, 16, 7); // 72 800, heap scratch
}

#[test]
fn gate_forward_accumulates_into_out() {
    // `out +=`: the forward adds the mixture to what `out` holds.
    let (b, e, width) = (2, 3, 4);
    let mut r = Lcg(8);
    let (x, z) = (r.vec(b * e * width), r.vec(b * e));
    let (want, _) = gate_combine_forward_reference(&x, &z, GateShape { b, e, width });
    let mut y = vec![1f32; b * width];
    let mut w = vec![0f32; b * e];
    gate_combine_forward(&mut y, &mut w, &x, &z, b, e, width);
    let shifted: Vec<f32> = want.iter().map(|v| v + 1.0).collect();
    assert_close("out += mixture", &y, &shifted);
}
