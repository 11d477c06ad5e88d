//! One training step (forward + backward + Adam) of the multi-task models on the MMoE
//! synthetic data: d = 100 features, batch B = 256, two regression tasks.
//!
//! `Throughput::Elements(B)`: criterion's "elem/s" column reads as training samples per
//! second. Models as in `mtrec demo`: Shared-Bottom (bottom 16, towers 8, 1,906
//! parameters) and Single-Task (9 → 8 → 1 per task, 1,996 parameters).
//!
//! Run: `cargo bench --bench train_step`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::synthetic::{generate, SyntheticConfig};
use mtrec::data::Batch;
use mtrec::models::{
    MultiTaskModel, SharedBottom, SharedBottomConfig, SingleTask, SingleTaskConfig,
};
use mtrec::nn::Activation;
use mtrec::optim::{Adam, AdamConfig};
use mtrec::train::{train_step, Objective};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

const BATCH: usize = 256;

fn build(name: &str, store: &mut ParamStore) -> Box<dyn MultiTaskModel> {
    let rng = &mut StdRng::seed_from_u64(0);
    let activation = Activation::Relu;
    match name {
        "shared-bottom" => Box::new(
            SharedBottom::new(
                store,
                &SharedBottomConfig {
                    d_in: 100,
                    bottom: vec![16],
                    tower: vec![8],
                    num_tasks: 2,
                    activation,
                    dropout: 0.0,
                },
                rng,
            )
            .expect("valid config"),
        ),
        _ => Box::new(
            SingleTask::new(
                store,
                &SingleTaskConfig {
                    d_in: 100,
                    hidden: vec![9, 8],
                    num_tasks: 2,
                    activation,
                    dropout: 0.0,
                },
                rng,
            )
            .expect("valid config"),
        ),
    }
}

fn step(c: &mut Criterion) {
    let data = generate(&SyntheticConfig {
        n: BATCH,
        seed: 1,
        ..Default::default()
    })
    .expect("valid config")
    .data;
    let mut batch = Batch::default();
    batch.fill(&data, &(0..BATCH).collect::<Vec<_>>());
    let objective = Objective::new(&data.tasks, None).expect("two tasks");

    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(BATCH as u64));
    for name in ["shared-bottom", "single-task"] {
        let mut store = ParamStore::new();
        let model = build(name, &mut store);
        let mut opt = Adam::new(AdamConfig::default()).expect("default Adam");
        let mut g = Graph::new(0); // reused across iterations, like the training loop
        group.bench_function(BenchmarkId::new(name, format!("B{BATCH}_d100")), |b| {
            b.iter(|| {
                train_step(
                    &mut g,
                    model.as_ref(),
                    &mut store,
                    &mut opt,
                    black_box(&batch),
                    &objective,
                    1e-3,
                )
                .expect("step")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
