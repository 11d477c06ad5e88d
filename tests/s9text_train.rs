//! Training from a streamed text cache (issue #17 §1): `mtrec train` with `data.cache`
//! builds the cache of a text feature by streaming (titles quoted, with commas) and
//! gives the summary metrics of the same run with `cache = "off"`. The encoder is the
//! tests' tiny BERT.

mod s8cachekinds_support;
mod tiny_bert_support;

use s8cachekinds_support::{json, temp_dir, train};

#[test]
fn a_run_from_a_streamed_text_cache_gives_the_in_memory_metrics() {
    let dir = temp_dir("s9text-train");
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    tiny_bert_support::write_model(&model, 2, &tiny_bert_support::tiny(2));
    tiny_bert_support::write_text_run(&dir, &model, 300);
    // titles with quotes and commas, and one seen only in a row with a bad label
    let titles = [
        "\"toy, story\"",
        "heat (1995)",
        "\"a \"\"b\"\", toy\"",
        "toy",
        "story (1995)",
    ];
    let mut csv = String::from("user,item,title,click\n");
    for i in 0..300u32 {
        let (u, it) = (i % 7, (i * 3) % 5);
        let click = if i == 50 {
            "x".to_string()
        } else {
            ((u + it) % 2).to_string()
        };
        let title = if i == 50 {
            "\"heat, a\""
        } else {
            titles[it as usize]
        };
        csv.push_str(&format!("{u},{it},{title},{click}\n"));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    let cfg = std::fs::read_to_string(dir.join("run.toml"))
        .unwrap()
        .replace("header = true\n", "header = true\nbad_rows = \"skip\"\n")
        .replace("epochs = 1\n", "epochs = 2\nseed = 4\nthreads = 1\n");
    std::fs::write(dir.join("mem.toml"), &cfg).unwrap();
    let cache = dir.join("cache");
    let cached = cfg.replacen(
        "[data]\n",
        &format!(
            "[data]\ncache = {:?}\nshuffle_window = 0\n",
            cache.display().to_string()
        ),
        1,
    );
    std::fs::write(dir.join("cached.toml"), cached).unwrap();
    train(&dir, "mem.toml", "mem", &[]);
    let err = train(&dir, "cached.toml", "cached", &[]);
    assert!(err.contains("data cache: streamed"), "{err}");
    let (mem, cached) = (
        json(&dir.join("mem/summary.json")),
        json(&dir.join("cached/summary.json")),
    );
    assert!(mem["tasks"]["click"]["test"]["auc"].is_number(), "{mem}");
    assert_eq!(mem["tasks"], cached["tasks"], "test metrics differ");
    assert_eq!(mem["best_epoch"], cached["best_epoch"]);
    let spec = |run: &str| std::fs::read_to_string(dir.join(run).join("spec.json")).unwrap();
    assert_eq!(spec("mem"), spec("cached"));
    let key = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(key.join("texts-0.json")).unwrap()).unwrap();
    assert_eq!(texts.len(), 6, "{texts:?}");
    assert!(texts.contains(&"a \"b\", toy".to_string()), "{texts:?}");
    assert!(texts.contains(&"heat, a".to_string()), "{texts:?}");
}
