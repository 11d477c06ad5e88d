//! Numeric features: parse, fill missing values, rescale with training statistics.
//!
//! ```text
//! x  = the cell's number, or `fill` where the cell is missing
//! x' = (x − center) / spread                                   computed in f64, stored as f32
//!
//! missing = "mean":  fill = mean of the non-missing training values (0 if there are none)
//! missing = "zero":  fill = 0
//! missing = "error": a missing cell is an error naming its file, line and field
//!
//! scale = "standard": center = mean, spread = population std (1 if it is 0)
//! scale = "minmax":   center = min,  spread = max − min     (1 if it is 0)
//! scale = "none":     center = 0,    spread = 1
//! ```
//!
//! The scaling statistics are taken over the training rows **after** filling, as a
//! fitted imputer followed by a fitted scaler would (scikit-learn's pipeline). Validation
//! and test rows, and new data at prediction time, reuse them unchanged.

use crate::config::{FeatureConfig, Missing, Scale};
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A fitted numeric feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumSpec {
    pub name: String,
    pub scale: Scale,
    /// `Mean`, `Zero` or `Error`.
    pub missing: Missing,
    /// What a missing value becomes before scaling.
    pub fill: f64,
    pub center: f64,
    pub spread: f64,
}

/// One feature's running sums, the steps of [`fit_stats`] (walk A: the non-missing
/// values; B: the filled values, their min and max; C: the squared deviations), taken
/// one value at a time so the streamed cache build (`data::cache::build::fit_num`) can
/// feed many features row by row and still add in each column's order: the same bits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FitSums {
    pub(crate) sum: f64,
    pub(crate) seen: usize,
    pub(crate) fill: f64,
    /// From −0.0, as `Sum for f64` folds.
    pub(crate) filled: f64,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) var: f64,
}

impl Default for FitSums {
    fn default() -> FitSums {
        FitSums {
            sum: 0.0,
            seen: 0,
            fill: 0.0,
            filled: -0.0,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            var: -0.0,
        }
    }
}

impl FitSums {
    /// Walk A's step.
    pub(crate) fn add_a(&mut self, v: f32) {
        if !v.is_nan() {
            self.sum += v as f64;
            self.seen += 1;
        }
    }
    /// After walk A: the fill.
    pub(crate) fn set_fill(&mut self, missing: Missing) {
        self.fill = match missing {
            Missing::Mean if self.seen > 0 => self.sum / self.seen as f64,
            _ => 0.0,
        };
    }
    fn filled(&self, v: f32) -> f64 {
        if v.is_nan() {
            self.fill
        } else {
            v as f64
        }
    }
    /// Walk B's step.
    pub(crate) fn add_b(&mut self, v: f32) {
        let x = self.filled(v);
        self.filled += x;
        self.lo = self.lo.min(x);
        self.hi = self.hi.max(x);
    }
    /// Walk C's step.
    pub(crate) fn add_c(&mut self, v: f32, mean: f64) {
        let d = self.filled(v) - mean;
        self.var += d * d;
    }
    /// (fill, center, spread) after the walks over `n` rows.
    pub(crate) fn finish(&self, scale: Scale, n: usize) -> (f64, f64, f64) {
        let (center, spread) = match scale {
            Scale::None => (0.0, 1.0),
            _ if n == 0 => (0.0, 1.0),
            Scale::Standard => {
                let std = (self.var / n as f64).sqrt();
                (self.mean(n), if std > 0.0 { std } else { 1.0 })
            }
            Scale::Minmax => (
                self.lo,
                if self.hi > self.lo {
                    self.hi - self.lo
                } else {
                    1.0
                },
            ),
        };
        (self.fill, center, spread)
    }
    pub(crate) fn mean(&self, n: usize) -> f64 {
        self.filled / n as f64
    }
}

/// `(fill, center, spread)` of a numeric column from its training values (NaN =
/// missing), as the module docs say: f64 sums in the order `values` yields them, so the
/// in-memory fit and the streamed cache build (`data::cache::build`) give the same bits.
/// `values` is called up to three times and must yield the same values each time.
pub(crate) fn fit_stats<I: Iterator<Item = f32>>(
    values: impl Fn() -> I,
    missing: Missing,
    scale: Scale,
) -> (f64, f64, f64) {
    let mut s = FitSums::default();
    let mut n = 0usize;
    for v in values() {
        n += 1;
        s.add_a(v);
    }
    s.set_fill(missing);
    if scale != Scale::None && n > 0 {
        values().for_each(|v| s.add_b(v));
    }
    if scale == Scale::Standard && n > 0 {
        let mean = s.mean(n);
        values().for_each(|v| s.add_c(v, mean));
    }
    s.finish(scale, n)
}

impl NumSpec {
    /// Fits `cfg` on the rows `train` of `table`.
    pub fn fit(
        table: &RawTable,
        cfg: &FeatureConfig,
        train: &[usize],
        missing_values: &[String],
    ) -> Result<NumSpec> {
        let missing = cfg.missing_policy();
        if missing == Missing::Oov {
            return Err(Error::Config {
                what: format!("features `{}`.missing", cfg.name),
                message: "\"oov\" applies to categorical features; expected \"mean\", \"zero\" or \"error\"".into(),
            });
        }
        let x = table.parse_f32(&cfg.name, missing_values)?; // (N,), NaN = missing
        if missing == Missing::Error {
            if let Some(&r) = train.iter().find(|&&r| x[r].is_nan()) {
                return Err(missing_error(table, r, &cfg.name));
            }
        }
        let (fill, center, spread) = fit_stats(|| train.iter().map(|&r| x[r]), missing, cfg.scale);
        Ok(NumSpec {
            name: cfg.name.clone(),
            scale: cfg.scale,
            missing,
            fill,
            center,
            spread,
        })
    }

    /// The scaled value of every row of `table`: `(N,)`.
    pub fn encode(&self, table: &RawTable, missing_values: &[String]) -> Result<Vec<f32>> {
        let x = table.parse_f32(&self.name, missing_values)?;
        x.iter()
            .enumerate()
            .map(|(r, &v)| {
                let v = if v.is_nan() {
                    if self.missing == Missing::Error {
                        return Err(missing_error(table, r, &self.name));
                    }
                    self.fill
                } else {
                    v as f64
                };
                Ok(((v - self.center) / self.spread) as f32)
            })
            .collect()
    }
}

/// What a missing numeric cell under `missing = "error"` is told (also by the streamed
/// cache build).
pub(crate) const MISSING_ERROR_EXPECTED: &str = "a number (this feature has missing = \"error\"); fill the cell, or set missing = \"mean\" or \"zero\" for the feature";

fn missing_error(table: &RawTable, row: usize, name: &str) -> Error {
    let seen = table.column(name).map_or("", |c| c.get(row));
    table.cell_error(row, name, seen, MISSING_ERROR_EXPECTED)
}
