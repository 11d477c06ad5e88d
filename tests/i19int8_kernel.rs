//! The int8 product (`ops::gemm_i8`): the AVX2 kernel equals its scalar twin exactly
//! (integers), the dequantised product stays within the bound derived in docs/math.md of
//! the f32 product, and `maddubs`' i16 saturation never happens (extreme values).

use mtrec::autograd::{Graph, ParamStore, UnaryFn};
use mtrec::nn::{Init, Linear};
use mtrec::ops::gemm_i8::{
    detect, error_bound, gemm_u8i8, linear_act_i8_forward, quantize_rows, KernelI8, QuantMatrix,
    QuantRows, MAX_D_IN,
};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use proptest::prelude::*;

/// Every kernel this CPU runs (the scalar twin always; AVX2 when present, said at run time).
fn kernels() -> Vec<KernelI8> {
    let k = detect();
    if k == KernelI8::Scalar {
        eprintln!("note: this CPU has no AVX2; only the scalar twin is checked here");
        vec![KernelI8::Scalar]
    } else {
        vec![KernelI8::Scalar, k]
    }
}

/// `acc` of every kernel for activations `x` (B, D_in) and weights `w`.
fn products(x: &[f32], w: &QuantMatrix, b: usize) -> (QuantRows, Vec<Vec<i32>>) {
    let mut q = QuantRows::default();
    quantize_rows(&mut q, x, b, w.d_in, w.kp());
    let accs = kernels()
        .into_iter()
        .map(|k| {
            let mut acc = vec![-1; b * w.np()];
            gemm_u8i8(k, &mut acc, &q, w, b);
            acc
        })
        .collect();
    (q, accs)
}

fn draw(rng: &mut StdRng, n: usize, scale: f32, shift: f32) -> Vec<f32> {
    (0..n)
        .map(|_| rng.gen_range(-1.0f32..1.0) * scale + shift)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// AVX2 == scalar, bit for bit, on every shape (edges of the 4-row and 16-column
    /// tiles and of the k quads included).
    #[test]
    fn avx2_equals_the_scalar_twin(b in 1usize..11, d_in in 1usize..75, d_out in 1usize..40,
                                   seed in 0u64..1000, shift in -2.0f32..2.0) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = draw(&mut rng, b * d_in, 3.0, shift);
        let w = QuantMatrix::quantize("w", &draw(&mut rng, d_in * d_out, 0.5, 0.0), d_in, d_out).unwrap();
        let (_, accs) = products(&x, &w, b);
        for acc in &accs[1..] {
            prop_assert_eq!(acc, &accs[0]);
        }
    }

    /// The dequantised product (with bias) is within the derived bound of the exact
    /// product `x · W + b` (computed in f64), plus f32 rounding of the final scaling.
    #[test]
    fn dequantised_product_is_within_the_bound(b in 1usize..9, d_in in 1usize..90,
                                                d_out in 1usize..35, seed in 0u64..1000,
                                                shift in -1.0f32..1.0, xs in 0.01f32..10.0) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = draw(&mut rng, b * d_in, xs, shift * xs);
        let wf = draw(&mut rng, d_in * d_out, 0.3, 0.0);
        let bias = draw(&mut rng, d_out, 0.1, 0.0);
        let w = QuantMatrix::quantize("w", &wf, d_in, d_out).unwrap();
        let (q, _) = products(&x, &w, b);
        let bound = error_bound(&x, &q, &w, b);
        for k in kernels() {
            let mut out = vec![0f32; b * d_out];
            linear_act_i8_forward(&mut out, &x, &w, &bias, b, None, k);
            for i in 0..b {
                for j in 0..d_out {
                    let mut exact = bias[j] as f64;
                    let mut mag = bias[j].abs() as f64;
                    for p in 0..d_in {
                        exact += x[i * d_in + p] as f64 * wf[p * d_out + j] as f64;
                        mag += (x[i * d_in + p] as f64 * wf[p * d_out + j] as f64).abs();
                    }
                    let err = (out[i * d_out + j] as f64 - exact).abs();
                    let slack = 1e-5 * (1.0 + mag); // f32 rounding of scale · acc + bias
                    prop_assert!(err <= bound[i * d_out + j] + slack,
                        "({i},{j}) {k:?}: |int8 − f32| = {err} > bound {} + {slack}", bound[i * d_out + j]);
                }
            }
        }
    }

    /// Activations: 7 bits (u ≤ 127, what keeps maddubs from saturating) and
    /// |x − x̂| ≤ s/2; weights: never −128 and |W − Ŵ| ≤ s/2.
    #[test]
    fn quantisers_stay_in_range_and_within_half_a_step(d in 1usize..60, seed in 0u64..1000,
                                                       shift in -3.0f32..3.0) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = draw(&mut rng, d, 1.0, shift);
        let mut q = QuantRows::default();
        quantize_rows(&mut q, &x, 1, d, d.div_ceil(4) * 4);
        let (s, z) = (q.scale[0], q.zero[0]);
        for (p, &v) in x.iter().enumerate() {
            prop_assert!(q.u[p] <= 127);
            let xh = s * (q.u[p] as i32 - z) as f32;
            prop_assert!((v - xh).abs() <= s / 2.0 * (1.0 + 1e-5) + 1e-7, "{v} vs {xh}, s {s}");
        }
        let w = QuantMatrix::quantize("w", &x, d, 1).unwrap();
        let wh = w.dequantize();
        for p in 0..d {
            prop_assert!(w.q[p] != i8::MIN);
            prop_assert!((x[p] - wh[p]).abs() <= w.scales[0] / 2.0 * (1.0 + 1e-5) + 1e-7);
        }
    }
}

/// Rows of all-max activations (every u = 127) against columns of all +127, all −127 and
/// alternating ±127 weights, over D_in = 4099 (not a multiple of 4): the largest pair sums
/// `maddubs` sees (±2·127·127 = ±32 258) and i32 sums of ±66 millions. Every kernel must
/// give the exact integers, which a saturating i16 step would not.
#[test]
fn saturation_extremes_give_exact_integers() {
    let (b, d_in, d_out) = (5, 4099, 19);
    let mut w = vec![0f32; d_in * d_out];
    for k in 0..d_in {
        for j in 0..d_out {
            w[k * d_out + j] = match j % 3 {
                0 => 1.0,
                1 => -1.0,
                _ => {
                    if k % 2 == 0 {
                        1.0
                    } else {
                        -1.0
                    }
                }
            };
        }
    }
    let w = QuantMatrix::quantize("w", &w, d_in, d_out).unwrap();
    assert!(w.q.iter().all(|&r| r == 127 || r == -127));
    let x = vec![7.5f32; b * d_in]; // all at the row's max: u = 127, zero point 0
    let (q, accs) = products(&x, &w, b);
    assert!(q.u.iter().take(d_in).all(|&u| u == 127));
    for acc in &accs {
        for i in 0..b {
            for j in 0..d_out {
                let expect: i64 = match j % 3 {
                    0 => 127 * 127 * d_in as i64,
                    1 => -127 * 127 * d_in as i64,
                    _ => 127 * 127, // 2050 (+) and 2049 (−) terms
                };
                assert_eq!(acc[i * w.np() + j] as i64, expect, "row {i} column {j}");
            }
        }
    }
    // signed rows at the extremes: half at +max, half at −max (u = 0 and 127, z = 64)
    let x: Vec<f32> = (0..b * d_in)
        .map(|i| if i % 2 == 0 { 3.0 } else { -3.0 })
        .collect();
    let (_, accs) = products(&x, &w, b);
    for acc in &accs[1..] {
        assert_eq!(acc, &accs[0]);
    }
}

/// A layer wider than the i32 accumulator allows is refused, not wrapped around.
#[test]
fn too_wide_a_layer_is_refused() {
    let err = QuantMatrix::quantize("wide", &vec![0.0; MAX_D_IN + 1], MAX_D_IN + 1, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("wide") && err.contains("overflow"), "{err}");
}

/// `nn::Linear` in evaluation mode uses the int8 weights attached to the store (and its
/// activation), within the bound of the f32 layer; in training mode it stays f32.
#[test]
fn linear_uses_the_int8_weights_in_evaluation_mode() {
    let (b, d_in, d_out) = (13, 37, 21);
    let mut rng = StdRng::seed_from_u64(5);
    let mut store = ParamStore::new();
    let lin = Linear::new(&mut store, "l", d_in, d_out, Init::XavierUniform, &mut rng).unwrap();
    let x = draw(&mut rng, b * d_in, 1.0, 0.0);
    let f32_out = |store: &ParamStore, training: bool| {
        let mut g = Graph::new(0);
        g.set_training(training);
        let xv = g.input_slice(b, d_in, &x).unwrap();
        let y = lin
            .forward_act(&mut g, store, xv, Some(UnaryFn::Relu))
            .unwrap();
        g.value(y).to_vec()
    };
    let before = f32_out(&store, false);
    let w = QuantMatrix::quantize("l.w", store.value(lin.w), d_in, d_out).unwrap();
    let mut q = QuantRows::default();
    quantize_rows(&mut q, &x, b, d_in, w.kp());
    let bound = error_bound(&x, &q, &w, b);
    store.set_int8(lin.w, w);
    let after = f32_out(&store, false);
    assert_ne!(before, after, "evaluation mode did not take the int8 path");
    for i in 0..b * d_out {
        // ReLU is 1-Lipschitz: the pre-activation bound carries over
        assert!((before[i] - after[i]).abs() as f64 <= bound[i] + 1e-5);
    }
    assert_eq!(f32_out(&store, true), before, "training mode must stay f32");
}
