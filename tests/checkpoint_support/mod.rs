//! Helpers of the checkpoint tests (`tests/checkpoint_*.rs`): scratch folders, bit
//! comparisons of stores, error texts and a store of awkward values.
#![allow(dead_code)] // each test file uses a part

use mtrec::autograd::ParamStore;
use std::fs;
use std::path::{Path, PathBuf};

/// A fresh, empty scratch folder for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtrec-ckpt-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

pub fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

pub fn assert_stores_bit_equal(a: &ParamStore, b: &ParamStore) {
    assert_eq!(a.len(), b.len());
    for id in a.ids() {
        assert_eq!(a.info(id), b.info(id));
        assert_eq!(
            bits(a.value(id)),
            bits(b.value(id)),
            "parameter `{}` differs",
            a.info(id).name
        );
    }
}

pub fn err_text<T: std::fmt::Debug>(r: mtrec::Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// A store with dense and table parameters holding awkward values (−0, subnormals, extremes).
pub fn awkward_store(fill: f32) -> ParamStore {
    let mut s = ParamStore::new();
    let special = [
        -0.0,
        f32::MIN_POSITIVE / 8.0,
        f32::MAX,
        f32::MIN,
        1.0 / 3.0,
        -1e-30,
    ];
    let vals = |n: usize, k: usize| -> Vec<f32> {
        (0..n)
            .map(|i| {
                if fill.is_nan() {
                    special[(i + k) % special.len()] * if i % 4 == 0 { 1.0 } else { 0.37 }
                } else {
                    fill
                }
            })
            .collect()
    };
    s.add_dense("mlp.0.w", 3, 4, vals(12, 0)).unwrap();
    s.add_dense("mlp.0.b", 1, 4, vals(4, 1)).unwrap();
    s.add_table("emb.user.table", 7, 3, vals(21, 2)).unwrap();
    s.add_dense("head.0.w", 4, 1, vals(4, 3)).unwrap();
    s
}
