//! Issue #20 (s7-enc): the encoder's dense-layer products with the weight packed once
//! (`gemm_prepacked`, `PackedB`) beside the same product packing the weight on every call
//! (`gemm_accumulate`, its twin: the same bits). Shapes: MiniLM's layers (K, N) on a batch
//! of 64 titles of 9 tokens (M = 576) and on one wave of short keyword lines per thread
//! (M = 16 texts × 8 tokens = 128), serial (one thread, as under `Spread::Batches`) and
//! split among rayon's threads. 2·M·K·N FLOPs, reported as elem/s (= FLOP/s).
//!
//! Run: `cargo bench --bench s7enc_prepacked`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::ops::gemm::{gemm_accumulate, gemm_prepacked, gemm_prepacked_serial, Gemm, PackedB};

fn data(n: usize, salt: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i + salt) * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn prepacked(c: &mut Criterion) {
    let mut g = c.benchmark_group("encoder_gemm_prepacked");
    g.sample_size(10);
    for &m in &[576usize, 128] {
        for &(k, n) in &[(384usize, 1152usize), (384, 384), (384, 1536), (1536, 384)] {
            let (a, w) = (data(m * k, 5), data(n * k, 6)); // (M, K), W (N, K)
            let packed = PackedB::new(&w, k, n, true); // Wᵀ (K, N), packed once
            let mut out = vec![0f32; m * n]; // (M, N)
            g.throughput(Throughput::Elements((2 * m * k * n) as u64));
            let id = format!("M{m}_K{k}_N{n}");
            let gm = Gemm::new(m, k, n).trans_b(true);
            g.bench_function(BenchmarkId::new("repack_each_call", &id), |bch| {
                bch.iter(|| gemm_accumulate(black_box(&mut out), &a, &w, gm))
            });
            g.bench_function(BenchmarkId::new("prepacked", &id), |bch| {
                bch.iter(|| gemm_prepacked(black_box(&mut out), &a, &packed, m, false))
            });
            g.bench_function(BenchmarkId::new("prepacked_serial", &id), |bch| {
                bch.iter(|| gemm_prepacked_serial(black_box(&mut out), &a, &packed, m, false))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, prepacked);
criterion_main!(benches);
