//! Cross-field checks of a [`RunConfig`]: things a type cannot say (a task's column
//! exists, fractions sum to at most 1, early stopping names a task). Each error names
//! the key as a dotted path (`tasks[1].column`) and says what to change.

use super::data::{FeatureKind, Missing};
use super::model::Arch;
use super::task::{SplitKind, TaskType};
use super::train::{Direction, Metric, OptimizerKind, ScheduleKind};
use super::RunConfig;
use crate::error::{Error, Result};

fn bad(key: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Config {
        what: key.into(),
        message: message.into(),
    }
}

pub(super) fn ensure(ok: bool, key: &str, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(bad(key, message()))
    }
}

fn finite_in(x: f64, lo: f64, hi: f64, key: &str, range: &str) -> Result<()> {
    ensure(x.is_finite() && x >= lo && x <= hi, key, || {
        format!("{x} is out of range; expected {range}")
    })
}

/// Every check that needs only the configuration (plus the column names when
/// `data.columns` lists them).
pub(super) fn validate(c: &RunConfig) -> Result<()> {
    check_data(c)?;
    check_features(c)?;
    check_tasks(c)?;
    check_split(c)?;
    check_model(c)?;
    check_train(c)?;
    super::compress::validate(
        c.train.prune.as_ref(),
        c.train.teacher.as_deref(),
        c.train.distill.as_ref(),
        c.train.epochs,
    )?;
    super::cache::validate(c)?;
    if let Some(b) = &c.baselines {
        b.validate(false)?;
    }
    for (i, j) in c.data.join.iter().enumerate() {
        j.validate(i)?;
    }
    // with side tables, the joined columns are known once their headers are read
    if let (Some(cols), true) = (&c.data.columns, c.data.join.is_empty()) {
        validate_columns(c, cols)?;
    }
    // last: the estimate reads every size checked above
    super::budget::check_config_memory(c)
}

fn check_data(c: &RunConfig) -> Result<()> {
    let d = &c.data;
    ensure(!d.files.is_empty(), "data.files", || {
        "is empty; expected at least one file, e.g. files = [\"census-income/census-income.test.gz\"]".into()
    })?;
    let delim = d.delimiter_char();
    ensure(
        !matches!(delim, '\n' | '\r' | '"') && delim.is_ascii(),
        "data.delimiter",
        || {
            format!("{delim:?} cannot separate fields; expected one ASCII character such as ',', ';', '|' or '\\t'")
        },
    )?;
    let parquet = d.format == super::data::Format::Parquet;
    ensure(
        !parquet || d.loader == super::data::Loader::Csv,
        "data.format",
        || {
            format!("\"parquet\" is read by loader = \"csv\" only (loader is {:?}); convert the files to CSV or use loader = \"csv\"", d.loader)
        },
    )?;
    match (&d.columns, d.header) {
        // names its columns itself (user_id, item_id, category_id, labels, time, set)
        (None, false) if d.loader == super::data::Loader::Interactions => Ok(()),
        // a Parquet file's schema names its columns
        (None, false) if parquet => Ok(()),
        (None, false) => Err(bad(
            "data.columns",
            "is missing while data.header = false; list one name per field, or set header = true if the first line names the columns",
        )),
        (Some(_), true) => Err(bad(
            "data.columns",
            "is set while data.header = true; remove one of them (with a header the names come from the first line)",
        )),
        (Some(cols), false) => {
            ensure(!cols.is_empty(), "data.columns", || "is empty; expected one name per field".into())?;
            unique(cols.iter().map(String::as_str), "data.columns", "column")
        }
        (None, true) => Ok(()),
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>, key: &str, what: &str) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        ensure(!n.is_empty(), key, || {
            format!("has an empty {what} name; give every {what} a name")
        })?;
        ensure(seen.insert(n), key, || {
            format!("names the {what} `{n}` twice; names must be unique")
        })?;
    }
    Ok(())
}

fn check_features(c: &RunConfig) -> Result<()> {
    ensure(!c.features.is_empty(), "features", || {
        "is empty; add at least one [[features]] table with name and kind".into()
    })?;
    unique(
        c.features.iter().map(|f| f.name.as_str()),
        "features",
        "feature",
    )?;
    for (i, f) in c.features.iter().enumerate() {
        let key = |k: &str| format!("features[{i}].{k} (feature `{}`)", f.name);
        let embedded = matches!(f.kind, FeatureKind::Categorical | FeatureKind::MultiHot);
        if embedded {
            ensure(f.dim >= 1, &key("dim"), || {
                "is 0; expected an embedding width ≥ 1, e.g. 8".into()
            })?;
        }
        if f.kind == FeatureKind::MultiHot {
            ensure(!f.separator.is_empty(), &key("separator"), || {
                "is empty; expected the text between list items, e.g. \"|\"".into()
            })?;
        }
        match (f.kind, f.missing_policy()) {
            (FeatureKind::Numeric, Missing::Oov) => return Err(bad(
                key("missing"),
                "\"oov\" applies to categorical features; expected \"mean\", \"zero\" or \"error\"",
            )),
            (FeatureKind::Categorical | FeatureKind::MultiHot, Missing::Mean | Missing::Zero) => {
                return Err(bad(
                    key("missing"),
                    "applies to numeric features; expected \"oov\" or \"error\"",
                ))
            }
            _ => {}
        }
        if let Some(t) = &f.text {
            super::text::check(f, t, &key)?;
        }
    }
    Ok(())
}

fn check_tasks(c: &RunConfig) -> Result<()> {
    ensure(!c.tasks.is_empty(), "tasks", || {
        "is empty; add at least one [[tasks]] table with name, type and column".into()
    })?;
    unique(c.tasks.iter().map(|t| t.name.as_str()), "tasks", "task")?;
    for (i, t) in c.tasks.iter().enumerate() {
        let key = |k: &str| format!("tasks[{i}].{k} (task `{}`)", t.name);
        ensure(t.name != "mean", &key("name"), || {
            "`mean` is reserved for train.early_stopping.task; choose another name".into()
        })?;
        finite_in(
            t.weight,
            0.0,
            f64::MAX,
            &key("weight"),
            "a finite weight ≥ 0",
        )?;
        match t.kind {
            TaskType::Binary => ensure(
                t.positive.is_empty() || t.threshold.is_none(),
                &key("threshold"),
                || "is set together with `positive`; keep one rule for label 1".into(),
            )?,
            TaskType::Regression => ensure(
                t.positive.is_empty() && t.threshold.is_none(),
                &key("type"),
                || {
                    "is \"regression\" but `positive` or `threshold` is set; those make binary labels: remove them or set type = \"binary\"".into()
                },
            )?,
        }
        if let Some(x) = t.threshold {
            ensure(x.is_finite(), &key("threshold"), || {
                format!("is {x}; expected a finite number")
            })?;
        }
    }
    Ok(())
}

fn check_split(c: &RunConfig) -> Result<()> {
    let s = &c.split;
    finite_in(
        s.train,
        f64::MIN_POSITIVE,
        1.0,
        "split.train",
        "a fraction in (0, 1]",
    )?;
    finite_in(s.valid, 0.0, 1.0, "split.valid", "a fraction in [0, 1)")?;
    ensure(s.train + s.valid <= 1.0 + 1e-9, "split.valid", || {
        format!(
            "split.train + split.valid = {} > 1; expected a sum ≤ 1 (test gets the rest)",
            s.train + s.valid
        )
    })?;
    let file_lists = [
        ("split.train_files", &s.train_files),
        ("split.valid_files", &s.valid_files),
        ("split.test_files", &s.test_files),
    ];
    match s.kind {
        SplitKind::Temporal => ensure(s.time_column.is_some(), "split.time_column", || {
            "is missing while split.kind = \"temporal\"; name the numeric column that orders the rows".into()
        })?,
        SplitKind::Files => {
            ensure(!s.train_files.is_empty(), "split.train_files", || {
                "is empty while split.kind = \"files\"; list the entries of data.files that hold training rows".into()
            })?;
            let mut seen = std::collections::HashSet::new();
            for (key, list) in file_lists {
                for f in list.iter() {
                    ensure(c.data.files.contains(f), key, || {
                        format!(
                            "names `{f}`, which is not in data.files {:?}; copy the entry exactly",
                            c.data.files
                        )
                    })?;
                    ensure(seen.insert(f), key, || {
                        format!("`{f}` is already in another split; a file belongs to one split")
                    })?;
                }
            }
        }
        SplitKind::Random => {}
        SplitKind::Column => ensure(s.column.is_some(), "split.column", || {
            "is missing while split.kind = \"column\"; name the column holding train / valid / test (the interactions loader writes `set`)".into()
        })?,
        SplitKind::ItemHoldout => {
            ensure(s.item_column.is_some(), "split.item_column", || {
                "is missing while split.kind = \"item_holdout\"; name the column whose values (items) are held out, e.g. \"item_id\"".into()
            })?;
            ensure(
                s.holdout.is_finite() && s.holdout > 0.0 && s.holdout < 1.0,
                "split.holdout",
                || {
                    format!(
                        "is {}; expected a fraction of the items in (0, 1), e.g. 0.2",
                        s.holdout
                    )
                },
            )?;
        }
    }
    if c.data.loader == super::data::Loader::Interactions {
        ensure(
            s.kind == SplitKind::Column && s.column.as_deref() == Some("set"),
            "split",
            || {
                "data.loader = \"interactions\" splits the pairs itself ([data.interactions] split); set [split] kind = \"column\" and column = \"set\"".into()
            },
        )?;
    }
    if s.kind != SplitKind::ItemHoldout {
        ensure(s.item_column.is_none(), "split.item_column", || {
            "is set but split.kind is not \"item_holdout\"; remove it or set kind = \"item_holdout\"".into()
        })?;
    }
    if s.kind != SplitKind::Files {
        for (key, list) in file_lists {
            ensure(list.is_empty(), key, || {
                "is set but split.kind is not \"files\"; remove it or set kind = \"files\"".into()
            })?;
        }
    }
    Ok(())
}

fn check_model(c: &RunConfig) -> Result<()> {
    let m = &c.model;
    let widths = [
        ("model.expert", &m.expert),
        ("model.tower", &m.tower),
        ("model.bottom", &m.bottom),
    ];
    for (key, w) in widths {
        ensure(w.iter().all(|&x| x >= 1), key, || {
            format!("{w:?} has a width 0; expected widths ≥ 1")
        })?;
    }
    match m.arch {
        Arch::Omoe | Arch::Mmoe => {
            ensure(m.num_experts >= 1, "model.num_experts", || {
                "is 0; expected ≥ 1".into()
            })?;
            ensure(!m.expert.is_empty(), "model.expert", || {
                "is empty; expected at least one width".into()
            })?;
        }
        Arch::Cgc | Arch::Ple => {
            ensure(m.levels >= 1, "model.levels", || {
                "is 0; expected ≥ 1".into()
            })?;
            ensure(
                m.shared_experts + m.task_experts >= 1,
                "model.task_experts",
                || "and model.shared_experts are both 0; expected at least one expert".into(),
            )?;
            ensure(!m.expert.is_empty(), "model.expert", || {
                "is empty; expected at least one width".into()
            })?;
        }
        Arch::SharedBottom | Arch::Aitm => {
            ensure(!m.bottom.is_empty(), "model.bottom", || {
                "is empty; expected at least one width".into()
            })?;
        }
        Arch::SingleTask | Arch::Esmm => {}
    }
    finite_in(
        m.dropout,
        0.0,
        0.999_999,
        "model.dropout",
        "a probability in [0, 1)",
    )?;
    finite_in(
        m.constraint_weight,
        0.0,
        f64::MAX,
        "model.constraint_weight",
        "a finite number ≥ 0",
    )?;
    let all_binary = c.tasks.iter().all(|t| t.kind == TaskType::Binary);
    match m.arch {
        Arch::Esmm => ensure(c.tasks.len() == 2 && all_binary, "model.arch", || {
            "is \"esmm\", which needs exactly two binary tasks (click first, then purchase); fix [[tasks]] or choose another arch".into()
        }),
        Arch::Aitm => ensure(c.tasks.len() >= 2 && all_binary, "model.arch", || {
            "is \"aitm\", which needs two or more binary tasks in funnel order; fix [[tasks]] or choose another arch".into()
        }),
        _ => Ok(()),
    }
}

fn check_train(c: &RunConfig) -> Result<()> {
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
    let es = &t.early_stopping;
    let metric = format!("{:?}", es.metric).to_lowercase();
    let fits = |kind: TaskType| es.metric.for_binary() == (kind == TaskType::Binary);
    // An explicit direction must agree with the metric: a preset's `direction = "max"`
    // kept after `--set train.early_stopping.metric=rmse` would keep the worst epoch.
    let natural = es.metric == Metric::Auc;
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

/// Checks that every column the configuration reads is among `names` (the data's
/// columns: `data.columns`, or a file's header).
pub(super) fn validate_columns(c: &RunConfig, names: &[String]) -> Result<()> {
    let has = |n: &str| names.iter().any(|x| x == n);
    let list = || names.join(", ");
    for (i, f) in c.features.iter().enumerate() {
        ensure(has(&f.name), &format!("features[{i}].name"), || {
            format!(
                "`{}` is not a column of the data; expected one of: {}",
                f.name,
                list()
            )
        })?;
    }
    for (i, t) in c.tasks.iter().enumerate() {
        ensure(
            has(&t.column),
            &format!("tasks[{i}].column (task `{}`)", t.name),
            || {
                format!(
                    "`{}` is not a column of the data; expected one of: {}",
                    t.column,
                    list()
                )
            },
        )?;
    }
    for (i, f) in c.features.iter().enumerate() {
        if let Some(t) = &f.text {
            ensure(
                has(&t.column),
                &format!("features[{i}].text.column (feature `{}`)", f.name),
                || {
                    format!(
                        "`{}` is not a column of the data; expected one of: {}",
                        t.column,
                        list()
                    )
                },
            )?;
        }
    }
    if let Some(ic) = &c.split.item_column {
        ensure(has(ic), "split.item_column", || {
            format!(
                "`{ic}` is not a column of the data; expected one of: {}",
                list()
            )
        })?;
    }
    if let Some(tc) = &c.split.time_column {
        ensure(has(tc), "split.time_column", || {
            format!(
                "`{tc}` is not a column of the data; expected one of: {}",
                list()
            )
        })?;
    }
    Ok(())
}
