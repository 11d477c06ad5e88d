//! After pass 2: the numeric features' fill and scaling statistics, computed from the
//! training set's column exactly as `features::NumSpec::fit` computes them (the same
//! f64 sums in the same row order, so the same bits), then every set's column filled
//! and scaled in place: `x' = ((x or fill) − center) / spread`, in f64, stored as f32.
//! Also the prepared-data report, from the written columns. Columns are read in
//! segments, never whole.

use super::encode::SetFile;
use crate::config::{Missing, Scale, TaskType};
use crate::data::features::{Encoder, FeatureSpec, NumSpec};
use crate::error::Result;
use std::cell::RefCell;
use std::fmt::Write;

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
    let mut sum = 0.0f64;
    let mut seen = 0usize;
    for v in x() {
        if !v.is_nan() {
            sum += v as f64;
            seen += 1;
        }
    }
    let fill = match spec.missing {
        Missing::Mean if seen > 0 => sum / seen as f64,
        _ => 0.0,
    };
    let filled = || x().map(move |v| if v.is_nan() { fill } else { v as f64 });
    let (center, spread) = match spec.scale {
        Scale::None => (0.0, 1.0),
        _ if n == 0 => (0.0, 1.0),
        Scale::Standard => {
            let mean = filled().sum::<f64>() / n as f64;
            let var = filled().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
            let std = var.sqrt();
            (mean, if std > 0.0 { std } else { 1.0 })
        }
        Scale::Minmax => {
            let lo = filled().fold(f64::INFINITY, f64::min);
            let hi = filled().fold(f64::NEG_INFINITY, f64::max);
            (lo, if hi > lo { hi - lo } else { 1.0 })
        }
    };
    take(error)?;
    (spec.fill, spec.center, spec.spread) = (fill, center, spread);
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

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The report of `features::prepare` (the same text), from the written sets.
pub(super) fn report(spec: &FeatureSpec, sets: &[(&str, &SetFile)]) -> Result<String> {
    let error = RefCell::new(None);
    let col = |set: &SetFile, off: usize| -> Vec<f32> {
        Words::new(set, off, set.lay.n, &error)
            .map(f32::from_le_bytes)
            .collect()
    };
    let mut s = String::new();
    let n: usize = sets.iter().map(|(_, e)| e.lay.n).sum();
    let sizes: Vec<String> = (sets.iter())
        .map(|(name, e)| format!("{name} {} ({:.1}%)", e.lay.n, pct(e.lay.n, n)))
        .collect();
    let _ = writeln!(s, "rows: {n}: {}", sizes.join(", "));
    let _ = writeln!(
        s,
        "input width d_in = {} ({} categorical, {} multi-hot, {} numeric features)",
        spec.d_in(),
        spec.categorical.len(),
        spec.multi_hot.len(),
        spec.numeric.len()
    );
    for (f, c) in spec.categorical.iter().enumerate() {
        let oov: Vec<String> = (sets.iter())
            .map(|(name, e)| {
                let zeros = Words::new(e, e.lay.cat(f), e.lay.n, &error)
                    .filter(|w| u32::from_le_bytes(*w) == 0)
                    .count();
                format!("{name} {:.2}%", pct(zeros, e.lay.n))
            })
            .collect();
        let kind = match c.encoder {
            Encoder::Vocab { .. } => "vocabulary",
            Encoder::Hash { .. } => "hashed",
        };
        let _ = writeln!(
            s,
            "  categorical {}: V = {} ({kind}), dim {}; id 0 (unseen/missing): {}",
            c.name,
            c.encoder.size(),
            c.dim,
            oov.join(", ")
        );
    }
    for x in &spec.numeric {
        let _ = writeln!(
            s,
            "  numeric {}: scale {:?}, center {:.6}, spread {:.6}, missing {:?} → {:.6}",
            x.name, x.scale, x.center, x.spread, x.missing, x.fill
        );
    }
    for (k, t) in spec.tasks.iter().enumerate() {
        let parts: Vec<String> = (sets.iter())
            .map(|(name, e)| {
                let (y, m) = (col(e, e.lay.labels(k)), col(e, e.lay.mask(k)));
                let labelled = m.iter().filter(|&&v| v > 0.0).count();
                match t.kind {
                    TaskType::Binary => {
                        let pos = (y.iter().zip(&m))
                            .filter(|(&y, &m)| m > 0.0 && y > 0.5)
                            .count();
                        format!(
                            "{name} {pos} positive of {labelled} labelled ({:.2}%)",
                            pct(pos, labelled)
                        )
                    }
                    TaskType::Regression => {
                        let sum: f64 = y.iter().zip(&m).map(|(&y, &m)| (y * m) as f64).sum();
                        let mean = if labelled == 0 {
                            0.0
                        } else {
                            sum / labelled as f64
                        };
                        format!("{name} {labelled} labelled, mean {mean:.4}")
                    }
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "  task {} ({:?}, column {}): {}",
            t.name,
            t.kind,
            t.column,
            parts.join("; ")
        );
    }
    take(error)?;
    Ok(s)
}
