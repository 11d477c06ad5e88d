//! Issue #17 §1 (s11): `mtrec predict` with a run trained on a streamed Parquet cache
//! whose string categorical columns were numbered per dictionary
//! (`src/data/ingest/parquet/dict.rs`) writes the bytes a run trained on the same build
//! reading every cell as text (the record API, `MTREC_PARQUET_RECORDS=1`) writes: the
//! fixtures of `tests/s11pq_cache.rs`.

mod s11pq_support;
mod s9parquet_support;

use s11pq_support::{config_text, temp_dir, write_files, FILES};
use std::path::Path;
use std::process::Command;

/// Runs the binary with `env`; panics with its stderr when it fails.
fn mtrec(args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mtrec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn predict_after_a_dictionary_build_writes_the_texts_runs_bytes() {
    let dir = temp_dir("predict");
    write_files(&dir);
    std::fs::write(dir.join("run.toml"), config_text(r#"["", "NA"]"#)).unwrap();
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let mut scores = Vec::new();
    // both streamed; the reference reads every cell as text (the record API)
    for (name, records) in [("codes", "0"), ("texts", "1")] {
        let (run, cache) = (
            dir.join(format!("run_{name}")),
            dir.join(format!("cache_{name}")),
        );
        let set_cache = format!("data.cache=\"{}\"", p(&cache));
        mtrec(
            &[
                "train",
                "--config",
                &p(&dir.join("run.toml")),
                "--data-dir",
                &p(&dir),
                "--out",
                &p(&run),
                "--quiet",
                "--threads",
                "1",
                "--set",
                &set_cache,
            ],
            &[("MTREC_PARQUET_RECORDS", records), ("MTREC_STREAM", "1")],
        );
        let out = dir.join(format!("scores_{name}.csv"));
        let mut args = vec!["predict", "--run"];
        let (run_s, out_s) = (p(&run), p(&out));
        let input = p(&dir.join(FILES[1]));
        args.extend([run_s.as_str(), "--input", &input, "--output", &out_s]);
        // `raw` holds bytes that are not UTF-8 now and then: those rows marked
        args.extend(["--data-dir", dir.to_str().unwrap(), "--quiet"]);
        args.extend(["--bad-rows", "mark"]);
        mtrec(&args, &[]);
        scores.push(std::fs::read(&out).unwrap());
    }
    assert!(scores[0].len() > 1500 * 10, "every row scored");
    assert!(scores[0] == scores[1], "the predictions differ");
    std::fs::remove_dir_all(&dir).ok();
}
