//! The gate combine's fast paths (row blocks in parallel above `PAR_MIN`, the stack
//! scratch for E ≤ 64 and the heap one above) against a plain f64 reference written as
//! `docs/math.md` / the op's derivation state it:
//!
//! ```text
//! w_ie = softmax(z_i)_e,  y_id = Σ_e w_ie X_i,eD+d
//! dX_i,eD+d = w_ie dy_id,  a_ie = Σ_d dy_id X_i,eD+d,  dz_ie = w_ie (a_ie − Σ_e' w_ie' a_ie')
//! ```
//! Shapes go past every switch: E = 64 and 65, B·E·D below and above 2¹⁶.

use mtrec::ops::gate::{gate_combine_backward, gate_combine_forward, GateShape};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// (y, w, dx, dz) in f64 from the formulas above.
fn reference(x: &[f32], z: &[f32], dy: &[f32], b: usize, e: usize, d: usize) -> [Vec<f64>; 4] {
    let (mut y, mut w) = (vec![0.0; b * d], vec![0.0; b * e]);
    let (mut dx, mut dz) = (vec![0.0; b * e * d], vec![0.0; b * e]);
    for i in 0..b {
        let m = (0..e).map(|k| z[i * e + k] as f64).fold(f64::MIN, f64::max);
        let s: f64 = (0..e).map(|k| (z[i * e + k] as f64 - m).exp()).sum();
        for k in 0..e {
            w[i * e + k] = (z[i * e + k] as f64 - m).exp() / s;
        }
        let mut a = vec![0.0; e];
        for k in 0..e {
            for j in 0..d {
                let xv = x[i * e * d + k * d + j] as f64;
                let g = dy[i * d + j] as f64;
                y[i * d + j] += w[i * e + k] * xv;
                dx[i * e * d + k * d + j] = w[i * e + k] * g;
                a[k] += g * xv;
            }
        }
        let wa: f64 = (0..e).map(|k| w[i * e + k] * a[k]).sum();
        for k in 0..e {
            dz[i * e + k] = w[i * e + k] * (a[k] - wa);
        }
    }
    [y, w, dx, dz]
}

fn assert_close(what: &str, got: &[f32], want: &[f64], shape: (usize, usize, usize)) {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (&g, &r)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - r).abs() <= 2e-6 * scale + 1e-7,
            "{what} at {i} for (B, E, D) = {shape:?}: {g} vs reference {r}"
        );
    }
}

#[test]
fn fast_paths_equal_the_reference_past_every_switch() {
    let mut rng = Lcg(7);
    // (B, E, D): small serial; E = 64 (stack) and 65 (heap) both serial and parallel;
    // B·E·D ≥ 2¹⁶ with E ≤ 64.
    for &(b, e, d) in &[
        (3, 3, 4),
        (5, 64, 3),
        (5, 65, 3),
        (2, 100, 7),
        (300, 65, 8),
        (260, 64, 8),
        (512, 8, 32),
    ] {
        let x = rng.vec(b * e * d);
        let z: Vec<f32> = rng.vec(b * e).iter().map(|v| 3.0 * v).collect();
        let dy = rng.vec(b * d);
        let (mut y, mut w) = (vec![0f32; b * d], vec![0f32; b * e]);
        gate_combine_forward(&mut y, &mut w, &x, &z, b, e, d);
        // The backward accumulates: start from a known offset and subtract it.
        let (mut dx, mut dz) = (vec![0.25f32; b * e * d], vec![-0.5f32; b * e]);
        gate_combine_backward(
            Some(&mut dx),
            Some(&mut dz),
            &dy,
            &x,
            &w,
            GateShape { b, e, width: d },
        );
        dx.iter_mut().for_each(|v| *v -= 0.25);
        dz.iter_mut().for_each(|v| *v += 0.5);
        let [ry, rw, rdx, rdz] = reference(&x, &z, &dy, b, e, d);
        let s = (b, e, d);
        assert_close("y", &y, &ry, s);
        assert_close("w", &w, &rw, s);
        assert_close("dx", &dx, &rdx, s);
        assert_close("dz", &dz, &rdz, s);
    }
}
