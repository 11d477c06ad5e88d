//! Knowledge distillation (`[train] teacher`, `loss::distill`): the loss against its
//! definition, a distilled run and the errors for a teacher that cannot teach.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::loss::LossOpts;
use mtrec::train::run::{train, RunOptions};
use std::path::Path;

mod events_support;

use events_support::{events_config, temp_dir, write_events, CLICK_BUY, THREE_TASKS};

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn distill_bce_is_t_squared_times_bce_of_tempered_probabilities() {
    let z = vec![1.5f32, -0.5, 3.0, 0.2];
    let zt = vec![0.5f32, -2.0, 3.0, 1.0];
    for t in [1.0f32, 2.0, 4.0] {
        let mut store = ParamStore::new();
        let p = store.add_dense("z", 4, 1, z.clone()).unwrap();
        let mut g = Graph::new(0);
        let zv = g.param(&store, p).unwrap();
        let l = g.distill_bce(zv, &zt, t, LossOpts::default()).unwrap();
        let got = g.value(l)[0] as f64;
        // T²·mean of −p ln σ(z/T) − (1−p) ln(1 − σ(z/T)), p = σ(z_t/T)
        let want: f64 = z
            .iter()
            .zip(&zt)
            .map(|(&a, &b)| {
                let (q, p) = (sigmoid(a / t) as f64, sigmoid(b / t) as f64);
                -(p * q.ln() + (1.0 - p) * (1.0 - q).ln())
            })
            .sum::<f64>()
            / 4.0
            * (t as f64).powi(2);
        assert!((got - want).abs() < 1e-5, "T = {t}: {got} vs {want}");
        // the gradient is T·(σ(z/T) − σ(z_t/T))/B: zero where student and teacher agree
        g.backward(l, &mut store).unwrap();
        let dz = store.grad(p).unwrap();
        for i in 0..4 {
            let want = t * (sigmoid(z[i] / t) - sigmoid(zt[i] / t)) / 4.0;
            assert!((dz[i] - want).abs() < 1e-6, "dz[{i}] = {} vs {want}", dz[i]);
        }
        assert_eq!(dz[2], 0.0);
    }
}

#[test]
fn distill_bce_refuses_a_bad_temperature_or_teacher_length() {
    let mut store = ParamStore::new();
    let p = store.add_dense("z", 2, 1, vec![0.0, 1.0]).unwrap();
    let mut g = Graph::new(0);
    let z = g.param(&store, p).unwrap();
    let e = g
        .distill_bce(z, &[0.0, 1.0], 0.0, LossOpts::default())
        .unwrap_err();
    assert!(e.to_string().contains("temperature"), "{e}");
    let e = g
        .distill_bce(z, &[0.0], 1.0, LossOpts::default())
        .unwrap_err();
    assert!(e.to_string().contains("teacher logits"), "{e}");
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

/// A student config: the fixture's MMoE with 2 experts of width 4 instead of 3 of 8.
fn student(tasks: &str, extra: &str) -> String {
    events_config(tasks, 3, extra)
        .replace("num_experts = 3", "num_experts = 2")
        .replace("expert = [8]", "expert = [4]")
}

#[test]
fn a_distilled_run_trains_and_names_its_teacher() {
    let dir = temp_dir("i19prune-distill");
    write_events(&dir);
    std::fs::write(dir.join("big.toml"), events_config(THREE_TASKS, 3, "")).unwrap();
    train(&opts(&dir, "big.toml", "big")).unwrap();
    let teacher = dir.join("big").display().to_string();
    let extra = format!("teacher = {teacher:?}\ndistill = {{ temperature = 2.0, weight = 0.7 }}\n");
    std::fs::write(dir.join("small.toml"), student(THREE_TASKS, &extra)).unwrap();
    let s = train(&opts(&dir, "small.toml", "small")).unwrap();
    assert_eq!(s["distill"]["teacher"], teacher.as_str());
    assert_eq!(s["distill"]["teacher_model"], "mmoe");
    assert_eq!(s["distill"]["weight"].as_f64().unwrap(), 0.7f32 as f64);
    assert!(s["tasks"]["click"]["test"]["auc"].as_f64().unwrap() > 0.5);
    assert!(s["tasks"]["watch"]["test"]["rmse"]
        .as_f64()
        .unwrap()
        .is_finite());
    let summary = std::fs::read_to_string(dir.join("small/summary.json")).unwrap();
    assert!(summary.contains("\"teacher\""));
    // the soft labels change training: the same student without a teacher differs
    std::fs::write(dir.join("alone.toml"), student(THREE_TASKS, "")).unwrap();
    let alone = train(&opts(&dir, "alone.toml", "alone")).unwrap();
    assert!(alone.get("distill").is_none());
    assert_ne!(alone["tasks"], s["tasks"]);
}

#[test]
fn a_missing_teacher_is_refused_before_training() {
    let dir = temp_dir("i19prune-noteacher");
    write_events(&dir);
    let extra = "teacher = \"no/such/run\"\n";
    std::fs::write(dir.join("small.toml"), student(THREE_TASKS, extra)).unwrap();
    let e = train(&opts(&dir, "small.toml", "small"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("train.teacher") && e.contains("no/such/run"),
        "{e}"
    );
    assert!(e.contains("not a finished run folder"), "{e}");
    assert!(!dir.join("small/metrics.jsonl").exists(), "no epoch ran");
}

#[test]
fn a_teacher_with_other_tasks_or_inputs_is_refused_naming_the_difference() {
    let dir = temp_dir("i19prune-mismatch");
    write_events(&dir);
    std::fs::write(dir.join("two.toml"), events_config(CLICK_BUY, 1, "")).unwrap();
    train(&opts(&dir, "two.toml", "two")).unwrap();
    let teacher = dir.join("two").display().to_string();
    let extra = format!("teacher = {teacher:?}\n");
    std::fs::write(dir.join("small.toml"), student(THREE_TASKS, &extra)).unwrap();
    let e = train(&opts(&dir, "small.toml", "small"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tasks: the teacher has [click (binary), buy (binary)]"),
        "{e}"
    );
    assert!(e.contains("watch (regression)"), "{e}");

    // same tasks, other inputs: the student drops the genre list
    std::fs::write(dir.join("three.toml"), events_config(THREE_TASKS, 1, "")).unwrap();
    train(&opts(&dir, "three.toml", "three")).unwrap();
    let teacher = dir.join("three").display().to_string();
    let extra = format!("teacher = {teacher:?}\n");
    let cfg = student(THREE_TASKS, &extra);
    let cfg = cfg.replace(
        "[[features]]\nname = \"genres\"\nkind = \"multi_hot\"\ndim = 3\nseparator = \"|\"\n",
        "",
    );
    assert!(!cfg.contains("genres"));
    std::fs::write(dir.join("other.toml"), cfg).unwrap();
    let e = train(&opts(&dir, "other.toml", "other"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("does not match this run") && e.contains("genres"),
        "{e}"
    );
}

#[test]
fn distill_without_a_teacher_is_a_config_error() {
    let dir = temp_dir("i19prune-distill-alone");
    write_events(&dir);
    let extra = "distill = { temperature = 2.0 }\n";
    std::fs::write(dir.join("s.toml"), student(THREE_TASKS, extra)).unwrap();
    let e = train(&opts(&dir, "s.toml", "s")).unwrap_err().to_string();
    assert!(e.contains("train.teacher"), "{e}");
}
