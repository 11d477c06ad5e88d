//! Matrix-product throughput of the CPU kernel, in FLOP/s.
//!
//! A product (M, K)·(K, N) performs M·N·K multiply-adds = 2·M·N·K floating-point
//! operations; criterion's `Throughput::Elements` is set to that count, so its
//! "elem/s" column reads as FLOP/s.
//!
//! Run: `cargo bench --bench matmul`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::ops::gemm::{gemm_accumulate, Gemm};

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

/// One case: `out = op(A)·op(B)` (zeroed, then accumulated) for the shape `gm`.
fn bench_case(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    gm: Gemm,
) {
    let Gemm { m, k, n, .. } = gm;
    let (a, b) = (data(m * k), data(k * n));
    let mut out = vec![0f32; m * n];
    c.throughput(Throughput::Elements((2 * m * n * k) as u64));
    c.bench_function(BenchmarkId::new(label, format!("{m}x{k}x{n}")), |bch| {
        bch.iter(|| {
            out.fill(0.0);
            gemm_accumulate(black_box(&mut out), black_box(&a), black_box(&b), gm);
        })
    });
}

fn squares(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_square");
    g.sample_size(10);
    for &s in &[64usize, 128, 256, 512] {
        bench_case(&mut g, "nn", Gemm::new(s, s, s));
    }
    g.finish();
}

/// Shapes of the recommendation models: the census MMoE's experts (all 8 experts of
/// width 64 as one 242→512 product) and its towers, forward and both backward products.
fn model_shapes(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_model");
    g.sample_size(20);
    bench_case(&mut g, "experts_fwd_nn", Gemm::new(1024, 242, 512));
    bench_case(
        &mut g,
        "experts_dx_nt",
        Gemm::new(1024, 512, 242).trans_b(true),
    );
    bench_case(
        &mut g,
        "experts_dw_tn",
        Gemm::new(242, 1024, 512).trans_a(true),
    );
    bench_case(&mut g, "tower_fwd_nn", Gemm::new(1024, 64, 32));
    g.finish();
}

criterion_group!(benches, squares, model_shapes);
criterion_main!(benches);
