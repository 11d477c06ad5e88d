//! f32 against int8 (`mtrec compress --int8`): scoring 1,000 rows on one thread with the
//! census MMoE shape (29 × 8 embeddings + 10 numerics = 242 inputs, 8 experts 242→64,
//! 2 gates, towers 64→32→1; `tests/census_support`) and the MovieLens MMoE shape
//! (`configs/movielens_mmoe.toml`: 8 experts of 64, towers of 32, on its 57 inputs — user
//! and item ids 16 wide, gender and occupation 8, genres 8, age — fed here as a dense
//! (B, 57) input). Random weights; the int8 model is the f32 one quantised in memory
//! exactly as `mtrec compress` quantises a run (`quant::quantize_in_place`).
//!
//! Variants: `f32` (the default graph: experts and gates over the embeddings take the
//! factorised `embed_linear` product), `f32-plain` (dense f32 products), `int8` (experts
//! and gates in one int8 product, the mixing in its epilogue: `ops::gemm_i8::moe`) and
//! `int8-separate` (the int8 layers one by one and the f32 gate combine, the path before
//! 2026-12-05 s9 and the fused one's reference).
//! Besides criterion's numbers the bench prints p50 / p99 of 100 timed calls after 10
//! warm-up calls and the model bytes (f32 vs int8 weights as `mtrec compress` writes them).
//!
//! The `int8-kernel` group times the integer product alone, every kernel this CPU has
//! (`gemm_i8::available`: scalar, AVX2, AVX-VNNI, AVX-512 VNNI) on census's widest layer
//! (1,000 × 242 · 242 × 528, i.e. experts and gates), and prints its GMAC/s
//! (multiply-adds per second, `B · K · N / t`) beside the f32 GEMM's on the same shape.
//!
//! Run: `cargo bench --bench int8 -- --warm-up-time 1 --measurement-time 3`.

#[path = "../tests/census_support/mod.rs"]
mod census_support;
use census_support::census_shaped;
use criterion::{black_box, Criterion, Throughput};
use mtrec::autograd::{Graph, ParamStore, Var};
use mtrec::models::{Mmoe, MmoeConfig, MultiTaskModel};
use mtrec::nn::Activation;
use mtrec::ops::embed_linear::EmbedLinearMode;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use std::time::Instant;

const ROWS: usize = 1000;

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread rayon pool")
}

fn percentiles(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..10 {
        f();
    }
    let mut ms: Vec<f64> = (0..100)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[49], ms[98])
}

/// Bytes of the weights as files: f32 (4 per value) and int8 (1 per quantised value,
/// 4 or 2 per scale, 4 per remaining value), without headers.
fn bytes(store: &ParamStore) -> (usize, usize) {
    let (tensors, ..) = mtrec::quant::quantize_store(store).expect("quantise");
    let int8 = tensors.values().map(|t| t.values.byte_len()).sum();
    (4 * store.num_scalars(), int8)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let pool = one_thread();
    let mut group = c.benchmark_group("int8");
    group.throughput(Throughput::Elements(ROWS as u64));
    // census MMoE with its input layer
    let f32m = census_shaped(100, ROWS, 1, 7).expect("census shape");
    let mut q = census_shaped(100, ROWS, 1, 7).expect("census shape");
    mtrec::quant::quantize_in_place(&mut q.store).expect("quantise");
    let (b32, b8) = bytes(&f32m.store);
    println!(
        "census MMoE weights: f32 {b32} B, int8 {b8} B ({:.2}x smaller)",
        b32 as f64 / b8 as f64
    );
    for (name, m, mode, separate) in [
        ("census/f32", &f32m, EmbedLinearMode::Auto, false),
        ("census/f32-plain", &f32m, EmbedLinearMode::Off, false),
        ("census/int8", &q, EmbedLinearMode::Auto, false),
        ("census/int8-separate", &q, EmbedLinearMode::Auto, true),
    ] {
        let mut g = Graph::new(0);
        g.set_training(false);
        g.set_embed_linear(mode);
        let batch = &m.batches[0];
        let mut run = || {
            g.reset();
            let x = m.input.forward(&mut g, &m.store, batch).expect("input");
            let y = forward(&m.model, &mut g, &m.store, x, separate);
            black_box(g.value(y)[0]);
        };
        let (p50, p99) = pool.install(|| percentiles(&mut run));
        println!("{name}: p50 {p50:.3} ms, p99 {p99:.3} ms per {ROWS} rows (1 thread)");
        group.bench_function(name, |bch| pool.install(|| bch.iter(&mut run)));
    }
    // MovieLens MMoE on a dense (B, 57) input
    let d_in = 57;
    let cfg = MmoeConfig {
        d_in,
        num_experts: 8,
        expert: vec![64],
        tower: vec![32],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut rng = StdRng::seed_from_u64(3);
    let mut s32 = ParamStore::new();
    let model = Mmoe::new(&mut s32, &cfg, &mut rng).expect("mmoe");
    let mut s8 = s32.clone();
    mtrec::quant::quantize_in_place(&mut s8).expect("quantise");
    let (b32, b8) = bytes(&s32);
    println!(
        "MovieLens MMoE dense weights: f32 {b32} B, int8 {b8} B ({:.2}x smaller)",
        b32 as f64 / b8 as f64
    );
    let x: Vec<f32> = (0..ROWS * d_in).map(|_| rng.gen_range(-1.0..1.0)).collect();
    for (name, store, separate) in [
        ("movielens/f32", &s32, false),
        ("movielens/int8", &s8, false),
        ("movielens/int8-separate", &s8, true),
    ] {
        let mut g = Graph::new(0);
        g.set_training(false);
        let mut run = || {
            g.reset();
            let xv = g.input_slice(ROWS, d_in, &x).expect("input");
            let y = forward(&model, &mut g, store, xv, separate);
            black_box(g.value(y)[0]);
        };
        let (p50, p99) = pool.install(|| percentiles(&mut run));
        println!("{name}: p50 {p50:.3} ms, p99 {p99:.3} ms per {ROWS} rows (1 thread)");
        group.bench_function(name, |bch| pool.install(|| bch.iter(&mut run)));
    }
    group.finish();
    kernels(&mut c, &pool);
    c.final_summary();
}

/// Task 0's output of `model` on `x`: the model's forward pass, or with `separate` the
/// int8 path before 2026-12-05 (s9), the reference of the fused one: experts, then each
/// gate's `gate_combine`, then the towers.
fn forward(model: &Mmoe, g: &mut Graph, store: &ParamStore, x: Var, separate: bool) -> Var {
    if !separate {
        return model.forward(g, store, x).expect("forward")[0];
    }
    let e = model.experts.forward(g, store, x).expect("experts"); // (B, E·D)
    let mut first = None;
    for (gate, tower) in model.gates.iter().zip(&model.towers) {
        let h = gate.forward(g, store, x, e).expect("gate"); // (B, D)
        let y = tower.forward(g, store, h).expect("tower"); // (B, 1)
        first.get_or_insert(y);
    }
    first.expect("a task")
}

/// The integer product alone, per kernel, against the f32 GEMM of the same shape.
fn kernels(c: &mut Criterion, pool: &rayon::ThreadPool) {
    use mtrec::ops::gemm_i8::{available, gemm_u8i8, quantize_rows, QuantMatrix, QuantRows};
    let (b, k, n) = (ROWS, 242, 528);
    let mut rng = StdRng::seed_from_u64(5);
    let x: Vec<f32> = (0..b * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let w: Vec<f32> = (0..k * n).map(|_| rng.gen_range(-0.1..0.1)).collect();
    let qw = QuantMatrix::quantize("w", &w, k, n).expect("quantise");
    let mut q = QuantRows::default();
    quantize_rows(&mut q, &x, b, k, qw.kp());
    let mut acc = vec![0i32; b * qw.np()];
    let mut group = c.benchmark_group("int8-kernel");
    // B·K·N multiply-adds per call
    group.throughput(Throughput::Elements((b * k * n) as u64));
    let macs = (b * k * n) as f64;
    for kern in available() {
        let mut run = || {
            gemm_u8i8(kern, &mut acc, &q, &qw, b);
            black_box(acc[0]);
        };
        let (p50, _) = pool.install(|| percentiles(&mut run));
        println!(
            "kernel {}: p50 {p50:.3} ms, {:.1} GMAC/s ({b}x{k}x{n}, 1 thread)",
            kern.name(),
            macs / p50 / 1e6
        );
        group.bench_function(kern.name(), |bch| pool.install(|| bch.iter(&mut run)));
    }
    let mut out = vec![0f32; b * n];
    let mut run = || {
        out.fill(0.0);
        mtrec::ops::gemm::gemm_accumulate(&mut out, &x, &w, mtrec::ops::gemm::Gemm::new(b, k, n));
        black_box(out[0]);
    };
    let (p50, _) = pool.install(|| percentiles(&mut run));
    println!(
        "f32 gemm: p50 {p50:.3} ms, {:.1} GMAC/s ({b}x{k}x{n}, 1 thread)",
        macs / p50 / 1e6
    );
    group.bench_function("f32-gemm", |bch| pool.install(|| bch.iter(&mut run)));
    group.finish();
}
