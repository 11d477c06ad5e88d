//! Issue #17 §1: the temporal and item_holdout splits streamed with `[[data.join]]` (an
//! item table and a chained category table; the s9join fixture, whose times repeat):
//! the cache folder is the in-memory build's byte for byte at 1–3 threads; a numeric
//! feature's first missing training cell under `missing = "error"` is found in time
//! order, as `NumSpec::fit` finds it; `mtrec train` from the streamed cache gives the
//! `cache = "off"` run's metrics (cold ones included) and says it streamed. One file,
//! tests run one at a time: they set the process's environment.

mod s9join_support;

use mtrec::data::rows::Rows;
use s9join_support::*;
use std::sync::Mutex;

static ENV: Mutex<()> = Mutex::new(());

const TEMPORAL: &str = "kind = \"temporal\"\ntime_column = \"time\"\ntrain = 0.6\nvalid = 0.2";
const HOLDOUT: &str =
    "kind = \"item_holdout\"\nitem_column = \"item\"\nholdout = 0.25\nseed = 3\ntrain = 0.6\nvalid = 0.2";

#[test]
fn joined_temporal_and_item_holdout_caches_are_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-bytes");
    write_fixture(&dir, 3000, Bad::ALL_BUT_SET);
    for (split, tag) in [(TEMPORAL, "temporal"), (HOLDOUT, "holdout")] {
        let cfg = config(&dir, &config_text(split, "bad_rows = \"skip\""));
        let (sets, _) = assert_streams_to_memory_bytes(&cfg, &dir, tag);
        if tag == "holdout" {
            assert!(sets.cold.len() > 100, "{} cold rows", sets.cold.len());
        }
    }
}

#[test]
fn the_first_missing_training_cell_is_found_in_time_order() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-missing");
    write_fixture(&dir, 3000, Bad::ALL_BUT_SET);
    let text = config_text(TEMPORAL, "bad_rows = \"skip\"").replace(
        "name = \"price\"\nkind = \"numeric\"",
        "name = \"price\"\nkind = \"numeric\"\nmissing = \"error\"",
    );
    let cfg = config(&dir, &text);
    let msg = assert_same_error(&cfg, &dir, "cache");
    assert!(msg.contains("price"), "{msg}");
    // the first missing price in the file (row 3, line 5) is not the first in time
    assert!(!msg.contains("log.csv:5:"), "{msg}");
}

#[test]
fn streamed_temporal_and_item_holdout_caches_train_to_the_in_memory_metrics() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-train");
    write_fixture(&dir, 3000, Bad::ALL_BUT_SET);
    for (split, tag) in [(TEMPORAL, "temporal"), (HOLDOUT, "holdout")] {
        let text = config_text(split, "bad_rows = \"skip\"");
        std::fs::write(dir.join("run.toml"), text).unwrap();
        let (a, _) = assert_trains_like_memory(&dir, &format!("{tag}-"));
        if tag == "holdout" {
            let s = a.to_string();
            assert!(s.contains("cold"), "{tag}: no cold metrics in {s}");
        }
    }
}
