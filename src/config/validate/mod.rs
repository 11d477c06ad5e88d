//! Cross-field checks of a [`RunConfig`]: things a type cannot say (a task's column
//! exists, fractions sum to at most 1, early stopping names a task). Each error names
//! the key as a dotted path (`tasks[1].column`) and says what to change.

use super::data::{FeatureKind, Missing};
use super::task::TaskType;
use super::RunConfig;
use crate::error::{Error, Result};
use model::check_model;
use split::check_split;
use train::check_train;

mod model;
mod monitor;
mod split;
mod train;

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
    let data = &c.data;
    ensure(!data.files.is_empty(), "data.files", || {
        "is empty; expected at least one file, e.g. files = [\"census-income/census-income.test.gz\"]".into()
    })?;
    let delim = data.delimiter_char();
    ensure(
        !matches!(delim, '\n' | '\r' | '"') && delim.is_ascii(),
        "data.delimiter",
        || {
            format!("{delim:?} cannot separate fields; expected one ASCII character such as ',', ';', '|' or '\\t'")
        },
    )?;
    let parquet = data.format == super::data::Format::Parquet;
    ensure(
        !parquet || data.loader == super::data::Loader::Csv,
        "data.format",
        || {
            format!("\"parquet\" is read by loader = \"csv\" only (loader is {:?}); convert the files to CSV or use loader = \"csv\"", data.loader)
        },
    )?;
    match (&data.columns, data.header) {
        // names its columns itself (user_id, item_id, category_id, labels, time, set)
        (None, false) if data.loader == super::data::Loader::Interactions => Ok(()),
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
