//! The native text encoder: tokenizer rules on a small hand-made vocabulary, and (with
//! the shared model) token ids and embeddings against the reference implementation's.

use mtrec::text::{cache, Encoder, Tokenizer};
use std::path::PathBuf;

/// A vocabulary with the special tokens and a few words and pieces.
fn toy() -> Tokenizer {
    let tokens = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "creme", "brulee", "cafe", "un", "##aff", "##able",
        "(", ")", ",", "!", ".", "東", "京", "の", "1995", "toy", "story", "a", "##b", "é",
    ];
    Tokenizer::from_tokens(tokens.iter().map(|s| s.to_string()).collect(), true, 8).unwrap()
}

fn words(t: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&i| t.token(i).unwrap().to_string())
        .collect()
}

#[test]
fn accents_are_stripped_and_text_lower_cased() {
    let t = toy();
    assert_eq!(
        t.basic_tokenize("Crème BRÛLÉE café"),
        ["creme", "brulee", "cafe"]
    );
    let e = t.encode("Crème Brûlée");
    assert_eq!(words(&t, &e.ids), ["[CLS]", "creme", "brulee", "[SEP]"]);
    // A cased tokenizer keeps both.
    let cased = Tokenizer::from_tokens(
        vec![
            "[PAD]".into(),
            "[UNK]".into(),
            "[CLS]".into(),
            "[SEP]".into(),
            "é".into(),
        ],
        false,
        8,
    )
    .unwrap();
    assert_eq!(cased.basic_tokenize("Crème É"), ["Crème", "É"]);
}

#[test]
fn cjk_ideographs_are_split_but_kana_is_not() {
    let t = toy();
    assert_eq!(
        t.basic_tokenize("東京の映画"),
        ["東", "京", "の", "映", "画"]
    );
    assert_eq!(t.basic_tokenize("のの東"), ["のの", "東"]);
}

#[test]
fn punctuation_is_split_off_and_controls_dropped() {
    let t = toy();
    assert_eq!(
        t.basic_tokenize("Toy Story (1995), a!"),
        ["toy", "story", "(", "1995", ")", ",", "a", "!"]
    );
    // em dash (Pd) and a zero-width space (Cf, dropped); tab and newline are spaces.
    assert_eq!(
        t.basic_tokenize("a—b\u{200b}c\td\ne"),
        ["a", "—", "bc", "d", "e"]
    );
    assert_eq!(t.basic_tokenize("$5^2"), ["$", "5", "^", "2"]);
}

#[test]
fn wordpiece_takes_longest_pieces_and_unknown_words_become_unk() {
    let t = toy();
    let e = t.encode("unaffable ab zzz");
    assert_eq!(
        words(&t, &e.ids),
        ["[CLS]", "un", "##aff", "##able", "a", "##b", "[UNK]", "[SEP]"]
    );
    // A word that can be started but not finished is one [UNK], not partial pieces.
    let e = t.encode("unaffablex");
    assert_eq!(words(&t, &e.ids), ["[CLS]", "[UNK]", "[SEP]"]);
    // Longer than 100 characters: [UNK] even if it could be pieced.
    let long = format!("a{}", "b".repeat(120));
    assert_eq!(words(&t, &t.encode(&long).ids), ["[CLS]", "[UNK]", "[SEP]"]);
    assert_eq!(words(&t, &t.encode("").ids), ["[CLS]", "[SEP]"]);
}

#[test]
fn long_texts_are_truncated_to_max_len_with_sep_kept() {
    let t = toy();
    let e = t.encode("toy story toy story toy story toy story");
    assert_eq!(e.ids.len(), 8);
    assert!(e.truncated);
    assert_eq!(
        words(&t, &e.ids),
        ["[CLS]", "toy", "story", "toy", "story", "toy", "story", "[SEP]"]
    );
    assert!(!t.encode("toy story").truncated);
}

#[test]
fn a_vocabulary_without_special_tokens_is_refused() {
    let err = Tokenizer::from_tokens(vec!["a".into()], true, 8).unwrap_err();
    assert!(err.to_string().contains("[CLS]"), "{err}");
}

fn models_dir() -> PathBuf {
    let dir = std::env::var("MTREC_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/models"));
    let m = dir.join("all-MiniLM-L6-v2");
    assert!(
        m.join("model.safetensors").is_file() && m.join("reference_embeddings.jsonl").is_file(),
        "the shared model is missing: expected {}/{{model.safetensors, reference_embeddings.jsonl}}; set MTREC_MODELS to the folder holding all-MiniLM-L6-v2",
        m.display()
    );
    m
}

struct Reference {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn references(dir: &std::path::Path) -> Vec<Reference> {
    let text = std::fs::read_to_string(dir.join("reference_embeddings.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Reference {
                text: v["text"].as_str().unwrap().to_string(),
                ids: v["input_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u32)
                    .collect(),
                embedding: v["embedding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect(),
            }
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
#[ignore = "needs ../shared/models"]
fn minilm_reproduces_the_reference_token_ids_and_embeddings() {
    let dir = models_dir();
    let refs = references(&dir);
    assert_eq!(
        refs.len(),
        51,
        "reference_embeddings.jsonl should hold 51 texts"
    );
    let enc = Encoder::load(&dir).unwrap();
    for r in &refs {
        assert_eq!(
            enc.tokenizer.encode(&r.text).ids,
            r.ids,
            "token ids of {:?}",
            r.text
        );
    }
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    // A batch size that mixes lengths in a batch, so padding is exercised.
    let emb = enc.encode(&texts, 7).unwrap();
    assert_eq!(emb.dim(), (51, 384));
    let mut worst = (f64::INFINITY, "");
    for (i, r) in refs.iter().enumerate() {
        let c = cosine(emb.row(i).as_slice().unwrap(), &r.embedding);
        if c < worst.0 {
            worst = (c, &r.text);
        }
    }
    println!(
        "minimum cosine to the reference embeddings: {:.9} (1 − cos = {:.2e}, {:?})",
        worst.0,
        1.0 - worst.0,
        worst.1
    );
    assert!(
        worst.0 >= 0.9999,
        "cosine {} < 0.9999 for {:?}",
        worst.0,
        worst.1
    );
    // Batching must not change the result: one text at a time gives the same vectors.
    let single = enc.encode(&texts[..5], 1).unwrap();
    for i in 0..5 {
        assert!(
            cosine(
                single.row(i).as_slice().unwrap(),
                emb.row(i).as_slice().unwrap()
            ) > 0.99999
        );
    }
}

#[test]
#[ignore = "needs ../shared/models"]
fn embed_cached_computes_once_then_loads() {
    let dir = models_dir();
    let cache_dir = std::env::temp_dir().join(format!("mtrec-text-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let texts = ["Toy Story (1995)", "GoldenEye (1995)", "Crème brûlée"];
    let path = cache::cache_path(&dir, &texts, &cache_dir).unwrap();
    assert!(!path.exists());
    let first = cache::embed_cached(&dir, &texts, &cache_dir).unwrap();
    assert!(
        path.is_file(),
        "the first call should write {}",
        path.display()
    );
    let written = std::fs::metadata(&path).unwrap().modified().unwrap();
    let second = cache::embed_cached(&dir, &texts, &cache_dir).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        written,
        "the second call should load, not rewrite"
    );
    // Other texts, other file.
    let other = cache::cache_path(&dir, &texts[..2], &cache_dir).unwrap();
    assert_ne!(other, path);
    let _ = std::fs::remove_dir_all(&cache_dir);
}

fn scratch_file(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtrec-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn embed_input_reads_columns_lines_and_latin1_with_clear_errors() {
    use mtrec::cli::embed::read_texts;
    let csv = scratch_file(
        "items.csv",
        b"id,title\n1,\"Toy Story (1995)\"\n2,\"Heat, the movie\"\n",
    );
    assert_eq!(
        read_texts(&csv, "title", false).unwrap(),
        ["Toy Story (1995)", "Heat, the movie"]
    );
    let err = read_texts(&csv, "name", false).unwrap_err().to_string();
    assert!(
        err.contains("no column `name`") && err.contains("title"),
        "{err}"
    );
    let tsv = scratch_file("items.tsv", b"title\tid\nA\t1\nB\t2\n");
    assert_eq!(read_texts(&tsv, "title", false).unwrap(), ["A", "B"]);
    let txt = scratch_file("titles.txt", b"Cr\xe8me (1995)\r\n\nLast\n");
    assert_eq!(
        read_texts(&txt, "text", true).unwrap(),
        ["Crème (1995)", "", "Last"]
    );
    let err = read_texts(&txt, "text", false).unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("--latin1"), "{err}");
    let empty = scratch_file("empty.txt", b"");
    assert!(read_texts(&empty, "text", false)
        .unwrap_err()
        .to_string()
        .contains("no texts"));
    let missing =
        read_texts(std::path::Path::new("/nonexistent/x.txt"), "text", false).unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
}

#[test]
fn a_folder_without_a_model_is_refused_with_what_to_provide() {
    let dir = std::env::temp_dir().join(format!("mtrec-nomodel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = Encoder::load(&dir).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
    let err = Encoder::load(&dir.join("missing")).unwrap_err().to_string();
    assert!(err.contains("model folder"), "{err}");
}

// ------------------------------------------------------------ a tiny random BERT

// `s7enc_support::Tiny` (D = 8, D_ff = 12, 2 heads, 16 positions here): the same weights
// for a seed as the fixture this file used to define.
mod s7enc_support;
use s7enc_support::Tiny;

/// The tiny BERT of these tests: D = 8, D_ff = 12, 2 heads, 2 layers, 16 positions.
fn tiny(seed: u64) -> Tiny {
    Tiny::new(seed, (8, 12, 2, 16))
}

/// The same encoder composed from the engine's differentiable ops on a Graph, one text at
/// a time (no padding): the reference for the fused, batched forward pass.
fn graph_embedding(m: &Tiny, ids: &[u32]) -> Vec<f32> {
    use mtrec::autograd::Graph;
    use mtrec::ops::attention::AttentionSpec;
    let (d, t) = (8, ids.len());
    let mut g = Graph::new(0);
    let mut emb = vec![0f32; t * d]; // (T, D)
    let (w, p, ty) = (
        m.get("embeddings.word_embeddings.weight"),
        m.get("embeddings.position_embeddings.weight"),
        m.get("embeddings.token_type_embeddings.weight"),
    );
    for (i, &id) in ids.iter().enumerate() {
        for j in 0..d {
            emb[i * d + j] = w[id as usize * d + j] + p[i * d + j] + ty[j];
        }
    }
    let input =
        |g: &mut Graph, name: &str, r: usize, c: usize| g.input_slice(r, c, m.get(name)).unwrap();
    let norm = |g: &mut Graph, x, name: &str| {
        let ga = input(g, &format!("{name}.weight"), 1, d);
        let be = input(g, &format!("{name}.bias"), 1, d);
        g.layer_norm(x, ga, be, 1e-12).unwrap()
    };
    let dense = |g: &mut Graph, x, name: &str, din: usize, dout: usize| {
        let w = input(g, &format!("{name}.weight"), dout, din);
        let b = input(g, &format!("{name}.bias"), 1, dout);
        let y = g.matmul(x, w, false, true).unwrap();
        g.add(y, b).unwrap()
    };
    let x0 = g.input_slice(t, d, &emb).unwrap();
    let mut x = norm(&mut g, x0, "embeddings.LayerNorm");
    for l in 0..2 {
        let pre = format!("encoder.layer.{l}");
        let q = dense(&mut g, x, &format!("{pre}.attention.self.query"), d, d);
        let k = dense(&mut g, x, &format!("{pre}.attention.self.key"), d, d);
        let v = dense(&mut g, x, &format!("{pre}.attention.self.value"), d, d);
        let spec = AttentionSpec {
            batch: 1,
            seq_len: t,
            heads: 2,
            lengths: vec![],
            causal: false,
        };
        let c = g.attention(q, k, v, &spec).unwrap();
        let a = dense(&mut g, c, &format!("{pre}.attention.output.dense"), d, d);
        let r = g.add(a, x).unwrap();
        x = norm(&mut g, r, &format!("{pre}.attention.output.LayerNorm"));
        let h = dense(&mut g, x, &format!("{pre}.intermediate.dense"), d, 12);
        let h = g.gelu(h).unwrap();
        let o = dense(&mut g, h, &format!("{pre}.output.dense"), 12, d);
        let r = g.add(o, x).unwrap();
        x = norm(&mut g, r, &format!("{pre}.output.LayerNorm"));
    }
    let pooled = g.masked_mean(x, t, &[t]).unwrap();
    let y = g.l2_normalize(pooled).unwrap();
    g.value(y).to_vec()
}

#[test]
fn batched_encoder_matches_the_op_by_op_graph_on_a_tiny_model() {
    let dir = std::env::temp_dir().join(format!("mtrec-tiny-bert-{}", std::process::id()));
    let m = tiny(7);
    m.write(&dir);
    let enc = Encoder::load(&dir).unwrap();
    let texts = [
        "Toy Story (1995)",
        "heat",
        "",
        "a ab abb toy toy story story heat heat (1995) zzz",
        "story",
    ];
    // Batches of 2 mix lengths, so padding rows are present.
    let emb = enc.encode(&texts, 2).unwrap();
    assert_eq!(emb.dim(), (5, 8));
    for (i, text) in texts.iter().enumerate() {
        let ids = enc.tokenizer.encode(text).ids;
        let want = graph_embedding(&m, &ids);
        let got = emb.row(i).to_vec();
        for (a, b) in got.iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-5,
                "{text:?}: batched {got:?} vs graph {want:?}"
            );
        }
    }
    // A tensor of the wrong shape is named in the error.
    let mut bad = tiny(7);
    let e = bad
        .names
        .iter_mut()
        .find(|n| n.0 == "encoder.layer.1.intermediate.dense.weight")
        .unwrap();
    e.1 = vec![8, 12];
    bad.write(&dir);
    let err = Encoder::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("encoder.layer.1.intermediate.dense.weight") && err.contains("[12, 8]"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
