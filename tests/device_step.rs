//! The device training step (`mtrec::device`) against the CPU step.
//!
//! `--device host-replay` runs exactly what `--device cuda` runs (a record-only tape
//! lowered to launches, parameters and Adam state in backend buffers, lazy Adam on the
//! touched table rows) with each launch executed by its CPU twin. The same run must
//! then give the CPU's per-epoch losses and validation metrics and the CPU's weights,
//! for every architecture. On a GPU, `tests/cuda_device_step/` checks every launch
//! of the CUDA backend against these twins, which closes the chain.
//!
//! Each body is written once for a `StepDevice` and run by `test_device!` on the CPU
//! (against itself: exact), the host replay and, with the feature `cuda`, the GPU
//! (`<test>::cpu`, `<test>::host_replay`, `<test>::cuda`; see tests/device_support/).

mod census_support;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::checkpoint::read_safetensors;
use mtrec::device::{open_backend, DeviceParams, Program, StepDevice};
use mtrec::loss::LossOpts;
use mtrec::optim::{Adam, AdamConfig};
use mtrec::train::run::{train, RunOptions};
use std::path::Path;

mod device_support;
mod events_support;

use device_support::{cli_name, slug, test_device, tolerance};
use events_support::{events_config, temp_dir, write_events, CLICK_BUY, THREE_TASKS};

/// The events table and a run config for it with `tasks`.
fn write_data(dir: &Path, tasks: &str) {
    write_events(dir);
    let config = events_config(tasks, 3, "factorize_embeddings = false\n");
    std::fs::write(dir.join("run.toml"), config).unwrap();
}

fn opts(dir: &Path, out: &str, device: StepDevice, set: &[&str]) -> RunOptions {
    RunOptions {
        config: dir.join("run.toml"),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: set.iter().map(|s| s.to_string()).collect(),
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device,
    }
}

fn epoch_lines(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every number under `train_loss` and `valid` of two metrics lines, paired by path.
fn numbers(v: &serde_json::Value, path: String, out: &mut Vec<(String, f64)>) {
    match v {
        serde_json::Value::Number(n) => out.push((path, n.as_f64().unwrap())),
        serde_json::Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| numbers(x, format!("{path}.{k}"), out)),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| numbers(x, format!("{path}[{i}]"), out)),
        _ => {}
    }
}

/// The run folder of `tag` on `device`.
fn run_name(tag: &str, device: StepDevice) -> String {
    format!("{tag}-{}", slug(device))
}

/// Runs the config on the CPU (folder `<tag>-ref`) and on `device` and compares them
/// within [`tolerance`]`(device)`.
fn same_as_cpu(device: StepDevice, dir: &Path, tag: &str, set: &[&str]) {
    let tol = tolerance(device);
    let (cpu_run, dev_run) = (format!("{tag}-ref"), run_name(tag, device));
    train(&opts(dir, &cpu_run, StepDevice::Cpu, set)).unwrap();
    train(&opts(dir, &dev_run, device, set)).unwrap();
    let (cpu, dev) = (
        epoch_lines(&dir.join(&cpu_run)),
        epoch_lines(&dir.join(&dev_run)),
    );
    assert_eq!(cpu.len(), dev.len(), "{tag}: epochs");
    let mut worst = 0f64;
    for (c, d) in cpu.iter().zip(&dev) {
        for key in ["train_loss", "valid", "task_weights"] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            numbers(&c[key], key.into(), &mut a);
            numbers(&d[key], key.into(), &mut b);
            assert_eq!(a.len(), b.len(), "{tag}: {key}");
            assert!(
                !a.is_empty() || key == "task_weights",
                "{tag}: {key} is empty"
            );
            for ((p, x), (_, y)) in a.iter().zip(&b) {
                let err = (x - y).abs() / (1.0 + x.abs());
                worst = worst.max(err);
                assert!(err <= tol, "{tag}: {p} = {x} on the CPU, {y} on {device}");
            }
        }
    }
    let (wc, wd) = (
        read_safetensors(&dir.join(&cpu_run).join("model.safetensors")).unwrap(),
        read_safetensors(&dir.join(&dev_run).join("model.safetensors")).unwrap(),
    );
    assert_eq!(
        wc.tensors().keys().collect::<Vec<_>>(),
        wd.tensors().keys().collect::<Vec<_>>()
    );
    for (name, t) in wc.tensors() {
        let u = &wd.tensors()[name];
        for (x, y) in t.data.iter().zip(&u.data) {
            assert!(
                (x - y).abs() as f64 <= tol * (1.0 + x.abs() as f64),
                "{tag}: weight {name}: {x} on the CPU, {y} on {device}"
            );
        }
    }
    eprintln!("{tag}: largest relative difference of a metric {worst:.2e}");
}

test_device!(every_architecture_trains_the_same_through_the_device_program);
fn every_architecture_trains_the_same_through_the_device_program(device: StepDevice) {
    let dir = temp_dir(&format!("device-archs-{}", slug(device)));
    write_data(&dir, THREE_TASKS);
    for arch in ["single_task", "shared_bottom", "omoe", "mmoe", "cgc", "ple"] {
        same_as_cpu(device, &dir, arch, &[&format!("model.arch={arch}")]);
    }
    // dropout masks replayed on the device, DWA's weights fed each epoch, AdamW, a
    // learning-rate schedule
    same_as_cpu(
        device,
        &dir,
        "mmoe-dropout-dwa",
        &[
            "model.dropout=0.2",
            "train.balance=dwa",
            "train.optimizer=adamw",
            "train.weight_decay=0.01",
            "train.schedule=cosine",
        ],
    );
    // uncertainty weighting: the log-variances are parameters on the device
    same_as_cpu(
        device,
        &dir,
        "mmoe-uncertainty",
        &["train.balance=uncertainty"],
    );
    // SGD: plain, and with Nesterov momentum and weight decay (lazy rows for the tables)
    same_as_cpu(
        device,
        &dir,
        "mmoe-sgd",
        &["train.optimizer=sgd", "train.lr=0.05"],
    );
    same_as_cpu(
        device,
        &dir,
        "mmoe-sgd-nesterov",
        &[
            "train.optimizer=sgd",
            "train.lr=0.05",
            "train.momentum=0.9",
            "train.nesterov=true",
            "train.weight_decay=0.001",
        ],
    );
    // gradient clipping by global norm (tight enough to clip every step)
    same_as_cpu(device, &dir, "mmoe-clip", &["train.clip_norm=0.05"]);
}

test_device!(funnel_models_train_the_same_through_the_device_program);
fn funnel_models_train_the_same_through_the_device_program(device: StepDevice) {
    // ESMM's logit product, AITM's attention and label constraint: two binary tasks
    let dir = temp_dir(&format!("device-funnel-{}", slug(device)));
    write_data(&dir, CLICK_BUY);
    same_as_cpu(device, &dir, "esmm", &["model.arch=esmm"]);
    same_as_cpu(device, &dir, "aitm", &["model.arch=aitm"]);
}

test_device!(transfer_with_frozen_groups_trains_the_same_through_the_device_program);
fn transfer_with_frozen_groups_trains_the_same_through_the_device_program(device: StepDevice) {
    // a source run, then runs initialised from it with the experts (dense) and the
    // embedding tables frozen, plus clipping: frozen gradients count in the norm
    let dir = temp_dir(&format!("frozen-{}", slug(device)));
    write_data(&dir, THREE_TASKS);
    train(&opts(&dir, "src", StepDevice::Cpu, &[])).unwrap();
    let init = format!(
        "train.init_from={:?}",
        dir.join("src").display().to_string()
    );
    same_as_cpu(
        device,
        &dir,
        "frozen",
        &[
            &init,
            r#"train.freeze=["experts", "emb"]"#,
            "train.clip_norm=0.05",
        ],
    );
    // the frozen parameters are the source's, bit for bit, on both devices
    let src = read_safetensors(&dir.join("src/model.safetensors")).unwrap();
    for run in ["frozen-ref".to_string(), run_name("frozen", device)] {
        let got = read_safetensors(&dir.join(&run).join("model.safetensors")).unwrap();
        for name in ["mmoe.experts.first.w", "input.emb.user", "input.emb.genres"] {
            assert_eq!(
                src.tensors()[name],
                got.tensors()[name],
                "{run}: {name} moved"
            );
        }
        assert_ne!(
            src.tensors()["mmoe.gate.0.w"],
            got.tensors()["mmoe.gate.0.w"],
            "{run}: the gates train"
        );
    }
}

test_device!(resuming_on_the_device_continues_exactly);
fn resuming_on_the_device_continues_exactly(dev: StepDevice) {
    // parameters and the optimiser state (Adam's moments, SGD's velocity) go back to the
    // host each epoch and are uploaded again by --resume: the run must not notice
    let dir = temp_dir(&format!("device-resume-{}", slug(dev)));
    write_data(&dir, THREE_TASKS);
    let sgd: &[&str] = &["train.optimizer=sgd", "train.momentum=0.9", "train.lr=0.05"];
    for (tag, set) in [("adam", &[][..]), ("sgd", sgd)] {
        let (whole, parts) = (format!("{tag}-whole"), format!("{tag}-parts"));
        train(&opts(&dir, &whole, dev, set)).unwrap();
        let mut first = opts(&dir, &parts, dev, set);
        first.stop_after = Some(1);
        train(&first).unwrap();
        let mut rest = opts(&dir, &parts, dev, set);
        rest.resume = true;
        train(&rest).unwrap();
        let (a, b) = (
            epoch_lines(&dir.join(&whole)),
            epoch_lines(&dir.join(&parts)),
        );
        assert_eq!(a.len(), b.len(), "{tag}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["train_loss"], y["train_loss"], "{tag}");
            assert_eq!(x["valid"], y["valid"], "{tag}");
        }
    }
}

test_device!(
    settings_the_device_step_cannot_run_are_refused_before_training,
    backends
);
fn settings_the_device_step_cannot_run_are_refused_before_training(device: StepDevice) {
    let dir = temp_dir(&format!("device-refused-{}", slug(device)));
    write_data(&dir, THREE_TASKS);
    for (set, says) in [
        ("train.balance=gradnorm", "train.balance"),
        ("train.balance=pcgrad", "train.balance"),
    ] {
        let err = train(&opts(&dir, "x", device, &[set]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{set}: {err}");
        assert!(err.contains("--device cpu"), "{set} offers the CPU: {err}");
        let _ = std::fs::remove_dir_all(dir.join("x"));
    }
}

test_device!(an_op_without_a_device_lowering_is_named, backends);
fn an_op_without_a_device_lowering_is_named(device: StepDevice) {
    let mut store = ParamStore::new();
    let w = store.add_dense("w", 3, 4, vec![0.1; 12]).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let mut be = open_backend(device).unwrap().expect("a device backend");
    let params = DeviceParams::upload(be.as_mut(), &mut store, &mut adam).unwrap();
    let mut g = Graph::new(0);
    g.set_record_only(true);
    let x = g.input_slice(2, 3, &[1.0; 6]).unwrap();
    let wv = g.param(&store, w).unwrap();
    let z = g.mm(x, wv).unwrap();
    let l = g
        .softmax_cross_entropy(z, &[1, 3], LossOpts::default())
        .unwrap();
    let err = Program::lower(be.as_mut(), &params, &g, l, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("SoftmaxCrossEntropyLoss"), "{err}");
    assert!(err.contains("--device cpu"), "{err}");
}

test_device!(the_demo_trains_the_same_through_the_device_program);
fn the_demo_trains_the_same_through_the_device_program(device: StepDevice) {
    use clap::Parser;
    let rows = |device: &str| {
        let cli = mtrec::cli::Cli::try_parse_from([
            "mtrec",
            "demo",
            "--epochs",
            "2",
            "--n-train",
            "3000",
            "--n-valid",
            "500",
            "--n-test",
            "500",
            "--rho",
            "0.9",
            "--device",
            device,
        ])
        .unwrap();
        let mtrec::cli::Command::Demo(args) = cli.command else {
            unreachable!("parsed a demo")
        };
        mtrec::cli::demo::train_all(&args).unwrap()
    };
    let (cpu, dev) = (rows("cpu"), rows(cli_name(device)));
    // the host replay has matched the CPU's test MSE to 1e-5 since the device step came
    let tol = match device {
        StepDevice::HostReplay => 1e-5,
        _ => tolerance(device) as f32,
    };
    assert_eq!(cpu.len(), 5, "five models");
    for (c, d) in cpu.iter().zip(&dev) {
        assert_eq!(c.model, d.model);
        for (x, y) in c.test_mse[0].iter().zip(&d.test_mse[0]) {
            assert!(
                (x - y).abs() <= tol * (1.0 + x.abs()),
                "{}: test MSE {x} on the CPU, {y} on {device}",
                c.model
            );
        }
    }
}

test_device!(
    the_census_shaped_step_lowers_once_and_matches_the_cpu_step,
    backends
);
fn the_census_shaped_step_lowers_once_and_matches_the_cpu_step(device: StepDevice) {
    use crate::census_support::{census_shaped, CensusTrainer};
    use mtrec::ops::embed_linear::EmbedLinearMode;
    use mtrec::train::run::step::empty_info;
    let trainer = || CensusTrainer::new(census_shaped(60, 256, 4, 7).unwrap()).unwrap();
    let (mut cpu, mut dev) = (trainer(), trainer());
    let mut program = dev.start_device(device).unwrap();
    // the host replay runs the CPU twins in the CPU step's order: equal, bit for bit
    let tol = match device {
        StepDevice::HostReplay => 0.0,
        _ => tolerance(device),
    };
    let close = |x: f64, y: f64| (x - y).abs() <= tol * (1.0 + x.abs());
    let (mut g_cpu, mut g_dev) = (Graph::new(1), Graph::new(1));
    g_cpu.set_embed_linear(EmbedLinearMode::Off);
    let (mut a, mut b) = (empty_info(), empty_info());
    for step in 0..8 {
        cpu.step(&mut g_cpu, step % 4, 1e-3, &mut a).unwrap();
        dev.device_step(&mut g_dev, &mut program, step % 4, 1e-3, &mut b)
            .unwrap();
        assert_eq!(a.task_losses.len(), b.task_losses.len(), "step {step}");
        for (x, y) in a.task_losses.iter().zip(&b.task_losses) {
            assert!(
                close(*x as f64, *y as f64),
                "step {step}: task loss {x} vs {y}"
            );
        }
        assert!(
            close(a.objective as f64, b.objective as f64),
            "step {step}: objective {} vs {}",
            a.objective,
            b.objective
        );
    }
    // one batch shape, one program; the 29 gathers write into the concatenation
    assert_eq!(program.programs(), 1);
    let counts = program.launch_counts();
    assert_eq!(counts["Gather"], 29);
    assert_eq!(
        counts.get("Cols").copied().unwrap_or(0),
        1 + 3,
        "numerics + 3 scalars"
    );
}
