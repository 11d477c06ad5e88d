//! Scoring a batch of 1,000 rows with the census MMoE on one thread, beside PyTorch.
//!
//! Model: the architecture and widths of `configs/census_mmoe.toml` (29 × 8 embeddings +
//! 10 numerics = 242 inputs, 8 experts Linear(242→64)+ReLU, 2 gates, towers 64→32→1),
//! random weights, synthetic ids and numerics ([`census_shaped`]). One call is what
//! `mtrec predict` does per batch: input layer, MMoE forward in evaluation mode, sigmoid
//! of the two logits into an output buffer.
//!
//! Arithmetic floor: per row `242·512 + 2·242·8 + 2·(64·32 + 32·1) = 131,936` multiply-adds,
//! `2 × 131,936 ≈ 264 kFLOP`, so `≈ 264 MFLOP` per batch of 1,000 (`Throughput::Elements`
//! is set to the rows, so criterion's "elem/s" reads as rows/s).
//!
//! Besides criterion's mean and median, the bench prints p50 and p99 of 200 timed calls
//! after 20 warm-up calls (the protocol of `reference/census/infer_torch.py`), in wall time
//! and in CPU time of the scoring thread (on a machine shared with other jobs the wall
//! clock also counts time the scheduler gave to them), and the expert product alone: the
//! GEMM that is most of the floor, as measured on this machine.
//!
//! Two variants: the default graph, whose experts and gates take the factorised product
//! over the embeddings (`ops::embed_linear`: each table's rows times its weight block once
//! per distinct id, far below the dense floor), and `plain`, the dense product the floor
//! describes (`Graph::set_embed_linear(Off)`), which measures how close the kernels come
//! to the machine.
//!
//! Run: `cargo bench --bench inference` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a short run). PyTorch: `reference/.venv/bin/python reference/census/infer_torch.py
//! --threads 1`.

#[path = "../tests/census_support/mod.rs"]
mod census_support;
#[path = "common/cpu_time.rs"]
mod cpu_time;
use census_support::{census_shaped, CensusShaped};
use cpu_time::thread_cpu;
use criterion::{black_box, Criterion, Throughput};
use mtrec::autograd::{Graph, UnaryFn};
use mtrec::data::features::EncodedBatch;
use mtrec::models::MultiTaskModel;
use mtrec::ops::embed_linear::EmbedLinearMode;
use mtrec::ops::gemm::{gemm_accumulate, Gemm};
use mtrec::ops::unary::f as unary_f;
use std::time::Instant;

const ROWS: usize = 1000;
/// Multiply-adds per row (see the module docs).
const MACS_PER_ROW: usize = 242 * 512 + 2 * 242 * 8 + 2 * (64 * 32 + 32);

/// Scores `batch`: `probs` (K, B) receives σ(logit) of every task.
fn score(g: &mut Graph, c: &CensusShaped, batch: &EncodedBatch, probs: &mut [Vec<f32>]) {
    g.reset();
    let x = c.input.forward(g, &c.store, batch).expect("input"); // (B, 242)
    let outs = c.model.forward(g, &c.store, x).expect("forward"); // K × (B, 1)
    for (p, &o) in probs.iter_mut().zip(&outs) {
        for (pi, &z) in p.iter_mut().zip(g.value(o)) {
            *pi = unary_f(UnaryFn::Sigmoid, z);
        }
    }
    g.give_vars(outs);
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    // Linear interpolation between closest ranks, as numpy.percentile.
    let x = p / 100.0 * (sorted_ms.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (x - lo as f64)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread rayon pool")
}

/// The two variants: (name, mode).
const VARIANTS: [(&str, EmbedLinearMode); 2] = [
    ("census_mmoe", EmbedLinearMode::Auto),
    ("census_mmoe_plain", EmbedLinearMode::Off),
];

fn criterion_group(c: &mut Criterion, model: &CensusShaped) {
    let pool = one_thread();
    let mut group = c.benchmark_group("inference");
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, mode) in VARIANTS {
        let mut g = Graph::new(0);
        g.set_training(false);
        g.set_embed_linear(mode);
        let mut probs = vec![vec![0f32; ROWS]; 2];
        group.bench_function(format!("{name}/1T/B1000"), |b| {
            pool.install(|| {
                b.iter(|| score(&mut g, model, black_box(&model.batches[0]), &mut probs))
            })
        });
    }
    group.finish();
}

/// p50 / p99 over 200 calls after 20 warm-up calls, wall and thread CPU time; then the
/// expert GEMM alone.
fn latency_report(model: &CensusShaped) {
    let pool = one_thread();
    pool.install(|| {
      for (name, mode) in VARIANTS {
        let mut g = Graph::new(0);
        g.set_training(false);
        g.set_embed_linear(mode);
        let mut probs = vec![vec![0f32; ROWS]; 2];
        let load = load_average();
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for i in 0..220 {
            let (t0, c0) = (Instant::now(), thread_cpu());
            score(&mut g, model, &model.batches[0], &mut probs);
            let (dt, dc) = (t0.elapsed(), thread_cpu() - c0);
            if i >= 20 {
                wall.push(dt.as_secs_f64() * 1e3);
                cpu.push(dc.as_secs_f64() * 1e3);
            }
        }
        black_box(&probs);
        wall.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let flop = 2.0 * (MACS_PER_ROW * ROWS) as f64;
        println!("\ninference {name}: census MMoE, batch {ROWS}, 1 thread, 200 calls after 20 warm-up (load average before: {load}, after: {})", load_average());
        for (name, t) in [("wall", &wall), ("thread CPU", &cpu)] {
            let p50 = percentile(t, 50.0);
            println!(
                "  {name:>10}: p50 {p50:.3} ms  p99 {:.3} ms  {:.0} rows/s at p50  {:.1} GFLOP/s of the {:.0} MFLOP floor",
                percentile(t, 99.0),
                ROWS as f64 / (p50 / 1e3),
                flop / (p50 / 1e3) / 1e9,
                flop / 1e6
            );
        }
      }
        // The expert product alone, (1000, 242)·(242, 512): 94% of the multiply-adds.
        let a: Vec<f32> = (0..ROWS * 242).map(|i| (i % 13) as f32 * 0.01).collect();
        let w: Vec<f32> = (0..242 * 512).map(|i| (i % 7) as f32 * 0.01).collect();
        let mut out = vec![0f32; ROWS * 512];
        let mut gemm = Vec::new();
        for i in 0..120 {
            let c0 = thread_cpu();
            gemm_accumulate(&mut out, &a, &w, Gemm::new(ROWS, 242, 512));
            if i >= 20 {
                gemm.push((thread_cpu() - c0).as_secs_f64() * 1e3);
            }
        }
        black_box(&out);
        gemm.sort_by(f64::total_cmp);
        let p50 = percentile(&gemm, 50.0);
        println!(
            "  expert GEMM (1000×242)·(242×512) alone, thread CPU: p50 {p50:.3} ms = {:.1} GFLOP/s",
            2.0 * (ROWS * 242 * 512) as f64 / (p50 / 1e3) / 1e9
        );
    });
}

fn main() {
    let model = census_shaped(60, ROWS, 1, 11).expect("census-shaped model");
    let mut c = Criterion::default().configure_from_args();
    criterion_group(&mut c, &model);
    latency_report(&model);
    c.final_summary();
}
