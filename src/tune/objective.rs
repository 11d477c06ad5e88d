//! `[objective]` of a search space: what a trial is scored by, on the validation split.
//!
//! ```toml
//! [objective]
//! task = "income"                  # or: weights = { income = 1.0, never_married = 0.5 }
//! metric = "auc"                   # auc | logloss (binary), rmse | mae (regression)
//! direction = "max"                # default: max for auc, min otherwise
//! ```

use super::space::{err, float};
use crate::config::{Metric, RunConfig, TaskType};
use crate::error::Result;
use toml::Value;

/// What a trial is scored by: `Σ weight · metric(task)` on the validation split.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// `(task, weight)`; one entry with weight 1 for `task = "..."`.
    pub terms: Vec<(String, f64)>,
    pub metric: Metric,
    pub maximize: bool,
}

impl Objective {
    /// The metric's name as it appears in `summary.json` (`auc`, `rmse`, ...).
    pub fn metric_name(&self) -> String {
        format!("{:?}", self.metric).to_lowercase()
    }

    /// The objective of a run from its `summary.json` (validation metrics of the best
    /// epoch); `None` when a term is missing or not finite.
    pub fn of_summary(&self, summary: &serde_json::Value) -> Option<f64> {
        let m = self.metric_name();
        let mut sum = 0.0;
        for (task, w) in &self.terms {
            let v = summary["tasks"][task]["valid"][&m].as_f64()?;
            sum += w * v;
        }
        sum.is_finite().then_some(sum)
    }

    /// `a` is better than `b` (a missing value is worst).
    pub fn better(&self, a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => {
                if self.maximize {
                    a > b
                } else {
                    a < b
                }
            }
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// Reads `[objective]` (`v`) and checks its tasks and metric against `cfg`.
pub(super) fn parse_objective(
    v: Option<Value>,
    origin: &str,
    cfg: &RunConfig,
) -> Result<Objective> {
    let what = format!("{origin}: [objective]");
    let names: Vec<&str> = cfg.tasks.iter().map(|t| t.name.as_str()).collect();
    let Some(Value::Table(t)) = v else {
        return Err(err(
            what,
            format!(
                "is missing; give `task = \"<name>\"` (one of {}) and `metric`",
                names.join(", ")
            ),
        ));
    };
    for k in t.keys() {
        if !["task", "weights", "metric", "direction"].contains(&k.as_str()) {
            return Err(err(
                &what,
                format!("unknown field `{k}`; expected one of task, weights, metric, direction"),
            ));
        }
    }
    let terms: Vec<(String, f64)> = match (t.get("task"), t.get("weights")) {
        (Some(Value::String(s)), None) => vec![(s.clone(), 1.0)],
        (None, Some(Value::Table(w))) if !w.is_empty() => {
            let mut terms = Vec::new();
            for (k, v) in w {
                let f = float(v)
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| err(&what, format!("weights.{k} = {v}: expected a number")))?;
                terms.push((k.clone(), f));
            }
            terms
        }
        _ => {
            return Err(err(
                &what,
                "give either `task = \"<name>\"` or `weights = { <task> = <weight>, ... }`",
            ))
        }
    };
    let metric: Metric = match t.get("metric") {
        Some(v) => v.clone().try_into().map_err(|_| {
            err(
                &what,
                format!("metric = {v}: expected one of auc, logloss, rmse, mae"),
            )
        })?,
        None => return Err(err(&what, "give `metric` (auc, logloss, rmse or mae)")),
    };
    for (task, _) in &terms {
        let Some(tc) = cfg.tasks.iter().find(|c| &c.name == task) else {
            return Err(err(
                &what,
                format!(
                    "task `{task}` is not a task of the config; expected one of {}",
                    names.join(", ")
                ),
            ));
        };
        if (tc.kind == TaskType::Binary) != metric.for_binary() {
            return Err(err(&what, format!("metric {metric:?} does not apply to task `{task}` ({:?}); binary tasks have auc and logloss, regression tasks rmse and mae", tc.kind)));
        }
    }
    let maximize = match t.get("direction").and_then(Value::as_str) {
        Some("max") => true,
        Some("min") => false,
        None => metric == Metric::Auc,
        Some(direction) => {
            return Err(err(
                &what,
                format!("direction = \"{direction}\": expected \"max\" or \"min\""),
            ))
        }
    };
    Ok(Objective {
        terms,
        metric,
        maximize,
    })
}
