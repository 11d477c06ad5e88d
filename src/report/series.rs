//! Per-epoch series read out of `metrics.jsonl` lines, for both run kinds:
//!
//! ```text
//! mtrec train: {"epoch": 0-based, "train_loss": {task: l}, "valid": {task: {metric: v}},
//!               "early_stopping": {task, metric, score, best, best_epoch (0-based)},
//!               "lr", "task_weights": [K], "gate_weights": [G][E],
//!               "task_gradient_cosines": [K·K row-major], "samples_per_s"}
//! mtrec seq:   {"epoch": 1-based, "train_loss": l, "task_losses": [..], "valid": {hr10, ndcg10, ..}}
//! ```
//! Epochs are shown 1-based for both.

use super::load::Run;
use serde_json::Value;

/// One line of a chart: `(epoch, value)` points, epochs 1-based.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// The 1-based epoch of a line (train and seq runs both number from 1; `load.rs` brings
/// logs of older versions to that numbering).
pub fn epoch_no(line: &Value) -> Option<f64> {
    line.get("epoch")?.as_f64()
}

/// The points of `get` over the run's epochs (lines where it gives no finite number are
/// left out).
pub fn series(run: &Run, label: &str, get: impl Fn(&Value) -> Option<f64>) -> Series {
    let points = run
        .epochs
        .iter()
        .filter_map(|l| Some((epoch_no(l)?, get(l).filter(|v| v.is_finite())?)))
        .collect();
    Series {
        label: label.to_string(),
        points,
    }
}

/// The task names: the config's `[[tasks]]` (train) or the heads (seq), else what the
/// metrics lines name.
pub fn task_names(run: &Run) -> Vec<String> {
    if run.seq {
        let mut names = vec!["next_item".to_string()];
        let flag = |k: &str| {
            run.config_value(k)
                .and_then(toml::Value::as_bool)
                .unwrap_or(false)
        };
        let has_ratings = run
            .epochs
            .first()
            .and_then(|l| l.pointer("/valid/rating_rmse"))
            .is_some_and(|v| !v.is_null());
        if has_ratings && flag("model.rating_head") {
            names.push("rating".into());
        }
        if has_ratings && flag("model.like_head") {
            names.push("like".into());
        }
        if run
            .config_value("model.keywords")
            .and_then(toml::Value::as_integer)
            .unwrap_or(0)
            > 0
        {
            names.push("keywords".into());
        }
        return names;
    }
    if let Some(tasks) = run.config_value("tasks").and_then(toml::Value::as_array) {
        let names: Vec<String> = tasks
            .iter()
            .filter_map(|t| t.get("name")?.as_str().map(str::to_string))
            .collect();
        if !names.is_empty() {
            return names;
        }
    }
    run.epochs
        .first()
        .and_then(|l| l.get("train_loss")?.as_object().cloned())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Training loss of task `k` (named `name`) per epoch.
pub fn train_loss(run: &Run, k: usize, name: &str) -> Series {
    if run.seq {
        series(run, "train loss", |l| {
            l.get("task_losses")?.get(k)?.as_f64()
        })
    } else {
        series(run, "train loss", |l| {
            l.get("train_loss")?.get(name)?.as_f64()
        })
    }
}

/// The validation metric shown for a task: the early-stopping metric for its task, else
/// AUC (binary) or RMSE (regression); for seq runs NDCG@10 / rating RMSE / like AUC.
pub fn valid_metric(run: &Run, name: &str) -> Option<String> {
    if run.seq {
        return match name {
            "next_item" => Some("ndcg10".into()),
            "rating" => Some("rating_rmse".into()),
            "like" => Some("like_auc".into()),
            _ => None,
        };
    }
    if let Some(es) = run.epochs.last().and_then(|l| l.get("early_stopping")) {
        if es.get("task").and_then(Value::as_str) == Some(name) {
            if let Some(m) = es.get("metric").and_then(Value::as_str) {
                return Some(m.to_string());
            }
        }
    }
    let first = run.epochs.iter().find_map(|l| l.get("valid")?.get(name))?;
    ["auc", "rmse", "logloss", "mae"]
        .into_iter()
        .find(|m| first.get(*m).is_some())
        .map(str::to_string)
}

/// The validation metric `metric` of task `name` per epoch.
pub fn valid_series(run: &Run, name: &str, metric: &str) -> Series {
    let label = format!("valid {metric}");
    if run.seq {
        series(run, &label, |l| l.get("valid")?.get(metric)?.as_f64())
    } else {
        series(run, &label, |l| {
            l.get("valid")?.get(name)?.get(metric)?.as_f64()
        })
    }
}

/// Larger is better for this metric (AUC, HR, NDCG, MRR, samples/s), else smaller.
pub fn higher_is_better(metric: &str) -> bool {
    let m = metric.to_lowercase();
    [
        "auc",
        "hr",
        "ndcg",
        "mrr",
        "samples",
        "accuracy",
        "recall",
        "precision",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// The best epoch (1-based) of the run and the metric that chose it: the early-stopping
/// record of the last line (train), or the epoch of highest valid NDCG@10 (seq).
pub fn best_epoch(run: &Run) -> Option<(f64, String)> {
    if run.seq {
        let s = valid_series(run, "next_item", "ndcg10");
        return s
            .points
            .iter()
            .fold(None::<(f64, f64)>, |b, &(e, v)| match b {
                Some((_, bv)) if bv >= v => b,
                _ => Some((e, v)),
            })
            .map(|(e, _)| (e, "valid ndcg10 of next_item".into()));
    }
    let es = run.epochs.last()?.get("early_stopping")?;
    let e = es.get("best_epoch")?.as_f64()?;
    let what = format!(
        "valid {} of {}",
        es.get("metric").and_then(Value::as_str).unwrap_or("?"),
        es.get("task").and_then(Value::as_str).unwrap_or("?")
    );
    Some((e, what))
}

/// A `[K][..]` or flat array of numbers per epoch: `(epoch, values)`.
pub fn vectors(run: &Run, key: &str) -> Vec<(f64, Vec<f64>)> {
    run.epochs
        .iter()
        .filter_map(|l| {
            let v = l.get(key)?.as_array()?;
            let flat: Vec<f64> = v
                .iter()
                .flat_map(|x| match x {
                    Value::Array(row) => row.iter().filter_map(Value::as_f64).collect(),
                    _ => x.as_f64().into_iter().collect::<Vec<_>>(),
                })
                .collect();
            (!flat.is_empty()).then_some((epoch_no(l)?, flat))
        })
        .collect()
}

/// Gate weights per epoch: `(epoch, [gate][expert])`.
pub fn gates(run: &Run) -> Vec<(f64, Vec<Vec<f64>>)> {
    run.epochs
        .iter()
        .filter_map(|l| {
            let g: Vec<Vec<f64>> = l
                .get("gate_weights")?
                .as_array()?
                .iter()
                .filter_map(|row| Some(row.as_array()?.iter().filter_map(Value::as_f64).collect()))
                .collect();
            (!g.is_empty()).then_some((epoch_no(l)?, g))
        })
        .collect()
}

/// Up to `n` epochs of `all` (1-based numbers), evenly spread, always with the first,
/// the last and `keep` (the best epoch).
pub fn sample_epochs(all: &[f64], n: usize, keep: Option<f64>) -> Vec<f64> {
    if all.len() <= n {
        return all.to_vec();
    }
    let mut out: Vec<f64> = (0..n)
        .map(|i| all[i * (all.len() - 1) / (n - 1).max(1)])
        .collect();
    if let Some(k) = keep.filter(|k| all.contains(k)) {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}
