//! Issue #17 §1: `[[data.join]]` (chained) and `[split] kind = "column"` stream in the
//! cache build with the in-memory path's result: the same spec, rows, sets, report,
//! skipped rows (malformed, missing join keys, bad values in between) and first error.

mod s9join_support;

use mtrec::data::rows::Rows;
use s9join_support::*;

#[test]
fn a_chained_join_streams_like_the_in_memory_join() {
    let dir = temp_dir("join");
    let bad = Bad {
        malformed: true,
        missing_item: true,
        missing_category: true,
        number: true,
        set: false,
    };
    write_fixture(&dir, 3000, bad);
    let cfg = config(&dir, &config_text(RANDOM, "bad_rows = \"skip\""));
    let sets = assert_same(&cfg, &dir, "cache");
    assert!(sets.train.len() > 1500);
    let (_, skipped) = in_memory(&cfg, &dir).unwrap();
    // malformed, missing item, missing category (chained), bad price: in that order
    let reasons: Vec<&str> = skipped.first.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(skipped.count, 4, "{reasons:?}");
    assert!(reasons[1].contains("`i999` is not a key"), "{reasons:?}");
    assert!(reasons[2].contains("`c99` is not a key"), "{reasons:?}");
    assert!(reasons[3].contains("price"), "{reasons:?}");
}

#[test]
fn a_column_split_with_a_join_streams_like_the_in_memory_split() {
    let dir = temp_dir("column");
    let bad = Bad {
        malformed: true,
        missing_item: true,
        number: true,
        ..Default::default()
    };
    write_fixture(&dir, 2500, bad);
    let cfg = config(&dir, &config_text(COLUMN, "bad_rows = \"skip\""));
    let sets = assert_same(&cfg, &dir, "cache");
    assert!(sets.valid.len() > 300 && sets.test.len() > 300);
}

#[test]
fn an_unknown_set_is_the_in_memory_error() {
    let dir = temp_dir("set");
    let bad = Bad {
        number: true,
        set: true,
        ..Default::default()
    };
    write_fixture(&dir, 2000, bad);
    let cfg = config(&dir, &config_text(COLUMN, "bad_rows = \"skip\""));
    let e = assert_same_error(&cfg, &dir, "cache");
    assert!(e.contains("training"), "{e}");
}

#[test]
fn a_key_the_side_table_lacks_is_the_in_memory_error() {
    let dir = temp_dir("errors");
    // both joins lack a key: the first join's miss is the error, as in memory
    let bad = Bad {
        missing_item: true,
        missing_category: true,
        ..Default::default()
    };
    write_fixture(&dir, 2000, bad);
    let cfg = config(&dir, &config_text(RANDOM, ""));
    let e = assert_same_error(&cfg, &dir, "cache");
    assert!(
        e.contains("`i999` is not a key") && e.contains("data.join[0]"),
        "{e}"
    );
    // only the chained miss: an error naming the second join
    let bad = Bad {
        missing_category: true,
        number: true,
        ..Default::default()
    };
    write_fixture(&dir, 2000, bad);
    let cfg = config(&dir, &config_text(RANDOM, ""));
    let e = assert_same_error(&cfg, &dir, "cache2");
    assert!(
        e.contains("`c99` is not a key") && e.contains("data.join[1]"),
        "{e}"
    );
}
