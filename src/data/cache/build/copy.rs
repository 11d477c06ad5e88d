//! Pass 2 of the one-pass build: the spill (spill.rs) copied into the set files, the
//! provisional ids mapped to the final ones on the way; no data file is read again.
//!
//! ```text
//! after pass 1   per feature: remap = provisional id → final id   (VocabFit::remap:
//!                the fitted encoder's lookup of each registered value, 0 → 0)
//! per chunk      read its record ──ids[f][code] = remap_f[prov_f[code]]──▶
//! (rayon)        encode::write_rows at the chunk's offsets (as pass 2 of the two-pass
//!                build writes a parsed chunk), text ids as they are, the numbers
//!                filled and scaled where fit_num.rs fitted them (scale.rs's `scaled`)
//! ```
//! A thread beside the copy starts the set files' write-back every 20 ms
//! (`SetFile::start_writeback`), so the disk writes run beside the copy instead of in
//! the build's closing fsync.
//! The set files' bytes are those of the two-pass build: the same rows, offsets and
//! writer; only where the numbers and codes come from differs (`tests/s11one_*.rs`).
//! Memory: the remap tables (4 bytes a registered value) and one record per thread.

use super::encode::{self, ChunkSpan, Rows, SetFile};
use super::pass1::ChunkInfo;
use super::spill::Spill;
use super::text;
use crate::error::{Error, Result};
use rayon::prelude::*;

/// What the copy pass maps through: per categorical feature and per multi-hot
/// feature, provisional id → final id; and the numeric features where their fill and
/// scaling are known before the copy (fit_num.rs), to write the numbers scaled.
pub(super) struct Remaps<'s> {
    pub cat: Vec<Vec<u32>>,
    pub bag: Vec<Vec<u32>>,
    pub scale: Option<&'s [crate::data::features::NumSpec]>,
}

/// Copies every chunk's record from `spill` into `sets` (`chunks`: pass 1's; `total`,
/// `bag_total`: the rows per set and ids per bag and set after the last chunk), the
/// last chunks first, cutting the spill behind them.
pub(super) fn copy(
    spill: &Spill,
    chunks: &[ChunkInfo],
    (total, bag_total): ([usize; encode::SETS], &[[usize; encode::SETS]]),
    remaps: &Remaps<'_>,
    sets: &[SetFile],
) -> Result<()> {
    // the spill's end before chunk c's records may go once chunks c.. are copied
    let mut keep = vec![0u64; chunks.len() + 1]; // keep[c]: max end of chunks 0..c
    for (c, info) in chunks.iter().enumerate() {
        let end = (info.spill.iter()).map(|r| r.0 + r.1).max().unwrap_or(0);
        keep[c + 1] = keep[c].max(end);
    }
    // the last chunks first, a batch at a time, the spill cut after each batch: its pages
    // go back to the page cache as the set files' pages are written (not both at once)
    let batch = super::chunks::batch_len();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // the write-back started beside the copy (blocking in this thread, not the copy's)
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                sets.iter().for_each(SetFile::start_writeback);
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        // set when the copy ends, by a return or a panic (else the scope, waiting for
        // the write-back thread, would hang instead of passing the panic on)
        let _stop = Stop(&done);
        copy_batches(
            spill,
            chunks,
            (total, bag_total),
            remaps,
            sets,
            &keep,
            batch,
        )
    })
}

/// Sets its flag when dropped.
struct Stop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// [`copy`]'s loop: the chunks a batch at a time, last first, the spill cut behind.
fn copy_batches(
    spill: &Spill,
    chunks: &[ChunkInfo],
    (total, bag_total): ([usize; encode::SETS], &[[usize; encode::SETS]]),
    remaps: &Remaps<'_>,
    sets: &[SetFile],
    keep: &[u64],
    batch: usize,
) -> Result<()> {
    let mut hi = chunks.len();
    while hi > 0 {
        let lo = hi.saturating_sub(batch);
        (lo..hi)
            .into_par_iter()
            .try_for_each(|c| copy_chunk(spill, chunks, c, (total, bag_total), remaps, sets))?;
        spill.cut(keep[lo])?;
        hi = lo;
    }
    Ok(())
}

/// Copies chunk `c`'s record (as [`copy`]).
fn copy_chunk(
    spill: &Spill,
    chunks: &[ChunkInfo],
    c: usize,
    (total, bag_total): ([usize; encode::SETS], &[[usize; encode::SETS]]),
    remaps: &Remaps<'_>,
    sets: &[SetFile],
) -> Result<()> {
    let info = &chunks[c];
    let rec = spill.read(info.spill)?;
    let bad = || damaged(spill);
    let map = |remap: &[u32], prov: &[u32]| -> Result<Vec<u32>> {
        (prov.iter())
            .map(|&p| remap.get(p as usize).copied().ok_or_else(bad))
            .collect()
    };
    let ids: Vec<Vec<u32>> = (rec.prov.iter().zip(&remaps.cat))
        .map(|(prov, remap)| map(remap, prov))
        .collect::<Result<_>>()?;
    let lists: Vec<Vec<Vec<u32>>> = (rec.lists.iter().zip(&remaps.bag))
        .map(|(cells, remap)| cells.iter().map(|l| map(remap, l)).collect())
        .collect::<Result<_>>()?;
    if ids.len() != remaps.cat.len() || lists.len() != remaps.bag.len() {
        return Err(bad());
    }
    let span = match chunks.get(c + 1) {
        Some(next) => ChunkSpan {
            end: next.offsets,
            bag_end: &next.bag_offsets,
        },
        None => ChunkSpan {
            end: total,
            bag_end: bag_total,
        },
    };
    let rows = Rows {
        line: &rec.line,
        cat: &rec.cat,
        stride: ids.len() + lists.len(),
        num: &rec.num,
        labels: &rec.labels,
        mask: &rec.mask,
    };
    let at = (info, &span);
    let ids = (&ids[..], &lists[..]);
    encode::write_rows(
        &rows,
        &rec.sets,
        at,
        ids,
        remaps.scale,
        sets,
        info.file,
        bad,
    )?;
    text::write_ids(&rec.text, &rec.sets, info.offsets, sets)
}

pub(super) fn damaged(spill: &Spill) -> Error {
    Error::Io {
        path: spill.path().display().to_string(),
        message: "the build's spill file does not match what pass 1 counted (changed by another process?); delete the cache folder and run again".into(),
    }
}
