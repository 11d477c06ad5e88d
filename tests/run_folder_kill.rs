//! Issue #13 item 5: `kill -9` at random moments, `--resume` until done, and the run
//! folder equals an uninterrupted run's, file by file (timings aside), with no temp file
//! left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod events_support;
mod run_folder_support;

use events_support::{events_config, temp_dir, write_events, xorshift, CLICK_BUY};
use run_folder_support::assert_same_run;

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");

fn spawn(dir: &Path, out: &Path) -> std::process::Child {
    let mut cmd = Command::new(BIN);
    cmd.args(["train", "--quiet", "--threads", "1", "--data-dir"])
        .arg(dir)
        .arg("--out")
        .arg(out)
        .arg("--config")
        .arg(dir.join("run.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if out.join("config.toml").is_file() {
        cmd.arg("--resume");
    }
    cmd.spawn().unwrap()
}

fn run_to_end(dir: &Path, out: &Path) {
    let o = spawn(dir, out).wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "train failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn kill_9_at_random_moments_then_resume_gives_the_uninterrupted_run_folder() {
    let dir = temp_dir("run-folder-kill");
    write_events(&dir);
    // patience 0 (never stop early): every epoch runs, so kills land all along the run
    let cfg = events_config(CLICK_BUY, 80, "").replace("patience = 10", "patience = 0");
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
    let full = dir.join("full");
    let t0 = Instant::now();
    run_to_end(&dir, &full);
    let wall = t0.elapsed().as_millis() as u64;

    let killed: PathBuf = dir.join("killed");
    let mut next = xorshift(0x6b696c6c);
    // each invocation gets a random share of the run (a sixth at most), so the run
    // advances in a dozen or more killed pieces, cut at every phase: start-up, inside an
    // epoch, while a checkpoint or the metrics line is written, during the final test
    let mut kills = 0;
    for _ in 0..40 {
        let delay = 5 + next() % (wall / 6 + 1);
        let mut child = spawn(&dir, &killed);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL on Unix
        let o = child.wait_with_output().unwrap();
        match o.status.code() {
            None => kills += 1, // died of the signal
            Some(0) => break,   // the run is complete
            Some(_) => panic!(
                "an invocation after a kill failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
        }
    }
    assert!(
        kills >= 8,
        "only {kills} invocations were killed mid-run; the test would prove little"
    );
    run_to_end(&dir, &killed);
    eprintln!("{kills} kills");
    assert_same_run(&full, &killed);
}
