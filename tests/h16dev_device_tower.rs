//! An MLP tower trained for five AdamW steps on each device, written once with
//! `test_device!`: the losses of every step and the final parameters against the same
//! steps on the CPU (graph, `mse_loss`, `Adam::step`). On the CPU the run repeats exactly;
//! through the device program (`DeviceTrainer`: record-only tape lowered to fused linear
//! layers, MSE, backward and Adam launches) it matches within the device's tolerance.
//! This is the check the removed `cuda::mlp::DeviceMlp` had of its own, now made of the
//! device step that training uses.

mod device_support;

use device_support::{test_device, tolerance};
use mtrec::autograd::{Graph, ParamStore};
use mtrec::device::{open_backend, DeviceTrainer, StepDevice};
use mtrec::nn::mlp::{Activation, Mlp, MlpConfig};
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use mtrec::tensor::Tensor;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

const B: usize = 64;
const DIMS: [usize; 4] = [8, 32, 16, 2];
const STEPS: usize = 5;
const LR: f32 = 1e-2;

struct Tower {
    store: ParamStore,
    mlp: Mlp,
    x: Vec<f32>, // (B, D_in)
    y: Vec<f32>, // (B, D_out)
}

fn tower(act: Activation) -> Tower {
    let mut rng = StdRng::seed_from_u64(14);
    let mut store = ParamStore::new();
    let mlp = Mlp::new(
        &mut store,
        "tower",
        &MlpConfig::new(DIMS.to_vec(), act),
        &mut rng,
    )
    .unwrap();
    let x = (0..B * DIMS[0]).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let y = (0..B * DIMS[3]).map(|_| rng.gen_range(-1.0..1.0)).collect();
    Tower { store, mlp, x, y }
}

/// Records (or, on the CPU, computes) input → tower → MSE on a fresh graph.
fn record(t: &Tower, record_only: bool) -> (Graph, mtrec::autograd::Var) {
    let mut g = Graph::new(0);
    g.set_record_only(record_only);
    let xv = g.input(&Tensor::from_vec(B, DIMS[0], t.x.clone()).unwrap());
    let p = t.mlp.forward(&mut g, &t.store, xv).unwrap(); // (B, D_out)
    let l = g.mse_loss(p, &t.y, Default::default()).unwrap(); // (1, 1)
    (g, l)
}

/// The loss of every step and the parameters after the last, trained on `device`.
fn train(device: StepDevice, act: Activation) -> (Vec<f32>, ParamStore) {
    let mut t = tower(act);
    let mut opt = Adam::new(AdamConfig::adamw(LR)).unwrap();
    let mut losses = Vec::new();
    match open_backend(device).unwrap() {
        None => {
            for _ in 0..STEPS {
                t.store.zero_grad();
                let (mut g, l) = record(&t, false);
                losses.push(g.value(l)[0]);
                g.backward(l, &mut t.store).unwrap();
                opt.step(&mut t.store, LR).unwrap();
            }
        }
        Some(backend) => {
            let mut trainer = DeviceTrainer::new(backend, &mut t.store, &mut opt).unwrap();
            for _ in 0..STEPS {
                let (g, l) = record(&t, true);
                let scalars = trainer.step(&g, l, &[l], LR, 0.0).unwrap();
                losses.push(scalars[0]);
            }
            assert_eq!(trainer.programs(), 1, "one batch shape, one program");
            trainer.download(&mut t.store, &mut opt).unwrap();
        }
    }
    (losses, t.store)
}

fn close(what: &str, x: f32, y: f32, tol: f64) {
    let err = (x as f64 - y as f64).abs() / (1.0 + (x as f64).abs());
    assert!(
        err <= tol,
        "{what}: {x} on the CPU, {y} on the device (tolerance {tol})"
    );
}

test_device!(an_mlp_tower_trains_the_same_on_every_device);
fn an_mlp_tower_trains_the_same_on_every_device(device: StepDevice) {
    let tol = tolerance(device);
    for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
        let (cpu_losses, cpu) = train(StepDevice::Cpu, act);
        let (dev_losses, dev) = train(device, act);
        for (step, (x, y)) in cpu_losses.iter().zip(&dev_losses).enumerate() {
            close(&format!("{act:?} step {step} loss"), *x, *y, tol);
        }
        assert!(
            cpu_losses[STEPS - 1] < cpu_losses[0],
            "{act:?}: the tower learns ({cpu_losses:?})"
        );
        for id in cpu.ids() {
            let name = &cpu.info(id).name;
            for (i, (x, y)) in cpu.value(id).iter().zip(dev.value(id)).enumerate() {
                close(
                    &format!("{act:?} {name}[{i}] after {STEPS} steps"),
                    *x,
                    *y,
                    tol,
                );
            }
        }
    }
}
