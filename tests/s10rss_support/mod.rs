//! Fixtures of the s10rss tests (`mod s10rss_support;`): a seeded encoded set written as a
//! cache file in a temp folder that is removed when the fixture is dropped.

#![allow(dead_code)] // each test file uses a part

use mtrec::data::cache::{write_set, CachedSet};
use mtrec::data::features::{Bags, Encoded, TextRows};
use mtrec::data::ingest::RowSource;
use std::path::PathBuf;
use std::sync::Arc;

/// A temp folder, removed on drop (also when a test fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("mtrec-s10rss-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// splitmix64: the fixtures' values, a function of (seed, i) only.
pub fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// N rows of F_cat ids, F_num numerics, K tasks (labels, masks), `n_bag` multi-hot
/// features with 0–4 ids a row, and `text_dim` > 0: one text feature of 7 texts.
pub fn encoded(
    n: usize,
    fc: usize,
    fnum: usize,
    k: usize,
    n_bag: usize,
    text_dim: usize,
) -> Encoded {
    let mut e = Encoded::empty(fc, n_bag, fnum, k);
    let mut i = 0u64;
    let mut next = || {
        i += 1;
        mix(17, i)
    };
    e.cat = (0..n * fc).map(|_| (next() % 1000) as u32).collect();
    e.num = (0..n * fnum)
        .map(|_| (next() % 10_000) as f32 / 77.0 - 50.0)
        .collect();
    e.labels = (0..n * k).map(|_| (next() % 2) as f32).collect();
    e.mask = (0..n * k).map(|_| (next() % 5 != 0) as u8 as f32).collect();
    e.source = (0..n)
        .map(|r| RowSource {
            file: (r % 3) as u32,
            line: r as u64 + 2,
        })
        .collect();
    e.bags = (0..n_bag)
        .map(|_| {
            let mut b = Bags::default();
            for _ in 0..n {
                let len = (next() % 5) as usize;
                let list: Vec<u32> = (0..len).map(|_| (next() % 50) as u32).collect();
                b.push(&list);
            }
            b
        })
        .collect();
    if text_dim > 0 {
        e.text = vec![TextRows {
            dim: text_dim,
            table: Arc::new(text_table(text_dim)),
            ids: (0..n).map(|_| (next() % 7) as u32).collect(),
        }];
    }
    e
}

/// The (7, D) text table of [`encoded`].
pub fn text_table(dim: usize) -> Vec<f32> {
    (0..7 * dim).map(|i| i as f32 * 0.5 - 3.0).collect()
}

/// `e` written to `dir/name.bin` and opened (its text table attached).
pub fn written(dir: &TempDir, name: &str, e: &Encoded) -> CachedSet {
    let path = dir.0.join(format!("{name}.bin"));
    write_set(&path, e).unwrap();
    let mut set = CachedSet::open(&path).unwrap();
    let tables = (e.text.iter()).map(|t| (t.dim, t.table.clone())).collect();
    set.attach_texts(tables).unwrap();
    set
}
