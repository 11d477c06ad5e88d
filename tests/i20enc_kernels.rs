//! The encoder's fast kernels against their twins (issue #20): the AVX-512 GEMM kernel
//! against the AVX2 one (bit for bit) and the naive loops, the vectorised GELU against the
//! engine's GELU op.

use mtrec::ops::gemm::{detect, gemm_accumulate, gemm_with, Gemm, GemmPath};
use mtrec::text::gelu::{gelu_forward, gelu_forward_reference};

fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Shapes that hit every edge of the 6×32 tile: odd panel counts (a lone 6×16 tile),
/// partial panels (< 16 columns), partial row tiles (< 6 rows), K across KC blocks, and
/// the encoder's own shapes (M = B·T, K = 384 / 1536, N = 384 / 1152 / 1536).
const SHAPES: [(usize, usize, usize); 12] = [
    (1, 1, 17),
    (5, 3, 16),
    (6, 7, 32),
    (7, 9, 33),
    (13, 300, 47),
    (6, 256, 48),
    (19, 513, 70),
    (64, 31, 100),
    (90, 384, 384),
    (101, 384, 1152),
    (37, 1536, 384),
    (256, 384, 1536),
];

#[test]
fn wide_kernel_is_bit_identical_to_the_avx2_kernel_and_close_to_naive() {
    for (s, &(m, k, n)) in SHAPES.iter().enumerate() {
        for (ta, tb) in [(false, true), (false, false), (true, false), (true, true)] {
            let a = values(m * k, s as u64 * 4 + 1);
            let b = values(k * n, s as u64 * 4 + 2);
            let c0 = values(m * n, s as u64 * 4 + 3);
            let (mut wide, mut narrow, mut naive) = (c0.clone(), c0.clone(), c0.clone());
            let g = Gemm::new(m, k, n).trans_a(ta).trans_b(tb);
            let packed = |wide| GemmPath::Packed {
                kernel: detect(),
                wide,
            };
            gemm_with(packed(true), &mut wide, &a, &b, g);
            gemm_with(packed(false), &mut narrow, &a, &b, g);
            gemm_with(GemmPath::Reference, &mut naive, &a, &b, g);
            assert!(
                wide.iter()
                    .zip(&narrow)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "({m}, {k}, {n}, ta={ta}, tb={tb}): AVX-512 and AVX2 kernels differ"
            );
            for (i, (x, y)) in wide.iter().zip(&naive).enumerate() {
                let tol = 1e-5 * (k as f32).sqrt() * (1.0 + y.abs());
                assert!(
                    (x - y).abs() <= tol,
                    "({m}, {k}, {n}, ta={ta}, tb={tb}) element {i}: packed {x} vs naive {y}"
                );
            }
        }
    }
}

#[test]
fn gemm_is_bit_identical_for_one_and_two_threads() {
    let (m, k, n) = (150, 384, 1152);
    let (a, b) = (values(m * k, 7), values(k * n, 8));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut c = vec![0f32; m * n];
        pool.install(|| gemm_accumulate(&mut c, &a, &b, Gemm::new(m, k, n).trans_b(true)));
        c
    };
    let (one, two) = (run(1), run(2));
    assert!(one
        .iter()
        .zip(&two)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn vectorised_gelu_matches_the_engine_op() {
    // −12 .. 12 densely (tails included: x·Φ(x) for x ≪ 0 needs erfc's relative accuracy)
    let xs: Vec<f32> = (-120_000..=120_000)
        .map(|i| i as f32 * 1e-4 * (1.0 + (i as f32 * 0.71).sin() * 1e-3))
        .chain([
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-30,
            -1e-30,
            60.0,
            -60.0,
            1e4,
            -1e4,
        ])
        .collect();
    let (mut fast, mut exact) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
    gelu_forward(&mut fast, &xs);
    gelu_forward_reference(&mut exact, &xs);
    let mut worst = 0f32;
    for ((x, a), b) in xs.iter().zip(&fast).zip(&exact) {
        let err = (a - b).abs();
        assert!(
            err <= 1e-7 + 2.5e-7 * b.abs(),
            "gelu({x}): vectorised {a} vs op {b}"
        );
        worst = worst.max(err / (1e-30 + b.abs()));
    }
    // an odd-length slice exercises the loop's scalar remainder
    let mut tail = [0f32; 7];
    gelu_forward(&mut tail, &xs[100..107]);
    assert_eq!(tail, fast[100..107]);
    assert!(worst.is_finite());
}
