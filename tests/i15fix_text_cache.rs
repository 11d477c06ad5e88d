//! Issue #15 part 3: one content-keyed text-embedding cache shared by `mtrec train`,
//! `predict` and `embed` (and `seq`, through the same `text::cache::embed_cached`), under
//! `$MTREC_CACHE`, so a second run reads the embeddings instead of running the encoder.
//! The encoder is a tiny BERT written by the test (tests/tiny_bert_support).

use std::path::{Path, PathBuf};
use std::process::Command;

mod tiny_bert_support;

use tiny_bert_support::{tiny, write_model};

fn scratch(tag: &str) -> PathBuf {
    tiny_bert_support::scratch("mtrec-i15fix-cache", tag)
}

/// Runs the binary with `MTREC_CACHE=cache`; (success, stderr).
fn mtrec(cache: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .env("MTREC_CACHE", cache)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

fn model_dir(dir: &Path) -> PathBuf {
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    write_model(&model, 2, &tiny(2));
    model
}

/// Files of the shared text cache under `cache`.
fn cached(cache: &Path) -> Vec<String> {
    match std::fs::read_dir(cache.join("text")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn embed_twice_reads_the_shared_cache_the_second_time() {
    let dir = scratch("embed");
    let model = model_dir(&dir);
    let cache = dir.join("cache");
    std::fs::write(dir.join("texts.txt"), "toy story\nheat (1995)\na\n").unwrap();
    let texts = dir.join("texts.txt");
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "embed",
            "--model",
            p(&model),
            "--input",
            p(&texts),
            "--output",
        ];
        let o = dir.join(out);
        let o = o.to_str().unwrap().to_string();
        args.push(&o);
        args.extend_from_slice(extra);
        let (ok, err) = mtrec(&cache, &args);
        assert!(ok, "{err}");
        (err, std::fs::read_to_string(dir.join(out)).unwrap())
    };
    let (first, a) = run("a.csv", &[]);
    assert!(first.contains("text cache: stored in"), "{first}");
    assert_eq!(cached(&cache).len(), 1, "{:?}", cached(&cache));
    let (second, b) = run("b.csv", &[]);
    assert!(
        second.contains("text cache: read 3 embeddings"),
        "the second run embedded again: {second}"
    );
    assert_eq!(a, b);
    let (third, c) = run("c.csv", &["--no-cache"]);
    assert!(!third.contains("text cache"), "{third}");
    assert_eq!(a, c);
}

#[test]
fn train_predict_and_a_second_train_share_the_cache() {
    let dir = scratch("train");
    let model = model_dir(&dir);
    let cache = dir.join("cache");
    tiny_bert_support::write_text_run(&dir, &model, 120);
    let train = |out: &str| {
        mtrec(
            &cache,
            &[
                "train",
                "--config",
                p(&dir.join("run.toml")),
                "--data-dir",
                p(&dir),
                "--out",
                p(&dir.join(out)),
                "--quiet",
            ],
        )
    };
    let (ok, first) = train("run1");
    assert!(ok, "{first}");
    assert!(first.contains("text cache: embedded 5 texts"), "{first}");
    assert_eq!(cached(&cache).len(), 1, "{:?}", cached(&cache));
    // nothing in the run folder: the cache is shared
    assert!(!dir.join("run1/text_cache").exists());

    let (ok, second) = train("run2");
    assert!(ok, "{second}");
    assert!(
        second.contains("text cache: read 5 embeddings") && !second.contains("embedded"),
        "the second run embedded again: {second}"
    );
    // both runs saw the same vectors: the same model
    assert_eq!(
        std::fs::read(dir.join("run1/model.safetensors")).unwrap(),
        std::fs::read(dir.join("run2/model.safetensors")).unwrap()
    );

    // predict on the first run reads the texts from the same cache
    let input = dir.join("new.csv");
    std::fs::write(&input, "user,item,title\n1,2,a\n3,4,story (1995)\n").unwrap();
    let (ok, pred) = mtrec(
        &cache,
        &[
            "predict",
            "--run",
            p(&dir.join("run1")),
            "--input",
            p(&input),
            "--output",
            p(&dir.join("scores.csv")),
        ],
    );
    assert!(ok, "{pred}");
    assert!(pred.contains("text cache:"), "{pred}");
    assert!(std::fs::read_to_string(dir.join("scores.csv"))
        .unwrap()
        .starts_with("line,user,item,click\n"));
}
