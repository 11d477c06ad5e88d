//! The Taobao loader: the per-pair aggregation (counts, cut-off last line), bad values,
//! gzip, duplicates and several files.

mod loaders_support;

use loaders_support::*;
use mtrec::config::data::Loader;
use mtrec::config::{BadRows, DataConfig};
use mtrec::data::loaders::{load_table, taobao};
use std::path::PathBuf;

// ---------------------------------------------------------------------------------
// Taobao

/// Five events of three (user, item) pairs, then a line cut off mid-row.
const EVENTS: &[u8] = b"1,10,100,pv,1000\n1,10,100,cart,900\n1,11,101,pv,1100\n2,10,100,buy,1200\n1,10,100,pv,1300\n2,10";

fn taobao_cfg(policy: BadRows) -> DataConfig {
    DataConfig {
        files: vec!["ub.csv".into()],
        loader: Loader::Taobao,
        bad_rows: policy,
        ..Default::default()
    }
}

fn taobao_dir(tag: &str, bytes: &[u8]) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("ub.csv"), bytes).unwrap();
    dir
}

#[test]
fn taobao_aggregates_events_per_user_and_item() {
    let dir = taobao_dir("agg", EVENTS);
    let t = load_table(&taobao_cfg(BadRows::Skip), &dir, &[]).unwrap();
    assert_eq!(t.names, taobao::COLUMNS);
    assert_eq!(t.num_rows(), 3);
    //            user  item  cat    click cart fav  buy  first   n
    assert_eq!(
        row(&t, 0),
        ["1", "10", "100", "1", "1", "0", "0", "900", "3"]
    );
    assert_eq!(
        row(&t, 1),
        ["1", "11", "101", "1", "0", "0", "0", "1100", "1"]
    );
    assert_eq!(
        row(&t, 2),
        ["2", "10", "100", "0", "0", "0", "1", "1200", "1"]
    );
    // Each pair's source is its first event's line.
    assert_eq!(
        t.source.iter().map(|s| s.line).collect::<Vec<_>>(),
        [1, 3, 4]
    );
}

#[test]
fn taobao_cut_off_last_line_is_reported_under_skip() {
    let dir = taobao_dir("cut-skip", EVENTS);
    let t = load_table(&taobao_cfg(BadRows::Skip), &dir, &["n_events"]).unwrap();
    assert_eq!(t.skipped.count, 1);
    let s = &t.skipped.first[0];
    assert_eq!(s.line, 6);
    assert_eq!(s.text, "2,10");
    assert!(
        s.reason.contains("2 fields") && s.reason.contains("looks cut off"),
        "{}",
        s.reason
    );
    // The cut event counts in no pair.
    let n: u64 = texts(&t, "n_events")
        .iter()
        .map(|x| x.parse::<u64>().unwrap())
        .sum();
    assert_eq!(n, 5);
    assert!(
        t.skipped.report().contains("skipped 1 malformed row"),
        "{}",
        t.skipped.report()
    );
}

#[test]
fn taobao_cut_off_last_line_stops_the_run_under_error() {
    let dir = taobao_dir("cut-error", EVENTS);
    let msg = load_err(&taobao_cfg(BadRows::Error), &dir, &[]);
    assert!(msg.contains("ub.csv:6:1: row: 2 fields `2,10`"), "{msg}");
    assert!(msg.contains("looks cut off"), "{msg}");
    assert!(
        msg.contains("expected 5 fields (user, item, category, behavior, timestamp)"),
        "{msg}"
    );
}

#[test]
fn taobao_bad_values_name_the_field() {
    let dir = taobao_dir("behavior", b"1,10,100,pv,1000\n1,10,100,click,1001\n");
    let msg = load_err(&taobao_cfg(BadRows::Error), &dir, &[]);
    assert!(
        msg.contains(
            "ub.csv:2:4: field 4 (`behavior`): `click`; expected one of pv, cart, fav, buy"
        ),
        "{msg}"
    );
    let dir = taobao_dir("time", b"1,10,100,pv,soon\n");
    let msg = load_err(&taobao_cfg(BadRows::Error), &dir, &[]);
    assert!(
        msg.contains("ub.csv:1:5: field 5 (`timestamp`): `soon`; expected a whole number"),
        "{msg}"
    );
}

#[test]
fn taobao_reads_gzip_dedups_and_spans_files() {
    let dir = temp_dir("multi");
    std::fs::write(
        dir.join("a.csv.gz"),
        gzip(b"1,10,100,pv,1000\n1,10,100,pv,1000\n"),
    )
    .unwrap();
    std::fs::write(dir.join("b.csv"), b"1,10,100,fav,500\n3,12,102,pv,7\n").unwrap();
    let cfg = DataConfig {
        files: vec!["a.csv.gz".into(), "b.csv".into()],
        dedup: true,
        ..taobao_cfg(BadRows::Error)
    };
    let t = load_table(&cfg, &dir, &["user_id", "fav", "first_time", "n_events"]).unwrap();
    assert_eq!(t.skipped.duplicates, 1);
    assert_eq!(row(&t, 0), ["1", "1", "500", "2"]);
    assert_eq!(row(&t, 1), ["3", "0", "7", "1"]);
    assert_eq!((t.source[0].file, t.source[1].file), (0, 1));
}
