//! Issue #20: the fused Q/K/V projection (`Dense::concat`, one product with the (3D, D)
//! weight) against its twin, the three separate products: bit-identical.

use mtrec::text::bert::Dense;

fn dense(d_in: usize, d_out: usize, seed: u32) -> Dense {
    let f = |i: usize| (i as f32 * 0.618 + seed as f32).sin() * 0.5;
    Dense {
        w: (0..d_in * d_out).map(f).collect(),
        b: (0..d_out).map(|i| f(i + 7)).collect(),
        d_in,
        d_out,
    }
}

#[test]
fn fused_qkv_equals_three_separate_products_bit_for_bit() {
    for &(m, d) in &[(1usize, 8usize), (5, 24), (37, 64), (130, 384)] {
        let (q, k, v) = (dense(d, d, 1), dense(d, d, 2), dense(d, d, 3));
        let fused = Dense::concat(&[&q, &k, &v]);
        assert_eq!((fused.d_in, fused.d_out), (d, 3 * d));
        let x: Vec<f32> = (0..m * d)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let mut all = vec![0f32; m * 3 * d];
        fused.forward(&mut all, &x, m);
        for (part, layer) in [&q, &k, &v].into_iter().enumerate() {
            let mut one = vec![0f32; m * d];
            layer.forward(&mut one, &x, m);
            for r in 0..m {
                let a = &all[r * 3 * d + part * d..r * 3 * d + (part + 1) * d];
                let b = &one[r * d..(r + 1) * d];
                assert!(
                    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "m={m} d={d} part {part} row {r}: fused {a:?} vs separate {b:?}"
                );
            }
        }
    }
}
