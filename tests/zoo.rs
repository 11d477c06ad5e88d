//! The model zoo: every architecture trains (its loss falls) on the MMoE synthetic
//! regression data and on a small two-task binary problem; ESMM's CVR tower learns from
//! impressions that were never clicked; AITM's label constraint has a gradient.

use mtrec::autograd::{Graph, ParamStore, Var};
use mtrec::data::synthetic::{generate, SyntheticConfig};
use mtrec::loss::LossOpts;
use mtrec::models::*;
use mtrec::nn::Activation;
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use mtrec::tensor::Tensor;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Regression,
    Binary,
}

/// Every architecture for `k` tasks on `d` inputs.
fn zoo(
    store: &mut ParamStore,
    d: usize,
    k: usize,
    rng: &mut StdRng,
) -> Vec<Box<dyn MultiTaskModel>> {
    let act = Activation::Relu;
    let moe = MmoeConfig {
        d_in: d,
        num_experts: 4,
        expert: vec![8],
        tower: vec![4],
        num_tasks: k,
        activation: act,
        dropout: 0.0,
    };
    let ple = |levels| PleConfig {
        d_in: d,
        levels,
        shared_experts: 2,
        task_experts: 1,
        expert: vec![8],
        tower: vec![4],
        num_tasks: k,
        activation: act,
        dropout: 0.0,
    };
    let mut models: Vec<Box<dyn MultiTaskModel>> = vec![
        Box::new(
            SingleTask::new(
                store,
                &SingleTaskConfig {
                    d_in: d,
                    hidden: vec![8],
                    num_tasks: k,
                    activation: act,
                    dropout: 0.0,
                },
                rng,
            )
            .unwrap(),
        ),
        Box::new(
            SharedBottom::new(
                store,
                &SharedBottomConfig {
                    d_in: d,
                    bottom: vec![8],
                    tower: vec![4],
                    num_tasks: k,
                    activation: act,
                    dropout: 0.0,
                },
                rng,
            )
            .unwrap(),
        ),
        Box::new(Omoe::new(store, &moe, rng).unwrap()),
        Box::new(Mmoe::new(store, &moe, rng).unwrap()),
        Box::new(Ple::new(store, &ple(1), rng).unwrap()),
        Box::new(Ple::new(store, &ple(2), rng).unwrap()),
        Box::new(
            Aitm::new(
                store,
                &AitmConfig {
                    d_in: d,
                    num_tasks: k,
                    bottom: vec![8],
                    tower: vec![4],
                    constraint_weight: 0.5,
                    activation: act,
                    dropout: 0.0,
                },
                rng,
            )
            .unwrap(),
        ),
    ];
    if k == 2 {
        models.push(Box::new(
            Esmm::new(
                store,
                &EsmmConfig {
                    d_in: d,
                    tower: vec![8],
                    activation: act,
                    dropout: 0.0,
                },
                rng,
            )
            .unwrap(),
        ));
    }
    models
}

/// Objective of one batch: mean of per-task losses plus the model's extra term.
fn objective(
    g: &mut Graph,
    model: &dyn MultiTaskModel,
    store: &ParamStore,
    x: Var,
    y: &[Vec<f32>],
    kind: Kind,
) -> Var {
    let outs = model.forward(g, store, x).unwrap();
    let mut losses: Vec<Var> = outs
        .iter()
        .zip(y)
        .map(|(&o, t)| match kind {
            Kind::Regression => g.mse_loss(o, t, LossOpts::default()).unwrap(),
            Kind::Binary => g.bce_with_logits(o, t, LossOpts::default()).unwrap(),
        })
        .collect();
    if let Some(extra) = model.extra_loss(g, &outs).unwrap() {
        losses.push(extra);
    }
    let w = vec![1.0; losses.len()];
    g.weighted_sum(&losses, &w).unwrap()
}

/// Full-batch Adam for `steps`; returns (first loss, last loss).
fn train(
    model: &dyn MultiTaskModel,
    store: &mut ParamStore,
    x: &Tensor,
    y: &[Vec<f32>],
    kind: Kind,
    steps: usize,
) -> (f32, f32) {
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    let mut g = Graph::new(3);
    let mut first = f32::NAN;
    let mut last = f32::NAN;
    for s in 0..steps {
        g.reset();
        let xv = g.input(x);
        let l = objective(&mut g, model, store, xv, y, kind);
        last = g.scalar(l);
        if s == 0 {
            first = last;
        }
        store.zero_grad();
        g.backward(l, store).unwrap();
        opt.step(store, 1e-2).unwrap();
    }
    (first, last)
}

#[test]
fn every_architecture_learns_the_synthetic_regression_tasks() {
    let data = generate(&SyntheticConfig {
        n: 512,
        rho: 0.5,
        seed: 11,
        ..SyntheticConfig::default()
    })
    .unwrap()
    .data;
    let y: Vec<Vec<f32>> = (0..2).map(|k| data.labels(k)).collect();
    let mut rng = StdRng::seed_from_u64(5);
    let mut probe = ParamStore::new();
    let names: Vec<String> = zoo(&mut probe, data.num_features(), 2, &mut rng)
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    for (i, name) in names.iter().enumerate() {
        if name == "esmm" || name == "aitm" {
            continue; // funnel models: binary tasks (below)
        }
        let mut store = ParamStore::new();
        let model = zoo(
            &mut store,
            data.num_features(),
            2,
            &mut StdRng::seed_from_u64(5),
        )
        .swap_remove(i);
        let (first, last) = train(
            model.as_ref(),
            &mut store,
            &data.x,
            &y,
            Kind::Regression,
            60,
        );
        assert!(
            last < 0.7 * first,
            "{name}: regression loss {first} → {last} did not fall by 30%"
        );
    }
}

/// Two binary tasks: click = [x₀ + x₁ > 0], buy = click ∧ [x₂ > 0.3] (a funnel).
fn funnel(n: usize, d: usize, seed: u64) -> (Tensor, Vec<Vec<f32>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let click: Vec<f32> = (0..n)
        .map(|i| (x[i * d] + x[i * d + 1] > 0.0) as u8 as f32)
        .collect();
    let buy: Vec<f32> = (0..n)
        .map(|i| click[i] * (x[i * d + 2] > 0.3) as u8 as f32)
        .collect();
    (Tensor::from_vec(n, d, x).unwrap(), vec![click, buy])
}

#[test]
fn every_architecture_learns_a_two_task_binary_funnel() {
    let (x, y) = funnel(400, 6, 9);
    let count = zoo(&mut ParamStore::new(), 6, 2, &mut StdRng::seed_from_u64(1)).len();
    for i in 0..count {
        let mut store = ParamStore::new();
        let model = zoo(&mut store, 6, 2, &mut StdRng::seed_from_u64(1)).swap_remove(i);
        let (first, last) = train(model.as_ref(), &mut store, &x, &y, Kind::Binary, 80);
        assert!(
            last < 0.75 * first,
            "{}: binary loss {first} → {last} did not fall by 25%",
            model.name()
        );
    }
}

#[test]
fn esmm_cvr_tower_learns_from_unclicked_impressions() {
    let mut store = ParamStore::new();
    let model = Esmm::new(
        &mut store,
        &EsmmConfig {
            d_in: 3,
            tower: vec![4],
            activation: Activation::Relu,
            dropout: 0.0,
        },
        &mut StdRng::seed_from_u64(2),
    )
    .unwrap();
    // A batch of impressions none of which was clicked (so none converted).
    let x = Tensor::from_vec(
        4,
        3,
        vec![
            0.5, -0.2, 0.1, 0.3, 0.9, -0.4, -0.7, 0.2, 0.6, 0.1, 0.1, 0.1,
        ],
    )
    .unwrap();
    let zeros = vec![0.0f32; 4];
    let mut g = Graph::new(0);
    let xv = g.input(&x);
    let outs = model.forward(&mut g, &store, xv).unwrap();
    // Only the CTCVR loss: CVR is never trained on its own.
    let l = g
        .bce_with_logits(outs[1], &zeros, LossOpts::default())
        .unwrap();
    store.zero_grad();
    g.backward(l, &mut store).unwrap();
    let cvr_grad: f32 = model
        .cvr
        .layers
        .iter()
        .flat_map(|l| store.grad(l.w).unwrap().iter().map(|v| v.abs()))
        .sum();
    assert!(
        cvr_grad > 1e-6,
        "the CVR tower must receive gradient from unclicked impressions, got {cvr_grad}"
    );
}

#[test]
fn aitm_label_constraint_penalises_a_later_step_above_an_earlier_one() {
    let mut store = ParamStore::new();
    let cfg = AitmConfig {
        d_in: 2,
        num_tasks: 2,
        bottom: vec![4],
        tower: vec![],
        constraint_weight: 1.0,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let model = Aitm::new(&mut store, &cfg, &mut StdRng::seed_from_u64(4)).unwrap();
    let mut g = Graph::new(0);
    // Logits chosen by hand: task 2 above task 1 in row 0 only.
    let z = g.input(&Tensor::from_vec(2, 1, vec![-1.0, 2.0]).unwrap());
    let z2 = g.input(&Tensor::from_vec(2, 1, vec![1.0, 0.0]).unwrap());
    let l = model.extra_loss(&mut g, &[z, z2]).unwrap().unwrap();
    let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
    let expected = ((sig(1.0) - sig(-1.0)).max(0.0) + (sig(0.0) - sig(2.0)).max(0.0)) / 2.0;
    assert!(
        (g.scalar(l) - expected).abs() < 1e-6,
        "{} vs {expected}",
        g.scalar(l)
    );
}

#[test]
fn gate_weights_are_available_for_expert_utilisation() {
    let mut store = ParamStore::new();
    let cfg = MmoeConfig {
        d_in: 5,
        num_experts: 3,
        expert: vec![4],
        tower: vec![],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let model = Mmoe::new(&mut store, &cfg, &mut StdRng::seed_from_u64(8)).unwrap();
    let mut g = Graph::new(0);
    let x = g.input(&Tensor::from_vec(2, 5, (0..10).map(|i| i as f32 / 10.0).collect()).unwrap());
    model.forward(&mut g, &store, x).unwrap();
    let weights = mtrec::models::gate_weights(&g);
    assert_eq!(weights.len(), 2, "one gate per task");
    for w in &weights {
        assert_eq!(w.len(), 3);
        assert!(
            (w.iter().sum::<f32>() - 1.0).abs() < 1e-5,
            "mean gate weights sum to 1: {w:?}"
        );
    }
}
