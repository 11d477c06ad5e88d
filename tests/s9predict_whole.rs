//! Issue #17 §1: inputs that `mtrec predict` keeps whole say so. An `interactions`
//! run's --input is an event log aggregated per (user, item) pair over the whole file:
//! it is read as one table whatever `MTREC_PREDICT_CHUNK_ROWS` says, with a `note:` on
//! stderr naming the reason, and the output is that of the whole-file path.

mod interactions_support;

use interactions_support::{temp_dir, CLICK_BUY_DATA, CLICK_BUY_INPUTS};
use std::path::Path;
use std::process::Command;

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

fn mtrec(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    cmd.args(args)
        .env_remove("MTREC_PREDICT_CHUNK_ROWS")
        .env_remove("MTREC_PREDICT_WHOLE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_interactions_run_reads_its_input_whole_and_says_why() {
    let dir = temp_dir("s9pw", "interactions");
    let mut log = String::new();
    for u in 0..30 {
        for t in 0..8 {
            let b = if (u + t) % 4 == 0 { "buy" } else { "pv" };
            log += &format!("u{u},i{},{b},{t}\n", (u * 7 + t * 3) % 19);
        }
    }
    std::fs::write(dir.join("log.csv"), &log).unwrap();
    let config = format!(
        "{CLICK_BUY_DATA}[data.negatives]\nk = 1\n{CLICK_BUY_INPUTS}[model]\narch = \"shared_bottom\"\nbottom = [8]\ntower = [4]\n[train]\nepochs = 1\nbatch_size = 16\nseed = 9\n"
    );
    std::fs::write(dir.join("run.toml"), config).unwrap();
    let run = dir.join("run");
    let (ok, err) = mtrec(
        &[
            "train",
            "--config",
            p(&dir.join("run.toml")),
            "--data-dir",
            p(&dir),
            "--out",
            p(&run),
            "--quiet",
            "--threads",
            "1",
        ],
        &[],
    );
    assert!(ok, "{err}");
    let input = dir.join("log.csv");
    let predict = |out: &Path, env: &[(&str, &str)]| {
        let (ok, err) = mtrec(
            &[
                "predict",
                "--run",
                p(&run),
                "--input",
                p(&input),
                "--output",
                p(out),
                "--force",
                "--quiet",
            ],
            env,
        );
        assert!(ok, "{err}");
        err
    };
    let whole = dir.join("whole.csv");
    predict(&whole, &[("MTREC_PREDICT_WHOLE", "1")]);
    let out = dir.join("chunked.csv");
    let err = predict(&out, &[("MTREC_PREDICT_CHUNK_ROWS", "5")]);
    assert!(
        err.contains("note: --input is read whole")
            && err.contains("`interactions` loader aggregates"),
        "no notice on why the input is read whole: {err}"
    );
    assert!(!err.contains("read --input in "), "{err}");
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&whole).unwrap());
    assert!(std::fs::read_to_string(&out).unwrap().lines().count() > 10);
}
