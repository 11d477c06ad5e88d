//! The streamed cache build of multi-hot features (src/data/cache/build/) against the
//! in-memory path: the same token vocabulary (ids in order of first appearance, with
//! `min_count`), the same lists per row (missing cells [0], missing tokens 0, empty
//! cells empty), the same report, for many small chunks; and the set files are the
//! bytes the in-memory build writes.

use mtrec::config::RunConfig;
use mtrec::data::cache::open_or_build;
use mtrec::data::features::{drop_bad_values, prepare};
use mtrec::data::loaders::load_table;
use std::path::Path;

/// `rows.csv`: `n` rows of user, tags (0-5 tokens of 12, some cells missing (`NA`),
/// some empty, some with a missing token or blanks), price, click; one bad price row.
fn write_rows(dir: &Path, n: usize) {
    let mut x: u64 = 77;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = String::from("user,tags,price,click\n");
    for i in 0..n {
        let u = next() % 30;
        let tags = match next() % 9 {
            0 => "NA".to_string(),
            1 => String::new(),
            2 => format!("g{}| NA |g{}", next() % 12, next() % 12),
            _ => {
                let k = next() % 6;
                let t: Vec<String> = (0..k).map(|_| format!("g{}", next() % 12)).collect();
                t.join("|")
            }
        };
        let price = if i == 333 {
            "oops".to_string()
        } else {
            format!("{}", (next() % 1000) as f64 / 10.0)
        };
        s += &format!("{u},{tags},{price},{}\n", next() % 2);
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

const CONFIG: &str = r#"
[data]
files = ["rows.csv"]
header = true
missing_values = ["NA"]
bad_rows = "skip"

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "tags"
kind = "multi_hot"
separator = "|"
dim = 3
min_count = 30
[[features]]
name = "price"
kind = "numeric"

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 2
train = 0.7
valid = 0.15

[model]
arch = "shared_bottom"
bottom = [4]
tower = [4]
"#;

#[test]
fn a_streamed_multi_hot_cache_equals_the_in_memory_rows_and_bytes() {
    std::env::set_var("MTREC_STREAM_CHUNK", "600");
    let dir =
        std::env::temp_dir().join(format!("mtrec-s8cachekinds-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_rows(&dir, 2000);
    let cfg = RunConfig::from_str_in(CONFIG, "run.toml", &[], Some(&dir)).unwrap();
    // the in-memory preparation (what cache = "off" trains on)
    let mut table = load_table(&cfg.data, &dir, &cfg.needed_columns()).unwrap();
    drop_bad_values(&mut table, &cfg.features, &cfg.tasks, &cfg.split, &cfg.data).unwrap();
    let mem = prepare(
        &table,
        &cfg.features,
        &cfg.tasks,
        &cfg.split,
        &cfg.data.missing_values,
    )
    .unwrap();
    let (p, sets, skipped) = open_or_build(&cfg, &dir, &dir.join("streamed")).unwrap();
    assert!(sets.streamed, "the cache was not built by streaming");
    assert_eq!(skipped.count, 1);
    assert_eq!(p.spec, mem.spec, "fitted spec differs");
    let vocab = serde_json::to_string(&p.spec.multi_hot[0].encoder).unwrap();
    assert!(vocab.contains("g3"), "{vocab}");
    assert_eq!(p.report, mem.report);
    assert_eq!(sets.train.to_encoded(), mem.train, "train rows differ");
    assert_eq!(sets.valid.to_encoded(), mem.valid, "valid rows differ");
    assert_eq!(sets.test.to_encoded(), mem.test, "test rows differ");
    let lists = &mem.train.bags[0];
    assert!(lists.ids.contains(&0) && lists.ids.iter().any(|&i| i > 0));
    assert!(
        (0..lists.len()).any(|r| lists.bag(r).is_empty()),
        "no empty list"
    );
    // the in-memory build (MTREC_STREAM=0) writes the same bytes
    std::env::set_var("MTREC_STREAM", "0");
    let built = open_or_build(&cfg, &dir, &dir.join("in_memory"));
    std::env::remove_var("MTREC_STREAM");
    let (_, mem_sets, _) = built.unwrap();
    assert!(!mem_sets.streamed);
    for set in ["train.bin", "valid.bin", "test.bin", "cold.bin"] {
        let a = std::fs::read(sets.dir.join(set)).unwrap();
        let b = std::fs::read(mem_sets.dir.join(set)).unwrap();
        assert!(a == b, "{set} differs ({} vs {} bytes)", a.len(), b.len());
    }
}
