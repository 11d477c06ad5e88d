//! Resuming training from a checkpoint (src/checkpoint) equal to never stopping, the train
//! state round trip, and the errors of a resume with another optimiser or model.
//!
//! Set `MTREC_KEEP_CHECKPOINT=/some/file.safetensors` to keep a copy of the tiny model's
//! `model.safetensors` (used by `reference/checkpoint/load_in_python.py`).

mod checkpoint_support;

use checkpoint_support::*;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::checkpoint::*;
use mtrec::loss::LossOpts;
use mtrec::nn::{Embedding, Init, Linear};
use mtrec::optim::{Adam, AdamConfig, OptimState, Optimizer, Sgd, SgdConfig};
use mtrec::Error;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::collections::BTreeMap;
use std::fs;

// ---------------------------------------------------------------------------------------
// Exact resume: a tiny model with an embedding table (lazy row updates) and no dropout.

struct Tiny {
    emb: Embedding,
    hidden: Linear,
    head: Linear,
}

const V: usize = 11; // table rows
const B: usize = 4; // batch

fn tiny(store: &mut ParamStore, seed: u64) -> Tiny {
    let mut rng = StdRng::seed_from_u64(seed);
    Tiny {
        emb: Embedding::new(store, "emb.item", V, 3, Init::Normal { std: 0.3 }, &mut rng).unwrap(),
        hidden: Linear::new(store, "mlp.0", 3 + 2, 4, Init::XavierUniform, &mut rng).unwrap(),
        head: Linear::new(store, "head.0", 4, 1, Init::XavierUniform, &mut rng).unwrap(),
    }
}

/// Step `t` of a fixed schedule of batches: each step touches a different set of rows,
/// so some rows' optimiser state stays untouched for several steps.
fn train_step(m: &Tiny, store: &mut ParamStore, opt: &mut dyn Optimizer, t: usize) {
    let idx: Vec<u32> = (0..B).map(|i| ((t * 5 + i * i) % V) as u32).collect(); // (B,)
    let x: Vec<f32> = (0..B * 2)
        .map(|i| ((t * 13 + i * 7) % 9) as f32 * 0.25 - 1.0)
        .collect(); // (B, 2)
    let y: Vec<f32> = (0..B).map(|i| ((t + i) % 3) as f32 - 1.0).collect(); // (B, 1)
    let mut g = Graph::new(t as u64); // a fresh graph per step, in both runs
    let e = m.emb.forward(&mut g, store, &idx).unwrap(); // (B, 3)
    let xv = g.input_slice(B, 2, &x).unwrap(); // (B, 2)
    let h = g.concat_cols(&[e, xv]).unwrap(); // (B, 5)
    let h = m.hidden.forward(&mut g, store, h).unwrap(); // (B, 4)
    let h = g.relu(h).unwrap(); // (B, 4)
    let out = m.head.forward(&mut g, store, h).unwrap(); // (B, 1)
    let loss = g.mse_loss(out, &y, LossOpts::default()).unwrap(); // (1, 1)
    store.zero_grad();
    g.backward(loss, store).unwrap();
    opt.step(store, 0.05).unwrap();
}

fn assert_opt_state_bit_equal(
    a: &dyn Optimizer,
    sa: &ParamStore,
    b: &dyn Optimizer,
    sb: &ParamStore,
) {
    let (ea, eb) = (a.export_state(sa), b.export_state(sb));
    assert_eq!(ea.scalars, eb.scalars);
    assert_eq!(ea.tensors.len(), eb.tensors.len());
    for (x, y) in ea.tensors.iter().zip(&eb.tensors) {
        assert_eq!((&x.name, &x.shape), (&y.name, &y.shape));
        assert_eq!(bits(x.values), bits(y.values), "state `{}` differs", x.name);
    }
}

/// N steps, save, load into a fresh store and optimiser, M more steps ==
/// N + M uninterrupted steps, bit for bit (parameters and optimiser state).
fn check_resume(test: &str, make: &dyn Fn() -> Box<dyn Optimizer>, n: usize, m: usize) {
    let dir = scratch(test);
    let path = state_path(&dir);

    let mut store_a = ParamStore::new();
    let model_a = tiny(&mut store_a, 7);
    let mut opt_a = make();
    for t in 0..n + m {
        train_step(&model_a, &mut store_a, opt_a.as_mut(), t);
    }

    let mut store_b = ParamStore::new();
    let model_b = tiny(&mut store_b, 7);
    let mut opt_b = make();
    for t in 0..n {
        train_step(&model_b, &mut store_b, opt_b.as_mut(), t);
    }
    let state = TrainState {
        epoch: 1,
        global_step: n as u64,
        ..Default::default()
    };
    save_train_state(&path, &store_b, opt_b.as_ref(), &state, None).unwrap();
    drop((store_b, opt_b));

    // Other initial values: loading must overwrite every parameter.
    let mut store_c = ParamStore::new();
    let model_c = tiny(&mut store_c, 99);
    let mut opt_c = make();
    let resumed = load_train_state(&path, &mut store_c, opt_c.as_mut()).unwrap();
    assert_eq!(resumed.state, state);
    for t in resumed.state.global_step as usize..n + m {
        train_step(&model_c, &mut store_c, opt_c.as_mut(), t);
    }
    assert_stores_bit_equal(&store_a, &store_c);
    assert_opt_state_bit_equal(opt_a.as_ref(), &store_a, opt_c.as_ref(), &store_c);
    assert_eq!(temp_files(&dir), Vec::<String>::new());

    // The comparison is sensitive: resuming from the parameters alone, with a fresh
    // optimiser, ends elsewhere whenever the optimiser had state to lose.
    if !opt_c.export_state(&store_c).tensors.is_empty() && n > 0 {
        let mut store_d = ParamStore::new();
        let model_d = tiny(&mut store_d, 99);
        load_params(&path, &mut store_d).unwrap();
        let mut opt_d = make();
        for t in n..n + m {
            train_step(&model_d, &mut store_d, opt_d.as_mut(), t);
        }
        let differs = store_a
            .ids()
            .any(|id| bits(store_a.value(id)) != bits(store_d.value(id)));
        assert!(
            differs,
            "a fresh optimiser gave the same result; the test proves nothing"
        );
    }
}

#[test]
fn adam_resume_equals_an_uninterrupted_run() {
    check_resume(
        "resume_adam",
        &|| Box::new(Adam::new(AdamConfig::default()).unwrap()),
        6,
        5,
    );
}

#[test]
fn adamw_resume_equals_an_uninterrupted_run() {
    check_resume(
        "resume_adamw",
        &|| Box::new(Adam::adamw(0.05).unwrap()),
        3,
        7,
    );
}

#[test]
fn sgd_nesterov_resume_equals_an_uninterrupted_run() {
    let cfg = SgdConfig {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-3,
    };
    check_resume(
        "resume_sgd",
        &move || Box::new(Sgd::new(cfg).unwrap()),
        5,
        4,
    );
}

#[test]
fn plain_sgd_and_resume_before_the_first_step() {
    check_resume(
        "resume_plain",
        &|| Box::new(Sgd::new(SgdConfig::default()).unwrap()),
        4,
        3,
    );
    check_resume(
        "resume_zero",
        &|| Box::new(Adam::new(AdamConfig::default()).unwrap()),
        0,
        4,
    );
}

#[test]
fn train_state_counters_extra_and_best_params_round_trip() {
    let dir = scratch("state_meta");
    let path = state_path(&dir);
    let mut store = ParamStore::new();
    let model = tiny(&mut store, 1);
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    train_step(&model, &mut store, &mut opt, 0);
    let best = store.clone();
    train_step(&model, &mut store, &mut opt, 1);
    let state = TrainState {
        epoch: 3,
        global_step: u64::MAX - 1,
        rng: [
            ("dropout".to_string(), 0xDEAD_BEEF_0123_4567u64),
            ("shuffle".to_string(), 3),
        ]
        .into(),
        best_metric: Some(0.123_456_789_012_345_67),
        best_epoch: Some(1),
        epochs_without_improvement: 2,
        extra: [
            ("config_sha".to_string(), "ab12".to_string()),
            ("mtrec.x".to_string(), "y".to_string()),
        ]
        .into(),
    };
    save_train_state(&path, &store, &opt, &state, Some(&best)).unwrap();

    let mut store2 = ParamStore::new();
    tiny(&mut store2, 5);
    let mut opt2 = Adam::new(AdamConfig::default()).unwrap();
    let resumed = load_train_state(&path, &mut store2, &mut opt2).unwrap();
    assert_eq!(resumed.state, state);
    assert_stores_bit_equal(&resumed.best_params.unwrap(), &best);
    assert_stores_bit_equal(&store2, &store);
    assert_eq!(opt2.steps(), 2);

    // The documented names are what is on disk.
    let ckpt = read_safetensors(&path).unwrap();
    for name in [
        "param/emb.item.table",
        "adam.m/emb.item.table",
        "adam.v/mlp.0.w",
        "best/head.0.b",
    ] {
        assert!(
            ckpt.get(name).is_some(),
            "no `{name}` in {:?}",
            ckpt.tensors().keys()
        );
    }
    let meta = ckpt.metadata();
    assert_eq!(meta["mtrec.kind"], "train_state");
    assert_eq!(meta["mtrec.optimizer"], "adam");
    assert_eq!(meta["optim.adam.step"], "2");
    assert_eq!(meta["rng.dropout"], 0xDEAD_BEEF_0123_4567u64.to_string());
    assert_eq!(meta["extra.config_sha"], "ab12");

    // load_params reads the parameters of a training state too.
    let mut store3 = ParamStore::new();
    tiny(&mut store3, 6);
    load_params(&path, &mut store3).unwrap();
    assert_stores_bit_equal(&store3, &store);
}

#[test]
fn resuming_with_another_optimiser_or_model_is_a_clear_error() {
    let dir = scratch("state_errors");
    let path = state_path(&dir);
    let mut store = ParamStore::new();
    let model = tiny(&mut store, 1);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    train_step(&model, &mut store, &mut adam, 0);
    save_train_state(&path, &store, &adam, &TrainState::default(), None).unwrap();

    let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
    let msg = err_text(load_train_state(&path, &mut store.clone(), &mut sgd));
    assert!(
        msg.contains("was written with optimiser `adam` but this run uses `sgd`"),
        "{msg}"
    );

    // A model with a wider hidden layer: the parameter shapes are named, the store is unchanged.
    let mut other = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(0);
    Embedding::new(&mut other, "emb.item", V, 3, Init::Zeros, &mut rng).unwrap();
    Linear::new(&mut other, "mlp.0", 5, 6, Init::Zeros, &mut rng).unwrap();
    Linear::new(&mut other, "head.0", 6, 1, Init::Zeros, &mut rng).unwrap();
    let before = other.clone();
    let mut adam2 = Adam::new(AdamConfig::default()).unwrap();
    let msg = err_text(load_train_state(&path, &mut other, &mut adam2));
    assert!(
        msg.contains(
            "tensor `param/mlp.0.w` has shape [5, 4] in the checkpoint but [5, 6] in the model"
        ),
        "{msg}"
    );
    assert_stores_bit_equal(&other, &before);

    // A parameter file is not a training state.
    let model_file = dir.join("model.safetensors");
    save_params(&model_file, &store, &BTreeMap::new()).unwrap();
    let msg = err_text(load_train_state(
        &model_file,
        &mut store.clone(),
        &mut adam2,
    ));
    assert!(
        msg.contains("is a `params` file, not a training state"),
        "{msg}"
    );
}

#[test]
fn optimiser_import_rejects_inconsistent_state() {
    let mut store = ParamStore::new();
    let model = tiny(&mut store, 1);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    // A step count without moments.
    let state = OptimState {
        tensors: vec![],
        scalars: [("adam.step".to_string(), "3".to_string())].into(),
    };
    let e = adam.import_state(&store, &state).unwrap_err();
    assert!(matches!(e, Error::Config { .. }));
    assert!(
        e.to_string()
            .contains("`adam.step` = 3 but the moments are not present"),
        "{e}"
    );
    assert_eq!(adam.steps(), 0);

    // A velocity for an SGD without momentum.
    let mut sgd_m = Sgd::new(SgdConfig {
        momentum: 0.5,
        ..Default::default()
    })
    .unwrap();
    train_step(&model, &mut store, &mut sgd_m, 0);
    let exported = sgd_m.export_state(&store);
    assert_eq!(exported.tensors.len(), store.len());
    let mut plain = Sgd::new(SgdConfig::default()).unwrap();
    let e = plain.import_state(&store, &exported).unwrap_err();
    assert!(
        e.to_string()
            .contains("has a velocity but this optimiser has momentum 0"),
        "{e}"
    );
}

/// Writes the tiny model's parameters; kept at `$MTREC_KEEP_CHECKPOINT` when set (for the
/// Python reader in reference/checkpoint/).
#[test]
fn tiny_model_file_for_other_readers() {
    let dir = scratch("keep");
    let path = dir.join("model.safetensors");
    let mut store = ParamStore::new();
    tiny(&mut store, 3);
    let meta: BTreeMap<String, String> =
        [("model".to_string(), "tests/checkpoint.rs tiny".to_string())].into();
    save_params(&path, &store, &meta).unwrap();
    if let Ok(keep) = std::env::var("MTREC_KEEP_CHECKPOINT") {
        fs::copy(&path, &keep).unwrap();
        eprintln!("kept {}", keep);
    }
    let mut back = ParamStore::new();
    tiny(&mut back, 4);
    load_params(&path, &mut back).unwrap();
    assert_stores_bit_equal(&store, &back);
}
