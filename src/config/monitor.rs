//! `train.early_stopping.metric`: what picks the best epoch and stops the run.
//!
//! ```toml
//! [train.early_stopping]
//! task = "buy"
//! metric = "ndcg@10"     # or auc | logloss | rmse | mae | hr@10 | mrr
//! ```
//!
//! A per-row metric ([`Metric`]) is read on the validation rows; a ranking metric
//! (`hr@K`, `ndcg@K`, `mrr`) on the validation pairs of interactions data, ranked as
//! `[data.ranking]` says after every epoch (`train::run::valid_ranking`). Written as
//! the text it was given, so a config that names a per-row metric resolves exactly as
//! before this type existed.

use super::train::Metric;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The early-stopping metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMetric {
    /// AUC, log loss, RMSE or MAE of the validation rows.
    Row(Metric),
    /// HR@K of the validation pairs (higher is better).
    Hr(usize),
    /// NDCG@K of the validation pairs (higher is better).
    Ndcg(usize),
    /// Mean reciprocal rank of the validation pairs (higher is better).
    Mrr,
}

/// What `metric` may be, for messages.
pub const CHOICES: &str = "auc, logloss, rmse, mae (per validation row) or hr@K, ndcg@K, mrr (ranking of the validation pairs; interactions data with [data.ranking], K one of data.ranking.k)";

impl Default for StopMetric {
    fn default() -> Self {
        StopMetric::Row(Metric::Auc)
    }
}

impl StopMetric {
    /// The metric's name as it appears in `metrics.jsonl` and `summary.json`
    /// (`auc`, `ndcg@10`, `mrr`, ...).
    pub fn name(self) -> String {
        match self {
            StopMetric::Row(m) => format!("{m:?}").to_lowercase(),
            StopMetric::Hr(k) => format!("hr@{k}"),
            StopMetric::Ndcg(k) => format!("ndcg@{k}"),
            StopMetric::Mrr => "mrr".into(),
        }
    }

    /// `true` for HR@K, NDCG@K and MRR.
    pub fn is_ranking(self) -> bool {
        !matches!(self, StopMetric::Row(_))
    }

    /// The cut-off K of HR@K / NDCG@K.
    pub fn cutoff(self) -> Option<usize> {
        match self {
            StopMetric::Hr(k) | StopMetric::Ndcg(k) => Some(k),
            _ => None,
        }
    }

    /// Larger is better: AUC and every ranking metric.
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            StopMetric::Row(Metric::Logloss | Metric::Rmse | Metric::Mae)
        )
    }
}

impl fmt::Display for StopMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for StopMetric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let row = match s {
            "auc" => Some(Metric::Auc),
            "logloss" => Some(Metric::Logloss),
            "rmse" => Some(Metric::Rmse),
            "mae" => Some(Metric::Mae),
            _ => None,
        };
        if let Some(m) = row {
            return Ok(StopMetric::Row(m));
        }
        if s == "mrr" {
            return Ok(StopMetric::Mrr);
        }
        let cut = |prefix: &str| {
            s.strip_prefix(prefix)
                .map(|k| k.parse::<usize>().ok().filter(|&k| k > 0))
        };
        let bad_k = || format!("`{s}`: K must be a whole number ≥ 1, as in `ndcg@10`");
        if let Some(k) = cut("hr@") {
            return k.map(StopMetric::Hr).ok_or_else(bad_k);
        }
        if let Some(k) = cut("ndcg@") {
            return k.map(StopMetric::Ndcg).ok_or_else(bad_k);
        }
        Err(format!(
            "`{s}` is not an early-stopping metric; expected {CHOICES}"
        ))
    }
}

impl Serialize for StopMetric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for StopMetric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_to_the_same_metric() {
        for m in [
            StopMetric::Row(Metric::Auc),
            StopMetric::Row(Metric::Logloss),
            StopMetric::Row(Metric::Rmse),
            StopMetric::Row(Metric::Mae),
            StopMetric::Hr(5),
            StopMetric::Ndcg(10),
            StopMetric::Mrr,
        ] {
            assert_eq!(m.name().parse::<StopMetric>(), Ok(m));
        }
    }

    #[test]
    fn unknown_names_and_bad_cutoffs_say_what_is_expected() {
        let e = "ndgc@10".parse::<StopMetric>().unwrap_err();
        assert!(e.contains("ndgc@10") && e.contains("ndcg@K"), "{e}");
        for s in ["ndcg@0", "hr@x", "ndcg@"] {
            let e = s.parse::<StopMetric>().unwrap_err();
            assert!(e.contains("K must be a whole number"), "{s}: {e}");
        }
    }
}
