//! Checks of `[split]`.

use super::{ensure, finite_in};
use crate::config::task::SplitKind;
use crate::config::RunConfig;
use crate::error::Result;

/// `[split]`: fractions and the options of the chosen kind.
pub(super) fn check_split(c: &RunConfig) -> Result<()> {
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
    if c.data.loader == crate::config::data::Loader::Interactions {
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
