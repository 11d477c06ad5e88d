//! The cached set's batch reader: `pread` into resident chunks (src/data/cache/window.rs,
//! read.rs) gives exactly the batches of the memory-mapped reference reader, for every
//! chunk size and number of chunks kept (eviction in the middle of a batch included), in
//! the training order, in sequential order and in random order; the column scans give the
//! set's values; the resident chunks stay within what they are allowed.

mod s10rss_support;

use mtrec::data::cache::{CachedSet, EpochOrder};
use mtrec::data::features::{Encoded, EncodedBatch};
use mtrec::data::rows::Rows;
use s10rss_support::{encoded, mix, written, TempDir};

/// Every batch of `batches` read both ways must be equal (bit for bit: f32 compared by
/// bits through `EncodedBatch`'s `PartialEq` on values that are never NaN).
fn same_batches(set: &CachedSet, batches: &[Vec<usize>], what: &str) {
    let (mut a, mut b) = (EncodedBatch::default(), EncodedBatch::default());
    for (i, rows) in batches.iter().enumerate() {
        set.batch(rows, &mut a);
        set.batch_mapped(rows, &mut b);
        assert_eq!(a, b, "{what}: batch {i} ({} rows) differs", rows.len());
        let bits = |x: &EncodedBatch| x.num.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{what}: batch {i}");
    }
}

fn epoch(n: usize, batch: usize, block: usize, window: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut o = EpochOrder::new(n, batch, block, window, seed);
    let mut v = Vec::new();
    while let Some(b) = o.next_batch() {
        v.push(b.to_vec());
    }
    v
}

fn sequential(n: usize, batch: usize) -> Vec<Vec<usize>> {
    (0..n)
        .step_by(batch)
        .map(|s| (s..(s + batch).min(n)).collect())
        .collect()
}

fn random(n: usize, batch: usize, count: usize) -> Vec<Vec<usize>> {
    (0..count as u64)
        .map(|b| {
            (0..batch as u64)
                .map(|i| (mix(b, i) % n as u64) as usize)
                .collect()
        })
        .collect()
}

#[test]
fn chunked_batches_equal_the_mapped_reader() {
    let dir = TempDir::new("window");
    let n = 5003; // not a multiple of any chunk: the last chunk is short
    let e = encoded(n, 3, 2, 2, 2, 3);
    let set = written(&dir, "train", &e);
    let orders = [
        ("epoch, window of 4 blocks", epoch(n, 64, 100, 400, 1)),
        (
            "epoch, blocks not aligned to chunks",
            epoch(n, 100, 300, 900, 2),
        ),
        ("sequential", sequential(n, 128)),
        ("random rows, repeats", random(n, 200, 20)),
        ("one batch of all rows", vec![(0..n).rev().collect()]),
    ];
    // (chunk rows, chunks kept): one chunk kept (every batch evicts what it just read),
    // fewer kept than a window needs, as many as the window, more than the set has
    for (rows, cap) in [
        (64, 1),
        (100, 3),
        (100, 4),
        (128, 8),
        (1000, 2),
        (16_384, 4),
        (7, 1000),
    ] {
        for (what, batches) in &orders {
            set.read_in_chunks(rows, cap);
            same_batches(
                &set,
                batches,
                &format!("{what}, chunks of {rows} rows, {cap} kept"),
            );
        }
    }
    // the training reader of a run's shuffle settings
    for (block, window) in [(100, 400), (300, 900), (16_384, 262_144)] {
        set.read_in_windows(block, window);
        same_batches(
            &set,
            &epoch(n, 64, block, window, 3),
            &format!("read_in_windows({block}, {window})"),
        );
    }
}

#[test]
fn chunked_batches_equal_the_rows_in_memory() {
    // the mapped twin itself against the encoded rows it was written from
    let dir = TempDir::new("memory");
    let n = 777;
    let e: Encoded = encoded(n, 2, 3, 2, 1, 2);
    let set = written(&dir, "valid", &e);
    set.read_in_chunks(50, 2);
    let (mut a, mut b) = (EncodedBatch::default(), EncodedBatch::default());
    for rows in epoch(n, 32, 50, 200, 9) {
        set.batch(&rows, &mut a);
        e.batch(&rows, &mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn column_scans_equal_the_rows() {
    let dir = TempDir::new("scans");
    let n = 70_001; // more than one 65,536-word scan segment
    let e = encoded(n, 2, 1, 2, 0, 0);
    let set = written(&dir, "test", &e);
    for t in 0..2 {
        let (y, m) = set.task_column(t);
        assert_eq!(y, (0..n).map(|r| e.labels[r * 2 + t]).collect::<Vec<_>>());
        assert_eq!(m, (0..n).map(|r| e.mask[r * 2 + t]).collect::<Vec<_>>());
        let (mut y, mut m) = (Vec::new(), Vec::new());
        set.task_range(t, 65_000..70_001, &mut y, &mut m);
        assert_eq!(
            y,
            (65_000..n).map(|r| e.labels[r * 2 + t]).collect::<Vec<_>>()
        );
        assert_eq!(
            m,
            (65_000..n).map(|r| e.mask[r * 2 + t]).collect::<Vec<_>>()
        );
    }
    let mut c = Vec::new();
    set.cat_range(1, 3..66_000, &mut c);
    assert_eq!(c, (3..66_000).map(|r| e.cat[r * 2 + 1]).collect::<Vec<_>>());
    set.cat_range(0, 5..5, &mut c);
    assert!(c.is_empty());
}

#[test]
fn the_reader_holds_at_most_the_chunks_it_keeps() {
    let dir = TempDir::new("bytes");
    let n = 20_000;
    let e = encoded(n, 4, 4, 2, 0, 0); // 12 four-byte columns: 48 bytes a row
    let set = written(&dir, "train", &e);
    let chunk = 48 * 1000;
    set.read_in_chunks(1000, 3);
    let mut b = EncodedBatch::default();
    for rows in epoch(n, 100, 1000, 3000, 5) {
        set.batch(&rows, &mut b);
        assert!(
            set.reader_bytes() <= 3 * chunk,
            "{} bytes held",
            set.reader_bytes()
        );
    }
    assert_eq!(
        set.reader_bytes(),
        3 * chunk,
        "a window's three chunks stay resident"
    );
    // a batch of every row holds all chunks while it runs, then gives back all but three
    set.batch(&(0..n).collect::<Vec<_>>(), &mut b);
    assert!(
        set.reader_bytes() <= 3 * chunk,
        "{} bytes held",
        set.reader_bytes()
    );
    // a full shuffle reads through the map: no chunks
    set.read_in_windows(1000, 0);
    set.batch(&[1, 2, 3], &mut b);
    assert_eq!(set.reader_bytes(), 0);
}
