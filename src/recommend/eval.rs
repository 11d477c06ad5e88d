//! Offline evaluation of ranked lists against held-out interactions (the run's test
//! split): HR@K, NDCG@K, MRR@K (binary relevance: the user's test items), catalogue
//! coverage, and per task the mean predicted and mean observed value of the listed
//! items; plus the sweep over fusion weights.
//!
//! ```text
//! coverage            = |∪_u list_u| / |catalogue|
//! mean_predicted_k    = mean over every listed (u, i) of v_k(u, i)
//! expected_per_list_k = mean over users of Σ_{i ∈ list_u} v_k(u, i)   (expected clicks…)
//! observed_mean_k     = mean label of task k over the listed (u, i) that have a
//!                       held-out label for k (observed_n of them)
//! ```

use super::config::{FusionConfig, FusionKind};
use super::fusion::Fusion;
use super::recommender::{Ranked, Recommender, Request, ScoredUser};
use crate::error::{Error, Result};
use crate::metrics::ranking::{hit_rate_at_k, mrr, ndcg_at_k};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One held-out interaction: catalogue item, labels and masks per task.
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    pub item: u32,
    pub labels: Vec<f32>,
    pub mask: Vec<f32>,
}

/// The held-out interactions of the run's test split, by user (in order of first
/// appearance), and how many rows named an item outside the catalogue.
pub struct Heldout {
    pub users: Vec<String>,
    pub rows: Vec<Vec<Interaction>>,
    pub outside_catalogue: usize,
}

pub fn heldout(r: &Recommender) -> Result<Heldout> {
    let t = &r.data.table;
    let (uc, ic) = (
        t.column(r.rec.user_column()).expect("user column"),
        t.column(r.rec.item_column()).expect("item column"),
    );
    let mv = &r.model.spec.missing_values;
    let enc: Vec<(Vec<f32>, Vec<f32>)> = r
        .model
        .spec
        .tasks
        .iter()
        .map(|l| l.encode(t, mv))
        .collect::<Result<_>>()?;
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out = Heldout {
        users: Vec::new(),
        rows: Vec::new(),
        outside_catalogue: 0,
    };
    for &row in &r.data.test {
        let Some(item) = r.catalogue.position(ic.get(row)) else {
            out.outside_catalogue += 1;
            continue;
        };
        let u = *at.entry(uc.get(row).to_string()).or_insert_with(|| {
            out.users.push(uc.get(row).to_string());
            out.rows.push(Vec::new());
            out.users.len() - 1
        });
        out.rows[u].push(Interaction {
            item: item as u32,
            labels: enc.iter().map(|(y, _)| y[row]).collect(),
            mask: enc.iter().map(|(_, m)| m[row]).collect(),
        });
    }
    Ok(out)
}

/// Per task, the values of the listed items.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskInList {
    pub task: String,
    pub mean_predicted: f64,
    pub expected_per_list: f64,
    pub observed_mean: Option<f64>,
    pub observed_n: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ListMetrics {
    pub k: usize,
    pub users: usize,
    pub hr: f64,
    pub ndcg: f64,
    pub mrr: f64,
    pub coverage: f64,
    pub tasks: Vec<TaskInList>,
}

/// Metrics of `lists[u]` against `held[u]` (users with held-out items only).
pub fn list_metrics(
    lists: &[Vec<Ranked>],
    held: &[Vec<Interaction>],
    n_items: usize,
    task_names: &[String],
    k: usize,
) -> Result<ListMetrics> {
    if lists.is_empty() {
        return Err(Error::Config {
            what: "--eval".into(),
            message: "no user has held-out items in the catalogue; nothing to evaluate".into(),
        });
    }
    let nt = task_names.len();
    let (mut hr, mut nd, mut rr) = (0.0, 0.0, 0.0);
    let mut seen = vec![false; n_items];
    let mut pred = vec![0.0f64; nt];
    let mut listed = 0usize;
    let mut obs = vec![(0.0f64, 0usize); nt];
    for (list, held) in lists.iter().zip(held) {
        let ranked: Vec<u64> = list.iter().map(|r| r.item as u64).collect();
        let rel: Vec<u64> = held.iter().map(|h| h.item as u64).collect();
        if !ranked.is_empty() {
            hr += hit_rate_at_k(&ranked, &rel, k)?;
            nd += ndcg_at_k(&ranked, &rel, k)?;
            rr += mrr(&ranked, &rel)?;
        }
        for r in list {
            seen[r.item as usize] = true;
            listed += 1;
            for (p, &v) in pred.iter_mut().zip(&r.tasks) {
                *p += v as f64;
            }
            for h in held.iter().filter(|h| h.item == r.item) {
                for (o, (&y, &m)) in obs.iter_mut().zip(h.labels.iter().zip(&h.mask)) {
                    if m > 0.0 {
                        o.0 += y as f64;
                        o.1 += 1;
                    }
                }
            }
        }
    }
    let u = lists.len() as f64;
    Ok(ListMetrics {
        k,
        users: lists.len(),
        hr: hr / u,
        ndcg: nd / u,
        mrr: rr / u,
        coverage: seen.iter().filter(|&&s| s).count() as f64 / n_items.max(1) as f64,
        tasks: (0..nt)
            .map(|t| TaskInList {
                task: task_names[t].clone(),
                mean_predicted: if listed == 0 {
                    0.0
                } else {
                    pred[t] / listed as f64
                },
                expected_per_list: pred[t] / u,
                observed_mean: (obs[t].1 > 0).then(|| obs[t].0 / obs[t].1 as f64),
                observed_n: obs[t].1,
            })
            .collect(),
    })
}

/// `task=a,b,c` (repeatable) → the grid of weight tables, first task varying slowest.
pub fn sweep_grid(specs: &[String]) -> Result<Vec<BTreeMap<String, f64>>> {
    let mut grid = vec![BTreeMap::new()];
    for s in specs {
        let (task, values) = s.split_once('=').ok_or_else(|| Error::Config {
            what: format!("--sweep {s}"),
            message: "should read TASK=W1,W2,… (e.g. like=0,0.5,1)".into(),
        })?;
        let ws: Vec<f64> = values
            .split(',')
            .map(|v| {
                v.trim().parse::<f64>().map_err(|_| Error::Config {
                    what: format!("--sweep {s}"),
                    message: format!("`{v}` is not a number"),
                })
            })
            .collect::<Result<_>>()?;
        grid = grid
            .into_iter()
            .flat_map(|g| {
                ws.iter().map(move |&w| {
                    let mut g = g.clone();
                    g.insert(task.trim().to_string(), w);
                    g
                })
            })
            .collect();
    }
    Ok(grid)
}

/// One row of the trade-off table per weight setting of `grid` (fusion `kind`): each
/// setting is laid over `base` (the configured weights; empty = every task 1) and the
/// lists are re-ranked from the same scores. A setting whose weights are all 0 has no
/// ranking: its row holds `None`.
#[allow(clippy::type_complexity)]
pub fn sweep(
    r: &Recommender,
    scored: &[ScoredUser],
    held: &[Vec<Interaction>],
    req: &Request<'_>,
    kind: FusionKind,
    base: &BTreeMap<String, f64>,
    grid: &[BTreeMap<String, f64>],
) -> Result<Vec<(BTreeMap<String, f64>, Option<ListMetrics>)>> {
    let tasks = &r.model.cfg.tasks;
    let names: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    let mut out = Vec::new();
    for setting in grid {
        let mut w: BTreeMap<String, f64> = names
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    if base.is_empty() {
                        1.0
                    } else {
                        base.get(n).copied().unwrap_or(0.0)
                    },
                )
            })
            .collect();
        w.extend(setting.iter().map(|(t, x)| (t.clone(), *x)));
        if w.values().all(|&x| x == 0.0) {
            out.push((w, None));
            continue;
        }
        let fusion = Fusion::new(
            &FusionConfig {
                kind,
                weights: w.clone(),
                ..Default::default()
            },
            tasks,
        )?;
        let req = Request {
            fusion: &fusion,
            ..req.clone()
        };
        let lists: Vec<Vec<Ranked>> = scored.iter().map(|s| r.rank(s, &req)).collect();
        out.push((
            w,
            Some(list_metrics(
                &lists,
                held,
                r.catalogue.len(),
                &names,
                req.k,
            )?),
        ));
    }
    Ok(out)
}

/// The sweep as a Markdown table.
pub fn sweep_table(
    rows: &[(BTreeMap<String, f64>, Option<ListMetrics>)],
    k: usize,
    tasks: &[String],
) -> String {
    let Some((w0, _)) = rows.first() else {
        return String::new();
    };
    let mut head: Vec<String> = w0.keys().map(|t| format!("w_{t}")).collect();
    head.extend([format!("HR@{k}"), format!("NDCG@{k}"), "coverage".into()]);
    for t in tasks {
        head.push(format!("{t} predicted"));
        head.push(format!("{t} observed"));
    }
    let mut s = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for (w, m) in rows {
        let mut cells: Vec<String> = w.values().map(|x| format!("{x}")).collect();
        match m {
            None => cells.push("all weights 0: no ranking".into()),
            Some(m) => {
                cells.extend([
                    format!("{:.4}", m.hr),
                    format!("{:.4}", m.ndcg),
                    format!("{:.4}", m.coverage),
                ]);
                for t in &m.tasks {
                    cells.push(format!("{:.4}", t.mean_predicted));
                    cells.push(
                        t.observed_mean
                            .map_or("–".into(), |o| format!("{o:.4} (n={})", t.observed_n)),
                    );
                }
            }
        }
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}
