//! Models on the MMoE synthetic data: training lowers the loss, runs are reproducible
//! bit for bit, and a shared bottom receives the sum of its task towers' gradients.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::synthetic::{generate, SyntheticConfig};
use mtrec::data::{Batch, Dataset};
use mtrec::models::{
    MultiTaskModel, SharedBottom, SharedBottomConfig, SingleTask, SingleTaskConfig,
};
use mtrec::nn::Activation;
use mtrec::optim::{Adam, AdamConfig};
use mtrec::train::{evaluate, fit, Objective, TrainConfig, TrainReport};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

fn data(n: usize, rho: f64) -> Dataset {
    generate(&SyntheticConfig {
        n,
        rho,
        seed: 5,
        ..Default::default()
    })
    .unwrap()
    .data
}

fn shared_bottom(store: &mut ParamStore, seed: u64, dropout: f32) -> SharedBottom {
    let cfg = SharedBottomConfig {
        d_in: 100,
        bottom: vec![16],
        tower: vec![8],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout,
    };
    SharedBottom::new(store, &cfg, &mut StdRng::seed_from_u64(seed)).unwrap()
}

fn single_task(store: &mut ParamStore, seed: u64) -> SingleTask {
    let cfg = SingleTaskConfig {
        d_in: 100,
        hidden: vec![9, 8],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    SingleTask::new(store, &cfg, &mut StdRng::seed_from_u64(seed)).unwrap()
}

fn build(which: &str, store: &mut ParamStore, seed: u64) -> Box<dyn MultiTaskModel> {
    match which {
        "single-task" => Box::new(single_task(store, seed)),
        "shared-bottom" => Box::new(shared_bottom(store, seed, 0.0)),
        "shared-bottom+dropout" => Box::new(shared_bottom(store, seed, 0.1)),
        other => panic!("unknown model {other}"),
    }
}

/// Trains `which` for a few epochs on 2,000 rows; returns the report and test MSE before/after.
fn train(which: &str, seed: u64) -> (TrainReport, Vec<f32>, Vec<f32>) {
    let split = data(2_500, 0.9).split(&[2_000, 500]).unwrap();
    let mut store = ParamStore::new();
    let model = build(which, &mut store, seed);
    let before = evaluate(&mut Graph::new(0), model.as_ref(), &store, &split[1], 256).unwrap();
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    let cfg = TrainConfig {
        epochs: 5,
        batch_size: 64,
        lr: 1e-2,
        seed,
        ..Default::default()
    };
    let report = fit(model.as_ref(), &mut store, &mut opt, &split[0], None, &cfg).unwrap();
    let after = evaluate(&mut Graph::new(0), model.as_ref(), &store, &split[1], 256).unwrap();
    (report, before, after)
}

#[test]
fn every_model_lowers_its_training_loss() {
    for which in ["single-task", "shared-bottom", "shared-bottom+dropout"] {
        let (report, before, after) = train(which, 1);
        let first = report.epochs.first().unwrap().train_loss;
        let last = report.epochs.last().unwrap().train_loss;
        assert!(
            last < 0.5 * first,
            "{which}: epoch losses {:?}",
            report
                .epochs
                .iter()
                .map(|e| e.train_loss)
                .collect::<Vec<_>>()
        );
        for k in 0..2 {
            assert!(
                after[k] < 0.5 * before[k],
                "{which}: held-out MSE of task {k} went {} → {}",
                before[k],
                after[k]
            );
        }
    }
}

#[test]
fn same_seed_gives_bit_identical_losses() {
    for which in ["single-task", "shared-bottom", "shared-bottom+dropout"] {
        let (a, _, after_a) = train(which, 3);
        let (b, _, after_b) = train(which, 3);
        let bits = |r: &TrainReport| {
            r.step_losses
                .iter()
                .map(|l| l.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bits(&a),
            bits(&b),
            "{which}: step losses differ between two runs with seed 3"
        );
        assert_eq!(after_a, after_b, "{which}");
        let (c, _, _) = train(which, 4);
        assert_ne!(
            bits(&a),
            bits(&c),
            "{which}: a different seed should give a different run"
        );
    }
}

#[test]
fn outputs_are_one_column_per_task_and_names_are_stable() {
    let mut store = ParamStore::new();
    let model = shared_bottom(&mut store, 0, 0.0);
    for name in [
        "shared_bottom.bottom.0.w",
        "shared_bottom.bottom.0.b",
        "shared_bottom.tower.0.0.w",
        "shared_bottom.tower.1.1.b",
    ] {
        assert!(store.find(name).is_some(), "missing parameter {name}");
    }
    assert_eq!(
        store.num_scalars(),
        100 * 16 + 16 + 2 * (16 * 8 + 8 + 8 + 1)
    );
    let d = data(7, 0.5);
    let mut g = Graph::new(0);
    let x = g.input(&d.x);
    let outs = model.forward(&mut g, &store, x).unwrap();
    assert_eq!(outs.len(), 2);
    assert!(outs.iter().all(|&o| g.shape(o) == (7, 1)));

    let mut store = ParamStore::new();
    let model = single_task(&mut store, 0);
    assert!(store.find("single_task.tower.1.2.w").is_some());
    assert_eq!(model.num_tasks(), 2);
}

#[test]
fn bad_configurations_are_errors_not_panics() {
    let mut store = ParamStore::new();
    let rng = &mut StdRng::seed_from_u64(0);
    let base = SharedBottomConfig {
        d_in: 100,
        bottom: vec![16],
        tower: vec![8],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    for cfg in [
        SharedBottomConfig {
            bottom: vec![],
            ..base.clone()
        },
        SharedBottomConfig {
            num_tasks: 0,
            ..base.clone()
        },
        SharedBottomConfig {
            d_in: 0,
            ..base.clone()
        },
        SharedBottomConfig {
            dropout: 1.0,
            ..base.clone()
        },
        SharedBottomConfig {
            tower: vec![0],
            ..base.clone()
        },
    ] {
        assert!(SharedBottom::new(&mut store, &cfg, rng).is_err(), "{cfg:?}");
    }
    // A model with the wrong number of tasks for the data is refused by the trainer.
    let mut store = ParamStore::new();
    let model = SharedBottom::new(
        &mut store,
        &SharedBottomConfig {
            num_tasks: 3,
            ..base
        },
        rng,
    )
    .unwrap();
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    let err = fit(
        &model,
        &mut store,
        &mut opt,
        &data(10, 0.5),
        None,
        &TrainConfig {
            epochs: 1,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("num_tasks"), "{err}");
}

/// Fan-out: the shared bottom feeds both towers, so its gradient from L1 + L2 must equal
/// the gradient from L1 alone plus the gradient from L2 alone; each tower sees only its task.
#[test]
fn shared_bottom_gets_the_sum_of_both_task_gradients() {
    let d = data(64, 0.5);
    let mut store = ParamStore::new();
    let model = shared_bottom(&mut store, 9, 0.0);
    let mut batch = Batch::default();
    batch.fill(&d, &(0..64).collect::<Vec<_>>());
    let mut g = Graph::new(0);
    let x = g.input(&d.x); // (B, 100)
    let outs = model.forward(&mut g, &store, x).unwrap(); // 2 × (B, 1)
    let only = |k: usize| {
        Objective::new(
            &d.tasks,
            Some(&[(k == 0) as u8 as f32, (k == 1) as u8 as f32]),
        )
        .unwrap()
    };
    let both = Objective::new(&d.tasks, None).unwrap();

    let mut grads = Vec::new();
    for objective in [only(0), only(1), both] {
        let (loss, _) = objective.record(&mut g, &outs, &batch).unwrap();
        store.zero_grad();
        g.backward(loss, &mut store).unwrap();
        grads.push(store.dense_grad().to_vec());
    }
    let (g1, g2, g12) = (&grads[0], &grads[1], &grads[2]);
    for (i, ((a, b), s)) in g1.iter().zip(g2).zip(g12).enumerate() {
        assert!(
            (a + b - s).abs() <= 1e-6 + 1e-5 * s.abs(),
            "dense gradient {i}: {a} + {b} ≠ {s}"
        );
    }
    // The bottom really receives both tasks' gradients; each tower only its own.
    let range = |name: &str| {
        let id = store.find(name).unwrap();
        let off = store.dense_offset(id).unwrap();
        off..off + store.value(id).len()
    };
    let bottom = range("shared_bottom.bottom.0.w");
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(norm(&g1[bottom.clone()]) > 0.0 && norm(&g2[bottom.clone()]) > 0.0);
    assert_eq!(norm(&g1[range("shared_bottom.tower.1.0.w")]), 0.0);
    assert_eq!(norm(&g2[range("shared_bottom.tower.0.0.w")]), 0.0);

    // Backward accumulates: two backward passes without zeroing in between give the sum.
    store.zero_grad();
    for k in 0..2 {
        let (loss, _) = only(k).record(&mut g, &outs, &batch).unwrap();
        g.backward(loss, &mut store).unwrap();
    }
    for (i, (a, s)) in store.dense_grad().iter().zip(g12).enumerate() {
        assert!(
            (a - s).abs() <= 1e-6 + 1e-5 * s.abs(),
            "accumulated gradient {i}: {a} ≠ {s}"
        );
    }
}
