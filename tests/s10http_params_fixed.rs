//! Serving's kept graph with fixed parameters (`Graph::set_params_fixed`, set by
//! `serve::model::load`): a forward pass reads the parameter copies the first pass
//! left in their slots instead of copying every parameter again. Checked: the copy is
//! really skipped (and only for the same parameter of the same store), and a served
//! model's scores equal, bit for bit, those of `mtrec predict`'s path (a fresh graph
//! that copies every parameter) over passes of different sizes and rows: on the events
//! fixture, and with the shared data on the census and MovieLens MMoE runs.

mod serve_support;

use mtrec::autograd::{Graph, ParamStore};
use mtrec::config::TaskType;
use mtrec::data::ingest::RawTable;
use serve_support::*;
use std::path::{Path, PathBuf};

#[test]
fn with_fixed_params_a_slot_keeps_its_copy_and_only_of_the_same_store() {
    let mut a = ParamStore::new();
    let wa = a.add_dense("w", 2, 3, vec![1.0; 6]).unwrap();
    let mut b = ParamStore::new();
    let wb = b.add_dense("w", 2, 3, vec![2.0; 6]).unwrap();
    assert_eq!(wa, wb, "the same id in two stores");

    let mut g = Graph::new(0);
    g.set_params_fixed(true);
    let v = g.param(&a, wa).unwrap();
    assert_eq!(g.value(v), &[1.0; 6]);
    // the promise broken on purpose: a later pass shows whether it copied again
    a.value_mut(wa).fill(5.0);
    g.reset();
    let v = g.param(&a, wa).unwrap();
    assert_eq!(g.value(v), &[1.0; 6], "the second pass read the kept copy");
    // the same id of another store in that slot: copied
    g.reset();
    let v = g.param(&b, wb).unwrap();
    assert_eq!(g.value(v), &[2.0; 6]);
    // the slot taken by another node in between: copied again
    g.reset();
    let x = g.input_slice(1, 6, &[9.0; 6]).unwrap();
    assert_eq!(g.value(x), &[9.0; 6]);
    g.reset();
    let v = g.param(&a, wa).unwrap();
    assert_eq!(g.value(v), &[5.0; 6]);

    // without the promise (training, evaluation): every pass copies
    let mut g = Graph::new(0);
    let v = g.param(&a, wa).unwrap();
    assert_eq!(g.value(v), &[5.0; 6]);
    a.value_mut(wa).fill(6.0);
    g.reset();
    let v = g.param(&a, wa).unwrap();
    assert_eq!(g.value(v), &[6.0; 6]);
    // turning the promise on forgets the copies made before it
    a.value_mut(wa).fill(7.0);
    g.set_params_fixed(true);
    g.reset();
    let v = g.param(&a, wa).unwrap();
    assert_eq!(g.value(v), &[7.0; 6]);
}

/// Scores of `rows` of `table` as `mtrec predict` computes them: a fresh graph, every
/// parameter copied, probabilities for binary tasks.
fn reference(run: &Path, enc: &mtrec::data::features::Encoded) -> Vec<Vec<f32>> {
    let saved = mtrec::train::run::saved::load_saved(run).unwrap();
    let mut out = mtrec::train::run::predict(
        &mut Graph::new(0),
        &saved.input,
        saved.model.as_ref(),
        &saved.store,
        enc,
        enc.len().max(1),
    )
    .unwrap();
    for (task, o) in saved.cfg.tasks.iter().zip(out.iter_mut()) {
        if task.kind == TaskType::Binary {
            for v in o.iter_mut() {
                *v = mtrec::ops::unary::f(mtrec::autograd::UnaryFn::Sigmoid, *v);
            }
        }
    }
    out
}

/// Scores the first (at most) `n` rows of `table` with the served model in passes of
/// different rows and sizes; each equals [`reference`] bit for bit.
fn served_equals_predict_bitwise(run: &Path, table: &RawTable, n: usize) {
    let mut loaded = mtrec::serve::model::load("m", run).unwrap();
    let enc = loaded.schema.encode(table).unwrap();
    let n = enc.len().min(n);
    assert!(n >= 3, "{n} rows");
    let passes: Vec<Vec<usize>> = vec![
        (0..n).collect(),
        vec![0],
        (0..n).rev().collect(),
        vec![n - 1, 0, 1],
        (0..n).collect(),
        vec![1],
    ];
    for rows in &passes {
        let sub = enc.select(rows);
        let got = loaded.score(&sub).unwrap();
        let want = reference(run, &sub);
        assert_eq!(got.len(), want.len());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let gb: Vec<u32> = g.iter().map(|v| v.to_bits()).collect();
            let wb: Vec<u32> = w.iter().map(|v| v.to_bits()).collect();
            assert_eq!(gb, wb, "task {k}, pass of {} rows", rows.len());
        }
    }
}

fn read(path: &Path, run: &Path) -> RawTable {
    let cfg = mtrec::train::run::saved::load_saved(run).unwrap().cfg;
    mtrec::data::ingest::read_file(path, &cfg.data, &[]).unwrap()
}

#[test]
fn a_served_model_scores_as_predict_bit_for_bit_on_the_events_run() {
    let dir = temp_dir("s10http-fixed");
    let run = train_run(&dir, "run", 1, 3);
    let table = read(&dir.join("events.csv"), &run);
    served_equals_predict_bitwise(&run, &table, 64);
}

fn shared_data() -> PathBuf {
    let dir = std::env::var("MTREC_DATA").unwrap_or_else(|_| {
        panic!("set MTREC_DATA to the shared data folder (e.g. MTREC_DATA=../shared/data) to run this test")
    });
    let dir = PathBuf::from(dir);
    assert!(dir.is_dir(), "MTREC_DATA={} is not a folder", dir.display());
    dir
}

/// Trains `config` for one epoch on the shared data into a temp folder, reads its
/// training table, and checks the first 300 rows.
fn shared_run(tag: &str, config: &str) {
    let data = shared_data();
    let dir = temp_dir(tag);
    let run = dir.join("run");
    let out = std::process::Command::new(bin())
        .args(["train", "--config", config, "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .args(["--set", "train.epochs=1", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = mtrec::train::run::saved::load_saved(&run).unwrap().cfg;
    let table = mtrec::data::loaders::load_table(&cfg.data, &data, &[]).unwrap();
    served_equals_predict_bitwise(&run, &table, 300);
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn a_served_census_mmoe_scores_as_predict_bit_for_bit() {
    shared_run("s10http-fixed-census", "configs/census_mmoe.toml");
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn a_served_movielens_mmoe_scores_as_predict_bit_for_bit() {
    shared_run("s10http-fixed-ml", "configs/movielens_mmoe.toml");
}
