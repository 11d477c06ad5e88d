//! Helpers of the data-set loader tests (`tests/loaders_*.rs`): temporary folders, gzip,
//! reading a loaded table's columns and rows, and the presets folder.
#![allow(dead_code)] // each test file uses a part

use mtrec::config::DataConfig;
use mtrec::data::ingest::RawTable;
use mtrec::data::loaders::load_table;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty folder in the temp folder.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mtrec-loaders-{}-{n}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn texts(t: &RawTable, name: &str) -> Vec<String> {
    let c = t
        .column(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", t.names));
    (0..c.len()).map(|r| c.get(r).to_string()).collect()
}

pub fn row(t: &RawTable, r: usize) -> Vec<String> {
    t.columns.iter().map(|c| c.get(r).to_string()).collect()
}

pub fn load_err(cfg: &DataConfig, dir: &Path, needed: &[&str]) -> String {
    match load_table(cfg, dir, needed) {
        Ok(t) => panic!("expected an error, read {} rows", t.num_rows()),
        Err(e) => e.to_string(),
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}
