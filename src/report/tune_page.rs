//! The page of a search folder (`mtrec report runs/tune-X`):
//!
//! ```text
//! overview (strategy, objective, budgets, trials by status, wall time)
//! leaderboard (ranked as leaderboard.csv, the best row marked ★, links to run folders)
//! objective per trial (one colour per rung for halving, the preset as a dashed line)
//! objective against each searched key (one scatter per key)
//! best trial vs trial 0 (the preset): settings, valid objective, test metrics
//! the top trials' curves beside the preset's (the multi-run comparison of compare.rs)
//! ```
//! The test split is shown, never used: the ranking is the validation objective's.

use super::compare;
use super::html::{esc, table, Cell};
use super::load::load_run;
use super::series::higher_is_better;
use super::svg::num;
use super::tune_load::{objective_of, Tune};
use super::tune_plots::{objective_plots, preset_objective};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

/// How many of the best trials get their curves on the page (besides the preset).
pub const TOP_TRIALS: usize = 3;

/// The page of `t`; links to run folders are relative to `out_dir` (the folder the page
/// is written to) where both paths resolve, else the paths as given.
pub fn render_tune(t: &Tune, out_dir: Option<&Path>) -> String {
    let title = format!("mtrec tune report: {}", t.name);
    let mut s = format!("<h1>{}</h1>", esc(&title));
    if !t.notes.is_empty() {
        s.push_str(
            r#"<div class="missing"><b>Missing or incomplete in this search folder:</b><ul>"#,
        );
        for n in &t.notes {
            let _ = write!(s, "<li>{}</li>", esc(n));
        }
        s.push_str("</ul></div>");
    }
    let best = t.best_trial();
    s.push_str(&overview(t, best));
    s.push_str(&leaderboard(t, best, out_dir));
    s.push_str(&objective_plots(t, best));
    s.push_str(&best_vs_preset(t, best));
    s.push_str(&top_trials(t, out_dir));
    s.push_str(&format!(
        "<footer><p>Written by mtrec {} (commit {}).</p></footer>",
        env!("CARGO_PKG_VERSION"),
        env!("MTREC_COMMIT")
    ));
    super::html::page(&title, &s)
}

fn count(t: &Tune, status: &str) -> usize {
    t.rows
        .iter()
        .filter(|r| r.get("status").map(String::as_str) == Some(status))
        .count()
}

fn overview(t: &Tune, best: Option<usize>) -> String {
    let search = t.search.as_ref();
    let strategy = t
        .result
        .as_ref()
        .and_then(|r| r["strategy"].as_str())
        .or_else(|| search.and_then(|s| s["strategy"].as_str()))
        .unwrap_or("(unknown)");
    let budgets: Vec<String> = t.budgets().iter().map(usize::to_string).collect();
    let statuses = ["done", "pruned", "paused", "failed", "running", "finished"]
        .iter()
        .map(|st| (st, count(t, st)))
        .filter(|(_, n)| *n > 0)
        .map(|(st, n)| format!("{n} {st}"))
        .collect::<Vec<_>>()
        .join(", ");
    let trained: f64 = t.records.iter().map(|r| r.seconds).sum();
    let wall = match t.result.as_ref().and_then(|r| r["seconds"].as_f64()) {
        Some(w) => format!("{} s (trials trained {} s in all)", num(w), num(trained)),
        None => format!("(not finished) trials trained {} s so far", num(trained)),
    };
    let rows: Vec<Vec<Cell>> = vec![
        vec!["strategy".into(), strategy.into()],
        vec![
            "objective (validation split)".into(),
            t.objective.clone().into(),
        ],
        vec!["epoch budgets (rungs)".into(), budgets.join(", ").into()],
        vec![
            "trials (trial 0 is the preset)".into(),
            format!("{} on the leaderboard: {statuses}", t.rows.len()).into(),
        ],
        vec!["wall time".into(), wall.into()],
        vec![
            "best trial".into(),
            best.map_or("(none with an objective yet)".into(), |b| {
                format!(
                    "trial-{b:03}{}",
                    if t.result.is_some() { "" } else { " (so far)" }
                )
            })
            .into(),
        ],
        vec![
            "best config".into(),
            if t.path.join("best.toml").is_file() {
                format!(
                    "{} (mtrec train --config it)",
                    t.path.join("best.toml").display()
                )
                .into()
            } else {
                "(best.toml is written when the search finishes)".into()
            },
        ],
    ];
    format!(
        "<h2>Search</h2>{}",
        table("overview", &["".into(), "".into()], &rows)
    )
}

/// `target` relative to `from` (both made absolute), or `target` as given.
fn link(from: Option<&Path>, target: &Path) -> String {
    let rel = (|| {
        let from = std::fs::canonicalize(from?).ok()?;
        let to = std::fs::canonicalize(target).ok()?;
        let (f, t): (Vec<Component>, Vec<Component>) =
            (from.components().collect(), to.components().collect());
        let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
        let mut p = PathBuf::new();
        for _ in common..f.len() {
            p.push("..");
        }
        for c in &t[common..] {
            p.push(c);
        }
        Some(p)
    })();
    let p = rel.unwrap_or_else(|| target.to_path_buf());
    let mut s = p.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        s.push('.');
    }
    s + "/"
}

fn leaderboard(t: &Tune, best: Option<usize>, out_dir: Option<&Path>) -> String {
    let mut head: Vec<String> = ["rank", "trial", "status", "epochs", "objective"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    head.extend(t.keys.iter().cloned());
    head.extend(["seconds", "run", "error"].iter().map(|h| h.to_string()));
    let mut s = format!(
        "<h2>Leaderboard</h2><p>Ranked by the validation objective, {} is better; ★ marks the best trial. Trials stopped at a lower rung (pruned, paused) rank below those at the full budget. Trial 0 runs the base config (its parameter cells are empty).</p><table class=\"board\"><thead><tr>",
        if t.maximize { "larger" } else { "smaller" }
    );
    for h in &head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for (i, row) in t.rows.iter().enumerate() {
        let trial: Option<usize> = row.get("trial").and_then(|x| x.parse().ok());
        let is_best = trial.is_some() && trial == best;
        let get = |k: &str| row.get(k).cloned().unwrap_or_default();
        let _ = write!(
            s,
            "<tr{}><th>{}{}</th>",
            if is_best { r#" class="bestrow""# } else { "" },
            if is_best { "★ " } else { "" },
            esc(&row.get("rank").cloned().unwrap_or((i + 1).to_string()))
        );
        let trial_cell = match trial {
            Some(0) => "0 (preset)".to_string(),
            _ => get("trial"),
        };
        let _ = write!(s, "<td>{}</td>", esc(&trial_cell));
        for k in ["status", "epochs"] {
            let _ = write!(s, "<td>{}</td>", esc(&get(k)));
        }
        let obj = objective_of(row).map_or_else(|| get("objective"), num);
        let _ = write!(s, "<td>{}</td>", esc(&obj));
        for k in &t.keys {
            let _ = write!(s, "<td>{}</td>", esc(&get(k)));
        }
        let _ = write!(s, "<td>{}</td>", esc(&get("seconds")));
        let run = get("run");
        if !run.is_empty() && t.path.join(&run).is_dir() {
            let _ = write!(
                s,
                r#"<td><a href="{}">{}</a></td>"#,
                esc(&link(out_dir, &t.path.join(&run))),
                esc(&run)
            );
        } else {
            let _ = write!(s, "<td>{}</td>", esc(&run));
        }
        let _ = write!(s, r#"<td class="err">{}</td></tr>"#, esc(&get("error")));
    }
    s.push_str("</tbody></table>");
    if t.rows.is_empty() {
        s.push_str("<p>No trial on the leaderboard yet.</p>");
    }
    s
}

/// `{task: {metric: v}}` of a result.json entry, else of the trial's summary.json.
fn test_metrics(t: &Tune, which: &str, trial: usize) -> BTreeMap<String, BTreeMap<String, f64>> {
    let from_result = t.result.as_ref().map(|r| r[which]["test"].clone());
    let tests = from_result.filter(Value::is_object).unwrap_or_else(|| {
        let sum: Value = std::fs::read_to_string(t.trial_dir(trial).join("summary.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null);
        let mut m = serde_json::Map::new();
        for (k, v) in sum["tasks"].as_object().into_iter().flatten() {
            m.insert(k.clone(), v["test"].clone());
        }
        Value::Object(m)
    });
    let mut out = BTreeMap::new();
    for (task, ms) in tests.as_object().into_iter().flatten() {
        let m: BTreeMap<String, f64> = ms
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "labelled" && *k != "positives")
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        out.insert(task.clone(), m);
    }
    out
}

fn best_vs_preset(t: &Tune, best: Option<usize>) -> String {
    let mut s = String::from("<h2>Best trial vs the preset (trial 0)</h2>");
    let Some(b) = best else {
        s.push_str("<p>No trial has an objective yet.</p>");
        return s;
    };
    let _ = write!(
        s,
        "<p>trial-{b:03} was chosen by the validation objective alone; the test split is shown here once, never used to choose.</p>"
    );
    // the settings: the best trial's row against the base config's values
    let best_row = t
        .rows
        .iter()
        .find(|r| r.get("trial").and_then(|x| x.parse().ok()) == Some(b));
    let preset = load_run(&t.trial_dir(0)).ok();
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for k in &t.keys {
        let pv = preset
            .as_ref()
            .and_then(|p| p.config_value(k))
            .map_or("(not set)".into(), crate::tune::board::cell);
        let bv = best_row
            .and_then(|r| r.get(k).cloned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| pv.clone());
        rows.push(vec![k.as_str().into(), pv.into(), bv.into()]);
    }
    let head = |first: &str| -> Vec<String> {
        vec![
            first.into(),
            "preset (trial-000)".into(),
            format!("best (trial-{b:03})"),
        ]
    };
    if !rows.is_empty() {
        s.push_str("<h3>Settings</h3>");
        s.push_str(&table("settings", &head("key"), &rows));
    }
    let pick = |better: bool, a: Option<f64>, c: Option<f64>| -> (bool, bool) {
        match (a, c) {
            (Some(a), Some(c)) if a != c => ((a > c) == better, (c > a) == better),
            _ => (false, false),
        }
    };
    let best_obj = t
        .result
        .as_ref()
        .and_then(|r| r["best"]["valid_objective"].as_f64())
        .or_else(|| best_row.and_then(objective_of));
    let preset_obj = preset_objective(t);
    let (pb, bb) = pick(t.maximize, preset_obj, best_obj);
    let cell = |v: Option<f64>, best: bool| Cell {
        text: v.map_or("—".into(), num),
        best,
    };
    let mut rows = vec![vec![
        Cell::from(format!("valid objective: {}", t.objective)),
        cell(preset_obj, pb),
        cell(best_obj, bb),
    ]];
    let (pt, bt) = (test_metrics(t, "preset", 0), test_metrics(t, "best", b));
    let mut tasks: Vec<&String> = pt.keys().chain(bt.keys()).collect();
    tasks.sort();
    tasks.dedup();
    for task in tasks {
        let mut metrics: Vec<&String> = pt
            .get(task)
            .into_iter()
            .chain(bt.get(task))
            .flat_map(BTreeMap::keys)
            .collect();
        metrics.sort();
        metrics.dedup();
        for m in metrics {
            let pv = pt.get(task).and_then(|x| x.get(m)).copied();
            let bv = bt.get(task).and_then(|x| x.get(m)).copied();
            let (pb, bb) = pick(higher_is_better(m), pv, bv);
            rows.push(vec![
                Cell::from(format!("{task} test {m}")),
                cell(pv, pb),
                cell(bv, bb),
            ]);
        }
    }
    s.push_str("<h3>Metrics (★ the better of the two)</h3>");
    s.push_str(&table("preset", &head("metric"), &rows));
    s
}

fn top_trials(t: &Tune, out_dir: Option<&Path>) -> String {
    let mut picked: Vec<usize> = t
        .rows
        .iter()
        .filter(|r| objective_of(r).is_some())
        .filter_map(|r| r.get("trial")?.parse().ok())
        .filter(|&x| x != 0)
        .take(TOP_TRIALS)
        .collect();
    picked.insert(0, 0);
    let mut s = format!(
        "<h2>Curves of the top {} trials beside the preset</h2>",
        picked.len() - 1
    );
    let mut runs = Vec::new();
    let mut links = Vec::new();
    for &p in &picked {
        let dir = t.trial_dir(p);
        match load_run(&dir) {
            Ok(r) => {
                links.push(format!(
                    r#"<li><a href="{}">{}</a>: <code>mtrec report {}</code> shows its own page</li>"#,
                    esc(&link(out_dir, &dir)),
                    esc(&r.name),
                    esc(&dir.display().to_string())
                ));
                runs.push(r);
            }
            Err(e) => links.push(format!("<li>trial-{p:03}: {}</li>", esc(&e.to_string()))),
        }
    }
    let _ = write!(s, "<ul>{}</ul>", links.join(""));
    if runs.len() >= 2 {
        s.push_str(&compare::comparison(&runs));
    } else {
        s.push_str("<p>Fewer than two trial folders to compare yet.</p>");
    }
    s
}
