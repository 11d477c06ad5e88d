//! A tiny random BERT written to a temp folder (the same layout as the shared MiniLM: config.json, vocab.txt, model.safetensors), for the s7enc tests and `tests/text_encoder.rs`.

#![allow(dead_code)]

pub const TINY_VOCAB: [&str; 12] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "toy", "story", "heat", "(", ")", "1995", "a", "##b",
];

pub struct Tiny {
    pub names: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// (D, D_ff, heads, positions)
    pub dims: (usize, usize, usize, usize),
}

impl Tiny {
    /// Random weights for width D, D_ff, `heads` heads, 2 layers, `p` positions.
    pub fn new(seed: u64, (d, f, heads, p): (usize, usize, usize, usize)) -> Tiny {
        let mut state = seed;
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
        let v = TINY_VOCAB.len();
        let mut names = vec![
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
            (
                "embeddings.LayerNorm.weight".into(),
                vec![d],
                rnd(d, 0.2).iter().map(|x| 1.0 + x).collect(),
            ),
            ("embeddings.LayerNorm.bias".into(), vec![d], rnd(d, 0.2)),
        ];
        for l in 0..2 {
            let pre = format!("encoder.layer.{l}");
            for (name, din, dout) in [
                ("attention.self.query", d, d),
                ("attention.self.key", d, d),
                ("attention.self.value", d, d),
                ("attention.output.dense", d, d),
                ("intermediate.dense", d, f),
                ("output.dense", f, d),
            ] {
                names.push((
                    format!("{pre}.{name}.weight"),
                    vec![dout, din],
                    rnd(dout * din, 0.6),
                ));
                names.push((format!("{pre}.{name}.bias"), vec![dout], rnd(dout, 0.2)));
            }
            for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
                names.push((
                    format!("{pre}.{name}.weight"),
                    vec![d],
                    rnd(d, 0.2).iter().map(|x| 1.0 + x).collect(),
                ));
                names.push((format!("{pre}.{name}.bias"), vec![d], rnd(d, 0.2)));
            }
        }
        Tiny {
            names,
            dims: (d, f, heads, p),
        }
    }

    pub fn get(&self, name: &str) -> &[f32] {
        &self.names.iter().find(|n| n.0 == name).unwrap().2
    }

    pub fn write(&self, dir: &std::path::Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            format!(
                r#"{{"vocab_size": {}, "hidden_size": {}, "num_hidden_layers": 2, "num_attention_heads": {},
                "intermediate_size": {}, "max_position_embeddings": {}, "type_vocab_size": 2,
                "layer_norm_eps": 1e-12, "hidden_act": "gelu"}}"#,
                TINY_VOCAB.len(),
                self.dims.0,
                self.dims.2,
                self.dims.1,
                self.dims.3
            ),
        )
        .unwrap();
        std::fs::write(dir.join("vocab.txt"), TINY_VOCAB.join("\n") + "\n").unwrap();
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .names
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
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                        .unwrap(),
                )
            })
            .collect();
        safetensors::serialize_to_file(views, &None, &dir.join("model.safetensors")).unwrap();
    }
}
