//! Members of an ensemble must agree on tasks and inputs: the same tasks (name, type,
//! label column, in order), the same `[data]` and the same `[split]`, so that their
//! validation and test rows are the same rows. Features and models may differ.

use crate::config::RunConfig;
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// Refuses `other` (the run folder `other_dir`) when it disagrees with `first`
/// (`first_dir`); the error names the first difference.
pub fn check_agree(
    first_dir: &Path,
    first: &RunConfig,
    other_dir: &Path,
    other: &RunConfig,
) -> Result<()> {
    let fail = |what: String| {
        Err(Error::Config {
            what: "--runs".into(),
            message: format!(
                "the members disagree on {what}: {} and {}; an ensemble's members must be trained on the same tasks, data and split (only features and model may differ)",
                first_dir.display(),
                other_dir.display()
            ),
        })
    };
    let names = |c: &RunConfig| c.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    if names(first) != names(other) {
        return fail(format!(
            "tasks ([{}] vs [{}])",
            names(first).join(", "),
            names(other).join(", ")
        ));
    }
    for (a, b) in first.tasks.iter().zip(&other.tasks) {
        if a.kind != b.kind || a.column != b.column {
            return fail(format!(
                "task `{}` ({:?} of column `{}` vs {:?} of column `{}`)",
                a.name, a.kind, a.column, b.kind, b.column
            ));
        }
    }
    for (section, a, b) in [
        ("[data]", to_value(&first.data), to_value(&other.data)),
        ("[split]", to_value(&first.split), to_value(&other.split)),
    ] {
        if let Some(key) = first_difference(&a, &b) {
            return fail(format!("{section} {key}"));
        }
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The first key (as `key = a vs b`) where two JSON objects differ.
fn first_difference(a: &Value, b: &Value) -> Option<String> {
    let (Value::Object(x), Value::Object(y)) = (a, b) else {
        return (a != b).then(|| format!("({a} vs {b})"));
    };
    let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().find_map(|k| {
        let (u, v) = (
            x.get(k).unwrap_or(&Value::Null),
            y.get(k).unwrap_or(&Value::Null),
        );
        (u != v).then(|| format!("{k} ({u} vs {v})"))
    })
}
