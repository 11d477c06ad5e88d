//! The loaders on the real files in ../shared/data (ignored by default: run with
//! `MTREC_DATA=../shared/data cargo test --release --test loaders_real -- --ignored`).

mod loaders_support;

use loaders_support::*;
use mtrec::config::{BadRows, DataConfig, RunConfig};
use mtrec::data::ingest::RawTable;
use mtrec::data::loaders::load_table;
use std::collections::HashSet;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------
// The real data sets in ../shared/data (run with MTREC_DATA=../shared/data --ignored)

/// `MTREC_DATA`: the shared data folder (`../shared/data` from the project root).
fn shared_data() -> PathBuf {
    let dir = std::env::var("MTREC_DATA").unwrap_or_else(|_| {
        panic!("set MTREC_DATA to the shared data folder (e.g. MTREC_DATA=../shared/data) to run this test")
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "MTREC_DATA={} is not a folder; point it at ../shared/data",
        dir.display()
    );
    dir
}

/// The `[data]` section of a preset.
fn preset(file: &str) -> RunConfig {
    RunConfig::from_file(configs_dir().join(file), &[]).unwrap()
}

/// Rows per file of `t`, in file order.
fn rows_per_file(t: &RawTable) -> Vec<usize> {
    let mut n = vec![0; t.files.len()];
    for s in &t.source {
        n[s.file as usize] += 1;
    }
    n
}

fn distinct(t: &RawTable, name: &str) -> usize {
    t.column(name)
        .unwrap()
        .values
        .iter()
        .collect::<HashSet<_>>()
        .len()
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_movielens_100k() {
    let cfg = preset("movielens_mmoe.toml");
    let t = load_table(&cfg.data, &shared_data(), &[]).unwrap();
    assert_eq!(t.num_rows(), 100_000);
    assert_eq!(distinct(&t, "user_id"), 943);
    assert_eq!(distinct(&t, "item_id"), 1_682);
    assert!(t.skipped.is_empty(), "{}", t.skipped.report());
    let titles = texts(&t, "title");
    assert!(
        titles.iter().any(|x| x == "Misérables, Les (1995)"),
        "Latin-1 title not decoded"
    );
    let first = row(&t, 0); // u.data line 1: 196 242 3 881250949
    assert_eq!(&first[..4], ["196", "242", "3", "881250949"]);
    assert_eq!(first[8], "Kolya (1996)");
    assert_eq!(first[10], "Comedy");
    // With the preset's own needed columns.
    let t = load_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
    assert_eq!(t.num_rows(), 100_000);
    cfg.validate_columns(&t.names).unwrap();
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_taobao_pairs_and_cut_off_row() {
    let cfg = preset("taobao_mmoe.toml");
    assert_eq!(cfg.data.bad_rows, BadRows::Skip);
    let t = load_table(&cfg.data, &shared_data(), &[]).unwrap();
    eprintln!("taobao: {} (user, item) pairs", t.num_rows());
    eprint!("{}", t.skipped.report());
    assert_eq!(t.num_rows(), 63_988);
    assert_eq!(distinct(&t, "user_id"), 815);
    assert_eq!(t.skipped.count, 1);
    let cut = &t.skipped.first[0];
    assert_eq!(cut.line, 84_476);
    assert!(cut.reason.contains("cut off"), "{}", cut.reason);
    let sum = |name: &str| -> u64 {
        texts(&t, name)
            .iter()
            .map(|x| x.parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(sum("n_events"), 84_475);
    // Every pair has at least one behaviour; pairs with a page view ≤ 75,872 pv events.
    assert!(
        sum("click") <= 75_872 && sum("buy") <= 1_750,
        "click {} buy {}",
        sum("click"),
        sum("buy")
    );
    let error = DataConfig {
        bad_rows: BadRows::Error,
        ..cfg.data.clone()
    };
    let msg = load_err(&error, &shared_data(), &[]);
    assert!(
        msg.contains("UserBehavior-prefix.csv:84476:1: row: 4 fields"),
        "{msg}"
    );
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_samples_read_with_their_presets() {
    for (file, per_file) in [
        ("ali_ccp_esmm.toml", vec![100, 50, 50]),
        ("aliexpress_mmoe.toml", vec![100, 20]),
        ("kuairand_mmoe.toml", vec![200]),
    ] {
        let cfg = preset(file);
        let t = load_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
        assert_eq!(rows_per_file(&t), per_file, "{file}");
        assert!(t.skipped.is_empty(), "{file}: {}", t.skipped.report());
        cfg.validate_columns(&t.names)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_presets_go_through_the_feature_pipeline() {
    for file in [
        "movielens_mmoe.toml",
        "taobao_mmoe.toml",
        "ali_ccp_esmm.toml",
        "aliexpress_mmoe.toml",
        "kuairand_mmoe.toml",
    ] {
        let cfg = preset(file);
        let t = load_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
        let p = mtrec::data::features::prepare(
            &t,
            &cfg.features,
            &cfg.tasks,
            &cfg.split,
            &cfg.data.missing_values,
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        eprintln!("== {file}\n{}", p.report);
        assert_eq!(
            p.train.len() + p.valid.len() + p.test.len(),
            t.num_rows(),
            "{file}"
        );
        assert!(!p.train.is_empty() && !p.test.is_empty(), "{file}");
    }
}
