//! The GEMM family's argument struct (`ops::gemm::{Gemm, GemmPath}`) against an f64
//! product written here, at shapes on both sides of every switch of the fast path:
//!
//! - `gemv` (M = 1 or N = 1) against the general paths;
//! - `SMALL_MNK` = 512 multiply-adds (naive loops below, packed from there on);
//! - `PAR_MIN_MNK` = 2¹⁹ multiply-adds (one task below, rayon tasks from there on, run in a
//!   two-thread pool) and `PAR_MIN_PANELS` = 8 micro-panels of B̃ (packed in parallel);
//! - the register tile's edges: M mod 6 ≠ 0, N mod 16 ≠ 0, an odd number of 16-column
//!   micro-panels (the AVX-512 kernel's lone 6×16 tile) and the AVX2 kernel's K mod 4 tail;
//! - the blocks: K past KC = 256, M past MC = 144, N past NC = 4080;
//! - the reference loops' own switch to parallel rows (2¹⁵ multiply-adds);
//!
//! each with all four transposes, accumulating into a non-zero `out` and into zeros.
//!
//! Tolerance: every path sums each element's K products in f32, in some order, so it lies
//! within `γ · (|c₀| + Σ_p |op(A)_ip · op(B)_pj|)` of the exact value, `γ = (K + 2) · 2⁻²⁴`
//! (the classical bound for a sum of K + 1 terms with fused or separate multiplies). A 1 %
//! error in any element is far outside it.

use mtrec::ops::gemm::{detect, gemm_accumulate, gemm_with, Gemm, GemmPath, Kernel};

/// Deterministic values in [-1, 1) from a seed.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// op(X)[r, c] for X stored (rows, cols) row-major, or (cols, rows) when `trans`.
fn at(x: &[f32], rows: usize, cols: usize, trans: bool, r: usize, c: usize) -> f64 {
    if trans {
        x[c * rows + r] as f64
    } else {
        x[r * cols + c] as f64
    }
}

/// The exact-ish product in f64 and the error bound of each element (see the module doc).
fn exact(g: Gemm, c0: &[f32], a: &[f32], b: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let Gemm { m, k, n, .. } = g;
    let gamma = (k as f64 + 2.0) * f64::from(f32::EPSILON) / 2.0;
    let (mut want, mut tol) = (vec![0f64; m * n], vec![0f64; m * n]);
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut abs) = (c0[i * n + j] as f64, (c0[i * n + j] as f64).abs());
            for p in 0..k {
                let t = at(a, m, k, g.trans_a, i, p) * at(b, k, n, g.trans_b, p, j);
                s += t;
                abs += t.abs();
            }
            want[i * n + j] = s;
            tol[i * n + j] = gamma * abs + 1e-30;
        }
    }
    (want, tol)
}

/// Every path to check: what `gemm_accumulate` runs, the reference loops, and the packed
/// path with the detected kernel (AVX-512 allowed or not) and the portable kernel.
fn paths() -> Vec<(&'static str, GemmPath)> {
    vec![
        ("auto", GemmPath::Auto),
        ("reference", GemmPath::Reference),
        (
            "packed wide",
            GemmPath::Packed {
                kernel: detect(),
                wide: true,
            },
        ),
        (
            "packed avx2",
            GemmPath::Packed {
                kernel: detect(),
                wide: false,
            },
        ),
        (
            "packed portable",
            GemmPath::Packed {
                kernel: Kernel::Portable,
                wide: true,
            },
        ),
    ]
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool")
        .install(f)
}

/// Checks every path and transpose of (m, k, n) in a pool of `threads`, from a non-zero
/// and from a zero `out`.
fn check(m: usize, k: usize, n: usize, threads: usize) {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let g = Gemm::new(m, k, n).trans_a(ta).trans_b(tb);
        let seed = (m * 31 + k * 7 + n) as u64;
        let (a, b) = (values(m * k, seed), values(k * n, seed + 1));
        for c0 in [values(m * n, seed + 2), vec![0.0; m * n]] {
            let (want, tol) = exact(g, &c0, &a, &b);
            for (name, path) in paths() {
                let mut out = c0.clone();
                in_pool(threads, || gemm_with(path, &mut out, &a, &b, g));
                for (e, ((&got, &w), &t)) in out.iter().zip(&want).zip(&tol).enumerate() {
                    assert!(
                        (got as f64 - w).abs() <= t,
                        "{name} {g:?} on {threads} threads, element {e}: got {got}, exact {w}, tolerance {t:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn matrix_vector_shapes_match_the_exact_product() {
    for &(m, k, n) in &[
        (1, 1, 1),
        (1, 37, 50),
        (50, 37, 1),
        (1, 300, 1),
        (1, 513, 33),
    ] {
        check(m, k, n, 1);
    }
}

#[test]
fn both_sides_of_the_small_product_switch() {
    // 7·8·9 = 504 < 512 ≤ 8·8·8 = 512 < 8·8·9.
    for &(m, k, n) in &[(7, 8, 9), (8, 8, 8), (8, 8, 9), (2, 255, 1), (2, 256, 2)] {
        check(m, k, n, 1);
    }
}

#[test]
fn tile_edges_and_block_boundaries() {
    for &(m, k, n) in &[
        (5, 3, 16),  // one partial row tile, one whole panel
        (6, 7, 32),  // a 6×32 tile, K mod 4 = 3
        (7, 9, 33),  // partial tiles both ways, odd panel count
        (13, 4, 48), // three panels: a pair and a lone one
        (19, 257, 70),
        (145, 40, 20), // M past MC
        (3, 20, 4081), // N past NC
    ] {
        check(m, k, n, 1);
    }
}

#[test]
fn both_sides_of_the_parallel_switches_on_two_threads() {
    // 64·128·64 = 2¹⁹ = PAR_MIN_MNK (split among tasks) and one column fewer (one task);
    // 8 × 300 × 220: 14 micro-panels (B̃ packed in parallel), few row chunks (N split too);
    // 200 × 12 × 14: the reference loops' parallel rows (≥ 2¹⁵), packed on one task.
    for &(m, k, n) in &[(64, 128, 64), (64, 128, 63), (8, 300, 220), (200, 12, 14)] {
        check(m, k, n, 2);
    }
}

/// The switches change the order of no sum: one and two threads give the same bits on
/// every path, just below and just at the parallel threshold.
#[test]
fn paths_are_bit_identical_for_one_and_two_threads() {
    for &(m, k, n) in &[(64, 128, 63), (64, 128, 64), (8, 300, 220)] {
        let g = Gemm::new(m, k, n).trans_b(true);
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        for (name, path) in paths() {
            let run = |threads| {
                let mut out = values(m * n, 3);
                in_pool(threads, || gemm_with(path, &mut out, &a, &b, g));
                out
            };
            let (one, two) = (run(1), run(2));
            assert!(
                one.iter()
                    .zip(&two)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{name} {g:?}: 1 and 2 threads differ"
            );
        }
    }
}

/// `gemm_accumulate` is the `Auto` path, and an empty dimension adds nothing.
#[test]
fn accumulate_is_the_auto_path_and_empty_products_add_nothing() {
    let g = Gemm::new(30, 40, 50).trans_a(true);
    let (a, b) = (values(30 * 40, 4), values(40 * 50, 5));
    let (mut x, mut y) = (values(30 * 50, 6), values(30 * 50, 6));
    gemm_accumulate(&mut x, &a, &b, g);
    gemm_with(GemmPath::Auto, &mut y, &a, &b, g);
    assert_eq!(x, y);
    for &(m, k, n) in &[(0, 5, 4), (4, 0, 5), (5, 4, 0)] {
        let c0 = values(m * n, 7);
        for (name, path) in paths() {
            let mut out = c0.clone();
            gemm_with(
                path,
                &mut out,
                &values(m * k, 8),
                &values(k * n, 9),
                Gemm::new(m, k, n),
            );
            assert_eq!(out, c0, "{name}: ({m}, {k}, {n}) changed out");
        }
    }
}

#[test]
fn builder_sets_the_fields() {
    let g = Gemm::new(2, 3, 4).trans_b(true);
    assert_eq!(
        g,
        Gemm {
            m: 2,
            k: 3,
            n: 4,
            trans_a: false,
            trans_b: true
        }
    );
    assert_eq!(g.trans_a(true).trans_b(false).mnk(), 24);
}

#[test]
#[should_panic(expected = "do not match M=2, K=3, N=4")]
fn wrong_buffer_lengths_are_refused() {
    let mut out = vec![0f32; 8];
    gemm_accumulate(&mut out, &[0.0; 6], &[0.0; 11], Gemm::new(2, 3, 4));
}
