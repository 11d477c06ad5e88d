//! Several runs side by side: overlaid curves per task, a table of every final metric
//! with the best run per metric marked, and the config keys whose values differ.

use super::html::{table, Cell};
use super::load::Run;
use super::series::{self, higher_is_better};
use super::svg::{line_chart, num};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The comparison section of `runs` (two or more).
pub fn comparison(runs: &[Run]) -> String {
    let mut s = String::from("<h2>Comparison</h2>");
    s.push_str(&overlaid(runs));
    s.push_str(&metrics_table(runs));
    s.push_str(&config_diff(runs));
    s
}

fn overlaid(runs: &[Run]) -> String {
    let mut tasks: Vec<String> = Vec::new();
    for r in runs {
        for t in series::task_names(r) {
            if !tasks.contains(&t) {
                tasks.push(t);
            }
        }
    }
    let mut s = String::from(r#"<h3>Curves of every run</h3><div class="charts">"#);
    for name in &tasks {
        let loss: Vec<_> = runs
            .iter()
            .map(|r| {
                let k = series::task_names(r).iter().position(|t| t == name);
                let mut ser = k.map_or_else(
                    || series::series(r, "", |_| None),
                    |k| series::train_loss(r, k, name),
                );
                ser.label = r.name.clone();
                ser
            })
            .collect();
        s.push_str(&line_chart(&format!("{name}: train loss"), &loss, None));
        if let Some(m) = runs.iter().find_map(|r| series::valid_metric(r, name)) {
            let valid: Vec<_> = runs
                .iter()
                .map(|r| {
                    let mut ser = series::valid_series(r, name, &m);
                    ser.label = r.name.clone();
                    ser
                })
                .collect();
            s.push_str(&line_chart(&format!("{name}: valid {m}"), &valid, None));
        }
    }
    s.push_str("</div>");
    s
}

/// `(row label, metric name, value per run)`: every final metric of any run, then the
/// run's size and speed.
fn metric_rows(runs: &[Run]) -> Vec<(String, String, Vec<Option<f64>>)> {
    let mut rows: Vec<(String, String, Vec<Option<f64>>)> = Vec::new();
    let mut put = |label: String, metric: &str, i: usize, v: Option<f64>| {
        let at = match rows.iter().position(|r| r.0 == label) {
            Some(p) => p,
            None => {
                rows.push((label, metric.to_string(), vec![None; runs.len()]));
                rows.len() - 1
            }
        };
        rows[at].2[i] = v;
    };
    for (i, r) in runs.iter().enumerate() {
        let Some(sum) = &r.summary else { continue };
        if r.seq {
            for split in ["valid", "test"] {
                for (k, v) in sum
                    .get(split)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    if k != "users" {
                        put(format!("{split} {k}"), k, i, v.as_f64());
                    }
                }
            }
        } else {
            for (task, t) in sum
                .get("tasks")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                for split in ["valid", "test", "cold"] {
                    for (k, v) in t
                        .get(split)
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        if k != "labelled" && k != "positives" {
                            put(format!("{task} {split} {k}"), k, i, v.as_f64());
                        }
                    }
                }
            }
        }
    }
    for (i, r) in runs.iter().enumerate() {
        let sum = r.summary.as_ref();
        let f = |k: &str| sum.and_then(|s| s.get(k)).and_then(Value::as_f64);
        put(
            "training samples/s".into(),
            "samples/s",
            i,
            f("train_samples_per_s"),
        );
        put(
            "wall time (s)".into(),
            "seconds",
            i,
            f("seconds").or(f("total_seconds")),
        );
        put("epochs recorded".into(), "", i, Some(r.epochs.len() as f64));
    }
    rows
}

fn metrics_table(runs: &[Run]) -> String {
    let mut head = vec!["metric".to_string()];
    head.extend(runs.iter().map(|r| r.name.clone()));
    let rows: Vec<Vec<Cell>> = metric_rows(runs)
        .into_iter()
        .map(|(label, metric, vals)| {
            // the best of the row: no best for counts, nor when fewer than two runs have it
            let ranked = !metric.is_empty() && vals.iter().flatten().count() >= 2;
            let best = vals
                .iter()
                .flatten()
                .copied()
                .fold(None::<f64>, |b, v| match b {
                    Some(b)
                        if (higher_is_better(&metric) && b >= v)
                            || (!higher_is_better(&metric) && b <= v) =>
                    {
                        Some(b)
                    }
                    _ => Some(v),
                });
            let mut row = vec![Cell::from(label)];
            row.extend(vals.iter().map(|v| Cell {
                text: v.map_or("—".into(), num),
                best: ranked && v.is_some() && *v == best,
            }));
            row
        })
        .collect();
    format!(
        "<h3>Final metrics (★ best per metric: higher AUC/HR/NDCG/MRR/samples per second, lower loss/RMSE/MAE/time)</h3>{}",
        table("compare", &head, &rows)
    )
}

/// `table` flattened to dotted keys (`train.lr`, `tasks[0].name`) and TOML values.
pub fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        toml::Value::Array(a) if a.iter().any(toml::Value::is_table) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.to_string());
        }
    }
}

fn config_diff(runs: &[Run]) -> String {
    let flat: Vec<Option<BTreeMap<String, String>>> = runs
        .iter()
        .map(|r| {
            r.config.as_ref().map(|c| {
                let mut m = BTreeMap::new();
                flatten("", &toml::Value::Table(c.clone()), &mut m);
                m
            })
        })
        .collect();
    let mut keys: Vec<&String> = flat.iter().flatten().flat_map(BTreeMap::keys).collect();
    keys.sort();
    keys.dedup();
    let mut rows = Vec::new();
    for k in keys {
        let vals: Vec<String> = flat
            .iter()
            .map(|m| match m {
                None => "(no config.toml)".into(),
                Some(m) => m.get(k).cloned().unwrap_or_else(|| "(not set)".into()),
            })
            .collect();
        if vals.iter().any(|v| *v != vals[0]) {
            let mut row = vec![Cell::from(k.as_str())];
            row.extend(vals.into_iter().map(Cell::from));
            rows.push(row);
        }
    }
    let mut s = String::from("<h3>Config keys that differ</h3>");
    if rows.is_empty() {
        let _ = write!(s, "<p>None: the runs have the same resolved config.</p>");
    } else {
        let mut head = vec!["key".to_string()];
        head.extend(runs.iter().map(|r| r.name.clone()));
        s.push_str(&table("diff", &head, &rows));
    }
    s
}
