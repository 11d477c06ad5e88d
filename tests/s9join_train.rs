//! Issue #17 §1: `mtrec train` from a streamed cache of a joined config (an item table
//! and a chained category table, column split) gives the summary metrics of the same
//! run with `cache = "off"` (full shuffle), with the same spec, split and bad rows.

mod s9join_support;

use s9join_support::*;

#[test]
fn a_streamed_join_cache_trains_to_the_in_memory_metrics() {
    let dir = temp_dir("train");
    write_fixture(&dir, 3000, Bad::ALL_BUT_SET);
    std::fs::write(
        dir.join("run.toml"),
        config_text(COLUMN, "bad_rows = \"skip\""),
    )
    .unwrap();
    assert_trains_like_memory(&dir, "");
}
