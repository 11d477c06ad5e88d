//! `[split] kind = "column"` in the streamed build: the set is a cell of the row
//! (`temporal` and `item_holdout`: split_scan.rs, split_order.rs).
//!
//! ```text
//! kept row r, text t = trim(cell(split.column))   "train" → 0, "valid" → 1, "test" → 2
//!                                                  else the run's error at r's place
//!                                                  (the first such row in file order,
//!                                                  as features::split_rows finds it)
//! ```
//! Pass 1 and pass 2 read the same cells, so both give every row the same set.

use super::parse::{Parsed, Pending};
use super::plan::Plan;
use crate::config::{SplitConfig, SplitKind};
use crate::data::ingest::excerpt;

/// The table column holding each row's set (`kind = "column"`), else `None`.
pub(super) fn set_column(plan: &Plan<'_>) -> Option<usize> {
    if plan.cfg.split.kind != SplitKind::Column {
        return None;
    }
    let name = plan.cfg.split.column.as_deref().unwrap_or("set");
    plan.names.iter().position(|n| n == name)
}

/// Records the set of the row just kept (`text`: its cell of `split.column`) in
/// `out.set`, or the chunk's first unknown set as `out.set_error`.
pub(super) fn judge_set(plan: &Plan<'_>, out: &mut Parsed, column: usize, number: u64, text: &str) {
    let set = match text.trim() {
        "train" => 0,
        "valid" => 1,
        "test" => 2,
        other => {
            if out.set_error.is_none() {
                out.set_error = Some(Pending {
                    line: number,
                    column: plan.column_number(column),
                    what: format!("column `{}`", plan.names[column]),
                    seen: format!("`{}`", excerpt(other.as_bytes())),
                    expected: "`train`, `valid` or `test` (the set of the row)".into(),
                });
            }
            0
        }
    };
    out.set.push(set);
}

/// The set of each kept row of chunk `p`, whose first row is kept row `start` of
/// file `file` (`file_set`: the set of each file for `kind = "files"`; `state`: what
/// pass 0 gathered for `temporal` and `item_holdout`, split_scan.rs).
pub(super) fn sets_of(
    split: &SplitConfig,
    file_set: &[u8],
    file: u32,
    start: u64,
    p: &Parsed,
    state: &super::split_scan::SplitState,
) -> Vec<u8> {
    match split.kind {
        SplitKind::Column => p.set.clone(),
        SplitKind::Temporal | SplitKind::ItemHoldout => state.sets(split, start, p),
        _ => super::fit::sets_of(split, file_set, file, start, p.rows()),
    }
}
