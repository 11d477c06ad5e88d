//! After pass 2: the numeric features' fill and scaling statistics, computed from the
//! training set's column exactly as `features::NumSpec::fit` computes them (the same
//! f64 sums in the same row order, so the same bits), then every set's column filled
//! and scaled in place: `x' = ((x or fill) − center) / spread`, in f64, stored as f32.
//! Also the prepared-data report's counts, from the written columns. The set files are
//! memory-mapped: the columns are read and rewritten in place, never copied (reading
//! them through `pread`/`pwrite` segments with a per-word iterator cost 0.9 s of the
//! 2M-row build).

use super::encode::SetFile;
use crate::data::features::numeric::fit_stats;
use crate::data::features::report::{self, SetCounts, TaskCounts};
use crate::data::features::{FeatureSpec, NumSpec};
use crate::error::Result;

/// The little-endian f32 words of a byte slice.                         (len / 4,)
fn floats(col: &[u8]) -> impl Iterator<Item = f32> + '_ {
    (col.chunks_exact(4)).map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// Fits `spec` (its fill, center and spread) on `col`, the training set's column, as
/// `NumSpec::fit` does over the training rows.
fn fit(spec: &mut NumSpec, col: &[u8]) {
    let x = || floats(col); // (N_train,), NaN = missing
    (spec.fill, spec.center, spec.spread) = fit_stats(x, spec.missing, spec.scale);
}

/// One number filled and scaled with `spec`: `x' = ((x or fill) − center) / spread` in
/// f64, stored as f32 (`NumSpec::encode`'s); also the copy pass's (encode::write_rows).
pub(super) fn scaled(spec: &NumSpec, x: f32) -> f32 {
    let v = if x.is_nan() { spec.fill } else { x as f64 };
    ((v - spec.center) / spec.spread) as f32
}

/// Fills and scales `col` (one set's column) in place with `spec` ([`scaled`]).
fn apply(spec: &NumSpec, col: &mut [u8]) {
    for w in col.chunks_exact_mut(4) {
        let v = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        w.copy_from_slice(&scaled(spec, v).to_le_bytes());
    }
}

/// A set file mapped for reading and writing in place.
fn map_mut(set: &SetFile) -> Result<memmap2::MmapMut> {
    // SAFETY: the set file is this build's own, in its temp folder, written by no one
    // else while mapped (pass 2 has finished; the map is dropped before `sync_all`).
    unsafe { memmap2::MmapMut::map_mut(&set.file) }.map_err(|e| super::encode::io_err(&set.path, e))
}

/// The numeric columns of a mapped set, each `(N_s,)` f32 as bytes.
fn num_columns<'m>(map: &'m mut [u8], set: &SetFile) -> Vec<&'m mut [u8]> {
    let (lay, n) = (set.lay, set.lay.n);
    let region = &mut map[lay.num(0)..lay.num(lay.n_num)];
    if n == 0 {
        return (0..lay.n_num).map(|_| Default::default()).collect();
    }
    region.chunks_exact_mut(4 * n).collect()
}

/// Hands the pages of `map[off..off + len]` back to the kernel (`madvise(DONTNEED)`), so
/// the mapped columns a pass has finished do not stay in the process's resident set:
/// without it scaling the 40M-row file held all 13 GB of its cache resident (peak RSS
/// 9.9 GB). The map is shared, so written pages stay in the page cache, dirty, and reach
/// the file; the next access reads them back from there.
fn release(map: &memmap2::MmapMut, off: usize, len: usize) {
    #[cfg(unix)]
    // SAFETY: a shared file mapping (`MmapMut::map_mut`): dropping its pages loses no
    // write (the page cache keeps them), and no slice of this range is alive here.
    unsafe {
        let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, off, len);
    }
    #[cfg(not(unix))]
    let _ = (map, off, len);
}

/// Fits every numeric feature of `spec` on `sets[0]` (train) and scales every set, in
/// place through memory maps: one column per task, the columns of all sets in parallel,
/// a wave of as many features as threads at a time, each wave's pages released after it
/// (so the resident pages are a wave's columns, not the cache).
pub(super) fn scale_numeric(spec: &mut FeatureSpec, sets: &[SetFile]) -> Result<()> {
    use rayon::prelude::*;
    let mut maps: Vec<memmap2::MmapMut> = sets.iter().map(map_mut).collect::<Result<_>>()?;
    let n_num = spec.numeric.len();
    let wave = rayon::current_num_threads().max(1);
    for start in (0..n_num).step_by(wave) {
        let end = (start + wave).min(n_num);
        {
            // per set, its columns start..end; then per feature, its column of each set
            let mut per_set: Vec<std::vec::IntoIter<&mut [u8]>> = (maps.iter_mut().zip(sets))
                .map(|(m, s)| {
                    let mut cols = num_columns(m, s);
                    cols.truncate(end);
                    cols.drain(..start);
                    cols.into_iter()
                })
                .collect();
            let per_feature: Vec<Vec<&mut [u8]>> = (start..end)
                .map(|_| per_set.iter_mut().filter_map(Iterator::next).collect())
                .collect();
            (spec.numeric[start..end].par_iter_mut())
                .zip(per_feature)
                .for_each(|(s, mut cols)| {
                    if let Some(train) = cols.first() {
                        fit(s, train);
                    }
                    for col in cols.iter_mut() {
                        apply(s, col);
                    }
                });
        }
        for (m, s) in maps.iter().zip(sets) {
            let (a, b) = (s.lay.num(start), s.lay.num(end));
            release(m, a, b - a);
        }
    }
    Ok(())
}

/// The report of `features::prepare` (the same text, `features::report::write`), from
/// the written sets, read through memory maps.
pub(super) fn report(spec: &FeatureSpec, sets: &[(&str, &SetFile)]) -> Result<String> {
    let counts: Vec<SetCounts> = (sets.iter())
        .map(|(name, e)| {
            let map = map_mut(e)?;
            let n = e.lay.n;
            let words = |off: usize, len: usize| {
                (map[off..off + 4 * len].chunks_exact(4)).map(|w| [w[0], w[1], w[2], w[3]])
            };
            let zeros = |off: usize, len: usize| {
                let z = (words(off, len))
                    .filter(|w| u32::from_le_bytes(*w) == 0)
                    .count();
                release(&map, off, 4 * len);
                z
            };
            let cat_zeros = (0..spec.categorical.len())
                .map(|f| zeros(e.lay.cat(f), n))
                .collect();
            let tasks = (0..spec.tasks.len())
                .map(|k| {
                    let mut t = TaskCounts::default();
                    let y = words(e.lay.labels(k), n).map(f32::from_le_bytes);
                    let m = words(e.lay.mask(k), n).map(f32::from_le_bytes);
                    y.zip(m).for_each(|(y, m)| t.add(y, m));
                    release(&map, e.lay.labels(k), 4 * n);
                    release(&map, e.lay.mask(k), 4 * n);
                    t
                })
                .collect();
            Ok(SetCounts {
                name: name.to_string(),
                rows: n,
                cat_zeros,
                // per multi-hot feature: (ids, ids that are 0)
                bag_tokens: (0..spec.multi_hot.len())
                    .map(|b| {
                        let l = e.bags[b];
                        (l, zeros(e.lay.bag(&e.bags, b) + 8 * (n + 1), l))
                    })
                    .collect(),
                tasks,
            })
        })
        .collect::<Result<_>>()?;
    Ok(report::write(spec, &counts))
}
