//! Issue #20 part 1: the run-time embedding (`text::cache::embed_cached`, used by train,
//! eval, predict and seq) and `mtrec embed` report their throughput, draw no progress bar
//! when stderr is not a terminal, and a second `embed` of the same texts reads the cache.
//! The encoder is a tiny BERT written by the test (tests/tiny_bert_support).

use std::path::{Path, PathBuf};
use std::process::Command;

mod tiny_bert_support;

use tiny_bert_support::{tiny, write_model};

fn mtrec(cache: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .env("MTREC_CACHE", cache)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// `embedded N texts in S s (R texts/s)` with R = N / S within rounding, R > 0.
fn throughput(line: &str) -> f64 {
    let (_, rest) = line.split_once(" in ").expect(line);
    let secs: f64 = rest.split(' ').next().unwrap().parse().expect(line);
    let (_, rate) = rest.split_once('(').expect(line);
    let rate: f64 = rate.split(' ').next().unwrap().parse().expect(line);
    assert!(rate > 0.0 && secs >= 0.0, "{line}");
    rate
}

#[test]
fn embed_reports_throughput_draws_no_bar_off_a_terminal_and_reuses_the_cache() {
    let dir: PathBuf = tiny_bert_support::scratch("mtrec-i20enc-progress", "embed");
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    write_model(&model, 2, &tiny(2));
    let texts = dir.join("texts.txt");
    std::fs::write(&texts, "toy story\nheat (1995)\na\nstory\n").unwrap();
    let cache = dir.join("cache");
    let run = |out: &str| {
        let out = dir.join(out);
        mtrec(
            &cache,
            &[
                "embed",
                "--model",
                model.to_str().unwrap(),
                "--input",
                texts.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
            ],
        )
    };
    let first = run("a.csv");
    let line = first
        .lines()
        .find(|l| l.starts_with("embedded 4 texts"))
        .unwrap_or_else(|| panic!("no throughput line: {first}"));
    throughput(line);
    // stderr is a pipe here: no bar, no carriage returns or escape sequences
    assert!(
        !first.contains('\r') && !first.contains('\x1b'),
        "{first:?}"
    );
    let second = run("b.csv");
    assert!(second.contains("text cache: read 4 embeddings"), "{second}");
    assert!(!second.contains("embedded 4 texts"), "{second}");
}

#[test]
fn the_run_time_embedding_of_train_reports_its_throughput() {
    let dir: PathBuf = tiny_bert_support::scratch("mtrec-i20enc-progress", "train");
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    write_model(&model, 2, &tiny(2));
    tiny_bert_support::write_text_run(&dir, &model, 60);
    let err = mtrec(
        &dir.join("cache"),
        &[
            "train",
            "--config",
            dir.join("run.toml").to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
            "--out",
            dir.join("run").to_str().unwrap(),
        ],
    );
    let line = err
        .lines()
        .find(|l| l.starts_with("text cache: embedded 5 texts"))
        .unwrap_or_else(|| panic!("no embedding line: {err}"));
    assert!(line.contains("texts/s"), "{line}");
    throughput(line.trim_start_matches("text cache: "));
}
