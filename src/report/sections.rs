//! The report of one run: overview, early stopping, final metrics, per-task curves,
//! learning rate, task weights, gate heat maps, task-gradient cosines, config.

use super::html::{esc, table, Cell};
use super::load::Run;
use super::series::{self, Series};
use super::svg::{heat_map, line_chart, num};
use serde_json::Value;
use std::fmt::Write;

/// Heat maps per kind at most (first, last and best epoch always among them).
const HEAT_EPOCHS: usize = 6;

fn json_num(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64).map_or("—".into(), num)
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "—".into(),
        Some(v) => v.to_string(),
    }
}

/// Everything about one run, as HTML.
pub fn run_section(run: &Run) -> String {
    let mut s = String::new();
    if !run.notes.is_empty() {
        s.push_str(r#"<div class="missing"><b>Missing or incomplete in this run folder:</b><ul>"#);
        for n in &run.notes {
            let _ = write!(s, "<li>{}</li>", esc(n));
        }
        s.push_str("</ul></div>");
    }
    s.push_str(&overview(run));
    s.push_str(&early_stopping(run));
    s.push_str(&final_metrics(run));
    s.push_str(&curves(run));
    s.push_str(&balance_and_gates(run));
    if let Some(c) = &run.config_text {
        let _ = write!(
            s,
            "<h3>Resolved config (config.toml)</h3><pre>{}</pre>",
            esc(c)
        );
    }
    s
}

fn overview(run: &Run) -> String {
    let sum = run.summary.as_ref();
    let get = |k: &str| sum.and_then(|s| s.get(k));
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut add = |k: &str, v: String| rows.push(vec![Cell::from(k), Cell::from(v)]);
    add("folder", run.path.display().to_string());
    let model = get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| run.seq.then(|| "sasrec".to_string()))
        .or_else(|| {
            run.config_value("model.arch")
                .and_then(|v| v.as_str().map(str::to_string))
        });
    add("model", model.unwrap_or_else(|| "—".into()));
    add("tasks", series::task_names(run).join(", "));
    let invs = run.invocations();
    for (i, inv) in invs.iter().enumerate() {
        let tag = if i == 0 {
            String::new()
        } else {
            format!(" (resume {i})")
        };
        let cmd = inv
            .get("command_line")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| "—".into());
        add(&format!("command line{tag}"), cmd);
        add(
            &format!("mtrec{tag}"),
            format!(
                "{} (commit {})",
                text(inv.get("mtrec_version")),
                text(inv.get("commit"))
            ),
        );
        add(
            &format!("machine{tag}"),
            format!(
                "{} · {}/{} · {} · {} cores",
                text(inv.get("host")),
                text(inv.get("os")),
                text(inv.get("arch")),
                text(inv.get("cpu")),
                text(inv.get("cores"))
            ),
        );
    }
    let threads = get("threads").or_else(|| invs.last().and_then(|i| i.get("threads")));
    add("threads", text(threads));
    let wall = get("seconds").or_else(|| get("total_seconds"));
    add(
        "wall time",
        wall.and_then(Value::as_f64)
            .map_or("— (no summary.json)".into(), |w| format!("{} s", num(w))),
    );
    let sps = get("train_samples_per_s")
        .and_then(Value::as_f64)
        .or_else(|| {
            let v: Vec<f64> = run
                .epochs
                .iter()
                .filter_map(|l| l.get("samples_per_s")?.as_f64())
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        });
    add(
        "training samples/s",
        sps.map_or("—".into(), |v| format!("{v:.0}")),
    );
    add("epochs recorded", run.epochs.len().to_string());
    if let Some(rows_v) = get("rows").and_then(Value::as_object) {
        add(
            "rows",
            rows_v
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    format!(
        "<h3>Run</h3>{}",
        table("overview", &["".into(), "".into()], &rows)
    )
}

/// Why training stopped when it did, in words.
pub fn early_stopping(run: &Run) -> String {
    let Some((best, what)) = series::best_epoch(run) else {
        return String::from(
            r#"<div class="es">No early-stopping record: no complete epoch in metrics.jsonl.</div>"#,
        );
    };
    let last = run
        .epochs
        .iter()
        .filter_map(series::epoch_no)
        .fold(0f64, f64::max);
    let int = |k: &str| run.config_value(k).and_then(toml::Value::as_integer);
    let (patience, epochs) = if run.seq {
        let quick = run
            .summary
            .as_ref()
            .and_then(|s| s.get("quick"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ep = if quick {
            "train.quick_epochs"
        } else {
            "train.epochs"
        };
        (int("train.patience"), int(ep).map(|e| (e, ep)))
    } else {
        (
            int("train.early_stopping.patience"),
            int("train.epochs").map(|e| (e, "train.epochs")),
        )
    };
    let best_value = if run.seq {
        run.epochs
            .iter()
            .find(|l| series::epoch_no(l) == Some(best))
            .and_then(|l| l.pointer("/valid/ndcg10"))
            .and_then(Value::as_f64)
    } else {
        run.epochs
            .last()
            .and_then(|l| l.pointer("/early_stopping/best"))
            .and_then(Value::as_f64)
    };
    let bad = (last - best).max(0.0) as i64;
    let mut s = format!(
        r#"<div class="es"><b>Best epoch {}</b> by {} = {}: its weights are the run's model (model.safetensors) and give the final metrics. "#,
        num(best),
        esc(&what),
        best_value.map_or("—".into(), num)
    );
    let p = patience.map_or("?".into(), |p| p.to_string());
    let finished = run.summary.is_some();
    match (finished, epochs) {
        (true, Some((e, key)))
            if (last as i64) < e && patience.is_some_and(|p| p > 0 && bad >= p) =>
        {
            let _ = write!(
                s,
                "Training <b>stopped early</b> after epoch {}: {bad} epochs without improvement reached the patience of {p}, before {key} = {e}.",
                num(last)
            );
        }
        (true, Some((e, key))) => {
            let _ = write!(
                s,
                "Training ran all {e} epochs ({key}); {bad} epochs without improvement at the end, patience {p}{}.",
                if patience == Some(0) { " (0: never stop early)" } else { "" }
            );
        }
        (true, None) => {
            let _ = write!(s, "Training ended after epoch {}.", num(last));
        }
        (false, e) => {
            let _ = write!(
                s,
                "The run has <b>not finished</b> (still training, or killed) after epoch {} of {}: {bad} epochs without improvement so far, patience {p}.",
                num(last),
                e.map_or("?".into(), |(e, _)| e.to_string())
            );
        }
    }
    s.push_str("</div>");
    s
}

/// Metrics shown in tables (counts such as `labelled` are left out).
fn shown_metric(k: &str) -> bool {
    !matches!(k, "labelled" | "positives" | "users")
}

fn final_metrics(run: &Run) -> String {
    let Some(sum) = &run.summary else {
        return "<h3>Final metrics</h3><p>— (no summary.json)</p>".into();
    };
    let mut head = vec!["task".to_string()];
    let mut rows = Vec::new();
    if run.seq {
        head = vec!["split".into()];
        let keys = [
            "hr5",
            "ndcg5",
            "hr10",
            "ndcg10",
            "mrr",
            "rating_rmse",
            "like_auc",
            "users",
        ];
        head.extend(keys.iter().map(|k| k.to_string()));
        for split in ["valid", "test"] {
            let mut row = vec![Cell::from(split)];
            row.extend(
                keys.iter()
                    .map(|k| Cell::from(json_num(sum.get(split).and_then(|m| m.get(*k))))),
            );
            rows.push(row);
        }
    } else {
        let tasks = sum.get("tasks").and_then(Value::as_object);
        let mut cols: Vec<(String, String)> = Vec::new(); // (split, metric)
        for split in ["valid", "test", "cold"] {
            for t in tasks.into_iter().flat_map(|m| m.values()) {
                for k in t
                    .get(split)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|m| m.keys())
                {
                    let c = (split.to_string(), k.clone());
                    if shown_metric(k) && !cols.contains(&c) {
                        cols.push(c);
                    }
                }
            }
        }
        head.extend(cols.iter().map(|(s, m)| format!("{s} {m}")));
        for (name, t) in tasks.into_iter().flatten() {
            let mut row = vec![Cell::from(name.as_str())];
            row.extend(
                cols.iter()
                    .map(|(s, m)| Cell::from(json_num(t.get(s).and_then(|x| x.get(m))))),
            );
            rows.push(row);
        }
    }
    format!(
        "<h3>Final metrics (best epoch)</h3>{}",
        table("final", &head, &rows)
    )
}

fn curves(run: &Run) -> String {
    let best = series::best_epoch(run);
    let marker = best
        .as_ref()
        .map(|(e, _)| (*e, format!("best epoch {}", num(*e))));
    let mk = marker.as_ref().map(|(e, l)| (*e, l.as_str()));
    let mut s = String::from(
        r#"<h3>Per task: training loss and validation metric</h3><div class="charts">"#,
    );
    for (k, name) in series::task_names(run).iter().enumerate() {
        s.push_str(&line_chart(
            &format!("{name}: train loss"),
            &[series::train_loss(run, k, name)],
            mk,
        ));
        if let Some(m) = series::valid_metric(run, name) {
            s.push_str(&line_chart(
                &format!("{name}: valid {m}"),
                &[series::valid_series(run, name, &m)],
                mk,
            ));
        }
    }
    s.push_str("</div>");
    let lr = series::series(run, "learning rate", |l| l.get("lr")?.as_f64());
    s.push_str(r#"<h3>Learning rate</h3><div class="charts">"#);
    if lr.points.is_empty() {
        let fixed = run.config_value("train.lr").and_then(toml::Value::as_float);
        let _ = write!(
            s,
            "<p>Not recorded per epoch in metrics.jsonl{}.</p>",
            fixed.map_or(String::new(), |v| format!(
                "; the config's train.lr is {} (constant)",
                num(v)
            ))
        );
    } else {
        s.push_str(&line_chart(
            "learning rate (last step of the epoch)",
            &[lr],
            mk,
        ));
    }
    s.push_str("</div>");
    s
}

fn balance_and_gates(run: &Run) -> String {
    // Over 100 lines: one figure per diagnostic (task weights, gate weights, task-gradient
    // cosines) and the note when none was recorded, in page order.
    let tasks = series::task_names(run);
    let best = series::best_epoch(run).map(|(e, _)| e);
    let marker = best.map(|e| (e, "best"));
    let mut s = String::new();
    let w = series::vectors(run, "task_weights");
    if !w.is_empty() {
        let k = w.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        let lines: Vec<Series> = (0..k)
            .map(|i| Series {
                label: tasks.get(i).cloned().unwrap_or_else(|| format!("task {i}")),
                points: w
                    .iter()
                    .filter_map(|(e, v)| Some((*e, *v.get(i)?)))
                    .collect(),
            })
            .collect();
        let bal = run
            .config_value("train.balance")
            .map_or("?".into(), |v| v.to_string());
        let _ = write!(
            s,
            r#"<h3>Balancer task weights (train.balance = {})</h3><div class="charts">{}</div>"#,
            esc(&bal),
            line_chart("task weight after the epoch", &lines, marker)
        );
    }
    let gates = series::gates(run);
    if !gates.is_empty() {
        let epochs: Vec<f64> = gates.iter().map(|(e, _)| *e).collect();
        let _ = write!(
            s,
            r#"<h3>Gate weights (gates × experts, mean over a training batch)</h3><div class="charts">"#
        );
        for e in series::sample_epochs(&epochs, HEAT_EPOCHS, best) {
            let Some((_, g)) = gates.iter().find(|(x, _)| *x == e) else {
                continue;
            };
            let rows: Vec<String> = (0..g.len())
                .map(|i| {
                    if g.len() == tasks.len() {
                        tasks[i].clone()
                    } else {
                        format!("gate {i}")
                    }
                })
                .collect();
            let cols: Vec<String> = (0..g.iter().map(Vec::len).max().unwrap_or(0))
                .map(|j| format!("e{j}"))
                .collect();
            let tag = if Some(e) == best { " (best)" } else { "" };
            s.push_str(&heat_map(
                &format!("epoch {}{tag}", num(e)),
                &rows,
                &cols,
                g,
                false,
            ));
        }
        s.push_str("</div>");
    }
    let cos = series::vectors(run, "task_gradient_cosines");
    if !cos.is_empty() {
        let k = (cos[0].1.len() as f64).sqrt().round() as usize;
        let names: Vec<String> = (0..k)
            .map(|i| tasks.get(i).cloned().unwrap_or_else(|| format!("task {i}")))
            .collect();
        let mut pairs = Vec::new();
        for i in 0..k {
            for j in i + 1..k {
                pairs.push(Series {
                    label: format!("{} · {}", names[i], names[j]),
                    points: cos
                        .iter()
                        .filter_map(|(e, v)| Some((*e, *v.get(i * k + j)?)))
                        .collect(),
                });
            }
        }
        let _ = write!(
            s,
            r#"<h3>Task-gradient cosines on the shared parameters (&lt; 0: the tasks conflict)</h3><div class="charts">{}"#,
            line_chart("cosine per task pair", &pairs, marker)
        );
        let epochs: Vec<f64> = cos.iter().map(|(e, _)| *e).collect();
        for e in series::sample_epochs(&epochs, HEAT_EPOCHS, best) {
            let Some((_, v)) = cos.iter().find(|(x, _)| *x == e) else {
                continue;
            };
            let m: Vec<Vec<f64>> = v.chunks(k.max(1)).map(<[f64]>::to_vec).collect();
            let tag = if Some(e) == best { " (best)" } else { "" };
            s.push_str(&heat_map(
                &format!("epoch {}{tag}", num(e)),
                &names,
                &names,
                &m,
                true,
            ));
        }
        s.push_str("</div>");
    }
    if !run.seq && !run.epochs.is_empty() && w.is_empty() && gates.is_empty() && cos.is_empty() {
        s.push_str("<p>No task weights, gate weights or task-gradient cosines in metrics.jsonl (a run of an older mtrec).</p>");
    }
    s
}
