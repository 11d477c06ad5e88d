//! The ranking of the validation pairs after every epoch (issue #15): interactions data
//! with `[data.ranking]` (and `per_epoch`, on by default) rank the validation pairs as
//! the end of the run ranks the test pairs ([`ImplicitRun::ranking_on`], capped by
//! `max_users`), and the model's values join the epoch's validation metrics:
//!
//! ```text
//! metrics.jsonl  "valid": { "<task>": { "auc": …, "logloss": …, "ranked": n,
//!                                       "hr@K": …, "ndcg@K": …, "mrr": … }, … }
//! ```
//!
//! for every task whose column is a behaviour label (`ranked`: its held-out pairs;
//! the rates are left out when it has none, as AUC is with one class). The
//! early-stopping score is read from that map like any other metric, so
//! `train.early_stopping.metric = "ndcg@10"` picks the best epoch by validation NDCG@10
//! and `"mean"` averages it over the ranked tasks. Nothing here draws from the training
//! streams, so `--resume` continues to the same result; the history is the run's
//! `metrics.jsonl`, cut back to the saved state on `--resume` like every line.

use super::implicit::ImplicitRun;
use super::TaskMetrics;
use crate::autograd::{Graph, ParamStore};
use crate::config::RunConfig;
use crate::data::loaders::interactions::Set;
use crate::error::{Error, Result};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use serde_json::Value;

/// The run's implicit data when its validation pairs are ranked after every epoch.
pub fn per_epoch<'a>(
    cfg: &RunConfig,
    implicit: Option<&'a ImplicitRun>,
) -> Option<&'a ImplicitRun> {
    let rc = cfg.data.ranking.as_ref()?;
    implicit.filter(|_| rc.per_epoch)
}

/// The ranking metric the console line of an epoch shows: the early-stopping metric
/// when it is one, else NDCG at the first K; `None` when nothing is ranked per epoch.
pub fn shown_metric(cfg: &RunConfig, implicit: Option<&ImplicitRun>) -> Option<String> {
    per_epoch(cfg, implicit)?;
    let metric = cfg.train.early_stopping.metric;
    if metric.is_ranking() {
        return Some(metric.name());
    }
    let k = *cfg.data.ranking.as_ref()?.k.first()?;
    Some(crate::config::StopMetric::Ndcg(k).name())
}

/// Ranks the validation pairs with the current weights and adds the model's values to
/// `valid` (module docs).
pub fn add_to(
    valid: &mut TaskMetrics,
    implicit: &ImplicitRun,
    cfg: &RunConfig,
    g: &mut Graph,
    input: &FeatureInput,
    model: &dyn MultiTaskModel,
    store: &ParamStore,
) -> Result<()> {
    if let Some((value, _)) = implicit.ranking_on(Set::Valid, cfg, g, input, model, store)? {
        merge(valid, &value);
    }
    Ok(())
}

/// Adds `value["model"][task]` (`held_out`, `hr@K`, `ndcg@K`, `mrr`; from
/// [`ImplicitRun::ranking_on`]) to `valid[task]`: `held_out` as `ranked`, a rate only
/// when it is a number (a task without held-out pairs has none).
pub fn merge(valid: &mut TaskMetrics, value: &Value) {
    let Some(model) = value.get("model").and_then(Value::as_object) else {
        return;
    };
    for (task, m) in model {
        let Some(m) = m.as_object() else { continue };
        let into = valid.entry(task.clone()).or_default();
        for (name, v) in m {
            let Some(x) = v.as_f64().filter(|x| x.is_finite()) else {
                continue;
            };
            let name = if name == "held_out" { "ranked" } else { name };
            into.insert(name.to_string(), x);
        }
    }
}

/// A run stopped by a ranking metric whose validation pairs hold nothing to rank for
/// the monitored task(s) would never choose a best epoch: refused before the first
/// epoch, with the counts.
pub fn check_defined(implicit: Option<&ImplicitRun>, cfg: &RunConfig) -> Result<()> {
    let es = &cfg.train.early_stopping;
    if !es.metric.is_ranking() {
        return Ok(());
    }
    let metric = es.metric.name();
    let Some(implicit) = per_epoch(cfg, implicit) else {
        return Err(Error::Config {
            what: "train.early_stopping.metric".into(),
            message: format!("\"{metric}\" needs the validation pairs ranked after every epoch: data.loader = \"interactions\" with [data.ranking]"),
        });
    };
    let counts = implicit.held_out_counts(Set::Valid, cfg);
    let watched: Vec<&(String, usize)> = counts
        .iter()
        .filter(|(name, _)| es.task == "mean" || *name == es.task)
        .collect();
    if watched.iter().any(|(_, n)| *n > 0) {
        return Ok(());
    }
    let shown: Vec<String> = watched
        .iter()
        .map(|(name, n)| format!("`{name}`: {n} held-out pairs"))
        .collect();
    Err(Error::Config {
        what: "train.early_stopping".into(),
        message: format!(
            "valid {metric} of `{}` cannot be computed: the validation split has no pair to rank ({}), so no epoch could be chosen as the best; use a split with validation pairs of the behaviour ([data.interactions] split, data.ranking.max_users = 0), or a per-row metric",
            es.task,
            if shown.is_empty() { "no ranked task".into() } else { shown.join(", ") }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_adds_the_model_values_and_leaves_out_undefined_rates() {
        let mut valid = TaskMetrics::new();
        valid
            .entry("buy".into())
            .or_default()
            .insert("auc".into(), 0.7);
        let value = json!({
            "model": {
                "buy": { "held_out": 3, "hr@10": 0.5, "ndcg@10": 0.25, "mrr": 0.2 },
                "cart": { "held_out": 0, "hr@10": null, "ndcg@10": null, "mrr": null },
            },
            "popularity": { "buy": { "held_out": 3, "hr@10": 0.9 } },
        });
        merge(&mut valid, &value);
        let buy = &valid["buy"];
        assert_eq!(buy["auc"], 0.7);
        assert_eq!(buy["ranked"], 3.0);
        assert_eq!(buy["ndcg@10"], 0.25);
        assert_eq!(buy["hr@10"], 0.5, "the model's, not popularity's");
        assert_eq!(valid["cart"].len(), 1, "{:?}", valid["cart"]);
        assert_eq!(valid["cart"]["ranked"], 0.0);
    }
}
