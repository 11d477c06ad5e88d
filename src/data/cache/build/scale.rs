//! After pass 2: the numeric features' fill and scaling statistics, computed from the
//! training set's column exactly as `features::NumSpec::fit` computes them (the same
//! f64 sums in the same row order, so the same bits), then every set's column filled
//! and scaled in place: `x' = ((x or fill) − center) / spread`, in f64, stored as f32.
//! Also the prepared-data report's counts, from the written columns. Columns are read
//! in segments, never whole.

use super::encode::SetFile;
use crate::data::features::numeric::fit_stats;
use crate::data::features::report::{self, SetCounts, TaskCounts};
use crate::data::features::{FeatureSpec, NumSpec};
use crate::error::Result;
use std::cell::RefCell;

/// Words per segment read or written.
const SEGMENT: usize = 1 << 18;

/// The `n` 4-byte words at `offset` of a set file, read a segment at a time. A read
/// error ends the iteration and is kept in `error`.
struct Words<'a> {
    set: &'a SetFile,
    offset: usize,
    n: usize,
    next: usize,
    buf: Vec<u8>,
    at: usize,
    error: &'a RefCell<Option<crate::Error>>,
}

impl<'a> Words<'a> {
    fn new(
        set: &'a SetFile,
        offset: usize,
        n: usize,
        error: &'a RefCell<Option<crate::Error>>,
    ) -> Words<'a> {
        Words {
            set,
            offset,
            n,
            next: 0,
            buf: Vec::new(),
            at: 0,
            error,
        }
    }
}

impl Iterator for Words<'_> {
    type Item = [u8; 4];
    fn next(&mut self) -> Option<[u8; 4]> {
        if self.at == self.buf.len() {
            if self.next == self.n {
                return None;
            }
            let m = SEGMENT.min(self.n - self.next);
            self.buf.resize(4 * m, 0);
            if let Err(e) = self.set.get(self.offset + 4 * self.next, &mut self.buf) {
                *self.error.borrow_mut() = Some(e);
                self.next = self.n;
                self.buf.clear();
                return None;
            }
            self.next += m;
            self.at = 0;
        }
        let w = [
            self.buf[self.at],
            self.buf[self.at + 1],
            self.buf[self.at + 2],
            self.buf[self.at + 3],
        ];
        self.at += 4;
        Some(w)
    }
}

fn take(error: RefCell<Option<crate::Error>>) -> Result<()> {
    match error.into_inner() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Fits `spec` (its fill, center and spread) on column `f` of `train` as
/// `NumSpec::fit` does over the training rows.
fn fit(spec: &mut NumSpec, train: &SetFile, f: usize) -> Result<()> {
    let error = RefCell::new(None);
    let (off, n) = (train.lay.num(f), train.lay.n);
    let x = || Words::new(train, off, n, &error).map(f32::from_le_bytes); // (N_train,), NaN = missing
    let stats = fit_stats(x, spec.missing, spec.scale);
    take(error)?;
    (spec.fill, spec.center, spec.spread) = stats;
    Ok(())
}

/// Fills and scales column `f` of `set` in place with `spec`.
fn apply(spec: &NumSpec, set: &SetFile, f: usize) -> Result<()> {
    let (off, n) = (set.lay.num(f), set.lay.n);
    let mut buf = Vec::new();
    let mut at = 0;
    while at < n {
        let m = SEGMENT.min(n - at);
        buf.resize(4 * m, 0);
        set.get(off + 4 * at, &mut buf)?;
        for w in buf.chunks_exact_mut(4) {
            let v = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let v = if v.is_nan() { spec.fill } else { v as f64 };
            w.copy_from_slice(&(((v - spec.center) / spec.spread) as f32).to_le_bytes());
        }
        set.put(off + 4 * at, &buf)?;
        at += m;
    }
    Ok(())
}

/// Fits every numeric feature of `spec` on `sets[0]` (train) and scales every set.
pub(super) fn scale_numeric(spec: &mut FeatureSpec, sets: &[SetFile]) -> Result<()> {
    use rayon::prelude::*;
    spec.numeric
        .par_iter_mut()
        .enumerate()
        .try_for_each(|(f, s)| {
            fit(s, &sets[0], f)?;
            sets.iter().try_for_each(|set| apply(s, set, f))
        })
}

/// The report of `features::prepare` (the same text, `features::report::write`), from
/// the written sets: the counts are taken a segment at a time.
pub(super) fn report(spec: &FeatureSpec, sets: &[(&str, &SetFile)]) -> Result<String> {
    let error = RefCell::new(None);
    let counts: Vec<SetCounts> = (sets.iter())
        .map(|(name, e)| {
            let n = e.lay.n;
            let words = |off: usize| Words::new(e, off, n, &error);
            let cat_zeros = (0..spec.categorical.len())
                .map(|f| {
                    (words(e.lay.cat(f)))
                        .filter(|w| u32::from_le_bytes(*w) == 0)
                        .count()
                })
                .collect();
            let tasks = (0..spec.tasks.len())
                .map(|k| {
                    let mut t = TaskCounts::default();
                    let y = words(e.lay.labels(k)).map(f32::from_le_bytes);
                    let m = words(e.lay.mask(k)).map(f32::from_le_bytes);
                    y.zip(m).for_each(|(y, m)| t.add(y, m));
                    t
                })
                .collect();
            SetCounts {
                name: name.to_string(),
                rows: n,
                cat_zeros,
                // per multi-hot feature: (ids, ids that are 0)
                bag_tokens: (0..spec.multi_hot.len())
                    .map(|b| {
                        let at = e.lay.bag(&e.bags, b) + 8 * (n + 1);
                        let l = e.bags[b];
                        let zeros = Words::new(e, at, l, &error)
                            .filter(|w| u32::from_le_bytes(*w) == 0)
                            .count();
                        (l, zeros)
                    })
                    .collect(),
                tasks,
            }
        })
        .collect();
    take(error)?;
    Ok(report::write(spec, &counts))
}
