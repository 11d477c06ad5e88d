//! Checks of `[train]`: the optimiser, the schedule, the balancer's settings and early
//! stopping.

use super::{bad, ensure, finite_in};
use crate::config::monitor::StopMetric;
use crate::config::task::TaskType;
use crate::config::train::{Direction, OptimizerKind, ScheduleKind};
use crate::config::RunConfig;
use crate::error::Result;

/// `[train]`: rates, factors and counts in range, and the options that go together.
pub(super) fn check_train(c: &RunConfig) -> Result<()> {
    let t = &c.train;
    finite_in(
        t.lr,
        f64::MIN_POSITIVE,
        f64::MAX,
        "train.lr",
        "a finite learning rate > 0, e.g. 1e-3",
    )?;
    finite_in(
        t.weight_decay,
        0.0,
        f64::MAX,
        "train.weight_decay",
        "a finite number ≥ 0",
    )?;
    finite_in(
        t.momentum,
        0.0,
        0.999_999,
        "train.momentum",
        "a number in [0, 1)",
    )?;
    finite_in(
        t.clip_norm,
        0.0,
        f64::MAX,
        "train.clip_norm",
        "a finite number ≥ 0 (0 = off)",
    )?;
    finite_in(
        t.oov_dropout,
        0.0,
        0.5,
        "train.oov_dropout",
        "a probability in [0, 0.5] (0 = off; 0.02 to 0.1 is usual)",
    )?;
    ensure(
        !t.nesterov || (t.optimizer == OptimizerKind::Sgd && t.momentum > 0.0),
        "train.nesterov",
        || "needs optimizer = \"sgd\" and momentum > 0; set both or turn nesterov off".into(),
    )?;
    if t.schedule == ScheduleKind::Step {
        ensure(t.step_every >= 1, "train.step_every", || {
            "is 0; expected steps ≥ 1".into()
        })?;
        finite_in(
            t.step_gamma,
            f64::MIN_POSITIVE,
            1.0,
            "train.step_gamma",
            "a factor in (0, 1]",
        )?;
    }
    if t.schedule == ScheduleKind::Cosine {
        finite_in(
            t.min_lr,
            0.0,
            t.lr,
            "train.min_lr",
            "a number in [0, train.lr]",
        )?;
    }
    ensure(t.epochs >= 1, "train.epochs", || {
        "is 0; expected ≥ 1".into()
    })?;
    ensure(t.batch_size >= 1, "train.batch_size", || {
        "is 0; expected ≥ 1, e.g. 1024".into()
    })?;
    finite_in(
        t.gradnorm_alpha,
        0.0,
        f64::MAX,
        "train.gradnorm_alpha",
        "a finite number ≥ 0",
    )?;
    finite_in(
        t.dwa_temperature,
        f64::MIN_POSITIVE,
        f64::MAX,
        "train.dwa_temperature",
        "a finite number > 0",
    )?;
    check_early_stopping(c)
}

/// `[train.early_stopping]`: the direction agrees with the metric, and the metric fits
/// the task it is read on (or every task for `task = "mean"`); a ranking metric is
/// checked by [`super::monitor::check_ranking_monitor`].
fn check_early_stopping(c: &RunConfig) -> Result<()> {
    let t = &c.train;
    let es = &t.early_stopping;
    let metric = es.metric.name();
    // An explicit direction must agree with the metric: a preset's `direction = "max"`
    // kept after `--set train.early_stopping.metric=rmse` would keep the worst epoch.
    let natural = es.metric.higher_is_better();
    let explicit = match es.direction {
        Direction::Max => Some(true),
        Direction::Min => Some(false),
        Direction::Auto => None,
    };
    if let Some(max) = explicit.filter(|&m| m != natural) {
        return Err(bad(
            "train.early_stopping.direction",
            format!(
                "\"{}\" contradicts the metric \"{metric}\", which is better when {}; set direction = \"{}\" or \"auto\"",
                if max { "max" } else { "min" },
                if natural { "higher" } else { "lower" },
                if natural { "max" } else { "min" },
            ),
        ));
    }
    let StopMetric::Row(row) = es.metric else {
        return super::monitor::check_ranking_monitor(c);
    };
    let fits = |kind: TaskType| row.for_binary() == (kind == TaskType::Binary);
    if es.task == "mean" {
        ensure(
            c.tasks.iter().all(|k| fits(k.kind)),
            "train.early_stopping.metric",
            || {
                format!(
                "\"{metric}\" is not defined for every task, so its mean is not either; choose a metric that fits all tasks or set train.early_stopping.task to one task"
            )
            },
        )
    } else {
        let names: Vec<&str> = c.tasks.iter().map(|k| k.name.as_str()).collect();
        match c.tasks.iter().find(|k| k.name == es.task) {
            None => Err(bad(
                "train.early_stopping.task",
                format!(
                    "`{}` is not a task; expected \"mean\" or one of {names:?}",
                    es.task
                ),
            )),
            Some(k) => ensure(fits(k.kind), "train.early_stopping.metric", || {
                format!(
                    "\"{metric}\" does not apply to the {:?} task `{}`; use auc/logloss for binary, rmse/mae for regression",
                    k.kind, k.name
                )
            }),
        }
    }
}
