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

/// `(fill, center, spread)` of a numeric column from its training values (NaN =
/// missing), as the module docs say: f64 sums in the order `values` yields them, so the
/// in-memory fit and the streamed cache build (`data::cache::build`) give the same bits.
/// `values` is called up to three times and must yield the same values each time.
pub(crate) fn fit_stats<I: Iterator<Item = f32>>(
    values: impl Fn() -> I,
    missing: Missing,
    scale: Scale,
) -> (f64, f64, f64) {
    let (mut sum, mut seen, mut n) = (0.0f64, 0usize, 0usize);
    for v in values() {
        n += 1;
        if !v.is_nan() {
            sum += v as f64;
            seen += 1;
        }
    }
    let fill = match missing {
        Missing::Mean if seen > 0 => sum / seen as f64,
        _ => 0.0,
    };
    let filled = || values().map(move |v| if v.is_nan() { fill } else { v as f64 });
    let (center, spread) = match scale {
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
    (fill, center, spread)
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
