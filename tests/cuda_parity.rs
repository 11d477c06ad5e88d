//! GPU kernels against their CPU twins: for every kernel of `kernels/*.cu`, one test body
//! draws seeded random inputs for several shapes (ragged ones included), runs the CPU twin
//! and the CUDA launch wrapper, and checks `|gpu − cpu| ≤ atol + rtol·|cpu|` elementwise.
//!
//! Every test is `#[ignore = "needs a CUDA GPU"]`: `cargo test` reports them as ignored
//! with that reason. `.ci/run` runs them with `--ignored` when `nvidia-smi -L` lists a GPU
//! and otherwise prints that they were not run and why; run with `--ignored` on a machine
//! without a GPU they fail with the device error (no silent pass).
//!
//! This file: elementwise, reductions, softmax, layer norm, losses, optimiser steps and
//! module loading; tests/cuda_parity_layers.rs: SGEMM, fused linear layer, embeddings, gate.
#![cfg(feature = "cuda")]

mod cuda_support;

use cuda_support::*;
use mtrec::autograd::{Axis, ParamStore, UnaryFn};
use mtrec::device::cuda::kernels::{self as k, BinaryKind, PointLoss};
use mtrec::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use mtrec::{loss, ops};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

#[test]
#[ignore = "needs a CUDA GPU"]
fn unary_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(1);
    for &f in UNARY {
        for &(r, c) in SHAPES {
            let n = r * c;
            let x: Vec<f32> = match f {
                UnaryFn::Log => rand_vec(&mut rng, n, 0.05, 3.0),
                // off the ReLU kink at 0: |x| ≥ 0.01
                _ => rand_vec(&mut rng, n, -3.0, 3.0)
                    .into_iter()
                    .map(|v| if v.abs() < 0.01 { 0.5 } else { v })
                    .collect(),
            };
            let dy = rand_vec(&mut rng, n, -1.0, 1.0);
            let d0 = rand_vec(&mut rng, n, -1.0, 1.0);
            let mut y = vec![0.0; n];
            ops::unary::unary_forward(&mut y, &x, f);
            let mut dx = d0.clone();
            ops::unary::unary_backward(&mut dx, &dy, &x, &y, f);

            let (gx, gdy) = (up(&dev, &x), up(&dev, &dy));
            let mut gy = dev.zeros::<f32>(n).unwrap();
            k::unary_forward(&dev, &mut gy, &gx, f.into()).unwrap();
            let mut gdx = up(&dev, &d0);
            k::unary_backward(&dev, &mut gdx, &gdy, &gx, &gy, f.into()).unwrap();
            let what = format!("{f:?} ({r}, {c})");
            assert_close(&format!("{what} forward"), &down(&dev, &gy), &y, 1e-6, 1e-5);
            assert_close(
                &format!("{what} backward"),
                &down(&dev, &gdx),
                &dx,
                1e-6,
                1e-5,
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn binary_broadcast_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(2);
    let cpu_fwd = [
        (
            BinaryKind::Add,
            ops::broadcast::add_forward
                as fn(&mut [f32], &[f32], &[f32], usize, usize, usize, usize),
        ),
        (BinaryKind::Sub, ops::broadcast::sub_forward),
        (BinaryKind::Mul, ops::broadcast::mul_forward),
    ];
    for (kind, cpu) in cpu_fwd {
        for &(r, c) in SHAPES {
            for (br, bc) in [(r, c), (1, c), (r, 1), (1, 1)] {
                let a = rand_vec(&mut rng, r * c, -2.0, 2.0);
                let b = rand_vec(&mut rng, br * bc, -2.0, 2.0);
                let dy = rand_vec(&mut rng, r * c, -1.0, 1.0);
                let mut y = vec![0.0; r * c];
                cpu(&mut y, &a, &b, r, c, br, bc);
                // The CPU `binary_backward` is private to ops::broadcast; its loops:
                let (mut da, mut db) = (vec![0.5f32; r * c], vec![0.25f32; br * bc]);
                for i in 0..r {
                    for j in 0..c {
                        let (o, q) = (
                            i * c + j,
                            (if br == 1 { 0 } else { i }) * bc + if bc == 1 { 0 } else { j },
                        );
                        let (ga, gb) = match kind {
                            BinaryKind::Add => (dy[o], dy[o]),
                            BinaryKind::Sub => (dy[o], -dy[o]),
                            BinaryKind::Mul => (dy[o] * b[q], dy[o] * a[o]),
                        };
                        da[o] += ga;
                        db[q] += gb;
                    }
                }
                let (ga, gb, gdy) = (up(&dev, &a), up(&dev, &b), up(&dev, &dy));
                let mut gy = dev.zeros::<f32>(r * c).unwrap();
                k::binary_forward(&dev, &mut gy, &ga, &gb, (r, c), (br, bc), kind).unwrap();
                let (mut gda, mut gdb) =
                    (up(&dev, &vec![0.5; r * c]), up(&dev, &vec![0.25; br * bc]));
                k::binary_backward(
                    &dev,
                    (Some(&mut gda), Some(&mut gdb)),
                    &gdy,
                    (&ga, &gb),
                    (r, c),
                    (br, bc),
                    kind,
                )
                .unwrap();
                let what = format!("{kind:?} ({r}, {c}) ∘ ({br}, {bc})");
                assert_close(&format!("{what} forward"), &down(&dev, &gy), &y, 1e-6, 1e-6);
                assert_close(&format!("{what} da"), &down(&dev, &gda), &da, 1e-6, 1e-6);
                // Each db entry sums n = (r·c)/(br·bc) terms of size ≤ 2 in f32, in another
                // order than the CPU: the rounding error grows with n, not with the result
                // (which may cancel to ~0), so atol scales with n.
                let n = ((r * c) / (br * bc)) as f32;
                assert_close(
                    &format!("{what} db"),
                    &down(&dev, &gdb),
                    &db,
                    1e-6 * n,
                    1e-4,
                );
            }
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn dropout_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(3);
    for &(r, c) in SHAPES {
        let n = r * c;
        let x = rand_vec(&mut rng, n, -2.0, 2.0);
        let mask: Vec<f32> = (0..n)
            .map(|_| if rng.gen_bool(0.7) { 1.0 / 0.7 } else { 0.0 })
            .collect();
        let dy = rand_vec(&mut rng, n, -1.0, 1.0);
        let mut y = vec![0.0; n];
        ops::dropout::dropout_forward(&mut y, &x, &mask);
        let mut dx = vec![0.1; n];
        ops::dropout::dropout_backward(&mut dx, &dy, &mask);
        let (gx, gm, gdy) = (up(&dev, &x), up(&dev, &mask), up(&dev, &dy));
        let mut gy = dev.zeros::<f32>(n).unwrap();
        k::dropout_forward(&dev, &mut gy, &gx, &gm).unwrap();
        let mut gdx = up(&dev, &vec![0.1; n]);
        k::dropout_backward(&dev, &mut gdx, &gdy, &gm).unwrap();
        assert_close("dropout forward", &down(&dev, &gy), &y, 0.0, 0.0);
        assert_close("dropout backward", &down(&dev, &gdx), &dx, 1e-7, 1e-6);
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn reduce_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(4);
    for axis in [Axis::All, Axis::Rows, Axis::Cols] {
        for mean in [false, true] {
            for &(r, c) in SHAPES {
                let s = if mean {
                    ops::reduce::mean_scale(r, c, axis)
                } else {
                    1.0
                };
                let (or, oc) = ops::reduce::reduced_dims(r, c, axis);
                let x = rand_vec(&mut rng, r * c, -1.0, 1.0);
                let dy = rand_vec(&mut rng, or * oc, -1.0, 1.0);
                let mut y = vec![0.0; or * oc];
                ops::reduce::reduce_forward(&mut y, &x, r, c, axis, s);
                let mut dx = vec![0.2; r * c];
                ops::reduce::reduce_backward(&mut dx, &dy, r, c, axis, s);
                let (gx, gdy) = (up(&dev, &x), up(&dev, &dy));
                let mut gy = dev.zeros::<f32>(or * oc).unwrap();
                k::reduce_forward(&dev, &mut gy, &gx, (r, c), axis, s).unwrap();
                let mut gdx = up(&dev, &vec![0.2; r * c]);
                k::reduce_backward(&dev, &mut gdx, &gdy, (r, c), axis, s).unwrap();
                let what = format!("{axis:?} mean={mean} ({r}, {c})");
                // both sum in f64 and round once: only the summation order differs
                assert_close(&format!("{what} forward"), &down(&dev, &gy), &y, 1e-6, 1e-6);
                assert_close(
                    &format!("{what} backward"),
                    &down(&dev, &gdx),
                    &dx,
                    1e-7,
                    1e-6,
                );
            }
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn softmax_and_log_softmax_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(5);
    for log in [false, true] {
        for &(r, c) in SHAPES {
            let x = rand_vec(&mut rng, r * c, -4.0, 4.0);
            let dy = rand_vec(&mut rng, r * c, -1.0, 1.0);
            let mut y = vec![0.0; r * c];
            let mut dx = vec![0.3; r * c];
            if log {
                ops::softmax::log_softmax_forward(&mut y, &x, r, c);
                ops::softmax::log_softmax_backward(&mut dx, &dy, &y, r, c);
            } else {
                ops::softmax::softmax_forward(&mut y, &x, r, c);
                ops::softmax::softmax_backward(&mut dx, &dy, &y, r, c);
            }
            let (gx, gdy) = (up(&dev, &x), up(&dev, &dy));
            let mut gy = dev.zeros::<f32>(r * c).unwrap();
            k::softmax_forward(&dev, &mut gy, &gx, (r, c), log).unwrap();
            let mut gdx = up(&dev, &vec![0.3; r * c]);
            k::softmax_backward(&dev, &mut gdx, &gdy, &gy, (r, c), log).unwrap();
            let what = format!("softmax log={log} ({r}, {c})");
            assert_close(&format!("{what} forward"), &down(&dev, &gy), &y, 1e-6, 1e-5);
            assert_close(
                &format!("{what} backward"),
                &down(&dev, &gdx),
                &dx,
                1e-5,
                1e-4,
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn layer_norm_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(6);
    for &(b, d) in SHAPES {
        let x = rand_vec(&mut rng, b * d, -2.0, 2.0);
        let gamma = rand_vec(&mut rng, d, 0.5, 1.5);
        let beta = rand_vec(&mut rng, d, -0.5, 0.5);
        let dy = rand_vec(&mut rng, b * d, -1.0, 1.0);
        let eps = 1e-5;
        let (mut y, mut mu, mut rs) = (vec![0.0; b * d], vec![0.0; b], vec![0.0; b]);
        let shape = ops::layer_norm::LayerNormShape {
            rows: b,
            cols: d,
            eps,
        };
        ops::layer_norm::layer_norm_forward(&mut y, &mut mu, &mut rs, &x, &gamma, &beta, shape);
        let (mut dx, mut dg, mut db) = (vec![0.1; b * d], vec![0.2; d], vec![0.3; d]);
        let grads = ops::layer_norm::LayerNormGrads {
            dinp: Some(&mut dx),
            dgamma: Some(&mut dg),
            dbeta: Some(&mut db),
        };
        let stats = ops::layer_norm::RowStats {
            mean: &mu,
            rstd: &rs,
        };
        ops::layer_norm::layer_norm_backward(grads, &dy, &x, &gamma, stats, b, d);

        let (gx, gg, gb, gdy) = (
            up(&dev, &x),
            up(&dev, &gamma),
            up(&dev, &beta),
            up(&dev, &dy),
        );
        let (mut gy, mut gmu, mut grs) = (
            dev.zeros(b * d).unwrap(),
            dev.zeros(b).unwrap(),
            dev.zeros(b).unwrap(),
        );
        k::layer_norm_forward(
            &dev,
            &mut gy,
            (&mut gmu, &mut grs),
            &gx,
            (&gg, &gb),
            (b, d),
            eps,
        )
        .unwrap();
        let (mut gdx, mut gdg, mut gdb) = (
            up(&dev, &vec![0.1; b * d]),
            up(&dev, &vec![0.2; d]),
            up(&dev, &vec![0.3; d]),
        );
        k::layer_norm_backward(
            &dev,
            Some(&mut gdx),
            Some((&mut gdg, &mut gdb)),
            &gdy,
            (&gx, &gg),
            (&gmu, &grs),
            (b, d),
        )
        .unwrap();
        let what = format!("layer_norm ({b}, {d})");
        assert_close(&format!("{what} y"), &down(&dev, &gy), &y, 1e-5, 1e-5);
        assert_close(&format!("{what} mean"), &down(&dev, &gmu), &mu, 1e-6, 1e-6);
        assert_close(&format!("{what} rstd"), &down(&dev, &grs), &rs, 1e-5, 1e-5);
        assert_close(&format!("{what} dx"), &down(&dev, &gdx), &dx, 1e-4, 1e-4);
        // dγ, dβ sum B rows in f32 (the GPU from 0, the CPU onto the initial value)
        let atol = 1e-4 + 1e-6 * b as f32;
        assert_close(
            &format!("{what} dgamma"),
            &down(&dev, &gdg),
            &dg,
            atol,
            1e-4,
        );
        assert_close(&format!("{what} dbeta"), &down(&dev, &gdb), &db, atol, 1e-4);
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn losses_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(11);
    for &(b, c) in SHAPES {
        let p = rand_vec(&mut rng, b * c, -4.0, 4.0);
        let y: Vec<f32> = (0..b * c)
            .map(|_| if rng.gen_bool(0.3) { 1.0 } else { 0.0 })
            .collect();
        let coef = rand_vec(&mut rng, b, 0.0, 1.0);
        let dl = 0.7;
        let gdl = up(&dev, &[dl]); // the loss gradient stays on the device
        for kind in [PointLoss::Mse, PointLoss::BceLogits] {
            let (l, dp) = match kind {
                PointLoss::Mse => {
                    let l = loss::mse::mse_forward(&p, &y, &coef, b, c);
                    let mut dp = vec![0.1; b * c];
                    loss::mse::mse_backward(&mut dp, dl, &p, &y, &coef, b, c);
                    (l, dp)
                }
                PointLoss::BceLogits => {
                    let l = loss::bce::bce_forward(&p, &y, &coef, b, c);
                    let mut dp = vec![0.1; b * c];
                    loss::bce::bce_backward(&mut dp, dl, &p, &y, &coef, b, c);
                    (l, dp)
                }
            };
            let (gp, gy, gc) = (up(&dev, &p), up(&dev, &y), up(&dev, &coef));
            let mut gl = dev.zeros(1).unwrap();
            k::loss_forward(&dev, kind, &mut gl, &gp, (&gy, &gc), (b, c)).unwrap();
            let mut gdp = up(&dev, &vec![0.1; b * c]);
            k::loss_backward(&dev, kind, &mut gdp, &gdl, &gp, (&gy, &gc), (b, c)).unwrap();
            let what = format!("{kind:?} ({b}, {c})");
            assert_close(&format!("{what} L"), &down(&dev, &gl), &[l], 1e-6, 1e-6);
            assert_close(&format!("{what} dp"), &down(&dev, &gdp), &dp, 1e-6, 1e-5);
        }
        // softmax cross-entropy over V = c classes
        let classes: Vec<u32> = (0..b).map(|_| rng.gen_range(0..c as u32)).collect();
        let mut prob = vec![0.0; b * c];
        let mut terms = vec![0.0f64; b];
        let l =
            loss::softmax_ce::softmax_ce_forward(&mut prob, &mut terms, &p, &classes, &coef, b, c);
        let mut dz = vec![0.1; b * c];
        loss::softmax_ce::softmax_ce_backward(&mut dz, dl, &prob, &classes, &coef, b, c);
        let (gz, gcl, gc) = (up(&dev, &p), up_u32(&dev, &classes), up(&dev, &coef));
        let (mut gl, mut gprob) = (dev.zeros(1).unwrap(), dev.zeros(b * c).unwrap());
        k::softmax_ce_forward(&dev, &mut gl, &mut gprob, &gz, &gcl, &gc, (b, c)).unwrap();
        let mut gdz = up(&dev, &vec![0.1; b * c]);
        k::softmax_ce_backward(&dev, &mut gdz, &gdl, &gprob, &gcl, &gc, (b, c)).unwrap();
        let what = format!("softmax_ce ({b}, {c})");
        assert_close(&format!("{what} L"), &down(&dev, &gl), &[l], 1e-5, 1e-5);
        assert_close(&format!("{what} p"), &down(&dev, &gprob), &prob, 1e-6, 1e-5);
        assert_close(&format!("{what} dz"), &down(&dev, &gdz), &dz, 1e-6, 1e-5);
    }
}

/// Three optimiser steps on a flat block, against `Optimizer::step` on a ParamStore with
/// one dense parameter of the same values and gradients.
#[test]
#[ignore = "needs a CUDA GPU"]
fn sgd_and_adam_steps() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(12);
    let lr = 0.05;
    for &n in &[1usize, 7, 1000, 70_001] {
        let theta0 = rand_vec(&mut rng, n, -1.0, 1.0);
        let grads: Vec<Vec<f32>> = (0..3).map(|_| rand_vec(&mut rng, n, -1.0, 1.0)).collect();
        let sgd_cfgs = [
            SgdConfig::default(),
            SgdConfig {
                momentum: 0.9,
                nesterov: false,
                weight_decay: 1e-2,
            },
            SgdConfig {
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.0,
            },
        ];
        for cfg in sgd_cfgs {
            let mut store = ParamStore::new();
            let id = store.add_dense("p", 1, n, theta0.clone()).unwrap();
            let mut opt = Sgd::new(cfg).unwrap();
            let (mut gt, mut gv) = (up(&dev, &theta0), dev.zeros(n).unwrap());
            for g in &grads {
                store.grad_mut(id).unwrap().copy_from_slice(g);
                opt.step(&mut store, lr).unwrap();
                k::sgd_step(&dev, &mut gt, &up(&dev, g), &mut gv, &cfg, lr).unwrap();
            }
            assert_close(
                &format!("sgd {cfg:?} n={n}"),
                &down(&dev, &gt),
                store.value(id),
                1e-6,
                1e-5,
            );
        }
        for cfg in [
            AdamConfig::default(),
            AdamConfig {
                weight_decay: 1e-2,
                ..AdamConfig::default()
            },
            AdamConfig::adamw(1e-2),
        ] {
            let mut store = ParamStore::new();
            let id = store.add_dense("p", 1, n, theta0.clone()).unwrap();
            let mut opt = Adam::new(cfg).unwrap();
            let (mut gt, mut gm, mut gv) = (
                up(&dev, &theta0),
                dev.zeros(n).unwrap(),
                dev.zeros(n).unwrap(),
            );
            for (t, g) in grads.iter().enumerate() {
                store.grad_mut(id).unwrap().copy_from_slice(g);
                opt.step(&mut store, lr).unwrap();
                k::adam_step(
                    &dev,
                    &mut gt,
                    &up(&dev, g),
                    (&mut gm, &mut gv),
                    (&cfg, lr, t as u64 + 1),
                )
                .unwrap();
            }
            let (m, v) = opt.moments(&store, id).unwrap();
            let what = format!("adam {cfg:?} n={n}");
            assert_close(
                &format!("{what} θ"),
                &down(&dev, &gt),
                store.value(id),
                1e-6,
                1e-5,
            );
            assert_close(&format!("{what} m"), &down(&dev, &gm), m, 1e-7, 1e-5);
            assert_close(&format!("{what} v"), &down(&dev, &gv), v, 1e-8, 1e-5);
        }
    }
}

/// Every module compiles and loads on this device (NVRTC for its own architecture).
#[test]
#[ignore = "needs a CUDA GPU"]
fn every_module_loads_on_the_device() {
    let dev = dev();
    eprintln!("{}: {} ({})", GPU, dev.name(), dev.arch());
    dev.load_all().unwrap();
    for m in mtrec::device::cuda::sources::MODULES {
        for f in m.functions {
            dev.function(m.name, f).unwrap();
        }
    }
}
