//! Model against baselines: one verdict per (task, baseline, metric), the `summary.json`
//! fields and the console table.
//!
//! A model *beats* a baseline on a metric when it is strictly better there (higher AUC,
//! HR, NDCG, MRR; lower log loss, RMSE, MAE); a tie does not beat. A metric missing on
//! either side (AUC with one class) gives no verdict.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Per task, per metric name, its value (the shape of `train::run::TaskMetrics`).
pub type Metrics = BTreeMap<String, BTreeMap<String, f64>>;

/// The metrics compared, in display order, and whether higher is better.
pub const COMPARED: [(&str, bool); 7] = [
    ("auc", true),
    ("logloss", false),
    ("rmse", false),
    ("mae", false),
    ("hr10", true),
    ("ndcg10", true),
    ("mrr", true),
];

/// How a metric is written on the console: `AUC`, `log loss`, `RMSE`, `HR@10`, ...
pub fn display(metric: &str) -> String {
    match metric {
        "logloss" => "log loss".into(),
        "hr10" => "HR@10".into(),
        "ndcg10" => "NDCG@10".into(),
        m => m.to_uppercase(),
    }
}

/// The model against one baseline on one metric of one task.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub task: String,
    pub metric: String,
    pub baseline: String,
    pub model: f64,
    pub reference: f64,
    pub beats: bool,
}

/// Every verdict: tasks in `model`'s order, baselines in `baselines`' order, metrics in
/// [`COMPARED`] order.
pub fn verdicts(model: &Metrics, baselines: &[(String, Metrics)]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for (task, m) in model {
        for (name, b) in baselines {
            let Some(bm) = b.get(task) else { continue };
            for (metric, higher) in COMPARED {
                let (Some(&mv), Some(&bv)) = (m.get(metric), bm.get(metric)) else {
                    continue;
                };
                let beats = if higher { mv > bv } else { mv < bv };
                out.push(Verdict {
                    task: task.clone(),
                    metric: metric.to_string(),
                    baseline: name.clone(),
                    model: mv,
                    reference: bv,
                    beats,
                });
            }
        }
    }
    out
}

/// `"baselines": {name: {task: {metric: value}}}` of summary.json.
pub fn baselines_json(baselines: &[(String, Metrics)]) -> Value {
    Value::Object(
        baselines
            .iter()
            .map(|(n, m)| (n.clone(), json!(m)))
            .collect::<Map<_, _>>(),
    )
}

/// One task's `"beats_baselines"`: `{"all": bool, name: {metric: bool}}`; `None` when no
/// verdict concerns the task.
pub fn task_verdict(verdicts: &[Verdict], task: &str) -> Option<Value> {
    let mine: Vec<&Verdict> = verdicts.iter().filter(|v| v.task == task).collect();
    if mine.is_empty() {
        return None;
    }
    let mut obj = Map::new();
    obj.insert("all".into(), json!(mine.iter().all(|v| v.beats)));
    for v in mine {
        let entry = obj
            .entry(v.baseline.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(e) = entry {
            e.insert(v.metric.clone(), json!(v.beats));
        }
    }
    Some(Value::Object(obj))
}

/// The console table (task, metric, model, each baseline) and one line per lost
/// comparison: `model does NOT beat popularity on buy AUC (0.6012 vs 0.6234)`.
pub fn table(model: &Metrics, baselines: &[(String, Metrics)], split: &str) -> String {
    let vs = verdicts(model, baselines);
    let mut s = format!("baselines on the {split} split (model vs reference models):\n");
    let mut head = format!("  {:<14} {:<8} {:>10}", "task", "metric", "model");
    for (n, _) in baselines {
        head += &format!(" {n:>12}");
    }
    s += &head;
    s.push('\n');
    for (task, m) in model {
        for (metric, _) in COMPARED {
            let Some(mv) = m.get(metric) else { continue };
            if !vs.iter().any(|v| v.task == *task && v.metric == metric) {
                continue;
            }
            let mut line = format!("  {task:<14} {metric:<8} {mv:>10.4}");
            for (_, b) in baselines {
                match b.get(task).and_then(|t| t.get(metric)) {
                    Some(v) => line += &format!(" {v:>12.4}"),
                    None => line += &format!(" {:>12}", "-"),
                }
            }
            s += &line;
            s.push('\n');
        }
    }
    let lost: Vec<&Verdict> = vs.iter().filter(|v| !v.beats).collect();
    if lost.is_empty() && !vs.is_empty() {
        s += "  the model beats every baseline on every metric\n";
    }
    for v in lost {
        s += &format!(
            "  model does NOT beat {} on {} {} ({:.4} vs {:.4})\n",
            v.baseline,
            v.task,
            display(&v.metric),
            v.model,
            v.reference
        );
    }
    s
}
