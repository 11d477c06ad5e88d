//! Issue #13 item 12 (embed side): a BERT folder whose config.json disagrees with its
//! weights (layer count, unused tensors) or whose weights hold NaN is refused, and a
//! cached embedding file of zeros is recomputed instead of used.

use mtrec::text::{cache, Encoder};
use std::path::{Path, PathBuf};

mod tiny_bert_support;

use tiny_bert_support::{tiny, write_model};

fn scratch(tag: &str) -> PathBuf {
    tiny_bert_support::scratch("mtrec-pg-embed", tag)
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
