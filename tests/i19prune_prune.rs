//! Gradual magnitude pruning (`[train.prune]`, `train::prune`): the schedule's values,
//! the masks' selection, weights that stay zero through optimiser steps, and masks that
//! survive the checkpoint, `--resume` and `mtrec eval`.

use mtrec::autograd::ParamStore;
use mtrec::checkpoint::masks::read_masks;
use mtrec::config::compress::{PruneConfig, PruneScope};
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use mtrec::train::prune::{magnitude_masks, prunable, Pruner, Schedule};
use mtrec::train::run::saved::load_saved;
use mtrec::train::run::{train, RunOptions};
use std::path::Path;

mod events_support;

use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

fn prune_cfg(sparsity: f64, start: usize, end: usize, every: usize) -> PruneConfig {
    PruneConfig {
        sparsity,
        scope: PruneScope::Global,
        start_epoch: start,
        end_epoch: end,
        every,
    }
}

#[test]
fn the_schedule_follows_zhu_and_gupta_cubic() {
    // 10 steps per epoch, epochs 2..=3 prune: t0 = 10, t1 = 30, one update every 5 steps
    let s = Schedule::new(&prune_cfg(0.8, 2, 3, 5), 10);
    assert_eq!((s.begin, s.end, s.every), (10, 30, 5));
    assert_eq!(s.sparsity_at(0), 0.0);
    assert_eq!(s.sparsity_at(10), 0.0);
    // u = 1/2: 0.8·(1 − 1/8) = 0.7
    assert!((s.sparsity_at(20) - 0.7).abs() < 1e-12);
    // u = 1/4: 0.8·(1 − 27/64) = 0.4625
    assert!((s.sparsity_at(15) - 0.4625).abs() < 1e-12);
    assert_eq!(s.sparsity_at(30), 0.8);
    assert_eq!(s.sparsity_at(99), 0.8);
    let updates: Vec<usize> = (0..40).filter(|&t| s.updates_after(t)).collect();
    assert_eq!(updates, vec![15, 20, 25, 30]);
    // every = 0: once per epoch, the last at the end of end_epoch
    let per_epoch = Schedule::new(&prune_cfg(0.5, 1, 3, 0), 7);
    let updates: Vec<usize> = (0..40).filter(|&t| per_epoch.updates_after(t)).collect();
    assert_eq!(updates, vec![7, 14, 21]);
    // rising, never above the target
    let mut last = 0.0;
    for t in 0..40 {
        let v = s.sparsity_at(t);
        assert!(v >= last && v <= 0.8);
        last = v;
    }
}

fn two_layers() -> ParamStore {
    let mut s = ParamStore::new();
    // layer a: large weights, layer b: small ones
    s.add_dense("a.w", 2, 2, vec![4.0, -3.0, 2.0, 1.0]).unwrap();
    s.add_dense("a.b", 1, 2, vec![0.0, 0.0]).unwrap();
    s.add_dense("b.w", 2, 2, vec![0.4, -0.1, 0.3, 0.2]).unwrap();
    s.add_dense("input.x.w", 1, 2, vec![0.01, 0.02]).unwrap();
    s
}

#[test]
fn masks_drop_the_smallest_magnitudes_globally_or_per_layer() {
    let s = two_layers();
    let ids = prunable(&s);
    let names: Vec<&str> = ids.iter().map(|&i| s.info(i).name.as_str()).collect();
    assert_eq!(
        names,
        vec!["a.w", "b.w"],
        "biases and the input layer stay dense"
    );
    let global = magnitude_masks(&s, &ids, 0.5, PruneScope::Global);
    assert_eq!(global[0], vec![1.0, 1.0, 1.0, 1.0]);
    assert_eq!(global[1], vec![0.0, 0.0, 0.0, 0.0]);
    let layer = magnitude_masks(&s, &ids, 0.5, PruneScope::Layer);
    assert_eq!(layer[0], vec![1.0, 1.0, 0.0, 0.0]);
    assert_eq!(layer[1], vec![1.0, 0.0, 1.0, 0.0]);
    // ⌊0.3·8⌋ = 2 pruned
    let few = magnitude_masks(&s, &ids, 0.3, PruneScope::Global);
    let zeros: usize = few.iter().flatten().filter(|&&m| m == 0.0).count();
    assert_eq!(zeros, 2);
    assert_eq!(few[1], vec![1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn pruned_weights_stay_exactly_zero_through_optimiser_steps() {
    let mut s = two_layers();
    let mut pruner = Pruner::new(&prune_cfg(0.5, 1, 1, 1), &s, 1).unwrap();
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    for t in 1..=5 {
        s.zero_grad();
        // a gradient that pushes every weight, pruned or not
        for id in s.ids().collect::<Vec<_>>() {
            s.grad_mut(id).unwrap().iter_mut().for_each(|g| *g = -1.0);
        }
        opt.step(&mut s, 0.1).unwrap();
        let b = s.find("b.w").unwrap();
        if t > 1 {
            // the step moved the pruned weights away from 0 ...
            assert!(s.value(b).iter().all(|&w| w != 0.0));
        }
        pruner.after_step(&mut s, t);
        // ... and the mask puts them back, exactly
        assert_eq!(s.value(b), &[0.0, 0.0, 0.0, 0.0], "step {t}");
        assert!(s.value(s.find("a.w").unwrap()).iter().all(|&w| w != 0.0));
    }
    assert_eq!(pruner.sparsity(), 0.5);
}

fn opts(dir: &Path, config: &str, out: &str) -> RunOptions {
    RunOptions {
        config: dir.join(config),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

const PRUNE: &str =
    "prune = { sparsity = 0.8, scope = \"global\", start_epoch = 1, end_epoch = 2, every = 2 }\n";

/// The fraction of exact zeros in the prunable weights of the run's best model.
fn run_sparsity(run: &Path) -> f64 {
    let saved = load_saved(run).unwrap();
    let ids = prunable(&saved.store);
    let n: usize = ids.iter().map(|&i| saved.store.value(i).len()).sum();
    let z: usize = ids
        .iter()
        .map(|&i| saved.store.value(i).iter().filter(|&&w| w == 0.0).count())
        .sum();
    z as f64 / n as f64
}

#[test]
fn a_pruned_run_keeps_its_masks_through_resume_and_eval() {
    let dir = temp_dir("i19prune-run");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 4, PRUNE)).unwrap();

    let whole = train(&opts(&dir, "run.toml", "whole")).unwrap();
    assert_eq!(whole["prune"]["target_sparsity"], 0.8);
    let measured = whole["prune"]["sparsity"].as_f64().unwrap();
    assert!((measured - 0.8).abs() < 0.01, "sparsity {measured}");
    // only epochs at the final sparsity can be the best one
    assert!(whole["best_epoch"].as_u64().unwrap() >= 2);

    // the best model holds the masks and its weights are zero where they say
    let model = dir.join("whole/model.safetensors");
    let saved = load_saved(&dir.join("whole")).unwrap();
    let masks = read_masks(&model, &saved.store).unwrap();
    assert_eq!(masks.len(), prunable(&saved.store).len());
    for (id, m) in &masks {
        for (w, k) in saved.store.value(*id).iter().zip(m) {
            assert!(*k == 1.0 || *w == 0.0);
        }
    }
    assert!((run_sparsity(&dir.join("whole")) - 0.8).abs() < 0.01);

    // killed after epoch 1 (mid-schedule) and resumed: the same run
    let mut first = opts(&dir, "run.toml", "resumed");
    first.stop_after = Some(1);
    train(&first).unwrap();
    let state = mtrec::checkpoint::state_path(dir.join("resumed"));
    let mid = read_masks(&state, &saved.store).unwrap();
    let zeros: usize = mid
        .iter()
        .flat_map(|(_, m)| m)
        .filter(|&&k| k == 0.0)
        .count();
    assert!(zeros > 0, "epoch 1 already pruned some weights");
    let mut again = opts(&dir, "run.toml", "resumed");
    again.resume = true;
    let resumed = train(&again).unwrap();
    assert_eq!(
        resumed["tasks"], whole["tasks"],
        "resume gives the same run"
    );
    assert_eq!(resumed["prune"], whole["prune"]);

    // eval rebuilds the model from the run folder and scores the same test metrics
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(["eval", "--run"])
        .arg(dir.join("whole"))
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for task in ["click", "buy", "watch"] {
        assert_eq!(printed[task], whole["tasks"][task]["test"], "{task}");
    }
}

#[test]
fn loading_a_checkpoint_applies_its_masks() {
    let dir = temp_dir("i19prune-load");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 2, PRUNE)).unwrap();
    train(&opts(&dir, "run.toml", "run")).unwrap();
    let run = dir.join("run");
    // a weight file whose pruned weights were overwritten (say, by another tool) ...
    let ckpt = mtrec::checkpoint::read_safetensors(&run.join("model.safetensors")).unwrap();
    let mut tensors = Vec::new();
    let filled: Vec<(String, Vec<usize>, Vec<f32>)> = ckpt
        .tensors()
        .iter()
        .map(|(k, t)| {
            let data = if k.ends_with(".w") && !k.starts_with("input.") {
                vec![0.5; t.data.len()]
            } else {
                t.data.clone()
            };
            (k.clone(), t.shape.clone(), data)
        })
        .collect();
    for (k, s, d) in &filled {
        tensors.push(mtrec::checkpoint::TensorOut::new(k.clone(), s.clone(), d));
    }
    mtrec::checkpoint::write_safetensors(&run.join("model.safetensors"), &tensors, ckpt.metadata())
        .unwrap();
    // ... is read back pruned: the masks are applied on load
    assert!((run_sparsity(&run) - 0.8).abs() < 0.01);
}

#[test]
fn bad_prune_settings_are_refused_with_what_to_fix() {
    let dir = temp_dir("i19prune-bad");
    write_events(&dir);
    for (extra, says) in [
        ("prune = { sparsity = 1.0 }\n", "train.prune.sparsity"),
        (
            "prune = { sparsity = 0.5, start_epoch = 1, end_epoch = 9 }\n",
            "end_epoch ≤ train.epochs",
        ),
    ] {
        std::fs::write(dir.join("bad.toml"), events_config(THREE_TASKS, 2, extra)).unwrap();
        let e = train(&opts(&dir, "bad.toml", "bad"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn pruning_on_a_device_step_is_refused() {
    let dir = temp_dir("i19prune-device");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 2, PRUNE)).unwrap();
    let mut o = opts(&dir, "run.toml", "run");
    o.device = mtrec::device::StepDevice::HostReplay;
    let e = train(&o).unwrap_err().to_string();
    assert!(
        e.contains("--device") && e.contains("CPU training step"),
        "{e}"
    );
}
