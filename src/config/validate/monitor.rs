//! A ranking metric as the early-stopping metric (`train.early_stopping.metric =
//! "ndcg@10"`): the data are interactions ranked by `[data.ranking]` after every epoch,
//! K is one of `data.ranking.k`, and the task (or, for `"mean"`, some task) reads a
//! behaviour label.

use super::bad;
use crate::config::data::Loader;
use crate::config::monitor::StopMetric;
use crate::config::RunConfig;
use crate::error::Result;

/// The checks of the module docs; `c.train.early_stopping.metric` is a ranking metric.
pub(super) fn check_ranking_monitor(c: &RunConfig) -> Result<()> {
    let es = &c.train.early_stopping;
    let metric = es.metric.name();
    let key = "train.early_stopping.metric";
    let rc = match (&c.data.ranking, c.data.loader) {
        (Some(rc), Loader::Interactions) => rc,
        _ => {
            return Err(bad(
                key,
                format!(
                    "\"{metric}\" ranks the validation pairs after every epoch: it needs data.loader = \"interactions\" and a [data.ranking] table (loader is {:?}, [data.ranking] {}); add them, or choose auc, logloss, rmse or mae",
                    c.data.loader,
                    if c.data.ranking.is_some() { "given" } else { "missing" }
                ),
            ))
        }
    };
    if !rc.per_epoch {
        return Err(bad(
            key,
            format!("\"{metric}\" is read on the ranking after every epoch, which data.ranking.per_epoch = false turns off; remove that line or choose a per-row metric"),
        ));
    }
    if let Some(k) = es.metric.cutoff().filter(|k| !rc.k.contains(k)) {
        let mut valid: Vec<String> = Vec::new();
        for &k in &rc.k {
            valid.push(StopMetric::Hr(k).name());
            valid.push(StopMetric::Ndcg(k).name());
        }
        valid.push(StopMetric::Mrr.name());
        return Err(bad(
            key,
            format!(
                "\"{metric}\": K = {k} is not one of data.ranking.k = {:?}; choose one of {}, or add {k} to data.ranking.k",
                rc.k,
                valid.join(", ")
            ),
        ));
    }
    let labels: Vec<String> = c
        .data
        .interactions
        .clone()
        .unwrap_or_default()
        .label_names()
        .to_vec();
    let ranked: Vec<&str> = c
        .tasks
        .iter()
        .filter(|t| labels.contains(&t.column))
        .map(|t| t.name.as_str())
        .collect();
    if es.task == "mean" {
        if ranked.is_empty() {
            return Err(bad(
                "train.early_stopping.task",
                format!("\"mean\" of \"{metric}\" needs a task whose column is a behaviour label ({labels:?}); no task reads one"),
            ));
        }
        return Ok(());
    }
    match c.tasks.iter().find(|t| t.name == es.task) {
        Some(t) if labels.contains(&t.column) => Ok(()),
        Some(t) => Err(bad(
            "train.early_stopping.task",
            format!(
                "`{}` reads column `{}`, which is not a behaviour label ({labels:?}), so its pairs are not ranked; choose \"mean\" or one of {ranked:?}",
                t.name, t.column
            ),
        )),
        None => Err(bad(
            "train.early_stopping.task",
            format!(
                "`{}` is not a task; expected \"mean\" or one of {ranked:?}",
                es.task
            ),
        )),
    }
}
