//! Multi-hot features in the data cache (issue #17 §1): each bag feature is stored as
//! (N + 1) u64 offsets and its u32 ids (docs/data_cache.md); a cached run with a
//! multi-hot feature gives the metrics of the same run with `data.cache = "off"`.

mod rows_cache_support;
mod s8cachekinds_support;

use rows_cache_support::{random_split, user_item_tags_price, CLICK_TASK};
use s8cachekinds_support::{mem_and_cached, temp_dir, train, xorshift};
use std::path::Path;

/// `rows.csv`: 700 rows of user, item, tags (0-4 of 9 tags joined by `|`, some cells
/// empty, some tags rare), price, click depending on the tags.
fn write_rows(dir: &Path) {
    let mut next = xorshift(23);
    let mut s = String::from("user,item,tags,price,click\n");
    for _ in 0..700 {
        let (u, it) = (next() % 20, next() % 30);
        let n = next() % 5;
        let tags: Vec<String> = (0..n).map(|_| format!("t{}", next() % 9)).collect();
        let click = u8::from(tags.iter().any(|t| t == "t1" || t == "t4") || u.is_multiple_of(5));
        let price = (next() % 1000) as f64 / 100.0;
        s += &format!("{u},{it},{},{price},{click}\n", tags.join("|"));
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

fn config_text() -> String {
    let features = user_item_tags_price("min_count = 20");
    let split = random_split(11, 0.6, 0.2);
    format!(
        r#"
[data]
files = ["rows.csv"]
header = true
missing_values = [""]

{features}
{CLICK_TASK}
{split}
[model]
arch = "shared_bottom"
bottom = [8]
tower = [4]

[train]
lr = 0.02
batch_size = 32
epochs = 3
seed = 5
threads = 1

[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#
    )
}

#[test]
fn a_cached_run_with_a_multi_hot_feature_gives_the_in_memory_metrics() {
    let dir = temp_dir("multihot");
    write_rows(&dir);
    let config = config_text();
    let (mem, cached) = mem_and_cached(&dir, &config, &[]);
    assert_eq!(mem["tasks"], cached["tasks"], "test metrics differ");
    assert_eq!(mem["best_epoch"], cached["best_epoch"]);
    assert_eq!(mem["rows"], cached["rows"]);
    let lines = |run: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join(run).join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let m = v.as_object_mut().unwrap();
                m.remove("train_seconds");
                m.remove("samples_per_s");
                v.to_string()
            })
            .collect()
    };
    assert_eq!(lines("mem"), lines("cached"), "epoch lines differ");
    let spec = |run: &str| std::fs::read_to_string(dir.join(run).join("spec.json")).unwrap();
    assert_eq!(spec("mem"), spec("cached"));
    assert!(
        spec("cached").contains("t4"),
        "no tag vocabulary: {}",
        spec("cached")
    );
    // the tags matter: without them the same run scores otherwise
    let no_tags = config.replace(
        "[[features]]\nname = \"tags\"\nkind = \"multi_hot\"\nseparator = \"|\"\ndim = 3\nmin_count = 20\n",
        "",
    );
    assert_ne!(no_tags, config);
    std::fs::write(dir.join("no_tags.toml"), no_tags).unwrap();
    train(&dir, "no_tags.toml", "no_tags", &[]);
    let other = s8cachekinds_support::json(&dir.join("no_tags/summary.json"));
    assert_ne!(other["tasks"], cached["tasks"]);
    // a second cached run reads the bags from the cache
    let again = train(&dir, "cached.toml", "cached2", &[]);
    assert!(again.contains("data cache: reusing"), "{again}");
    let b = s8cachekinds_support::json(&dir.join("cached2/summary.json"));
    assert_eq!(b["tasks"], cached["tasks"]);
}
