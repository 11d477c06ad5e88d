//! Issue #20 (s7-enc): the GEMM with B packed once (`gemm_prepacked`) against its twin,
//! the packed path that packs B on every call: bit-identical for every shape, both
//! transposes of A, the edge tiles, several K blocks, 1 and 2 threads; and the encoder's
//! `Linear` (weight packed at load) against `Dense` (packed per call), bit-identical.

use mtrec::ops::gemm::{
    detect, gemm_prepacked, gemm_prepacked_serial, gemm_prepacked_with, gemm_with, Gemm, GemmPath,
    Kernel, PackedB,
};
use mtrec::text::bert::{Dense, Linear};

fn data(n: usize, salt: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((((i + salt) * 7919) % 1999) as f32 / 999.5 - 1.0) * 0.7)
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Sizes: edges of MR/NR tiles, K over one and several KC = 256 blocks, the encoder's.
const SHAPES: [(usize, usize, usize); 9] = [
    (1, 1, 1),
    (2, 3, 5),
    (7, 17, 33),
    (13, 256, 16),
    (6, 257, 48),
    (37, 600, 70),
    (130, 384, 1152),
    (96, 1536, 384),
    (11, 384, 4097), // N over one NC = 4080 block
];

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn prepacked_b_equals_the_packed_path_bit_for_bit() {
    let mut kernels = vec![(Kernel::Portable, false)];
    if detect() != Kernel::Portable {
        kernels.push((detect(), false)); // AVX2
        kernels.push((detect(), true)); // AVX-512 where the CPU has it
    }
    for threads in [1, 2] {
        pool(threads).install(|| {
            for &(m, k, n) in &SHAPES {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    let (a, b, c0) = (data(m * k, 1), data(k * n, 2), data(m * n, 3));
                    let g = Gemm::new(m, k, n).trans_a(ta).trans_b(tb);
                    let packed = PackedB::new(&b, k, n, tb);
                    assert_eq!((packed.k(), packed.n()), (k, n));
                    for &(kernel, wide) in &kernels {
                        let mut want = c0.clone();
                        gemm_with(GemmPath::Packed { kernel, wide }, &mut want, &a, &b, g);
                        for parallel in [true, false] {
                            let mut got = c0.clone();
                            gemm_prepacked_with(
                                kernel,
                                wide,
                                parallel,
                                &mut got,
                                (&a, ta),
                                &packed,
                                m,
                            );
                            assert_eq!(
                                bits(&got),
                                bits(&want),
                                "M={m} K={k} N={n} ta={ta} tb={tb} {kernel:?} wide={wide} \
                                 parallel={parallel} threads={threads}"
                            );
                        }
                    }
                    // The public entries: the detected kernel, AVX-512 allowed.
                    let mut want = c0.clone();
                    let path = GemmPath::Packed {
                        kernel: detect(),
                        wide: true,
                    };
                    gemm_with(path, &mut want, &a, &b, g);
                    let (mut got, mut got1) = (c0.clone(), c0.clone());
                    gemm_prepacked(&mut got, &a, &packed, m, ta);
                    gemm_prepacked_serial(&mut got1, &a, &packed, m, ta);
                    assert_eq!(bits(&got), bits(&want), "M={m} K={k} N={n}");
                    assert_eq!(bits(&got1), bits(&want), "M={m} K={k} N={n} serial");
                    // A clone (its blocks re-aligned) multiplies the same.
                    let mut got2 = c0.clone();
                    gemm_prepacked(&mut got2, &a, &packed.clone(), m, ta);
                    assert_eq!(bits(&got2), bits(&want), "M={m} K={k} N={n} clone");
                }
            }
        })
    }
}

#[test]
fn prepacked_product_is_the_product() {
    // Against plain f64 loops, so a wrong block order or a missing block shows up even if
    // both twins shared the mistake.
    let (m, k, n) = (19, 700, 45);
    let (a, b) = (data(m * k, 5), data(n * k, 6)); // b stored (N, K): a layer's weight
    let packed = PackedB::new(&b, k, n, true);
    let mut got = vec![0.5f32; m * n];
    gemm_prepacked(&mut got, &a, &packed, m, false);
    for i in 0..m {
        for j in 0..n {
            let want: f64 = 0.5
                + (0..k)
                    .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                    .sum::<f64>();
            let g = got[i * n + j] as f64;
            assert!(
                (g - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "({i}, {j}): {g} vs {want}"
            );
        }
    }
}

#[test]
#[should_panic(expected = "gemm_prepacked: buffer lengths")]
fn a_wrong_buffer_length_is_refused() {
    let packed = PackedB::new(&data(12, 1), 3, 4, false);
    let mut out = vec![0f32; 8];
    gemm_prepacked(&mut out, &data(5, 2), &packed, 2, false); // A must hold 2·3
}

fn dense(d_in: usize, d_out: usize, seed: usize) -> Dense {
    Dense {
        w: data(d_out * d_in, seed),
        b: data(d_out, seed + 100),
        d_in,
        d_out,
    }
}

#[test]
fn linear_with_packed_weight_equals_dense_bit_for_bit() {
    for threads in [1, 2] {
        pool(threads).install(|| {
            for &(m, d_in, d_out) in &[
                (1usize, 8usize, 8usize),
                (3, 4, 5),
                (2, 384, 1152),
                (9, 384, 1536),
                (576, 1536, 384),
                (37, 64, 1),
            ] {
                let d = dense(d_in, d_out, m + d_in);
                let x = data(m * d_in, 9);
                let mut want = vec![f32::NAN; m * d_out];
                d.forward(&mut want, &x, m);
                let lin = Linear::new(d.clone());
                for parallel in [true, false] {
                    let mut got = vec![f32::NAN; m * d_out];
                    lin.forward(&mut got, &x, m, parallel);
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "M={m} D_in={d_in} D_out={d_out} parallel={parallel} threads={threads}"
                    );
                }
            }
        })
    }
}
