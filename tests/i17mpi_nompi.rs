//! A build without the `mpi` feature started by `mpirun` (Open MPI's environment) refuses
//! to train: P independent runs would race for one run folder (docs/distributed.md).

#![cfg(not(feature = "mpi"))]

use std::process::Command;

mod events_support;

use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

fn train(dir: &std::path::Path, out: &str, env: Option<(&str, &str)>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    c.arg("train")
        .arg("--config")
        .arg(dir.join("run.toml"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(dir.join(out))
        .arg("--quiet");
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn a_build_without_mpi_refuses_to_be_started_by_mpirun() {
    let dir = temp_dir("i17mpi-nompi");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 1, "")).unwrap();
    for var in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
        let out = train(&dir, "run", Some((var, "2")));
        assert!(!out.status.success(), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--features mpi"), "{var}: {stderr}");
        assert!(!dir.join("run").join("metrics.jsonl").exists());
    }
    // and started alone it trains
    let out = train(&dir, "alone", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
