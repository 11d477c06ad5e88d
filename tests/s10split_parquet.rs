//! Issue #17 §1: the temporal and item_holdout splits streamed from Parquet row groups
//! (pass 0 reads the groups too): the cache folder is the in-memory build's
//! (`MTREC_STREAM=0`) byte for byte at 1–3 threads. Temporal on `item` (an int64
//! column, 50 values: ties, negative times), item_holdout on `user` (nulls included).
//! One test in this file: it sets the process's environment.

mod s8parquet_support;

use s8parquet_support::{
    assert_streams_to_memory_bytes, config, config_text, temp_dir, write_rows, Bad,
};

const RANDOM: &str = "kind = \"random\"\nseed = 7\ntrain = 0.6\nvalid = 0.2";

#[test]
fn temporal_and_item_holdout_parquet_caches_are_the_in_memory_bytes() {
    let dir = temp_dir("s10split");
    let bad = Bad {
        number: true,
        ..Bad::default()
    };
    write_rows(&dir.join("a.parquet"), 3000, 21, &[500, 333, 1], bad);
    write_rows(&dir.join("b.parquet"), 700, 8, &[100], Bad::default());
    let splits = [
        ("temporal", "kind = \"temporal\"\ntime_column = \"item\"\ntrain = 0.6\nvalid = 0.2"),
        (
            "holdout",
            "kind = \"item_holdout\"\nitem_column = \"user\"\nholdout = 0.3\nseed = 5\ntrain = 0.6\nvalid = 0.2",
        ),
    ];
    for (tag, split) in splits {
        let text = config_text("[\"a.parquet\", \"b.parquet\"]", "bad_rows = \"skip\"");
        assert!(text.contains(RANDOM));
        let cfg = config(&dir, &text.replace(RANDOM, split));
        assert_streams_to_memory_bytes(&cfg, &dir, tag);
    }
}
