//! Scoring a split and measuring each task: AUC and log loss for binary tasks, RMSE and
//! MAE for regression tasks, on the samples that have a label for the task.

use crate::autograd::{Graph, ParamStore};
use crate::config::{TaskConfig, TaskType};
use crate::data::features::EncodedBatch;
use crate::data::rows::Rows;
use crate::error::Result;
use crate::metrics;
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use std::collections::BTreeMap;

/// Per task, per metric name, its value. Metrics that are undefined on a split (AUC
/// with one class only) are left out rather than reported as a number.
pub type TaskMetrics = BTreeMap<String, BTreeMap<String, f64>>;

/// Raw model outputs (logits for binary tasks, values for regression) for every row of
/// `data`: `out[k][i]`. Runs in evaluation mode (no dropout).
pub fn predict(
    g: &mut Graph,
    input: &FeatureInput,
    model: &dyn MultiTaskModel,
    store: &ParamStore,
    data: &dyn Rows,
    batch_size: usize,
) -> Result<Vec<Vec<f32>>> {
    let was_training = g.is_training();
    g.set_training(false);
    let k = model.num_tasks();
    let mut out = vec![Vec::with_capacity(data.len()); k];
    let mut batch = EncodedBatch::default();
    let (n, bs) = (data.len(), batch_size.max(1));
    // one batch of row numbers at a time, not all N (8 bytes a row of the split)
    let mut chunk = Vec::with_capacity(bs.min(n));
    for start in (0..n).step_by(bs) {
        g.reset();
        chunk.clear();
        chunk.extend(start..(start + bs).min(n));
        data.batch(&chunk, &mut batch);
        let x = input.forward(g, store, &batch)?; // (B, D_in)
        let outs = model.forward(g, store, x)?; // K × (B, 1)
        for (o, &v) in out.iter_mut().zip(&outs) {
            o.extend_from_slice(g.value(v));
        }
    }
    g.set_training(was_training);
    Ok(out)
}

fn sigmoid(z: f32) -> f32 {
    crate::ops::unary::f(crate::autograd::UnaryFn::Sigmoid, z)
}

/// The metrics of every task from raw outputs `out[k][i]` and the split's labels.
pub fn task_metrics(
    tasks: &[TaskConfig],
    out: &[Vec<f32>],
    data: &dyn Rows,
) -> Result<TaskMetrics> {
    let mut all = TaskMetrics::new();
    for (t, task) in tasks.iter().enumerate() {
        let (labels, mask) = data.task_column(t); // (N,) each
        let mut m = BTreeMap::new();
        let (pred, y) = metrics::masked(&out[t], &labels, Some(&mask))?;
        m.insert("labelled".to_string(), y.len() as f64);
        if y.is_empty() {
            all.insert(task.name.clone(), m);
            continue;
        }
        match task.kind {
            TaskType::Binary => {
                let p: Vec<f32> = pred.iter().map(|&z| sigmoid(z)).collect();
                if let Ok(auc) = metrics::auc(&pred, &y) {
                    m.insert("auc".into(), auc);
                }
                m.insert("logloss".into(), metrics::log_loss(&p, &y)?);
                m.insert(
                    "positives".into(),
                    y.iter().filter(|&&v| v > 0.5).count() as f64,
                );
            }
            TaskType::Regression => {
                m.insert("rmse".into(), metrics::rmse(&pred, &y)?);
                m.insert("mae".into(), metrics::mae(&pred, &y)?);
            }
        }
        all.insert(task.name.clone(), m);
    }
    Ok(all)
}

/// The early-stopping score: `metric` of `task`, or its mean over the tasks that report
/// it when `task` is "mean". `None` when no task reports it.
pub fn score(m: &TaskMetrics, task: &str, metric: &str) -> Option<f64> {
    if task == "mean" {
        let v: Vec<f64> = m.values().filter_map(|t| t.get(metric).copied()).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    } else {
        m.get(task).and_then(|t| t.get(metric).copied())
    }
}

/// Refuses a run whose early-stopping score cannot be computed on the validation split
/// (`valid`: the metrics of the untrained model there): no validation rows, no labelled
/// rows of the task, or (AUC) one class only. Such a run would never pick a best epoch.
pub fn check_score_defined(
    valid: &TaskMetrics,
    es: &crate::config::EarlyStopping,
    metric: &str,
    valid_rows: usize,
) -> crate::error::Result<()> {
    if score(valid, &es.task, metric).is_some_and(f64::is_finite) {
        return Ok(());
    }
    let tasks: Vec<String> = valid
        .iter()
        .filter(|(name, _)| es.task == "mean" || **name == es.task)
        .map(|(name, m)| {
            let n = |k: &str| m.get(k).copied().unwrap_or(0.0) as usize;
            match m.get("positives") {
                Some(_) => format!(
                    "`{name}`: {} labelled, {} positive",
                    n("labelled"),
                    n("positives")
                ),
                None => format!("`{name}`: {} labelled", n("labelled")),
            }
        })
        .collect();
    Err(crate::error::Error::Config {
        what: "train.early_stopping".into(),
        message: format!(
            "valid {metric} of `{}` cannot be computed on the validation split ({valid_rows} rows; {}){}, so no epoch could be chosen as the best; give the validation split labelled rows of the task (a larger [split] valid share or other data){}",
            es.task,
            if tasks.is_empty() { "no such task".into() } else { tasks.join(", ") },
            if metric == "auc" { "; AUC needs both positive and negative labels" } else { "" },
            if metric == "auc" { ", or set train.early_stopping.metric = \"logloss\" (defined with one class)" } else { "" },
        ),
    })
}
