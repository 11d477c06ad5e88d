//! Fused multi-head attention (the text encoder's and the sequence models' attention),
//! forward and forward + backward, at MiniLM's head sizes.
//!
//! Attention on (B, H, T, Dh) does Q·Kᵀ and P·V: 2·B·H·T²·Dh multiply-adds = 4·B·H·T²·Dh
//! FLOPs forward; the backward pass does four such products (dV, dP, dQ, dK), 8·B·H·T²·Dh.
//! `Throughput::Elements` is set to the FLOP count, so "elem/s" reads as FLOP/s.
//!
//! Run: `cargo bench --bench text_encoder`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::ops::attention::{attention_backward, attention_forward, AttnDims, Qkv, QkvGrads};

fn data(n: usize, salt: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i + salt) * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn attention(c: &mut Criterion) {
    let mut g = c.benchmark_group("attention");
    g.sample_size(10);
    // MiniLM heads (H = 12, Dh = 32) on a batch of titles (T = 16) and of long texts (T = 128).
    for &(b, t) in &[(64usize, 16usize), (8, 128)] {
        let d = AttnDims {
            b,
            t,
            h: 12,
            dh: 32,
            causal: false,
        };
        let n = b * t * d.h * d.dh;
        let (q, k, v, dout) = (data(n, 1), data(n, 2), data(n, 3), data(n, 4));
        let lengths: Vec<usize> = (0..b).map(|i| t - i % (t / 2)).collect();
        let mut out = vec![0f32; n]; // (B·T, H·Dh)
        let mut p = vec![0f32; b * d.h * t * t]; // (B, H, T, T)
        let flops = 4 * b * d.h * t * t * d.dh;
        g.throughput(Throughput::Elements(flops as u64));
        g.bench_function(BenchmarkId::new("forward", format!("B{b}_T{t}")), |bch| {
            bch.iter(|| {
                attention_forward(
                    black_box(&mut out),
                    &mut p,
                    Qkv {
                        q: &q,
                        k: &k,
                        v: &v,
                    },
                    &lengths,
                    d,
                )
            })
        });
        let (mut dq, mut dk, mut dv) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        g.throughput(Throughput::Elements(3 * flops as u64));
        g.bench_function(
            BenchmarkId::new("forward_backward", format!("B{b}_T{t}")),
            |bch| {
                bch.iter(|| {
                    let qkv = Qkv {
                        q: &q,
                        k: &k,
                        v: &v,
                    };
                    attention_forward(&mut out, &mut p, qkv, &lengths, d);
                    let grads = QkvGrads {
                        dq: Some(black_box(&mut dq)),
                        dk: Some(&mut dk),
                        dv: Some(&mut dv),
                    };
                    attention_backward(grads, &dout, qkv, &p, &lengths, d);
                })
            },
        );
    }
    g.finish();
}

/// The encoder's dense-layer products at MiniLM's shapes (M = 64 titles × 9 tokens), the
/// AVX-512 kernel (`gemm_accumulate`) beside its AVX2 twin: 2·M·K·N FLOPs, reported as elem/s.
fn dense_gemm(c: &mut Criterion) {
    use mtrec::ops::gemm::{detect, gemm_accumulate, gemm_with, Gemm, GemmPath};
    let mut g = c.benchmark_group("encoder_gemm");
    g.sample_size(10);
    for &(m, k, n) in &[
        (576usize, 384usize, 1152usize),
        (576, 384, 1536),
        (576, 1536, 384),
    ] {
        let (a, b) = (data(m * k, 5), data(k * n, 6));
        let mut out = vec![0f32; m * n]; // (M, N)
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let id = format!("M{m}_K{k}_N{n}");
        let gm = Gemm::new(m, k, n).trans_b(true); // (M, K) · (N, K)ᵀ
        let avx2 = GemmPath::Packed {
            kernel: detect(),
            wide: false,
        };
        g.bench_function(BenchmarkId::new("wide", &id), |bch| {
            bch.iter(|| gemm_accumulate(black_box(&mut out), &a, &b, gm))
        });
        g.bench_function(BenchmarkId::new("avx2", &id), |bch| {
            bch.iter(|| gemm_with(avx2, black_box(&mut out), &a, &b, gm))
        });
    }
    g.finish();
}

/// GELU over a (B·T, D_ff) activation: the vectorised erfc form beside the Hermite table;
/// elements per second.
fn gelu(c: &mut Criterion) {
    use mtrec::text::gelu::{gelu_forward, gelu_forward_table};
    let mut g = c.benchmark_group("gelu");
    let x: Vec<f32> = data(576 * 1536, 9).iter().map(|v| v * 8.0).collect();
    let mut y = vec![0f32; x.len()];
    g.throughput(Throughput::Elements(x.len() as u64));
    g.bench_function("erfc_vectorised", |b| {
        b.iter(|| gelu_forward(black_box(&mut y), &x))
    });
    g.bench_function("table", |b| {
        b.iter(|| gelu_forward_table(black_box(&mut y), &x))
    });
    g.finish();
}

criterion_group!(benches, attention, dense_gemm, gelu);
criterion_main!(benches);
