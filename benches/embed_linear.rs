//! The factorised layer over gathered embeddings (`ops::embed_linear`) against the plain
//! fused product it replaces, forward + backward of one layer, one thread.
//!
//! Shapes of the census MMoE's expert bank: x = 29 tables × 8 wide + 10 numerics = 242
//! columns, B = 1,024 rows, N = 512 outputs, ReLU. Plain: 3 · B · 242 · N = 381 M
//! multiply-adds (forward, dx, dW). Factorised: per table u distinct ids, 3 · u · 8 · N
//! multiply-adds plus two passes of B · 29 row additions of N values; the bench varies u
//! through the table size V (ids uniform over V rows: u ≈ V for V ≪ B). Census batches
//! have 2 to 52 distinct ids per column. `Throughput::Elements(B)`: "elem/s" reads as
//! rows/s.
//!
//! Run: `cargo bench --bench embed_linear` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a short run).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::autograd::{Graph, ParamId, ParamStore, UnaryFn};
use mtrec::ops::embed_linear::EmbedLinearMode;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

const B: usize = 1024;
const F: usize = 29;
const D: usize = 8;
const NUM: usize = 10;
const N: usize = 512;

struct Layer {
    store: ParamStore,
    tables: Vec<ParamId>,
    ids: Vec<Vec<u32>>,
    num: Vec<f32>,
    w: ParamId,
    b: ParamId,
    seed: Vec<f32>,
}

fn layer(vocab: usize) -> Layer {
    let mut rng = StdRng::seed_from_u64(vocab as u64);
    let mut draw = |n: usize, s: f32| (0..n).map(|_| rng.gen_range(-s..s)).collect::<Vec<f32>>();
    let mut store = ParamStore::new();
    let tables = (0..F)
        .map(|f| {
            store
                .add_table(&format!("t{f}"), vocab, D, draw(vocab * D, 0.05))
                .unwrap()
        })
        .collect();
    let num = draw(B * NUM, 1.0);
    let d_in = F * D + NUM;
    let w = store.add_dense("w", d_in, N, draw(d_in * N, 0.1)).unwrap();
    let b = store.add_dense("b", 1, N, draw(N, 0.1)).unwrap();
    let seed = draw(B * N, 1.0);
    let mut id_rng = StdRng::seed_from_u64(7);
    let ids = (0..F)
        .map(|_| (0..B).map(|_| id_rng.gen_range(0..vocab as u32)).collect())
        .collect();
    Layer {
        store,
        tables,
        ids,
        num,
        w,
        b,
        seed,
    }
}

fn step(g: &mut Graph, l: &mut Layer) {
    g.reset();
    let mut parts: Vec<_> = (0..F)
        .map(|f| g.gather(&l.store, l.tables[f], &l.ids[f]).unwrap())
        .collect();
    parts.push(g.input_slice(B, NUM, &l.num).unwrap());
    let x = g.concat_cols(&parts).unwrap(); // (B, 242)
    let (w, b) = (
        g.param(&l.store, l.w).unwrap(),
        g.param(&l.store, l.b).unwrap(),
    );
    let y = g.linear_act(x, w, b, Some(UnaryFn::Relu)).unwrap(); // (B, N)
    l.store.zero_grad();
    g.backward_with_grad(y, &l.seed, &mut l.store).unwrap();
}

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("embed_linear");
    group.throughput(Throughput::Elements(B as u64));
    group.sample_size(20);
    for vocab in [10usize, 60, 150, 400] {
        let mut l = layer(vocab);
        for (name, mode) in [
            ("factorised", EmbedLinearMode::Always),
            ("plain", EmbedLinearMode::Off),
        ] {
            let mut g = Graph::new(0);
            g.set_embed_linear(mode);
            group.bench_with_input(
                BenchmarkId::new(name, format!("V{vocab}")),
                &vocab,
                |bch, _| pool.install(|| bch.iter(|| step(&mut g, &mut l))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
