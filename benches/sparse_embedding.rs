//! Sparse embeddings: one training step of an embedding bag (forward, backward, lazy
//! Adam) as the table grows from 10³ to 10⁷ rows. The step should not grow with the
//! table: the gradient is row-sparse (only the rows the batch looked up) and Adam updates
//! only those rows and their moments.
//!
//! Step: batch B = 1,024 bags of 4 ids each, drawn uniformly over the table (so the batch
//! touches up to 4,096 distinct rows wherever they are: cache misses grow with the table,
//! arithmetic does not); table width D = 8; `L = Σ mean-of-bag`; `store.zero_grad()`
//! (touched rows only), `backward`, `Adam::step`. 16 pre-drawn batches are cycled.
//! `Throughput::Elements(B)`: criterion's "elem/s" reads as samples/s.
//!
//! Memory: the largest table is 10⁷ × 8 f32 = 320 MB, plus Adam's two moments of the same
//! size and the sparse gradient's row map (40 MB): about 1 GB while that case runs; each
//! table is dropped before the next is built. A dense update of the same table would read
//! and write all 8·10⁷ values and moments every step (≈ 1.3 GB of traffic, ~0.1 s).
//!
//! Run: `cargo bench --bench sparse_embedding` (add `-- --warm-up-time 1
//! --measurement-time 3` for a short run).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::autograd::{Axis, Graph, ParamStore};
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

const B: usize = 1024;
const BAG: usize = 4;
const D: usize = 8;
const BATCHES: usize = 16;

fn sparse_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("sparse_embedding");
    group.throughput(Throughput::Elements(B as u64));
    group.sample_size(30);
    let offsets: Vec<u32> = (0..=B).map(|b| (b * BAG) as u32).collect(); // (B + 1)
    for rows in [1_000usize, 10_000, 100_000, 1_000_000, 10_000_000] {
        let mut rng = StdRng::seed_from_u64(rows as u64);
        let mut store = ParamStore::new();
        // Small values; the initial draw does not matter for speed.
        let init: Vec<f32> = (0..rows * D)
            .map(|i| ((i % 97) as f32 - 48.0) * 1e-3)
            .collect();
        let table = store.add_table("emb", rows, D, init).expect("table");
        let batches: Vec<Vec<u32>> = (0..BATCHES)
            .map(|_| {
                (0..B * BAG)
                    .map(|_| rng.gen_range(0..rows as u32))
                    .collect()
            })
            .collect();
        let mut opt = Adam::new(AdamConfig::default()).expect("default Adam");
        let mut g = Graph::new(0);
        let mut step = |ids: &[u32]| {
            g.reset();
            let y = g.embedding_bag(&store, table, &offsets, ids).expect("bag"); // (B, D)
            let loss = g.sum(y, Axis::All).expect("sum"); // (1, 1)
            store.zero_grad();
            g.backward(loss, &mut store).expect("backward");
            opt.step(&mut store, 1e-3).expect("Adam step");
        };
        for ids in &batches {
            step(ids); // warm-up: Adam's moments allocated, buffers grown
        }
        let mut i = 0;
        group.bench_function(BenchmarkId::new("bag4_d8_B1024", rows), |b| {
            b.iter(|| {
                step(black_box(&batches[i % BATCHES]));
                i += 1;
            })
        });
    }
    group.finish();
}

/// What a dense gradient would cost at least: zeroing a `(V, 8)` gradient and one Adam
/// update over all of it (no forward or backward at all), for comparison.
fn dense_equivalent(c: &mut Criterion) {
    let mut group = c.benchmark_group("dense_adam_equivalent");
    group.throughput(Throughput::Elements(B as u64));
    group.sample_size(10);
    for rows in [1_000usize, 10_000, 100_000, 1_000_000, 10_000_000] {
        let mut store = ParamStore::new();
        let init: Vec<f32> = (0..rows * D)
            .map(|i| ((i % 97) as f32 - 48.0) * 1e-3)
            .collect();
        store.add_dense("emb", rows, D, init).expect("dense block");
        let mut opt = Adam::new(AdamConfig::default()).expect("default Adam");
        opt.step(&mut store, 1e-3).expect("Adam step"); // moments allocated
        group.bench_function(BenchmarkId::new("zero_grad_adam_d8", rows), |b| {
            b.iter(|| {
                store.zero_grad();
                opt.step(black_box(&mut store), 1e-3).expect("Adam step");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sparse_step, dense_equivalent);
criterion_main!(benches);
