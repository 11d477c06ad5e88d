//! The fused catalogue cross-entropy (`ops::catalogue_ce`) beside the unfused path it
//! replaces, at the shape of one SASRec step on Amazon Beauty (N = 768 target rows,
//! D = 64, V = 12,101 items), in FLOP/s.
//!
//! Both compute the loss and both gradients with three products of N·V·D multiply-adds
//! (logits, dH, dE), so criterion's `Throughput::Elements` is set to 6·N·V·D and its
//! "elem/s" column reads as FLOP/s of useful work:
//!
//! - `fused`: `catalogue_ce_forward` with gradients + `catalogue_ce_backward_items`;
//! - `unfused`: `gemm` logits, `softmax_ce_forward`, `softmax_ce_backward`,
//!   `matmul_backward` (what the graph ran before: the (N, V) logits, probabilities and
//!   logit gradients in memory);
//! - `gemm_only`: the three products alone on the materialised shapes, the ceiling.
//!
//! Run: `cargo bench --bench catalogue_ce` (threads: `RAYON_NUM_THREADS`).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use mtrec::ops::catalogue_ce::{
    catalogue_ce_backward_items, catalogue_ce_forward, CeDims, CeGrads,
};
use mtrec::ops::gemm::{gemm_accumulate, Gemm};
use mtrec::ops::matmul::matmul_backward;
use mtrec::ops::softmax_ce::{softmax_ce_backward, softmax_ce_forward};

const N: usize = 768;
const D: usize = 64;
const V: usize = 12_101;

fn data(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919) % 1000) as f32 / 1000.0 - 0.5) * scale)
        .collect()
}

fn catalogue(c: &mut Criterion) {
    let (h, cat) = (data(N * D, 2.0), data(V * D, 0.5));
    let classes: Vec<u32> = (0..N).map(|i| ((i * 131) % V) as u32).collect();
    let coef = vec![1.0 / N as f32; N];
    let dims = CeDims { n: N, d: D, v: V };
    let mut g = c.benchmark_group("catalogue_ce");
    g.sample_size(10);
    g.throughput(Throughput::Elements((6 * N * V * D) as u64));

    let mut terms = vec![0f64; N];
    let (mut dh1, mut parts) = (vec![0f32; N * D], vec![0f32; dims.groups() * V * D]);
    let (mut dh, mut de) = (vec![0f32; N * D], vec![0f32; V * D]);
    g.bench_function("fused", |b| {
        b.iter(|| {
            dh1.fill(0.0);
            parts.fill(0.0);
            let grads = CeGrads {
                dh: &mut dh1,
                de_parts: &mut parts,
            };
            let l = catalogue_ce_forward(&mut terms, Some(grads), &h, &cat, &classes, &coef, dims);
            dh.iter_mut().zip(&dh1).for_each(|(o, &x)| *o += x);
            catalogue_ce_backward_items(&mut de, 1.0, &parts, dims);
            black_box(l)
        })
    });

    let (mut z, mut p, mut dz) = (vec![0f32; N * V], vec![0f32; N * V], vec![0f32; N * V]);
    let logits = Gemm::new(N, D, V).trans_b(true);
    g.bench_function("unfused", |b| {
        b.iter(|| {
            z.fill(0.0);
            gemm_accumulate(&mut z, &h, &cat, logits);
            let l = softmax_ce_forward(&mut p, &mut terms, &z, &classes, &coef, N, V);
            dz.fill(0.0);
            softmax_ce_backward(&mut dz, 1.0, &p, &classes, &coef, N, V);
            matmul_backward(Some(&mut dh), Some(&mut de), &dz, &h, &cat, logits);
            black_box(l)
        })
    });

    g.bench_function("gemm_only", |b| {
        b.iter(|| {
            gemm_accumulate(&mut z, &h, &cat, logits);
            matmul_backward(Some(&mut dh), Some(&mut de), &dz, &h, &cat, logits);
            black_box(z[0])
        })
    });
    g.finish();
}

criterion_group!(benches, catalogue);
criterion_main!(benches);
