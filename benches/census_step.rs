//! One training step of the census MMoE (the step `mtrec train` runs: input layer,
//! forward, masked BCE per task, fixed-weight backward, Adam with lazy table rows), on
//! synthetic data of the census shapes: 29 × 8 embeddings (tables of 61 rows) + 10
//! numerics = 242 inputs, 8 experts Linear(242→64)+ReLU, 2 gates, towers 64→32→1,
//! batch 1,024.
//!
//! Training arithmetic: forward ≈ 264 kFLOP per sample, backward twice that (dx and dW
//! of every product), ≈ 0.79 MFLOP per sample, ≈ 0.81 GFLOP per step.
//! `Throughput::Elements(B)`: "elem/s" reads as samples/s.
//!
//! `census_step_cpu` times one thread in CPU time of this process (on a machine shared
//! with other jobs the wall clock also counts time given to them); `census_step` times 1
//! and 2 threads in wall time. The bench uses only APIs that predate the fused ops, so
//! the same file measures older commits too.
//!
//! Run: `cargo bench --bench census_step` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a short run).

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;
use criterion::measurement::Measurement;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mtrec::autograd::{Graph, ParamStore};
use mtrec::balance::{Balancer, Method, TaskForm};
use mtrec::data::features::EncodedBatch;
use mtrec::loss::LossOpts;
use mtrec::models::{Mmoe, MmoeConfig, MultiTaskModel};
use mtrec::nn::feature_input::{InputTable, EMBEDDING_INIT};
use mtrec::nn::{Activation, FeatureInput};
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

const B: usize = 1024;
const VOCAB: usize = 60;

struct Setup {
    store: ParamStore,
    input: FeatureInput,
    model: Mmoe,
    batches: Vec<EncodedBatch>,
}

fn setup() -> Setup {
    let mut rng = StdRng::seed_from_u64(5);
    let mut store = ParamStore::new();
    let categorical = (0..29)
        .map(|f| InputTable {
            feature: format!("f{f}"),
            table: store
                .add_table(
                    &format!("input.emb.f{f}"),
                    VOCAB + 1,
                    8,
                    EMBEDDING_INIT.draw(&mut rng, VOCAB + 1, 8),
                )
                .expect("table"),
            rows: VOCAB + 1,
            dim: 8,
        })
        .collect();
    let input = FeatureInput {
        categorical,
        multi_hot: Vec::new(),
        n_num: 10,
        text: Vec::new(),
    };
    let cfg = MmoeConfig {
        d_in: 242,
        num_experts: 8,
        expert: vec![64],
        tower: vec![32],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let model = Mmoe::new(&mut store, &cfg, &mut rng).expect("MMoE");
    let batches = (0..8)
        .map(|_| {
            let cat: Vec<Vec<u32>> = (0..29)
                .map(|_| (0..B).map(|_| rng.gen_range(1..=VOCAB as u32)).collect())
                .collect();
            let num: Vec<f32> = (0..B * 10).map(|_| rng.gen_range(-2.0..2.0)).collect();
            let y0 = (0..B).map(|i| f32::from(num[i * 10] > 0.5)).collect();
            let y1 = (0..B).map(|i| (cat[0][i] % 2) as f32).collect();
            EncodedBatch {
                rows: B,
                n_num: 10,
                cat,
                num,
                bags: Vec::new(),
                text: Vec::new(),
                labels: vec![y0, y1],
                mask: vec![vec![1.0; B]; 2],
            }
        })
        .collect();
    Setup {
        store,
        input,
        model,
        batches,
    }
}

fn bench_threads<M: Measurement + Sync>(c: &mut Criterion<M>, group: &str, threads: &[usize])
where
    M::Value: Send,
{
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(B as u64));
    group.sample_size(20);
    for &t in threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("a rayon pool");
        let mut s = setup();
        let shared = s.model.shared_params();
        let mut balancer = Balancer::new(
            Method::Fixed(vec![1.0, 1.0]),
            &[TaskForm::Classification; 2],
            &mut s.store,
        )
        .expect("fixed weights");
        let mut opt = Adam::new(AdamConfig::default()).expect("Adam");
        let mut g = Graph::new(1);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("mmoe_B1024", format!("{t}T")), |bch| {
            pool.install(|| {
                bch.iter(|| {
                    let batch = black_box(&s.batches[i % s.batches.len()]);
                    i += 1;
                    g.reset();
                    let x = s.input.forward(&mut g, &s.store, batch).expect("input");
                    let outs = s.model.forward(&mut g, &s.store, x).expect("forward");
                    let losses: Vec<_> = outs
                        .iter()
                        .enumerate()
                        .map(|(k, &o)| {
                            g.bce_with_logits(o, &batch.labels[k], LossOpts::masked(&batch.mask[k]))
                                .expect("loss")
                        })
                        .collect();
                    let info = balancer
                        .backward(&mut g, &mut s.store, &losses, &shared)
                        .expect("backward");
                    opt.step(&mut s.store, 1e-3).expect("step");
                    info.objective
                })
            })
        });
    }
    group.finish();
}

fn wall(c: &mut Criterion) {
    bench_threads(c, "census_step", &[1, 2]);
}

fn cpu(c: &mut Criterion<CpuTime>) {
    bench_threads(c, "census_step_cpu", &[1]);
}

criterion_group!(benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = cpu
}
criterion_main!(cpu_benches, benches);
