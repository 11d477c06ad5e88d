//! Issue #13, items 12, 13 and 15: sizes that cannot be allocated are refused before
//! anything is allocated (exit 1 naming the key and the estimate, never the allocator's
//! abort, exit 134); `--threads` is capped; `--set` never drops text silently; zero
//! epochs are refused; `mtrec seq` reports config errors at `file:line:column`.

use mtrec::config::budget::{check_model_memory, estimate, parse_size, MAX_LAYERS};
use mtrec::config::RunConfig;
use mtrec::train::seq::SeqRunConfig;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");

const CONFIG: &str = r#"[data]
files = ["d.csv"]
columns = ["age", "city", "click", "buy"]

[[features]]
name = "age"
kind = "numeric"

[[features]]
name = "city"
kind = "categorical"
dim = 4

[[tasks]]
name = "click"
type = "binary"
column = "click"

[[tasks]]
name = "buy"
type = "binary"
column = "buy"

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]

[train]
epochs = 1
batch_size = 16
"#;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtrec-limits-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run folder with the config and a 40-row CSV: a run that is not refused trains.
fn fixture(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    let mut csv = String::new();
    for i in 0..40 {
        csv.push_str(&format!("{},c{},{},{}\n", i % 7, i % 3, i % 2, i % 5 == 0));
    }
    std::fs::write(
        dir.join("d.csv"),
        csv.replace("true", "1").replace("false", "0"),
    )
    .unwrap();
    std::fs::write(dir.join("run.toml"), CONFIG).unwrap();
    dir
}

/// `mtrec train` on the fixture with `args`, `MTREC_MAX_MEMORY` as given; the output and
/// the wall time.
fn train(dir: &PathBuf, args: &[&str], max_memory: Option<&str>) -> (Output, Duration) {
    let mut cmd = Command::new(BIN);
    cmd.args(["train", "--quiet", "--config"])
        .arg(dir.join("run.toml"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(dir.join("run"))
        .args(args);
    match max_memory {
        Some(m) => cmd.env("MTREC_MAX_MEMORY", m),
        None => cmd.env_remove("MTREC_MAX_MEMORY"),
    };
    let t = Instant::now();
    let out = cmd.output().unwrap();
    (out, t.elapsed())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn limits_the_fixture_trains_so_refusals_are_not_about_it() {
    let dir = fixture("ok");
    let (out, _) = train(&dir, &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn limits_huge_sizes_exit_1_with_the_key_and_the_estimate_quickly() {
    let dir = fixture("huge");
    let cases = [
        ("model.num_experts=1000000000", "model.num_experts"),
        ("model.expert=[1000000000]", "model.expert"),
        ("model.tower=[1000000000]", "model.tower"),
        ("features.city.dim=1000000000", "features[1].dim"),
        (
            "features.city.hash_buckets=1000000000",
            "features[1].hash_buckets",
        ),
        ("train.batch_size=1000000000000", "train.batch_size"),
    ];
    for (set, key) in cases {
        // a fixed limit (8 GiB) so the outcome does not depend on this machine
        let (out, took) = train(&dir, &["--set", set], Some("8G"));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "--set {set}: {err}");
        assert!(
            err.contains(key),
            "--set {set}: the error should name {key}: {err}"
        );
        assert!(
            err.contains("needs an estimated") && err.contains("MTREC_MAX_MEMORY = 8G"),
            "--set {set}: the error should give the estimate and the limit: {err}"
        );
        assert!(took < Duration::from_secs(10), "--set {set} took {took:?}");
    }
    // with no limit set, the machine's MemAvailable (or the address space) refuses it too
    let (out, _) = train(&dir, &["--set", "model.num_experts=1000000000000"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("model.num_experts"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn limits_layer_counts_and_every_arch_are_checked() {
    let dir = fixture("layers");
    let deep = format!("model.levels={}", MAX_LAYERS + 1);
    let (out, _) = train(
        &dir,
        &["--set", "model.arch=ple", "--set", &deep],
        Some("8G"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("model.levels"), "{}", stderr(&out));
    let text = CONFIG.to_string();
    for arch in [
        "single_task",
        "shared_bottom",
        "omoe",
        "cgc",
        "ple",
        "esmm",
        "aitm",
    ] {
        let o = [
            format!("model.arch={arch}"),
            "model.bottom=[1000000000]".into(),
            "model.tower=[1000000000]".into(),
            "model.expert=[1000000000]".into(),
            "train.max_memory=\"8G\"".into(),
        ];
        let cfg = RunConfig::from_str(&text, "x", &o);
        let e = cfg.expect_err(arch).to_string();
        assert!(e.contains("needs an estimated"), "{arch}: {e}");
    }
}

#[test]
fn limits_the_estimate_is_the_formula_of_budget_rs() {
    // MMoE on d_in = 1 + 4 = 5, E = 2 experts 5→8, K = 2 gates 5→2, towers 8→4→1;
    // embedding of city: 1 row (vocabulary not read) × 4
    let cfg = RunConfig::from_str(CONFIG, "x", &[]).unwrap();
    let est = estimate(&cfg, &[]);
    let experts = 2 * (5 * 8 + 8);
    let gates = 2 * (5 * 2 + 2);
    let towers = 2 * (8 * 4 + 4 + 4 + 1);
    assert_eq!(est.params, (4 + experts + gates + towers) as u128);
    assert_eq!(est.d_in, 5);
    // with a fitted vocabulary of 999 values the table has 1000 × 4 parameters
    let fitted = estimate(&cfg, &[("city", 999)]);
    assert_eq!(fitted.params - est.params, 999 * 4);
}

#[test]
fn limits_the_check_after_prepare_counts_the_fitted_vocabulary() {
    let o = ["train.max_memory=\"64M\"".to_string()];
    let cfg = RunConfig::from_str(CONFIG, "x", &o).unwrap();
    assert!(check_model_memory(&cfg, &[("city", 1000)]).is_ok());
    let e = check_model_memory(&cfg, &[("city", 100_000_000)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("features[1].dim") && e.contains("100000000 values"),
        "{e}"
    );
    assert!(e.contains("train.max_memory = \"64M\""), "{e}");
}

#[test]
fn limits_max_memory_is_read_and_bad_sizes_are_errors() {
    assert_eq!(parse_size("8G"), Some(8 << 30));
    let e = RunConfig::from_str(CONFIG, "x", &["train.max_memory=lots".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.max_memory") && e.contains("lots"), "{e}");
    // 1 KiB is less than the fixture needs
    let e = RunConfig::from_str(CONFIG, "x", &["train.max_memory=\"1K\"".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs an estimated"), "{e}");
    // the environment wins over the key
    let dir = fixture("env");
    let (out, _) = train(&dir, &["--set", "train.max_memory=\"1K\""], Some("8G"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn limits_threads_are_capped() {
    let dir = fixture("threads");
    for args in [
        &["--threads", "100000"][..],
        &["--set", "train.threads=100000"][..],
    ] {
        let (out, took) = train(&dir, args, None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("--threads") && err.contains("100000"), "{err}");
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    }
    let cap = mtrec::cli::max_threads();
    assert!((1..=1024).contains(&cap));
    assert!(mtrec::cli::thread_pool(Some(cap + 1)).is_err());
    assert!(mtrec::cli::thread_pool(Some(2)).is_ok());
    let out = Command::new(BIN)
        .args(["demo", "--threads", "100000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn limits_set_values_never_lose_text() {
    let load = |o: &str| RunConfig::from_str(CONFIG, "x", &[o.to_string()]);
    // a line break used to end the value: the rest (here epochs = 0) was dropped
    for o in [
        "train.lr=0.5\ntrain.epochs=0",
        "train.lr=0.5\n# note",
        "model.arch=ple\u{0}",
        "model.arch=p\rle",
    ] {
        let e = load(o).expect_err(o).to_string();
        assert!(e.contains("control character"), "{o:?}: {e}");
    }
    // a `#` comment after the value used to be dropped the same way
    for o in ["train.lr=0.5 # was 0.1", "train.epochs=3#4"] {
        let e = load(o).expect_err(o).to_string();
        assert!(e.contains("comment"), "{o:?}: {e}");
    }
    // a `#` that is part of the value is kept
    let c = load("data.files=[\"a#b.csv\"]").unwrap();
    assert_eq!(c.data.files, vec!["a#b.csv".to_string()]);
    // a line break inside a quoted string, written as TOML's escape, is kept
    let c = load("features.city.separator=\"a\\nb\"").unwrap();
    assert_eq!(c.features[1].separator, "a\nb");
    // plain values still read as before
    assert_eq!(load("train.lr=0.25").unwrap().train.lr, 0.25);
    // the binary says so too (exit 1, not a run with epochs silently unchanged)
    let dir = fixture("newline");
    let (out, _) = train(&dir, &["--set", "train.lr=0.5\ntrain.epochs=0"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn limits_zero_epochs_are_refused() {
    let e = RunConfig::from_str(CONFIG, "x", &["train.epochs=0".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.epochs"), "{e}");
    let out = Command::new(BIN)
        .args(["demo", "--epochs", "0", "--n-train", "64"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--epochs") && err.contains("trains nothing"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no table for a demo that trained nothing"
    );
}

const SEQ: &str = "[data]\ndataset = \"ml-100k\"\ndir = \"ml-100k\"\n\n[model]\ndim = 32\n\n[train]\nepochs = 2\n";

#[test]
fn limits_seq_config_errors_have_file_line_column() {
    let dir = temp_dir("seq");
    let path = dir.join("seq.toml");
    std::fs::write(&path, SEQ.replace("dim = 32", "dim = \"big\"")).unwrap();
    let e = SeqRunConfig::from_file(&path, &[]).unwrap_err().to_string();
    let at = format!("{}:6:7: key `model.dim`", path.display());
    assert!(e.contains(&at), "expected `{at}` in: {e}");
    std::fs::write(&path, SEQ.replace("epochs = 2", "epochz = 2")).unwrap();
    let e = SeqRunConfig::from_file(&path, &[]).unwrap_err().to_string();
    assert!(e.contains(":9:1: key `train.epochz`"), "{e}");
    // the same --set as mtrec train: control characters and comments are errors
    std::fs::write(&path, SEQ).unwrap();
    assert!(SeqRunConfig::from_file(&path, &["train.lr=0.1\ntrain.epochs=0".into()]).is_err());
    assert!(SeqRunConfig::from_file(&path, &["train.epochs=0".into()]).is_err());
    let ok = SeqRunConfig::from_file(&path, &["train.epochs=7".into()]).unwrap();
    assert_eq!(ok.train.epochs, 7);
}

#[test]
fn limits_seq_sizes_are_refused_quickly() {
    let dir = temp_dir("seq-huge");
    let path = dir.join("seq.toml");
    std::fs::write(&path, SEQ).unwrap();
    for (set, key) in [
        ("model.dim=1000000000", "model.dim"),
        ("data.max_len=10000000", "data.max_len"),
        ("model.blocks=100000", "model.blocks"),
    ] {
        let t = Instant::now();
        let out = Command::new(BIN)
            .args(["seq", "--quiet", "--config"])
            .arg(&path)
            .args(["--set", set, "--out"])
            .arg(dir.join("run"))
            .env("MTREC_MAX_MEMORY", "8G")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{set}: {err}");
        assert!(err.contains(key), "{set}: {err}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}
