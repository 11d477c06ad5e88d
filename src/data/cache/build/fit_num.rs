//! The one-pass build's numeric fit: each numeric feature's fill, center and spread from
//! the training rows in file order, so the copy pass (copy.rs) writes the numbers filled
//! and scaled and no pass over the set files follows (scale.rs's `scale_numeric`, which
//! the two-pass build and temporal splits still run: they fit on the written train file).
//!
//! ```text
//! pass 1, each chunk in file order (NumFit::absorb, the parsed numbers still in memory)
//!   A  per feature: Σ non-missing x (from +0.0), their count; rows n          (f64)
//!   B  per feature: Σ filled x (from −0.0, as `Sum for f64` folds), min, max,
//!      filled with 0 (right unless missing = "mean" meets a missing value: then B
//!      is walked again over the spill once the fill is known)
//! after pass 1: fill = Σ / count (missing = "mean") or 0; mean = Σ filled / n
//!   C  (scale = "standard") per feature: Σ (filled x − mean)² (from −0.0), one walk
//!      over the spill's training rows (spill.rs: row-major numbers, chunk by chunk)
//! ```
//! That is `features::numeric::fit_stats` term for term: the same f64 additions in the
//! same order (the training rows in file order, train.bin's row order when the split
//! does not reorder), so the same bits as the in-memory fit and the two-pass build (unit
//! test below against `fit_stats`; `tests/s11one_bytes.rs` on whole caches). A walk
//! visits each training row once with all its features: the features' sums are
//! independent, so their additions overlap instead of waiting on one chain. The features
//! are cut in as many groups as threads, each group walking its own map of the spill
//! and handing each chunk's pages back after it (the resident pages stay a chunk's).

use super::pass1::ChunkInfo;
use super::spill::Spill;
use crate::config::Scale;
use crate::data::features::numeric::FitSums as Sums;
use crate::data::features::NumSpec;
use crate::error::Result;
use rayon::prelude::*;

/// Walks A and B of pass 1 (module docs), chunk by chunk in file order.
pub(super) struct NumFit {
    sums: Vec<Sums>,
    /// Training rows so far.
    n: usize,
}

impl NumFit {
    pub(super) fn new(fnum: usize) -> NumFit {
        NumFit {
            sums: vec![Sums::default(); fnum],
            n: 0,
        }
    }

    /// Adds a chunk's training rows (`sets[r] == 0`) of `num` ((n, F_num) row-major).
    pub(super) fn absorb(&mut self, num: &[f32], sets: &[u8]) {
        let fnum = self.sums.len();
        if fnum == 0 {
            return;
        }
        for (row, _) in num.chunks_exact(fnum).zip(sets).filter(|(_, &s)| s == 0) {
            self.n += 1;
            for (s, &v) in self.sums.iter_mut().zip(row) {
                s.add_a(v);
                s.add_b(v); // filled with 0 until the fill is known
            }
        }
    }
}

/// The f32 word `f` of a row's bytes.
fn word(row: &[u8], f: usize) -> f32 {
    f32::from_le_bytes([row[4 * f], row[4 * f + 1], row[4 * f + 2], row[4 * f + 3]])
}

/// Calls `row` with every training row's numbers ((F_num,) f32 words) in file order.
fn walk(
    spill: &Spill,
    chunks: &[ChunkInfo],
    fnum: usize,
    mut row: impl FnMut(&[u8]),
) -> Result<()> {
    let map = spill.map()?;
    for info in chunks {
        let (sets, num) = spill.sets_and_numbers(&map, info.spill)?;
        if num.len() != sets.len() * fnum {
            return Err(super::copy::damaged(spill));
        }
        for (r, s) in sets.chunks_exact(4).enumerate() {
            if s == [0, 0, 0, 0] {
                row(&num[4 * fnum * r..4 * fnum * (r + 1)]);
            }
        }
        for (at, len) in info.spill {
            release(&map, at, len);
        }
    }
    Ok(())
}

/// Hands the pages of a walked record back (`madvise(DONTNEED)` on a shared file map:
/// the page cache keeps them for the copy pass).
fn release(map: &memmap2::Mmap, at: u64, len: u64) {
    let (Ok(at), Ok(len)) = (usize::try_from(at), usize::try_from(len)) else {
        return;
    };
    if len == 0 || at.checked_add(len).is_none_or(|end| end > map.len()) {
        return;
    }
    // SAFETY: a read-only shared file mapping of which no slice is alive past this
    // chunk; dropping its pages loses nothing (the next access reads the page cache).
    unsafe {
        let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, at, len);
    }
}

/// Fits every feature of `specs` (the numeric features, in spill order) on the
/// training rows, as `fit_stats` fits a column: `absorbed` from pass 1, then the walks
/// over the spill the module docs name.
pub(super) fn fit(
    specs: &mut [NumSpec],
    absorbed: NumFit,
    spill: &Spill,
    chunks: &[ChunkInfo],
) -> Result<()> {
    let fnum = specs.len();
    if fnum == 0 {
        return Ok(());
    }
    if absorbed.sums.len() != fnum {
        return Err(super::copy::damaged(spill));
    }
    let n = absorbed.n;
    let groups = rayon::current_num_threads().clamp(1, fnum);
    let per = fnum.div_ceil(groups);
    let mut sums = absorbed.sums;
    (specs
        .par_chunks_mut(per)
        .zip(sums.par_chunks_mut(per))
        .enumerate())
    .try_for_each(|(g, (group, sums))| fit_group(group, sums, (n, g * per, fnum), spill, chunks))
}

/// Whether walk B must go again for a feature whose fill is known (`set_fill`): pass 1
/// summed its missing values as 0, which is right unless it has missing values and a
/// fill that is not +0.0, and B is used (scaled, some rows).
fn refills(s: &Sums, n: usize, scale: Scale) -> bool {
    s.seen < n && s.fill.to_bits() != 0f64.to_bits() && scale != Scale::None
}

/// [`fit`] for the features `first .. first + group.len()` of `fnum`, their pass-1
/// `sums` over `n` training rows.
fn fit_group(
    group: &mut [NumSpec],
    sums: &mut [Sums],
    (n, first, fnum): (usize, usize, usize),
    spill: &Spill,
    chunks: &[ChunkInfo],
) -> Result<()> {
    let x = |row: &[u8], j: usize| word(row, first + j);
    let mut refill = false;
    for (s, spec) in sums.iter_mut().zip(group.iter()) {
        s.set_fill(spec.missing);
        refill |= refills(s, n, spec.scale);
    }
    if refill {
        for s in sums.iter_mut() {
            (s.filled, s.lo, s.hi) = (-0.0, f64::INFINITY, f64::NEG_INFINITY);
        }
        walk(spill, chunks, fnum, |row| {
            (sums.iter_mut().enumerate()).for_each(|(j, s)| s.add_b(x(row, j)));
        })?;
    }
    let means: Vec<f64> = sums.iter().map(|s| s.mean(n)).collect();
    if n > 0 && group.iter().any(|spec| spec.scale == Scale::Standard) {
        walk(spill, chunks, fnum, |row| {
            (sums.iter_mut().enumerate()).for_each(|(j, s)| s.add_c(x(row, j), means[j]));
        })?;
    }
    for (spec, s) in group.iter_mut().zip(sums.iter()) {
        (spec.fill, spec.center, spec.spread) = s.finish(spec.scale, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Missing;
    use crate::data::features::numeric::fit_stats;

    /// One column through the steps: pass 1's `absorb` (A, and B filled with 0), the
    /// refill of B where [`fit_group`] walks it again, then C.
    fn through_walk(col: &[f32], missing: Missing, scale: Scale) -> (f64, f64, f64) {
        let mut fit = NumFit::new(1);
        fit.absorb(col, &vec![0; col.len()]);
        let mut s = fit.sums[0];
        s.set_fill(missing);
        if refills(&s, fit.n, scale) {
            (s.filled, s.lo, s.hi) = (-0.0, f64::INFINITY, f64::NEG_INFINITY);
            col.iter().for_each(|&v| s.add_b(v));
        }
        let mean = s.mean(col.len());
        col.iter().for_each(|&v| s.add_c(v, mean));
        s.finish(scale, col.len())
    }

    #[test]
    fn the_walks_give_fit_stats_bits() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut cols: Vec<Vec<f32>> = vec![vec![], vec![-0.0; 5], vec![f32::NAN; 3], vec![2.5; 4]];
        for len in [1usize, 7, 100, 1000] {
            cols.push(
                (0..len)
                    .map(|_| match next() % 5 {
                        0 => f32::NAN,
                        1 => -0.0,
                        _ => (next() % 2_000_000) as f32 / 1e3 - 1e3,
                    })
                    .collect(),
            );
        }
        for col in &cols {
            for missing in [Missing::Mean, Missing::Zero] {
                for scale in [Scale::Standard, Scale::Minmax, Scale::None] {
                    let want = fit_stats(|| col.iter().copied(), missing, scale);
                    let got = through_walk(col, missing, scale);
                    let bits = |t: (f64, f64, f64)| (t.0.to_bits(), t.1.to_bits(), t.2.to_bits());
                    assert_eq!(bits(got), bits(want), "{col:?} {missing:?} {scale:?}");
                }
            }
        }
    }
}
