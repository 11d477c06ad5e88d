//! Honest baselines: simple reference models fitted on the same training split as the
//! model and scored with the same metrics on the same test split, so that every run
//! says whether the model beats them (docs/baselines.md).
//!
//! ```text
//! popularity   per task, the item's training mean (positive rate) shrunk toward ȳ
//! biases       z = μ + b_user + b_item, ridge least squares / ridge logistic regression
//! transition   mtrec seq: first-order item-to-item counts, popularity breaking ties
//! ```
//!
//! `mtrec train` asks [`plan`] which baselines run and on which columns, then
//! [`tabular_outputs`] for their raw outputs (logits for binary tasks), measures them
//! with the model's own `task_metrics`, and [`verdicts`] compares. `mtrec seq` uses
//! [`transition`] with the model's ranking protocol.

pub mod biases;
pub mod popularity;
pub mod report;
pub mod scan;
pub mod transition;

pub use biases::Biases;
pub use popularity::Popularity;
pub use report::{table, verdicts, Verdict};
pub use scan::{ChunkFn, Columns, RowsScan, Scan};
pub use transition::{NextItemMetrics, Transitions};

use crate::config::baselines::{BaselineKind, BaselinesConfig};
use crate::config::{RunConfig, TaskConfig};
use crate::data::features::FeatureSpec;
use crate::data::rows::Rows;
use crate::error::{Error, Result};

/// Which tabular baselines a run scores, and the categorical columns they read.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub models: Vec<BaselineKind>,
    /// Index of the user column among the categorical features (`biases`).
    pub user: Option<usize>,
    /// Index of the item column among the categorical features.
    pub item: Option<usize>,
    /// α of `popularity`, λ of `biases`.
    pub smoothing: f64,
    pub lambda: f64,
    /// Baselines left out because their columns are missing (only when `models` is unset).
    pub skipped: Vec<String>,
}

/// Resolves `cfg.baselines` against the fitted features: the user and item columns are
/// `[baselines] user_column / item_column`, else the `[recommend]` ones, else `user_id`
/// and `item_id`, and must be categorical features. A baseline chosen in `models` whose
/// column is missing is an error naming what to set; with `models` unset such a
/// baseline is skipped and listed in [`Plan::skipped`].
pub fn plan(cfg: &RunConfig, spec: &FeatureSpec) -> Result<Plan> {
    let b = cfg.baselines.clone().unwrap_or_default();
    let rec = cfg.recommend.as_ref();
    let user_name =
        b.0.user_column
            .clone()
            .unwrap_or_else(|| rec.map_or("user_id", |r| r.user_column()).to_string());
    let item_name =
        b.0.item_column
            .clone()
            .unwrap_or_else(|| rec.map_or("item_id", |r| r.item_column()).to_string());
    let find = |name: &str| spec.categorical.iter().position(|c| c.name == name);
    let (user, item) = (find(&user_name), find(&item_name));
    let needs = |m: BaselineKind| -> Vec<(&str, &str, bool)> {
        match m {
            BaselineKind::Popularity => vec![("item_column", &item_name, item.is_some())],
            BaselineKind::Biases => vec![
                ("user_column", &user_name, user.is_some()),
                ("item_column", &item_name, item.is_some()),
            ],
            BaselineKind::Transition => Vec::new(),
        }
    };
    let mut plan = Plan {
        models: Vec::new(),
        user,
        item,
        smoothing: b.smoothing(),
        lambda: b.lambda(),
        skipped: Vec::new(),
    };
    let chosen = b.0.models.is_some();
    let models =
        b.0.models
            .clone()
            .unwrap_or_else(|| vec![BaselineKind::Popularity, BaselineKind::Biases]);
    for m in models {
        if m == BaselineKind::Transition {
            // refused by config validation too; never scored on a table
            return Err(Error::Config {
                what: "baselines.models".into(),
                message: "`transition` is a baseline of `mtrec seq`; for `mtrec train` choose from \"popularity\", \"biases\"".into(),
            });
        }
        let missing: Vec<(&str, &str, bool)> = needs(m).into_iter().filter(|n| !n.2).collect();
        if missing.is_empty() {
            if !plan.models.contains(&m) {
                plan.models.push(m);
            }
            continue;
        }
        let (key, name, _) = missing[0];
        if chosen {
            return Err(missing_column(spec, m, key, name));
        }
        plan.skipped.push(format!(
            "{} (no categorical feature `{name}`; set [baselines] {key})",
            m.name()
        ));
    }
    Ok(plan)
}

fn missing_column(spec: &FeatureSpec, m: BaselineKind, key: &str, name: &str) -> Error {
    let cats: Vec<&str> = spec.categorical.iter().map(|c| c.name.as_str()).collect();
    Error::Config {
        what: format!("baselines.{key}"),
        message: format!(
            "baseline `{}` needs the {} of each row, but `{name}` is not a categorical feature of this run (categorical features: {}); set [baselines] {key} (or [recommend] {key}) to the feature naming it, or leave `{}` out of baselines",
            m.name(),
            if key == "user_column" { "user" } else { "item" },
            if cats.is_empty() { "none".to_string() } else { cats.join(", ") },
            m.name()
        ),
    }
}

/// The user or item column `f` of every row of `data` (id 0 for every row when `None`).
fn ids(data: &dyn Rows, f: Option<usize>) -> Vec<u32> {
    let mut out = Vec::new();
    match f {
        Some(f) => data.cat_range(f, 0..data.len(), &mut out),
        None => out.resize(data.len(), 0),
    }
    out
}

/// Each planned baseline fitted on `train` task by task, and its raw outputs on `eval`
/// (`out[k][i]`: logits for binary tasks, values for regression), in plan order.
/// The training rows are read in chunks ([`scan`]): a memory-mapped cache set is fitted
/// on without copying it into memory, with the bits of the in-memory fit.
pub fn tabular_outputs(
    plan: &Plan,
    tasks: &[TaskConfig],
    train: &dyn Rows,
    eval: &[&dyn Rows],
) -> Vec<(BaselineKind, Vec<Vec<Vec<f32>>>)> {
    // (N_eval,) each: the eval sets' user and item ids (the size of one output column)
    let cols: Vec<(Vec<u32>, Vec<u32>)> = eval
        .iter()
        .map(|&data| (ids(data, plan.user), ids(data, plan.item)))
        .collect();
    plan.models
        .iter()
        .map(|&m| {
            // per eval set, per task, per row
            let mut out: Vec<Vec<Vec<f32>>> = vec![Vec::with_capacity(tasks.len()); eval.len()];
            for (t, task) in tasks.iter().enumerate() {
                let rows = RowsScan {
                    rows: train,
                    user: plan.user,
                    item: plan.item,
                    task: t,
                    chunk: scan::CHUNK,
                };
                match m {
                    BaselineKind::Popularity => {
                        let p = Popularity::fit_scan(&rows, task.kind, plan.smoothing);
                        for (o, (_, items)) in out.iter_mut().zip(&cols) {
                            o.push(items.iter().map(|&i| p.output(i)).collect());
                        }
                    }
                    // `plan` holds popularity and biases only
                    _ => {
                        let b = Biases::fit_scan(&rows, task.kind, plan.lambda, biases::SWEEPS);
                        for (o, (users, items)) in out.iter_mut().zip(&cols) {
                            o.push(
                                users
                                    .iter()
                                    .zip(items)
                                    .map(|(&u, &i)| b.output(u, i))
                                    .collect(),
                            );
                        }
                    }
                }
            }
            (m, out)
        })
        .collect()
}

/// The next-item baselines of `mtrec seq` (`baselines` unset: transition and popularity).
pub fn seq_models(b: Option<&BaselinesConfig>) -> Vec<BaselineKind> {
    b.and_then(|b| b.0.models.clone())
        .unwrap_or_else(|| vec![BaselineKind::Transition, BaselineKind::Popularity])
}
