//! `missing = "error"` in the streamed build. Pass 1 keeps, per feature with that
//! policy, its first missing cell in file order and, for a numeric feature, its first
//! missing cell in a training row. The run's error is the one the in-memory path
//! (`prepare`) raises first:
//!
//! ```text
//! 1. FeatureSpec::fit, features in config order: a numeric feature's first missing
//!    training cell (NumSpec::fit looks at the training rows only)
//! 2. FeatureSpec::encode, every row in order: the categorical features, then the
//!    multi-hot ones (a missing cell, or a cell holding a missing token), then the
//!    numeric ones, each at its first missing cell
//! ```
//! Memory: one cell per feature, whatever the file's size.

use super::parse::Parsed;
use super::plan::Plan;
use crate::data::features::{CAT_MISSING_EXPECTED, NUM_MISSING_EXPECTED};
use crate::data::ingest::excerpt;
use crate::error::Error;

/// A missing cell: its file as shown, its line, its text.
struct Cell {
    shown: String,
    line: u64,
    text: String,
}

/// The first missing cells of the features with `missing = "error"`.
#[derive(Default)]
pub(super) struct FirstMissing {
    /// Categorical features, then multi-hot features (`Parsed::dict`'s columns).
    cat: Vec<Option<Cell>>,
    num: Vec<Option<Cell>>,
    num_train: Vec<Option<Cell>>,
    /// temporal: the time rank of each `num_train` cell's row (the first in time order).
    num_train_rank: Vec<u64>,
}

impl FirstMissing {
    pub(super) fn new(plan: &Plan<'_>) -> FirstMissing {
        let none = |n: usize| (0..n).map(|_| None).collect::<Vec<_>>();
        FirstMissing {
            cat: none(plan.cat.len() + plan.bags.len()),
            num: none(plan.num.len()),
            num_train: none(plan.num.len()),
            num_train_rank: vec![u64::MAX; plan.num.len()],
        }
    }

    /// Adds the missing cells of chunk `p` (its rows' sets `sets`; its first line
    /// `first_line` of the file `shown`); chunks come in file order. `rank`: a temporal
    /// split's time rank of each row (the training rows' first cell is the one of
    /// smallest rank), else `None` (file order).
    pub(super) fn absorb(
        &mut self,
        p: &Parsed,
        sets: &[u8],
        shown: &str,
        first_line: u64,
        rank: Option<&dyn Fn(usize) -> u64>,
    ) {
        for m in &p.missed {
            let r = m.row as usize;
            let cell = || {
                Some(Cell {
                    shown: shown.to_string(),
                    line: first_line + p.line[r] as u64,
                    text: m.text.clone(),
                })
            };
            if m.numeric {
                if self.num[m.feature].is_none() {
                    self.num[m.feature] = cell();
                }
                let k = rank.map_or(0, |f| f(r));
                let first = self.num_train[m.feature].is_none()
                    || (rank.is_some() && k < self.num_train_rank[m.feature]);
                if sets[r] == 0 && first {
                    self.num_train[m.feature] = cell();
                    self.num_train_rank[m.feature] = k;
                }
            } else if self.cat[m.feature].is_none() {
                self.cat[m.feature] = cell();
            }
        }
    }

    /// The in-memory path's first `missing = "error"` error, if any.
    pub(super) fn error(self, plan: &Plan<'_>) -> Option<Error> {
        let make = |c: Cell, column: usize, expected: &str| Error::Input {
            path: c.shown,
            line: c.line as usize,
            column: plan.column_number(column),
            what: format!("column `{}`", plan.names[column]),
            seen: format!("`{}`", excerpt(c.text.as_bytes())),
            expected: expected.to_string(),
        };
        let fit = (self.num_train.into_iter().zip(&plan.num))
            .find_map(|(c, &col)| Some(make(c?, col, NUM_MISSING_EXPECTED)));
        let cat_bags = plan.cat.iter().chain(plan.bags.iter().map(|b| &b.0));
        let cat = || {
            (self.cat.into_iter().zip(cat_bags))
                .find_map(|(c, &col)| Some(make(c?, col, CAT_MISSING_EXPECTED)))
        };
        let num = || {
            (self.num.into_iter().zip(&plan.num))
                .find_map(|(c, &col)| Some(make(c?, col, NUM_MISSING_EXPECTED)))
        };
        fit.or_else(cat).or_else(num)
    }
}

/// Whether a multi-hot cell (`None`: the whole cell is missing) is missing for
/// `missing = "error"`: missing itself or holding a missing token, the cells
/// `features::vocab::encode_bags` refuses.
pub(super) fn bag_missing(cell: Option<&str>, sep: &str, missing: &[String]) -> bool {
    match super::fit::cell_tokens(cell, sep, missing) {
        None => true,
        Some(tokens) => tokens.iter().any(Option::is_none),
    }
}
