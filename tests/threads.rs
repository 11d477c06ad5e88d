//! Threads change speed, never results: the census MMoE's training steps give the same
//! bits on one and on two rayon threads, and the row-parallel kernels equal their
//! one-row-at-a-time sequential path.

mod census_support;
use census_support::{census_shaped, CensusTrainer};
use mtrec::autograd::{Graph, OpKind};
use mtrec::ops::embed_linear::EmbedLinearMode;
use mtrec::ops::gate::{gate_combine_backward, gate_combine_forward, GateShape};
use mtrec::train::run::step::empty_info;

/// Every parameter value after 4 steps (dense block and tables) on `threads` threads,
/// and how many factorised layers the last step recorded.
fn params_after_steps(threads: usize, mode: EmbedLinearMode) -> (Vec<Vec<f32>>, usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    pool.install(|| {
        let c = census_shaped(60, 1024, 4, 3).expect("census-shaped model");
        let mut t = CensusTrainer::new(c).expect("fixed weights and Adam");
        let mut g = Graph::new(1);
        g.set_embed_linear(mode);
        let mut info = empty_info();
        for b in 0..t.shaped.batches.len() {
            t.step(&mut g, b, 1e-2, &mut info).expect("step");
        }
        let c = &t.shaped;
        let mut out = vec![c.store.dense().to_vec()];
        out.extend(c.store.tables().iter().map(|t| t.value.clone()));
        (out, g.find_op(OpKind::EmbedLinear).len())
    })
}

/// Both paths of the layers over the embeddings: factorised (the default; experts and
/// both gates) and the plain product.
#[test]
fn census_mmoe_steps_are_bit_identical_on_one_and_two_threads() {
    for (mode, layers) in [(EmbedLinearMode::Auto, 3), (EmbedLinearMode::Off, 0)] {
        let ((one, n1), (two, n2)) = (params_after_steps(1, mode), params_after_steps(2, mode));
        assert_eq!(
            (n1, n2),
            (layers, layers),
            "{mode:?}: factorised layers recorded"
        );
        assert_eq!(one.len(), two.len());
        for (k, (a, b)) in one.iter().zip(&two).enumerate() {
            let differ = a
                .iter()
                .zip(b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count();
            assert_eq!(
                differ, 0,
                "{mode:?} block {k}: {differ} values differ between 1 and 2 threads"
            );
        }
        // The steps did train: parameters moved away from a fresh model's.
        let fresh = census_shaped(60, 1024, 4, 3).expect("census-shaped model");
        assert_ne!(fresh.store.dense(), &one[0][..]);
    }
}

#[test]
fn row_parallel_gate_combine_equals_row_by_row() {
    let (b, e, d) = (300, 8, 64); // B·E·D above the parallel threshold
    let val = |i: usize, s: usize| ((i * s) % 101) as f32 / 50.0 - 1.0;
    let x: Vec<f32> = (0..b * e * d).map(|i| val(i, 7)).collect(); // (B, E·D)
    let z: Vec<f32> = (0..b * e).map(|i| val(i, 13)).collect(); // (B, E)
    let dy: Vec<f32> = (0..b * d).map(|i| val(i, 17)).collect(); // (B, D)
    let run = |rows_at_once: usize| {
        let (mut y, mut w) = (vec![0f32; b * d], vec![0f32; b * e]);
        let (mut dx, mut dz) = (vec![0f32; b * e * d], vec![0f32; b * e]);
        for i0 in (0..b).step_by(rows_at_once) {
            let n = rows_at_once.min(b - i0);
            let (rx, rz, rd) = (
                i0 * e * d..(i0 + n) * e * d,
                i0 * e..(i0 + n) * e,
                i0 * d..(i0 + n) * d,
            );
            gate_combine_forward(
                &mut y[rd.clone()],
                &mut w[rz.clone()],
                &x[rx.clone()],
                &z[rz.clone()],
                n,
                e,
                d,
            );
            gate_combine_backward(
                Some(&mut dx[rx.clone()]),
                Some(&mut dz[rz.clone()]),
                &dy[rd],
                &x[rx],
                &w[rz],
                GateShape { b: n, e, width: d },
            );
        }
        (y, w, dx, dz)
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a rayon pool");
    let whole = pool.install(|| run(b)); // parallel path
    let by_row = run(1); // one row per call: the sequential path
    assert_eq!(whole, by_row);
}
