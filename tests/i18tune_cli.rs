//! `mtrec tune` from the command line: a small search, and the space errors a user sees.

use std::process::Command;

mod events_support;
use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

fn mtrec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mtrec"))
}

#[test]
fn tune_runs_from_the_command_line_and_names_a_bad_key() {
    let dir = temp_dir("i18tune-cli");
    write_events(&dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 1, "")).unwrap();
    std::fs::write(
        dir.join("space.toml"),
        "[objective]\ntask = \"watch\"\nmetric = \"rmse\"\n[params]\n\"train.lr\" = { uniform = [0.005, 0.02] }\n",
    )
    .unwrap();
    let out = mtrec()
        .args([
            "tune",
            "--config",
            "run.toml",
            "--space",
            "space.toml",
            "--trials",
            "2",
        ])
        .args(["--out", "t", "--data-dir", ".", "--threads", "1"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(res["objective"]["direction"], "min", "rmse is minimised");
    assert!(res["best"]["test"]["watch"]["rmse"].as_f64().is_some());
    assert!(res["preset"]["test"]["watch"]["rmse"].as_f64().is_some());
    let board = std::fs::read_to_string(dir.join("t/leaderboard.csv")).unwrap();
    assert_eq!(board.lines().count(), 4, "{board}");
    assert!(board.starts_with("rank,trial,status,epochs,objective,train.lr,"));

    std::fs::write(
        dir.join("bad.toml"),
        "[objective]\ntask = \"watch\"\nmetric = \"rmse\"\n[params]\n\"model.expertz\" = [[8], [16]]\n",
    )
    .unwrap();
    let out = mtrec()
        .args([
            "tune", "--config", "run.toml", "--space", "bad.toml", "--trials", "2",
        ])
        .args(["--out", "t2", "--data-dir", "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("model.expertz") && err.contains("num_experts"),
        "{err}"
    );
    assert!(
        !dir.join("t2/trial-000").exists(),
        "nothing trained before the space is checked"
    );
}
