//! The search page's plots: the objective per trial (one colour per rung of halving,
//! the best ringed, the preset's objective as a dashed line) and the objective against
//! each searched key (see `tune_page`).

use super::load::{load_run, Run};
use super::scatter::{scatter, XAxis};
use super::series::Series;
use super::tune_load::{objective_of, Tune};
use std::collections::BTreeMap;

/// The preset's objective (trial 0 at the full budget).
pub(super) fn preset_objective(t: &Tune) -> Option<f64> {
    if let Some(v) = t
        .result
        .as_ref()
        .and_then(|r| r["preset"]["valid_objective"].as_f64())
    {
        return Some(v);
    }
    let top = t.budgets().last().copied();
    t.records
        .iter()
        .filter(|r| r.trial == 0 && Some(r.epochs) == top)
        .find_map(|r| r.objective)
}

pub(super) fn objective_plots(t: &Tune, best: Option<usize>) -> String {
    let budgets = t.budgets();
    let mut per_rung: Vec<Series> = Vec::new();
    for &b in &budgets {
        let points: Vec<(f64, f64)> = t
            .records
            .iter()
            .filter(|r| r.epochs == b)
            .filter_map(|r| Some((r.trial as f64, r.objective.filter(|o| o.is_finite())?)))
            .collect();
        if !points.is_empty() {
            per_rung.push(Series {
                label: format!("{b} epochs"),
                points,
            });
        }
    }
    let top = budgets.last().copied();
    let ring = best.and_then(|b| {
        t.records
            .iter()
            .filter(|r| r.trial == b)
            .max_by_key(|r| r.epochs)
            .and_then(|r| Some((b as f64, r.objective?)))
    });
    let preset = preset_objective(t);
    let x = XAxis {
        label: "trial".into(),
        integer: true,
        ..XAxis::default()
    };
    let mut s = String::from("<h2>Objective per trial</h2>");
    if budgets.len() > 1 {
        s.push_str("<p>One colour per rung (epoch budget) of successive halving: a trial promoted to a higher rung appears once per rung it finished.</p>");
    }
    s.push_str(r#"<div class="charts">"#);
    s.push_str(&scatter(
        "validation objective per trial (best ringed)",
        &x,
        &t.objective,
        &per_rung,
        ring,
        preset.map(|p| (p, "preset (trial 0)")),
    ));
    s.push_str("</div>");
    // a searched key against the objective, trials at their largest budget (the
    // leaderboard's objective), one colour per budget when they differ
    if !t.keys.is_empty() {
        s.push_str("<h2>Objective against each searched key</h2><p>Each trial at its largest budget; trial 0 (the preset) shows the base config's value where its config.toml has the key.</p><div class=\"charts\">");
        let preset_cfg = load_run(&t.trial_dir(0)).ok();
        for k in &t.keys {
            s.push_str(&key_scatter(t, k, preset_cfg.as_ref(), best, top));
        }
        s.push_str("</div>");
    }
    s
}

fn key_scatter(
    t: &Tune,
    key: &str,
    preset: Option<&Run>,
    best: Option<usize>,
    top: Option<usize>,
) -> String {
    // (trial, value as written, epochs, objective)
    let mut pts: Vec<(usize, String, usize, f64)> = Vec::new();
    for row in &t.rows {
        let (Some(trial), Some(o)) = (
            row.get("trial").and_then(|x| x.parse::<usize>().ok()),
            objective_of(row),
        ) else {
            continue;
        };
        let mut v = row.get(key).cloned().unwrap_or_default();
        if v.is_empty() && trial == 0 {
            if let Some(cv) = preset.and_then(|p| p.config_value(key)) {
                v = crate::tune::board::cell(cv);
            }
        }
        if v.is_empty() {
            continue;
        }
        let e = row.get("epochs").and_then(|x| x.parse().ok()).unwrap_or(0);
        pts.push((trial, v, e, o));
    }
    let numeric: Option<Vec<f64>> = pts.iter().map(|p| p.1.parse::<f64>().ok()).collect();
    let mut axis = XAxis {
        label: key.to_string(),
        ..XAxis::default()
    };
    let xs: Vec<f64> = match numeric {
        Some(n) if !n.is_empty() => {
            let (lo, hi) = n
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            axis.log = lo > 0.0 && hi / lo >= 20.0;
            n
        }
        _ => {
            let mut cats: Vec<String> = Vec::new();
            for p in &pts {
                if !cats.contains(&p.1) {
                    cats.push(p.1.clone());
                }
            }
            let xs = pts
                .iter()
                .map(|p| cats.iter().position(|c| *c == p.1).unwrap_or(0) as f64)
                .collect();
            axis.categories = Some(cats);
            xs
        }
    };
    let mut groups: BTreeMap<std::cmp::Reverse<usize>, Vec<(f64, f64)>> = BTreeMap::new();
    let mut ring = None;
    for (p, &x) in pts.iter().zip(&xs) {
        groups
            .entry(std::cmp::Reverse(p.2))
            .or_default()
            .push((x, p.3));
        if Some(p.0) == best {
            ring = Some((x, p.3));
        }
    }
    let series: Vec<Series> = groups
        .into_iter()
        .map(|(e, points)| Series {
            label: if Some(e.0) == top {
                format!("{} epochs (full budget)", e.0)
            } else {
                format!("{} epochs", e.0)
            },
            points,
        })
        .collect();
    scatter(
        &format!("objective vs {key}"),
        &axis,
        &t.objective,
        &series,
        ring,
        None,
    )
}
