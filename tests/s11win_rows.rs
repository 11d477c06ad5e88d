//! The window reader's row-major slots (src/data/cache/window.rs, read.rs): a chunk is
//! read a piece at a time into a column-major scratch and transposed into one record
//! per row; batches gathered from those records must equal, bit for bit, the batches of
//! the memory-mapped reference reader (`batch_mapped`) and of the rows in memory, for
//! chunks split into several pieces, pieces with a partial last tile, a partial last
//! chunk, one-row chunks, text columns, multi-hot bags and every order. A transpose
//! that misplaces one value (a wrong row, column or piece offset) changes some batch.

mod s10rss_support;

use mtrec::data::cache::{CachedSet, EpochOrder};
use mtrec::data::features::{Encoded, EncodedBatch};
use mtrec::data::rows::Rows;
use s10rss_support::{encoded, mix, written, TempDir};

/// `a == b` with every f32 compared by its bits.
fn assert_same(a: &EncodedBatch, b: &EncodedBatch, what: &str) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let all_bits = |vv: &[Vec<f32>]| vv.iter().map(|v| bits(v)).collect::<Vec<_>>();
    assert_eq!((a.rows, a.n_num), (b.rows, b.n_num), "{what}: sizes");
    assert_eq!(a.cat, b.cat, "{what}: categorical ids");
    assert_eq!(bits(&a.num), bits(&b.num), "{what}: numeric values");
    assert_eq!(a.bags, b.bags, "{what}: multi-hot lists");
    assert_eq!(all_bits(&a.labels), all_bits(&b.labels), "{what}: labels");
    assert_eq!(all_bits(&a.mask), all_bits(&b.mask), "{what}: masks");
    assert_eq!(all_bits(&a.text), all_bits(&b.text), "{what}: text vectors");
    assert_eq!(a, b, "{what}");
}

fn epoch(n: usize, batch: usize, block: usize, window: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut o = EpochOrder::new(n, batch, block, window, seed);
    let mut v = Vec::new();
    while let Some(b) = o.next_batch() {
        v.push(b.to_vec());
    }
    v
}

fn orders(n: usize) -> Vec<(&'static str, Vec<Vec<usize>>)> {
    vec![
        ("epoch order", epoch(n, 512, 1000, 4000, 1)),
        (
            "epoch, 16,384-row blocks",
            epoch(n, 1024, 16_384, 32_768, 2),
        ),
        (
            "sequential",
            (0..n)
                .step_by(700)
                .map(|s| (s..(s + 700).min(n)).collect())
                .collect(),
        ),
        (
            "random rows with repeats",
            (0..6u64)
                .map(|b| {
                    (0..900u64)
                        .map(|i| (mix(b, i) % n as u64) as usize)
                        .collect()
                })
                .collect(),
        ),
        ("every row, backwards", vec![(0..n).rev().collect()]),
    ]
}

/// Every order, read through chunks of `rows` rows with `cap` kept, against the map.
fn same_as_mapped(set: &CachedSet, n: usize, chunks: &[(usize, usize)], tag: &str) {
    let (mut a, mut b) = (EncodedBatch::default(), EncodedBatch::default());
    for &(rows, cap) in chunks {
        for (what, batches) in orders(n) {
            set.read_in_chunks(rows, cap);
            for (i, r) in batches.iter().enumerate() {
                set.batch(r, &mut a);
                set.batch_mapped(r, &mut b);
                let w = format!("{tag}, {what}, chunks of {rows} rows ({cap} kept), batch {i}");
                assert_same(&a, &b, &w);
            }
        }
    }
}

#[test]
fn chunks_in_several_pieces_equal_the_mapped_reader() {
    let dir = TempDir::new("s11win-pieces");
    // 8 cat + 12 num + 2 labels + 2 masks + 1 text id = 25 four-byte columns: 100 bytes a
    // row, so a 16,384-row chunk is read in two pieces (10,485 rows fill the 1 MiB
    // scratch; 10,485 is not a multiple of the 64-row tile); 40,000 rows leave a short
    // last chunk of 7,232 rows (one piece)
    let n = 40_000;
    let e = encoded(n, 8, 12, 2, 2, 3);
    let set = written(&dir, "train", &e);
    let chunks = [
        (16_384, 3), // two pieces a chunk, a window of chunks kept
        (16_384, 1), // each batch evicts what it read
        (10_485, 2), // exactly one full piece
        (10_486, 2), // one piece and a one-row piece
        (5000, 4),   // one piece, not a multiple of the tile
        (64, 40),    // one tile
        (1, 2000),   // one-row chunks
        (40_000, 1), // the whole set in one chunk of four pieces
        (65_536, 1), // a chunk longer than the set
    ];
    same_as_mapped(&set, n, &chunks, "25 columns");
}

#[test]
fn very_wide_rows_are_read_one_tile_per_piece() {
    // 4,100 numeric columns: a 64-row tile alone is 1 MiB, so each piece is one tile
    let dir = TempDir::new("s11win-wide");
    let n = 300;
    let e = encoded(n, 2, 4100, 1, 1, 0);
    let set = written(&dir, "train", &e);
    same_as_mapped(&set, n, &[(128, 2), (300, 1), (97, 3)], "4,106 columns");
}

#[test]
fn narrow_rows_without_text_or_bags_equal_the_mapped_reader() {
    // one categorical column and one task: 3 words a row
    let dir = TempDir::new("s11win-narrow");
    let n = 20_001;
    let e = encoded(n, 1, 0, 1, 0, 0);
    let set = written(&dir, "train", &e);
    same_as_mapped(&set, n, &[(16_384, 2), (333, 5)], "3 columns");
}

#[test]
fn training_windows_equal_the_rows_in_memory() {
    // the reader of a run's shuffle settings, against the encoded rows it was written from
    let dir = TempDir::new("s11win-memory");
    let n = 50_000;
    let e: Encoded = encoded(n, 16, 20, 2, 1, 4);
    let set = written(&dir, "train", &e);
    let (mut a, mut b) = (EncodedBatch::default(), EncodedBatch::default());
    for (block, window, batch) in [(16_384, 32_768, 1024), (5000, 20_000, 333)] {
        set.read_in_windows(block, window);
        for (i, rows) in epoch(n, batch, block, window, 5).iter().enumerate() {
            set.batch(rows, &mut a);
            e.batch(rows, &mut b);
            assert_same(
                &a,
                &b,
                &format!("window {window} of {block}-row blocks, batch {i}"),
            );
        }
    }
}
