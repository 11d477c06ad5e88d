//! Issue #20 (s7-enc): residual + layer norm fused (`text::norm`) against its naive twin,
//! the add followed by the engine's `layer_norm_forward`.

use mtrec::ops::layer_norm::LayerNormShape;
use mtrec::text::norm::{residual_layer_norm_forward, residual_layer_norm_reference};

fn data(n: usize, salt: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((((i + salt) * 7919) % 2003) as f32 / 1001.5 - 1.0) * scale)
        .collect()
}

/// Distance in units in the last place (same-sign floats; 0 when equal).
fn ulps(a: f32, b: f32) -> u32 {
    assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
    a.to_bits().abs_diff(b.to_bits())
}

#[test]
fn fused_residual_norm_matches_add_then_layer_norm_within_two_ulps() {
    for &(rows, cols, eps) in &[
        (1usize, 1usize, 1e-12f32),
        (3, 7, 1e-5),
        (130, 384, 1e-12), // MiniLM: D = 384, more rows than one task
        (17, 1000, 1e-12),
    ] {
        let shape = LayerNormShape { rows, cols, eps };
        let (a, x0) = (data(rows * cols, 1, 3.0), data(rows * cols, 2, 40.0));
        let (gamma, beta) = (data(cols, 3, 1.5), data(cols, 4, 0.5));
        let mut want = x0.clone();
        residual_layer_norm_reference(&mut want, &a, &gamma, &beta, shape);
        let (mut got, mut got_par) = (x0.clone(), x0.clone());
        residual_layer_norm_forward(&mut got, &a, &gamma, &beta, shape, false);
        residual_layer_norm_forward(&mut got_par, &a, &gamma, &beta, shape, true);
        assert!(
            got.iter()
                .zip(&got_par)
                .all(|(p, q)| p.to_bits() == q.to_bits()),
            "rows {rows} cols {cols}: parallel differs from serial"
        );
        let mut same = 0;
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            if g == w {
                same += 1;
            } else if w.abs() > 1e-3 {
                assert!(ulps(g, w) <= 2, "rows {rows} cols {cols} [{i}]: {g} vs {w}");
            } else {
                assert!((g - w).abs() <= 1e-9, "[{i}]: {g} vs {w}");
            }
        }
        // Only the order of the f64 sums differs: nearly every value is the same f32.
        assert!(
            same * 100 >= got.len() * 99,
            "rows {rows} cols {cols}: only {same} of {} equal",
            got.len()
        );
    }
}

#[test]
fn rows_whose_sums_are_exact_give_the_reference_bits() {
    // Small integers: every f64 sum is exact in any order, so the two must agree
    // bit for bit (a wrong lane, a dropped tail or a wrong residual would show here).
    let (rows, cols) = (5, 37);
    let shape = LayerNormShape {
        rows,
        cols,
        eps: 1e-5,
    };
    let mut a: Vec<f32> = (0..rows * cols).map(|i| (i % 7) as f32 - 3.0).collect();
    let x0: Vec<f32> = (0..rows * cols).map(|i| (i % 5) as f32).collect();
    // Each row of a + x sums to a multiple of D, so μ is an integer and every deviation,
    // square and sum is exact.
    for r in 0..rows {
        let sum: f32 = (0..cols).map(|j| a[r * cols + j] + x0[r * cols + j]).sum();
        a[r * cols + cols - 1] -= sum.rem_euclid(cols as f32);
    }
    let (gamma, beta) = (vec![1.25f32; cols], vec![-0.5f32; cols]);
    let mut want = x0.clone();
    residual_layer_norm_reference(&mut want, &a, &gamma, &beta, shape);
    let mut got = x0.clone();
    residual_layer_norm_forward(&mut got, &a, &gamma, &beta, shape, true);
    assert_eq!(
        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
#[should_panic(expected = "residual_layer_norm_forward")]
fn mismatched_lengths_are_refused() {
    let shape = LayerNormShape {
        rows: 2,
        cols: 3,
        eps: 1e-5,
    };
    residual_layer_norm_forward(&mut [0.0; 6], &[0.0; 5], &[1.0; 3], &[0.0; 3], shape, false);
}
