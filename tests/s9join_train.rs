//! Issue #17 §1: `mtrec train` from a streamed cache of a joined config (an item table
//! and a chained category table, column split) gives the summary metrics of the same
//! run with `cache = "off"` (full shuffle), with the same spec, split and bad rows.

mod s9join_support;

use s9join_support::*;

#[test]
fn a_streamed_join_cache_trains_to_the_in_memory_metrics() {
    let dir = temp_dir("train");
    let bad = Bad {
        malformed: true,
        missing_item: true,
        missing_category: true,
        number: true,
        set: false,
    };
    write_fixture(&dir, 3000, bad);
    std::fs::write(
        dir.join("run.toml"),
        config_text(COLUMN, "bad_rows = \"skip\""),
    )
    .unwrap();
    train(&dir, "mem", &[]);
    let cache = format!("data.cache={:?}", dir.join("cache").display().to_string());
    let err = train(&dir, "cached", &[&cache, "data.shuffle_window=0"]);
    assert!(err.contains("data cache: streamed"), "{err}");
    assert!(!err.contains("in-memory reader"), "{err}");
    let (a, b) = (
        json(&dir.join("mem/summary.json")),
        json(&dir.join("cached/summary.json")),
    );
    assert_eq!(a["tasks"], b["tasks"], "test metrics differ");
    assert_eq!(a["rows"], b["rows"]);
    assert!(a["tasks"]["click"]["test"]["auc"].is_number());
    for f in ["spec.json", "split.csv", "bad_rows.txt"] {
        let read = |run: &str| std::fs::read_to_string(dir.join(run).join(f)).unwrap();
        assert_eq!(read("mem"), read("cached"), "{f} differs");
    }
}
