//! The GEMM's fast paths against a plain f64 product, at shapes on both sides of every
//! switch in `ops::gemm`: M = 1 and N = 1 (the gemv loops); M·N·K just below and at
//! `SMALL_MNK` = 512 (naive loops → packed); just below and at `PAR_MIN_MNK` = 2¹⁹ (serial
//! → split among threads), with fewer than and exactly `PAR_MIN_PANELS` = 8 B̃ micro-panels
//! (serial → parallel packing); K past `KC`, M past `MC`, N past `NC`. Every transpose
//! variant; the detected micro-kernel (AVX-512 or AVX2 where the CPU has them), the AVX2
//! one forced and the portable one; forward and backward through `Graph::matmul` (the backward's two products
//! have the same M·N·K as the forward, so they cross the same switches). All in a
//! 4-thread pool, so the parallel paths are taken on any machine. Also the reference loops
//! themselves (`GemmPath::Reference`) past their `PAR_MIN_FLOPS` = 2¹⁵, and the int8 layer past
//! its row-chunk split (B > 64 and B·D_in·D_out ≥ 2²⁰) against its scalar twin on one
//! thread.
//!
//! Tolerance: `h16tests_fastpath_support` (relative 1e-4; a 1 % error fails).

mod h16tests_fastpath_support;

use h16tests_fastpath_support::*;
use mtrec::autograd::UnaryFn;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::ops::gemm::{detect, gemm_with, Gemm, GemmPath, Kernel};
use mtrec::ops::gemm_i8::{self, linear_act_i8_forward, KernelI8, QuantMatrix};

/// (M, K, N) and the path each takes.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 700, 37),   // M = 1: gemv
    (37, 700, 1),   // N = 1: gemv
    (8, 8, 7),      // 448 < SMALL_MNK: naive loops
    (8, 8, 8),      // 512 = SMALL_MNK: packed
    (7, 9, 9),      // 567: packed, edge tiles in M and N
    (64, 64, 127),  // 520 192 < PAR_MIN_MNK: packed on one thread
    (64, 64, 128),  // 524 288 = PAR_MIN_MNK: parallel, 8 panels packed in parallel
    (96, 64, 100),  // parallel, 7 panels packed serially
    (70, 300, 40),  // K > KC = 256: two K blocks, parallel
    (150, 30, 120), // M > MC = 144: two row chunks
    (3, 5, 4100),   // N > NC = 4080: two column blocks
];

const TRANSPOSES: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

/// Forward and both gradients of `y = op(A)·op(B)` through the graph against f64.
fn graph_case(m: usize, k: usize, n: usize, ta: bool, tb: bool, seed: u64) {
    let label = format!("(M, K, N) = ({m}, {k}, {n}), ta {ta}, tb {tb}");
    let mut rng = Lcg(seed);
    let (a, b, dy) = (rng.vec(m * k), rng.vec(k * n), rng.vec(m * n));
    let mut store = ParamStore::new();
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let pa = store.add_dense("a", ar, ac, a.clone()).unwrap();
    let pb = store.add_dense("b", br, bc, b.clone()).unwrap();
    let mut g = Graph::new(0);
    let (va, vb) = (g.param(&store, pa).unwrap(), g.param(&store, pb).unwrap());
    let y = g.matmul(va, vb, ta, tb).unwrap(); // (M, N)
    assert_close(
        &format!("y for {label}"),
        g.value(y),
        &product(&a, &b, m, k, n, ta, tb),
    );
    store.zero_grad();
    g.backward_with_grad(y, &dy, &mut store).unwrap();

    // in the forward pass this was y_ij = Σ_p op(A)_ip·op(B)_pj, so
    // d op(A)_ip = Σ_j dy_ij·op(B)_pj and d op(B)_pj = Σ_i op(A)_ip·dy_ij
    let opb = |p: usize, j: usize| (if tb { b[j * k + p] } else { b[p * n + j] }) as f64;
    let mut da = vec![0f64; m * k];
    let mut db = vec![0f64; k * n];
    for i in 0..m {
        for p in 0..k {
            let aip = at(&a, ta, m, k, i, p);
            let a_at = if ta { p * m + i } else { i * k + p };
            for j in 0..n {
                let g = dy[i * n + j] as f64;
                da[a_at] += g * opb(p, j);
                db[if tb { j * k + p } else { p * n + j }] += aip * g;
            }
        }
    }
    assert_close(&format!("dA for {label}"), &store.grad_to_vec(pa), &da);
    assert_close(&format!("dB for {label}"), &store.grad_to_vec(pb), &db);
}

#[test]
fn matmul_forward_and_backward_match_the_reference_past_every_switch() {
    in_pool(4, || {
        for (s, &(m, k, n)) in SHAPES.iter().enumerate() {
            for (t, &(ta, tb)) in TRANSPOSES.iter().enumerate() {
                graph_case(m, k, n, ta, tb, 1 + 4 * s as u64 + t as u64);
            }
        }
    });
}

/// The packed path with each micro-kernel: the detected one (6×32 AVX-512 where the CPU
/// has AVX-512F, else 6×16 AVX2 + FMA), the 6×16 AVX2 one forced, and the portable one.
#[test]
fn every_packed_kernel_accumulates_the_reference_product() {
    let kernel = detect();
    in_pool(4, || {
        for (s, &(m, k, n)) in SHAPES.iter().enumerate() {
            for &(ta, tb) in &TRANSPOSES {
                let mut rng = Lcg(100 + s as u64);
                let (a, b, c0) = (rng.vec(m * k), rng.vec(k * n), rng.vec(m * n));
                let mut want = product(&a, &b, m, k, n, ta, tb);
                want.iter_mut().zip(&c0).for_each(|(w, &c)| *w += c as f64);
                for which in ["detected", "avx2", "portable"] {
                    let mut out = c0.clone();
                    let path = match which {
                        "detected" => GemmPath::Packed { kernel, wide: true },
                        "avx2" => GemmPath::Packed {
                            kernel,
                            wide: false,
                        },
                        _ => GemmPath::Packed {
                            kernel: Kernel::Portable,
                            wide: true,
                        },
                    };
                    let g = Gemm::new(m, k, n).trans_a(ta).trans_b(tb);
                    gemm_with(path, &mut out, &a, &b, g);
                    assert_close(
                        &format!(
                            "{which} kernel ({kernel:?} detected), (M, K, N) = ({m}, {k}, {n}), ta {ta}, tb {tb}"
                        ),
                        &out,
                        &want,
                    );
                }
            }
        }
    });
}

#[test]
fn naive_reference_loops_match_f64_past_their_par_min() {
    in_pool(4, || {
        // 31 744 < PAR_MIN_FLOPS = 32 768 ≤ 32 768, 36 000
        for (s, &(m, k, n)) in [(32, 31, 32), (32, 32, 32), (40, 30, 30)]
            .iter()
            .enumerate()
        {
            for &(ta, tb) in &TRANSPOSES {
                let mut rng = Lcg(200 + s as u64);
                let (a, b, c0) = (rng.vec(m * k), rng.vec(k * n), rng.vec(m * n));
                let mut want = product(&a, &b, m, k, n, ta, tb);
                want.iter_mut().zip(&c0).for_each(|(w, &c)| *w += c as f64);
                let mut out = c0.clone();
                let g = Gemm::new(m, k, n).trans_a(ta).trans_b(tb);
                gemm_with(GemmPath::Reference, &mut out, &a, &b, g);
                let label = format!("naive, (M, K, N) = ({m}, {k}, {n}), ta {ta}, tb {tb}");
                assert_close(&label, &out, &want);
            }
        }
    });
}

#[test]
fn int8_layer_equals_its_scalar_twin_on_one_thread_past_the_row_split() {
    let fast = gemm_i8::detect();
    // B·D_in·D_out = 1 048 576 = 2²⁰ with B = 64 (one chunk) and 65 (split); 96 rows beyond.
    for (s, &(b, d_in, d_out)) in [(64, 128, 128), (65, 128, 128), (96, 130, 100)]
        .iter()
        .enumerate()
    {
        let mut rng = Lcg(300 + s as u64);
        let x = rng.scaled(b * d_in, 2.0);
        let w = QuantMatrix::quantize("w", &rng.scaled(d_in * d_out, 0.5), d_in, d_out).unwrap();
        let bias = rng.vec(d_out);
        for f in [None, Some(UnaryFn::Relu)] {
            let run = |kernel: KernelI8| {
                let mut out = vec![f32::NAN; b * d_out];
                linear_act_i8_forward(&mut out, &x, &w, &bias, b, f, kernel);
                out
            };
            let reference = in_pool(1, || run(KernelI8::Scalar));
            let got = in_pool(4, || run(fast));
            assert!(
                got.iter().map(|v| v.to_bits()).eq(reference.iter().map(|v| v.to_bits())),
                "{fast:?} on 4 threads differs from the scalar twin on 1 for (B, D_in, D_out) = ({b}, {d_in}, {d_out}), f = {f:?}"
            );
        }
    }
}
