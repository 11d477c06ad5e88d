//! Packed GEMM throughput (`gemm_accumulate`), in FLOP/s.
//!
//! A product (M, K)·(K, N) performs M·N·K multiply-adds = 2·M·N·K floating-point
//! operations; `Throughput::Elements` is set to that count, so criterion's "elem/s" column
//! reads as FLOP/s. Thread counts are fixed with local rayon pools, so the numbers do not
//! depend on RAYON_NUM_THREADS. Compare with `reference/gemm/sgemm_torch.py`.
//!
//! On a machine shared with other jobs the wall clock also counts time the scheduler gave
//! to them. The `gemm_cpu` group (Linux) therefore repeats the one-thread cases timed in
//! CPU time of this process: the kernel's speed on a core of its own.
//!
//! Run: `cargo bench --bench gemm` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! short run).

#[path = "common/cpu_time.rs"]
mod cpu_time;
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
use cpu_time::CpuTime;
use criterion::measurement::Measurement;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::ops::gemm::{gemm_accumulate, Gemm};

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

/// One case: `out += op(A)·op(B)` for the shape `gm` on `threads` threads.
fn bench_case<M: Measurement + Sync>(
    g: &mut criterion::BenchmarkGroup<'_, M>,
    label: &str,
    gm: Gemm,
    threads: usize,
) where
    M::Value: Send,
{
    let Gemm { m, k, n, .. } = gm;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool");
    let (a, b) = (data(m * k), data(k * n));
    let mut out = vec![0f32; m * n];
    // FLOPs per call: M·N·K multiply-adds, two operations each.
    g.throughput(Throughput::Elements((2 * m * n * k) as u64));
    let id = BenchmarkId::new(format!("{label}/{threads}T"), format!("{m}x{k}x{n}"));
    g.bench_function(id, |bch| {
        pool.install(|| {
            bch.iter(|| gemm_accumulate(black_box(&mut out), black_box(&a), black_box(&b), gm))
        })
    });
}

/// Squares on one thread, and 1024² on two.
fn squares(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_square");
    g.sample_size(10);
    for s in [64usize, 128, 256, 512, 1024] {
        bench_case(&mut g, "nn", Gemm::new(s, s, s), 1);
    }
    bench_case(&mut g, "nn", Gemm::new(1024, 1024, 1024), 2);
    g.finish();
}

/// The census MMoE's shapes: all 8 experts of width 64 as one 242→512 product (forward,
/// input gradient, weight gradient) and a tower layer, on one and two threads.
fn model_shapes(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_model");
    g.sample_size(10);
    for threads in [1, 2] {
        // (1024, 242)·(242, 512)
        bench_case(&mut g, "experts_fwd_nn", Gemm::new(1024, 242, 512), threads);
        // (1024, 512)·(512, 242)ᵀ-stored: B stored (242, 512)
        bench_case(
            &mut g,
            "experts_dx_nt",
            Gemm::new(1024, 512, 242).trans_b(true),
            threads,
        );
        // (1024, 242)ᵀ·(1024, 512): A stored (1024, 242)
        bench_case(
            &mut g,
            "experts_dw_tn",
            Gemm::new(242, 1024, 512).trans_a(true),
            threads,
        );
        // (1024, 64)·(64, 32)
        bench_case(&mut g, "tower_fwd_nn", Gemm::new(1024, 64, 32), threads);
    }
    g.finish();
}

/// The one-thread squares and model shapes in CPU time.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn cpu_time(c: &mut Criterion<CpuTime>) {
    let mut g = c.benchmark_group("gemm_cpu");
    g.sample_size(10);
    for s in [256usize, 512, 1024] {
        bench_case(&mut g, "nn", Gemm::new(s, s, s), 1);
    }
    bench_case(&mut g, "experts_fwd_nn", Gemm::new(1024, 242, 512), 1);
    bench_case(
        &mut g,
        "experts_dx_nt",
        Gemm::new(1024, 512, 242).trans_b(true),
        1,
    );
    bench_case(
        &mut g,
        "experts_dw_tn",
        Gemm::new(242, 1024, 512).trans_a(true),
        1,
    );
    bench_case(&mut g, "tower_fwd_nn", Gemm::new(1024, 64, 32), 1);
    g.finish();
}

criterion_group!(benches, squares, model_shapes);
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime);
    targets = cpu_time
}
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
criterion_main!(benches, cpu);
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
criterion_main!(benches);
