//! Helpers of the feature-pipeline tests (`tests/features_*.rs`): temporary CSV tables,
//! feature and task configurations, and the small table most of them encode.
#![allow(dead_code)] // each test file uses a part

use mtrec::config::{DataConfig, FeatureConfig, FeatureKind, Missing, Scale, TaskConfig, TaskType};
use mtrec::data::ingest::{read_file, RawTable};
use mtrec::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder in the temp directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mtrec-features-{}-{n}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn header_cfg() -> DataConfig {
    DataConfig {
        header: true,
        ..Default::default()
    }
}

/// A table read from a CSV file with a header line.
pub fn table(tag: &str, csv: &str) -> (RawTable, PathBuf) {
    let path = temp_dir(tag).join("data.csv");
    std::fs::write(&path, csv).unwrap();
    (read_file(&path, &header_cfg(), &[]).unwrap(), path)
}

pub fn feature(name: &str, kind: FeatureKind) -> FeatureConfig {
    FeatureConfig {
        name: name.into(),
        kind,
        dim: 4,
        min_count: 1,
        hash_buckets: 0,
        separator: "|".into(),
        scale: Scale::Standard,
        missing: None,
        text: None,
    }
}

pub fn categorical(name: &str) -> FeatureConfig {
    feature(name, FeatureKind::Categorical)
}

pub fn numeric(name: &str, scale: Scale, missing: Missing) -> FeatureConfig {
    FeatureConfig {
        scale,
        missing: Some(missing),
        ..feature(name, FeatureKind::Numeric)
    }
}

pub fn task(name: &str, column: &str) -> TaskConfig {
    TaskConfig {
        name: name.into(),
        kind: TaskType::Binary,
        column: column.into(),
        positive: Vec::new(),
        threshold: None,
        weight: 1.0,
    }
}

pub fn missing_values() -> Vec<String> {
    vec!["".into(), "?".into(), "NA".into()]
}

pub fn column_of(e: &mtrec::data::features::Encoded, f: usize) -> Vec<u32> {
    (0..e.len()).map(|r| e.cat[r * e.n_cat + f]).collect()
}

pub fn expect_err<T: std::fmt::Debug>(r: mtrec::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}
pub fn small_table() -> RawTable {
    table(
        "small.csv",
        "c,g,x,label\nred,A|B,1,1\nblue,B,2,0\nred,,3,1\ngreen,C|A,4,0\nblue,A,5,?\n",
    )
    .0
}

pub fn small_features() -> Vec<FeatureConfig> {
    vec![
        FeatureConfig {
            dim: 3,
            ..categorical("c")
        },
        numeric("x", Scale::Standard, Missing::Mean),
        FeatureConfig {
            dim: 2,
            ..feature("g", FeatureKind::MultiHot)
        },
    ]
}
