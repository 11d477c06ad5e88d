//! `data.dedup = true` in the streamed build: a row that repeats an earlier row
//! exactly is dropped, as the in-memory reader drops it (`ingest::reader`).
//!
//! ```text
//! parse (parallel)   every decoded row (not malformed; the funnel, the joins and the
//!                    value rules come later) ──row_hash──▶ (line, h):
//!                      CSV / TSV: all its fields, trimmed and unquoted (the reader's
//!                                 record)
//!                      Parquet:   the texts of the projected columns, the table's
//!                                 data-file columns (parquet.rs; the in-memory Parquet
//!                                 reader compares those texts, not the typed values)
//! pass 1 (in order)  h in Seen ─▶ a duplicate: counted, its line kept in ChunkInfo::dups,
//!                                 the row taken out of the chunk (drop_rows) before it
//!                                 is numbered, split, counted or listed as a bad row
//!                    else h added to Seen
//! pass 2             the chunk's rows minus ChunkInfo::dups: the rows pass 1 numbered
//! ```
//! So the kept rows, their numbers (the random split's draw), the skipped-row list and
//! the duplicate count are the in-memory path's. A row dropped by the funnel or a bad
//! value is still "seen" (the reader de-duplicates before those rules), so its repeats
//! are duplicates, not bad rows; so is a row whose key a side table lacks (`[[data.join]]`:
//! the reader de-duplicates before the join), and its repeats leave the join's dropped
//! rows with it.
//!
//! Memory: `Seen` holds 16 bytes per distinct row (a `HashSet<u128>`: with its control
//! bytes and load factor about 18–37 bytes a row: 1M rows ≈ 32 MB), and `dups` 4 bytes
//! per duplicate. The hash is the reader's: two independent 64-bit SipHash-1-3 hashes of
//! every field, so two distinct rows collide (and the later one is dropped as a
//! duplicate) with probability about n²/2¹²⁹ for n rows: below 10⁻²⁰ for 10⁹ rows.

use super::parse::Parsed;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// The reader's `row_hash` of a record's fields (every field of the file, in order).
pub(super) fn row_hash<'a>(fields: impl Iterator<Item = &'a [u8]>) -> u128 {
    let mut h1 = DefaultHasher::new();
    let mut h2 = DefaultHasher::new();
    0x9e37_79b9_7f4a_7c15u64.hash(&mut h2);
    for f in fields {
        f.hash(&mut h1);
        f.hash(&mut h2);
    }
    ((h1.finish() as u128) << 64) | h2.finish() as u128
}

/// The hashes of the rows kept so far (all files).
#[derive(Default)]
pub(super) struct Seen(HashSet<u128>);

impl Seen {
    /// The local lines of chunk `p`'s duplicates (ascending), adding its other rows'
    /// hashes; chunks come in file order.
    pub(super) fn duplicates(&mut self, p: &Parsed) -> Vec<u32> {
        (p.hashes.iter())
            .filter(|(_, h)| !self.0.insert(*h))
            .map(|&(line, _)| line)
            .collect()
    }
}

/// Takes the rows at the local lines `dups` (ascending) out of `p`: kept rows with all
/// their columns, and rows listed as dropped by the funnel or values rules.
pub(super) fn drop_rows(p: &mut Parsed, dups: &[u32]) {
    if dups.is_empty() {
        return;
    }
    let is_dup = |line: u64| dups.binary_search(&(line as u32)).is_ok();
    p.funnel.retain(|d| !is_dup(d.line));
    p.values.retain(|d| !is_dup(d.line));
    // a repeat of a row whose key a side table lacks is a duplicate, not a second
    // dropped row (the in-memory reader de-duplicates before joining)
    p.join_dropped.retain(|(_, d)| !is_dup(d.line));
    let n = p.rows();
    let keep: Vec<bool> = p.line.iter().map(|&l| !is_dup(l as u64)).collect();
    // new index of each kept row (for `missed`)
    let mut new_row = vec![u32::MAX; n];
    let mut k = 0;
    for (r, &kept) in keep.iter().enumerate() {
        if kept {
            new_row[r] = k;
            k += 1;
        }
    }
    fn compact<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
        let n = keep.len();
        if n == 0 || v.is_empty() {
            return;
        }
        let stride = v.len() / n; // (n, stride) row-major
        let mut w = 0;
        for (r, &kept) in keep.iter().enumerate() {
            if kept {
                v.copy_within(r * stride..(r + 1) * stride, w * stride);
                w += 1;
            }
        }
        v.truncate(w * stride);
    }
    compact(&mut p.line, &keep);
    compact(&mut p.cat, &keep);
    compact(&mut p.num, &keep);
    compact(&mut p.labels, &keep);
    compact(&mut p.mask, &keep);
    compact(&mut p.text, &keep);
    compact(&mut p.split.time, &keep);
    compact(&mut p.split.item, &keep);
    compact(&mut p.set, &keep);
    p.missed.retain(|m| keep[m.row as usize]);
    for m in &mut p.missed {
        m.row = new_row[m.row as usize];
    }
}
