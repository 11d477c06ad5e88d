//! The packed GEMM against the naive reference loops: every transpose variant, edge tiles
//! of every size, accumulation into a non-zero output, both micro-kernels, and
//! bit-identical results for 1 and 2 threads.
//!
//! Tolerance: `|fast − naive| ≤ 1e-4 + 1e-4·|naive|` (the two sum in different orders).

use mtrec::ops::gemm::{detect, gemm_accumulate, gemm_with, Gemm, GemmPath, Kernel};
use proptest::prelude::*;

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

/// One product's inputs: `a` stored (M, K) or (K, M), `b` (K, N) or (N, K), `out` (M, N)
/// already non-zero so accumulation is checked.
struct Case {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    a: Vec<f32>,
    b: Vec<f32>,
    c0: Vec<f32>,
}

impl Case {
    fn new(m: usize, k: usize, n: usize, ta: bool, tb: bool, seed: u64) -> Self {
        Case {
            m,
            k,
            n,
            ta,
            tb,
            a: values(m * k, seed),
            b: values(k * n, seed + 1),
            c0: values(m * n, seed + 2),
        }
    }

    fn run(&self, f: impl Fn(&mut [f32], &[f32], &[f32])) -> Vec<f32> {
        let mut out = self.c0.clone();
        f(&mut out, &self.a, &self.b);
        out
    }

    fn gemm(&self) -> Gemm {
        Gemm::new(self.m, self.k, self.n)
            .trans_a(self.ta)
            .trans_b(self.tb)
    }

    fn naive(&self) -> Vec<f32> {
        self.run(|o, a, b| gemm_with(GemmPath::Reference, o, a, b, self.gemm()))
    }

    fn fast(&self) -> Vec<f32> {
        self.run(|o, a, b| gemm_accumulate(o, a, b, self.gemm()))
    }

    fn packed(&self, portable: bool) -> Vec<f32> {
        let kernel = if portable { Kernel::Portable } else { detect() };
        let path = GemmPath::Packed { kernel, wide: true };
        self.run(|o, a, b| gemm_with(path, o, a, b, self.gemm()))
    }

    fn label(&self) -> String {
        format!(
            "M={} K={} N={} ta={} tb={}",
            self.m, self.k, self.n, self.ta, self.tb
        )
    }
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 + 1e-4 * w.abs(),
            "{what}: element {i}: got {g}, naive {w}"
        );
    }
}

/// Runs `f` inside a local rayon pool of `threads` threads.
fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool")
        .install(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every size 1..70 in each dimension, all four transposes: gemm_accumulate (which
    /// takes the naive path for tiny products) and the packed path with both kernels.
    #[test]
    fn fast_matches_naive(m in 1usize..70, k in 1usize..70, n in 1usize..70,
                          ta: bool, tb: bool, seed in 0u64..1000) {
        let case = Case::new(m, k, n, ta, tb, seed);
        let want = case.naive();
        assert_close(&case.fast(), &want, &format!("gemm_accumulate {}", case.label()));
        assert_close(&case.packed(false), &want, &format!("packed {}", case.label()));
        assert_close(&case.packed(true), &want, &format!("portable {}", case.label()));
    }
}

/// Shapes crossing every block boundary (KC = 256, MC = 144, NR = 16, MR = 6) and the
/// model's shapes, all transposes, in parallel.
#[test]
fn big_shapes_match_naive() {
    let shapes = [
        (257, 513, 130),
        (145, 257, 17),
        (7, 300, 1000),
        (1000, 3, 9),
        (300, 1, 300),
        (1, 600, 700),
        (600, 700, 1),
    ];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let case = Case::new(m, k, n, ta, tb, s as u64);
            let want = case.naive();
            assert_close(&case.fast(), &want, &case.label());
        }
    }
}

/// The portable kernel (the fallback on CPUs without AVX2+FMA and on non-x86 targets)
/// through the full packed path on shapes that cross the block boundaries.
#[test]
fn portable_kernel_matches_naive() {
    for &(m, k, n) in &[(257, 513, 130), (13, 260, 33), (150, 31, 4100)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let case = Case::new(m, k, n, ta, tb, 7);
            assert_close(&case.packed(true), &case.naive(), &case.label());
        }
    }
}

/// Each element's K summation never depends on the thread count: 1 and 2 threads give
/// the same bits, for shapes split by rows only and by rows and columns.
#[test]
fn one_and_two_threads_are_bit_identical() {
    for &(m, k, n) in &[
        (257, 513, 130),
        (1024, 242, 512),
        (12, 700, 900),
        (5, 900, 800),
        (1, 900, 800),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let case = Case::new(m, k, n, ta, tb, 3);
            let one = in_pool(1, || case.fast());
            let two = in_pool(2, || case.fast());
            let four = in_pool(4, || case.fast());
            assert!(
                one.iter()
                    .zip(&two)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "1 vs 2 threads differ: {}",
                case.label()
            );
            assert!(
                one.iter()
                    .zip(&four)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "1 vs 4 threads differ: {}",
                case.label()
            );
        }
    }
}

/// Zero-sized dimensions leave `out` unchanged (K = 0 adds an empty sum).
#[test]
fn empty_dimensions_leave_out_unchanged() {
    for &(m, k, n) in &[(0, 5, 4), (4, 0, 5), (5, 4, 0), (0, 0, 0)] {
        let case = Case::new(m, k, n, false, true, 1);
        assert_eq!(case.fast(), case.c0);
        assert_eq!(case.packed(true), case.c0);
    }
}

/// The kernel choice is reported and is the AVX2 one on CPUs that have AVX2 and FMA.
#[test]
fn kernel_detection() {
    let k = detect();
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        assert_eq!(k, Kernel::Avx2Fma);
        return;
    }
    assert_eq!(k, Kernel::Portable);
}
