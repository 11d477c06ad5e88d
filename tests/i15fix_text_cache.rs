//! Issue #15 part 3: one content-keyed text-embedding cache shared by `mtrec train`,
//! `predict` and `embed` (and `seq`, through the same `text::cache::embed_cached`), under
//! `$MTREC_CACHE`, so a second run reads the embeddings instead of running the encoder.
//! The encoder is a tiny BERT written by the test (the fixture of predict_guard_embed.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

const VOCAB: [&str; 12] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "toy", "story", "heat", "(", ")", "1995", "a", "##b",
];

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i15fix-cache-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Tensors of a tiny BERT (D = 8, 2 heads, D_ff = 12, 16 positions) with `layers`
/// layers and small deterministic weights, plus the pooler a Hugging Face file has.
fn tiny(layers: usize) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut state = 7u64;
    let mut rnd = |n: usize, s: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * s
            })
            .collect()
    };
    let (d, f, v, p) = (8, 12, VOCAB.len(), 16);
    let mut t = vec![
        (
            "embeddings.word_embeddings.weight".to_string(),
            vec![v, d],
            rnd(v * d, 1.0),
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![p, d],
            rnd(p * d, 0.5),
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, d],
            rnd(2 * d, 0.5),
        ),
        ("embeddings.LayerNorm.weight".into(), vec![d], vec![1.0; d]),
        ("embeddings.LayerNorm.bias".into(), vec![d], rnd(d, 0.2)),
        ("pooler.dense.weight".into(), vec![d, d], rnd(d * d, 0.2)),
        ("pooler.dense.bias".into(), vec![d], rnd(d, 0.2)),
    ];
    for l in 0..layers {
        let pre = format!("encoder.layer.{l}");
        for (name, din, dout) in [
            ("attention.self.query", d, d),
            ("attention.self.key", d, d),
            ("attention.self.value", d, d),
            ("attention.output.dense", d, d),
            ("intermediate.dense", d, f),
            ("output.dense", f, d),
        ] {
            t.push((
                format!("{pre}.{name}.weight"),
                vec![dout, din],
                rnd(dout * din, 0.6),
            ));
            t.push((format!("{pre}.{name}.bias"), vec![dout], rnd(dout, 0.2)));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.push((format!("{pre}.{name}.weight"), vec![d], vec![1.0; d]));
            t.push((format!("{pre}.{name}.bias"), vec![d], rnd(d, 0.2)));
        }
    }
    t
}

fn write_model(dir: &Path, config_layers: usize, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    std::fs::write(
        dir.join("config.json"),
        format!(
            r#"{{"vocab_size": 12, "hidden_size": 8, "num_hidden_layers": {config_layers}, "num_attention_heads": 2,
                "intermediate_size": 12, "max_position_embeddings": 16, "type_vocab_size": 2,
                "layer_norm_eps": 1e-12, "hidden_act": "gelu"}}"#
        ),
    )
    .unwrap();
    std::fs::write(dir.join("vocab.txt"), VOCAB.join("\n") + "\n").unwrap();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (n.clone(), v)
        })
        .collect();
    safetensors::serialize_to_file(views, &None, &dir.join("model.safetensors")).unwrap();
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
    let titles = ["toy story", "heat (1995)", "a", "toy", "story (1995)"];
    let mut csv = String::from("user,item,title,click\n");
    for i in 0..120u32 {
        let (u, it) = (i % 7, (i * 3) % 5);
        let click = (u + it) % 2;
        csv.push_str(&format!("{u},{it},{},{click}\n", titles[it as usize]));
    }
    std::fs::write(dir.join("rows.csv"), &csv).unwrap();
    let cfg = format!(
        r#"
[data]
files = ["rows.csv"]
header = true

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
[features.text]
column = "title"
mode = "text+id"
encoder = "{}"
adaptor = "linear"
dim = 4

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 3
train = 0.6
valid = 0.2

[model]
arch = "shared_bottom"
bottom = [8]
tower = [4]

[train]
epochs = 1
batch_size = 32
"#,
        p(&model)
    );
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
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
