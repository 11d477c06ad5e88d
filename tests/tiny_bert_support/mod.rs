//! A tiny BERT written by the test (D = 8, 2 heads, D_ff = 12, 16 positions): its
//! tensors, vocabulary and folder, shared by the tests of the text encoder's guards and
//! of the shared text cache.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const VOCAB: [&str; 12] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "toy", "story", "heat", "(", ")", "1995", "a", "##b",
];

pub fn scratch(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Tensors of a tiny BERT (D = 8, 2 heads, D_ff = 12, 16 positions) with `layers`
/// layers and small deterministic weights, plus the pooler a Hugging Face file has.
pub fn tiny(layers: usize) -> Vec<(String, Vec<usize>, Vec<f32>)> {
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

pub fn write_model(dir: &Path, config_layers: usize, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
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

/// A run over `rows` rows of `(user, item, title, click)` with the title as a text
/// feature (`text+id`, encoder `model`): writes `rows.csv` and `run.toml` into `dir`.
pub fn write_text_run(dir: &Path, model: &Path, rows: u32) {
    let titles = ["toy story", "heat (1995)", "a", "toy", "story (1995)"];
    let mut csv = String::from("user,item,title,click\n");
    for i in 0..rows {
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
        model.to_str().unwrap().replace('\\', "/")
    );
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
}
