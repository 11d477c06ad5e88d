//! Issue #13 item 12 (embed side): a BERT folder whose config.json disagrees with its
//! weights (layer count, unused tensors) or whose weights hold NaN is refused, and a
//! cached embedding file of zeros is recomputed instead of used.

use mtrec::text::{cache, Encoder};
use std::path::{Path, PathBuf};

const VOCAB: [&str; 12] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "toy", "story", "heat", "(", ")", "1995", "a", "##b",
];

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-pg-embed-{}-{tag}", std::process::id()));
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

fn load_err(dir: &Path) -> String {
    match Encoder::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_matching_folder_with_a_pooler_loads() {
    let dir = scratch("ok");
    write_model(&dir, 2, &tiny(2));
    let enc = Encoder::load(&dir).unwrap();
    let m = enc.encode(&["toy story", "heat (1995)"], 8).unwrap();
    assert_eq!(m.nrows(), 2);
}

#[test]
fn a_layer_count_that_is_not_the_files_is_refused() {
    // config.json says 1 layer, the weights hold 2: the second would be ignored
    let dir = scratch("fewer");
    write_model(&dir, 1, &tiny(2));
    let msg = load_err(&dir);
    assert!(msg.contains("2 encoder layers"), "{msg}");
    assert!(msg.contains("num_hidden_layers = 1"), "{msg}");
    assert!(msg.contains("model.safetensors"), "{msg}");
    // config.json says 3, the weights hold 2: a missing tensor
    let dir = scratch("more");
    write_model(&dir, 3, &tiny(2));
    let msg = load_err(&dir);
    assert!(msg.contains("encoder.layer.2"), "{msg}");
}

#[test]
fn unknown_tensors_are_refused_and_listed() {
    let dir = scratch("unknown");
    let mut t = tiny(2);
    t.push(("classifier.weight".into(), vec![2, 8], vec![0.1; 16]));
    t.push(("cls.predictions.bias".into(), vec![12], vec![0.0; 12]));
    write_model(&dir, 2, &t);
    let msg = load_err(&dir);
    assert!(msg.contains("`classifier.weight`"), "{msg}");
    assert!(msg.contains("`cls.predictions.bias`"), "{msg}");
    assert!(msg.contains("does not use"), "{msg}");
}

#[test]
fn weights_holding_nan_are_refused() {
    let dir = scratch("nan");
    let mut t = tiny(2);
    let i = t
        .iter()
        .position(|x| x.0 == "encoder.layer.1.output.dense.weight")
        .unwrap();
    t[i].2[3] = f32::NAN;
    write_model(&dir, 2, &t);
    let msg = load_err(&dir);
    assert!(msg.contains("the checkpoint holds NaN/inf"), "{msg}");
    assert!(
        msg.contains("`encoder.layer.1.output.dense.weight`"),
        "{msg}"
    );
}

#[test]
fn a_cache_of_zeros_is_recomputed_not_used() {
    let dir = scratch("cache");
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    write_model(&model, 2, &tiny(2));
    let cache_dir = dir.join("cache");
    let texts = ["toy story", "heat (1995)", "a"];
    let first = cache::embed_cached(&model, &texts, &cache_dir).unwrap();
    let path = cache::cache_path(&model, &texts, &cache_dir).unwrap();
    assert!(path.is_file());
    // a damaged cache: one row of zeros, then one of NaN
    for bad in [0.0f32, f32::NAN] {
        let mut m = first.clone();
        m.row_mut(1).fill(bad);
        cache::write_embeddings(&path, &m).unwrap();
        let again = cache::embed_cached(&model, &texts, &cache_dir).unwrap();
        assert_eq!(again, first, "the damaged cache was used");
        // and the file was repaired
        let reread = cache::embed_cached(&model, &texts, &cache_dir).unwrap();
        assert_eq!(reread, first);
    }
}
