//! Running the `mtrec` binary from a test, and the tiny Beauty-format sequence data the
//! seq tests train on.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `args`.
pub fn mtrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap()
}

/// The stdout of a run that must have succeeded (else the test fails with its stderr).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "mtrec failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `data/beauty-tiny/user_sequence.txt`: `users` users walk a cycle of 30 items with a
/// user-specific stride; some repeat.
pub fn write_beauty_tiny(data: &Path, users: usize) {
    std::fs::create_dir_all(data.join("beauty-tiny")).unwrap();
    let mut text = String::new();
    for u in 0..users {
        let n = 3 + u % 9;
        let stride = 1 + u % 3;
        let items: Vec<String> = (0..n)
            .map(|j| format!("B{:03}", (u * 5 + j * stride + (j == 4) as usize * 7) % 30))
            .collect();
        text.push_str(&format!("U{u:03} {}\n", items.join(" ")));
    }
    std::fs::write(data.join("beauty-tiny/user_sequence.txt"), text).unwrap();
}

/// `mtrec predict --run run --input input --output output` plus `extra` flags.
pub fn predict(run: &Path, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["predict", "--run", run.to_str().unwrap()];
    args.extend(["--input", input.to_str().unwrap()]);
    args.extend(["--output", output.to_str().unwrap()]);
    args.extend_from_slice(extra);
    mtrec(&args)
}

/// `mtrec seq --config cfg --data-dir data --out run --quiet`, which must succeed.
pub fn seq_train(cfg: &Path, data: &Path, run: &Path) {
    ok(&mtrec(&[
        "seq",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]));
}
