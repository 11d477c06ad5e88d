//! `[split] kind = "temporal"` and `"item_holdout"` in the streamed build: a row's set
//! depends on rows after it (the time order; the distinct items), so a first scan of
//! the files (pass 0: parse and judge, nothing counted) gathers what the sets need
//! before pass 1 counts the training rows.
//!
//! ```text
//! temporal       pass 0: each kept row i's time t_i (f64)   key (t_i in total order, i):
//!                        12 bytes a row, sorted once (unique keys: the stable sort of
//!                        features::split_rows)
//!                        rank[i] = k, its place in time order                  (4 bytes a row)
//!                set of rank k: k < round(train·N) → train, k < round((train+valid)·N)
//!                        → valid, else test; a set holds its rows in rank order
//! item_holdout   pass 0: the distinct item texts (trimmed) of the kept rows
//!                        sorted by (splitmix64(seed ^ fnv1a64(item)), item); the first
//!                        round(holdout · #items) are cold                (O(distinct items))
//!                set of kept row i: cold → the `cold` set; else random_assignment(seed, i)
//! ```
//! A time that is missing or not a finite number is the in-memory path's error at the
//! first such kept row (`bad_rows = "skip"` drops a row whose time is a text that is
//! not a number, after its numeric and label reasons, as `drop_bad_values` does).

use super::cells::{trim, Codes};
use super::chunks::stream_file;
use super::parse::{Parsed, Pending};
use super::plan::Plan;
use super::{dedup, parquet, parse, FileIn, FileView};
use crate::config::{BadRows, SplitConfig, SplitKind};
use crate::data::features::{fnv1a64, random_assignment, splitmix64};
use crate::data::ingest::excerpt;
use crate::error::Result;
use rayon::prelude::*;
use std::collections::HashSet;

/// The in-memory path's message for a row without a usable time (`split_rows`).
const TIME_EXPECTED: &str =
    "a finite number (the time that orders a temporal split); fix the value or drop the row";

/// One chunk's split cells.
#[derive(Default)]
pub(super) struct SplitCells {
    /// temporal: each kept row's time (NaN: none; the chunk's `set_error` says where).  (n,)
    pub time: Vec<f64>,
    /// item_holdout: the chunk's distinct items (trimmed), and each kept row's code.  (n,)
    pub items: Vec<String>,
    pub item: Vec<u32>,
}

/// The table column of each row's time (`temporal`) or item (`item_holdout`).
pub(super) fn split_column(plan: &Plan<'_>) -> Option<usize> {
    let s = &plan.cfg.split;
    let name = match s.kind {
        SplitKind::Temporal => s.time_column.as_deref()?,
        SplitKind::ItemHoldout => s.item_column.as_deref()?,
        _ => return None,
    };
    plan.names.iter().position(|n| n == name)
}

/// A time cell's number: trimmed, not a missing value, a finite f64.
fn time_of(plan: &Plan<'_>, text: &str) -> Option<f64> {
    let t = text.trim();
    if plan.missing.iter().any(|m| m == t) {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `bad_rows = "skip"`, temporal: a row whose time (column `c`, `text`) is a text but
/// not a finite number is dropped, unless an earlier value already gave its `reason`.
pub(super) fn time_reason(plan: &Plan<'_>, reason: &mut Option<String>, c: usize, text: &str) {
    if plan.cfg.split.kind != SplitKind::Temporal
        || plan.cfg.data.bad_rows != BadRows::Skip
        || reason.is_some()
    {
        return;
    }
    let missing = plan.missing.iter().any(|m| m == text.trim());
    if !missing && time_of(plan, text).is_none() {
        *reason = Some(format!(
            "column `{}`: `{}`; expected a finite number (split.time_column)",
            plan.names[c],
            excerpt(text.as_bytes())
        ));
    }
}

/// Records the split cell (column `c`, `text`) of the row just kept at local line
/// `number`: its time, or its item's code among the chunk's items (`codes`).
pub(super) fn judge(
    plan: &Plan<'_>,
    out: &mut Parsed,
    codes: &mut Codes,
    c: usize,
    number: u64,
    text: &str,
) {
    if plan.cfg.split.kind == SplitKind::ItemHoldout {
        let t = trim(text);
        let (code, new) = codes.code(t);
        if new {
            out.split.items.push(t.to_string());
        }
        out.split.item.push(code);
        return;
    }
    let time = time_of(plan, text);
    if time.is_none() && out.set_error.is_none() {
        out.set_error = Some(Pending {
            line: number,
            column: plan.column_number(c),
            what: format!("column `{}`", plan.names[c]),
            seen: format!("`{}`", excerpt(text.as_bytes())),
            expected: TIME_EXPECTED.into(),
        });
    }
    out.split.time.push(time.unwrap_or(f64::NAN));
}

/// What pass 0 found: how to place each kept row.
pub(super) enum SplitState {
    /// The other kinds: a row's set needs nothing gathered.
    Plain,
    /// temporal: each kept row's rank in time order, and where valid and test begin.
    Ranks {
        rank: Vec<u32>,
        n_train: u64,
        n_valid: u64,
    },
    /// item_holdout: the held-out items.
    Cold(HashSet<String>),
}

/// f64 → u64 with the order of `f64::total_cmp` (sign bit flips the rest; else set it).
fn ordered(t: f64) -> u64 {
    let b = t.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

impl SplitState {
    /// The set of each row of chunk `p`, whose first row is kept row `start`:
    /// 0 train, 1 valid, 2 test, 3 cold.
    pub(super) fn sets(&self, split: &SplitConfig, start: u64, p: &Parsed) -> Vec<u8> {
        match self {
            SplitState::Plain => Vec::new(),
            SplitState::Ranks { .. } => (0..p.rows())
                .map(|r| self.set_of_rank(self.rank(start + r as u64)))
                .collect(),
            SplitState::Cold(cold) => {
                let is_cold: Vec<bool> = p.split.items.iter().map(|t| cold.contains(t)).collect();
                (p.split.item.iter().enumerate())
                    .map(|(r, &c)| match is_cold[c as usize] {
                        true => 3,
                        false => random_assignment(
                            split.seed,
                            start + r as u64,
                            split.train,
                            split.valid,
                        ),
                    })
                    .collect()
            }
        }
    }

    /// temporal: the set of the row at rank `k`.
    pub(super) fn set_of_rank(&self, k: u64) -> u8 {
        match self {
            SplitState::Ranks {
                n_train, n_valid, ..
            } => (k >= *n_train) as u8 + (k >= *n_valid) as u8,
            _ => 0,
        }
    }

    /// temporal: kept row `i`'s rank (time order); else `i` (file order). A row pass 0
    /// did not see (the file grew since) ranks last; [`rows_match`](Self::rows_match)
    /// then stops the build.
    pub(super) fn rank(&self, i: u64) -> u64 {
        match self {
            SplitState::Ranks { rank, .. } => rank.get(i as usize).map_or(u64::MAX, |&k| k as u64),
            _ => i,
        }
    }

    /// temporal: whether pass 1 kept the `kept` rows pass 0 ranked.
    pub(super) fn rows_match(&self, kept: u64) -> bool {
        match self {
            SplitState::Ranks { rank, .. } => rank.len() as u64 == kept,
            _ => true,
        }
    }

    pub(super) fn ranked(&self) -> bool {
        matches!(self, SplitState::Ranks { .. })
    }
}

/// Pass 0 (temporal, item_holdout; else `Plain` at once): the kept rows' times, sorted,
/// or their distinct items. `None` where the in-memory reader must build (a quoted field
/// spanning lines; more than 2³² − 1 rows for a temporal split). The errors pass 1
/// would meet first (a malformed row, a line too long) stop it as they stop pass 1.
pub(super) fn scan(plan: &Plan<'_>, files: &[FileIn]) -> Result<Option<SplitState>> {
    let split = &plan.cfg.split;
    if !matches!(split.kind, SplitKind::Temporal | SplitKind::ItemHoldout) {
        return Ok(Some(SplitState::Plain));
    }
    let t0 = std::time::Instant::now();
    // temporal: (time in total order, high and low word; kept row)     (N, 3) u32
    let mut keys: Vec<[u32; 3]> = Vec::new();
    let mut items: HashSet<String> = HashSet::new();
    let mut seen = dedup::Seen::default();
    let mut kept = 0u64;
    for file in files {
        let view = FileView {
            names: &file.names,
            map: file.map.clone(),
            funnel_field: file.funnel_field,
        };
        let mut line = 0u64;
        let mut each = |_: usize, parsed: std::result::Result<Parsed, Pending>| {
            let Some((p, _)) = super::pass1::admit(parsed, &file.shown, line, &mut seen)? else {
                return Ok(false);
            };
            line += p.lines;
            for (r, &t) in p.split.time.iter().enumerate() {
                let (k, i) = (ordered(t), kept + r as u64);
                keys.push([(k >> 32) as u32, k as u32, i as u32]);
            }
            let mut used = vec![false; p.split.items.len()];
            p.split.item.iter().for_each(|&c| used[c as usize] = true);
            for (t, _) in p.split.items.iter().zip(&used).filter(|x| *x.1) {
                if !items.contains(t) {
                    items.insert(t.clone());
                }
            }
            kept += p.rows() as u64;
            Ok(kept <= u32::MAX as u64)
        };
        let whole = match &file.parquet {
            Some(pq) => parquet::stream_groups(
                pq,
                |g, first| parquet::parse_group(plan, pq, g, first, false),
                |j, parsed| each(j, Ok(parsed?)),
            )?,
            None => {
                stream_file(
                    file,
                    plan.cfg,
                    |j, bytes, last| parse::parse_chunk(plan, &view, bytes, j == 0, last, false),
                    &mut each,
                )?
                .0
            }
        };
        if !whole && kept > u32::MAX as u64 {
            eprintln!("data cache: more than 2^32 - 1 rows with a temporal split; building through the in-memory reader");
            return Ok(None);
        }
        if !whole {
            eprintln!(
                "data cache: {} has a quoted field spanning lines; building through the in-memory reader",
                file.shown
            );
            return Ok(None);
        }
    }
    let state = if split.kind == SplitKind::Temporal {
        keys.par_sort_unstable(); // the keys are distinct: the stable order of split_rows
        let n = keys.len();
        let mut rank = vec![0u32; n];
        for (k, key) in keys.iter().enumerate() {
            rank[key[2] as usize] = k as u32;
        }
        drop(keys);
        let n_train = ((split.train * n as f64).round() as usize).min(n);
        let n_valid = (((split.train + split.valid) * n as f64).round() as usize).clamp(n_train, n);
        SplitState::Ranks {
            rank,
            n_train: n_train as u64,
            n_valid: n_valid as u64,
        }
    } else {
        let mut order: Vec<(u64, String)> = (items.into_iter())
            .map(|t| (splitmix64(split.seed ^ fnv1a64(t.as_bytes())), t))
            .collect();
        order.sort_unstable();
        let k = (split.holdout * order.len() as f64).round() as usize;
        order.truncate(k);
        SplitState::Cold(order.into_iter().map(|x| x.1).collect())
    };
    eprintln!(
        "data cache: pass 0 (split.kind = {:?}: {kept} rows' {}) {:.1} s",
        split.kind,
        if split.kind == SplitKind::Temporal {
            "times, sorted"
        } else {
            "items"
        },
        t0.elapsed().as_secs_f64()
    );
    Ok(Some(state))
}
