//! Text features in the data cache (issue #17 §1): the cache holds each row's text id
//! and the feature's distinct texts (`texts-<t>.json`), embedded through the shared
//! text-embedding cache when the sets are opened; a cached run gives the metrics of the
//! same run with `data.cache = "off"`. The encoder is the tests' tiny BERT.

mod s8cachekinds_support;
mod tiny_bert_support;

use s8cachekinds_support::{json, mem_and_cached, temp_dir, train};

#[test]
fn a_cached_run_with_a_text_feature_gives_the_in_memory_metrics() {
    let dir = temp_dir("text");
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    tiny_bert_support::write_model(&model, 2, &tiny_bert_support::tiny(2));
    tiny_bert_support::write_text_run(&dir, &model, 150);
    let cfg = std::fs::read_to_string(dir.join("run.toml"))
        .unwrap()
        .replace("epochs = 1\n", "epochs = 2\nseed = 4\nthreads = 1\n");
    let (mem, cached) = mem_and_cached(&dir, &cfg, &[]);
    assert!(mem["tasks"]["click"]["test"]["auc"].is_number(), "{mem}");
    assert_eq!(mem["tasks"], cached["tasks"], "test metrics differ");
    assert_eq!(mem["best_epoch"], cached["best_epoch"]);
    let spec = |run: &str| std::fs::read_to_string(dir.join(run).join("spec.json")).unwrap();
    assert_eq!(spec("mem"), spec("cached"));
    // the texts, not their vectors, are in the data cache
    let cache = dir.join("cache");
    let key = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(key.join("texts-0.json")).unwrap()).unwrap();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert!(texts.contains(&"heat (1995)".to_string()));
    // a second cached run reuses the data cache and reads the vectors from the text cache
    let again = train(&dir, "cached.toml", "cached2", &[]);
    assert!(again.contains("data cache: reusing"), "{again}");
    assert!(again.contains("text cache: read 5 embeddings"), "{again}");
    assert_eq!(
        json(&dir.join("cached2/summary.json"))["tasks"],
        cached["tasks"]
    );
}
