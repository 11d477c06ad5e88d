//! `[[data.join]]` in the streamed build: the side tables are read once (by
//! `loaders::join`, the in-memory join's reader, checks and messages), and in both
//! passes every row looks its keys up and reads the joined columns as cells of the row.
//!
//! ```text
//! table columns   main: the data files' columns (loaders::join::main_and_keep), then
//!                       the funnel's extra columns          [0, n_main)
//!                 joined: per join j in config order, its kept outputs   [n_main, …)
//! per row         for j in order: key = cell(key_col[j])   (a main cell, or a cell an
//!                                                            earlier join gave: chained)
//!                   key in side j's index      → rows[j] = its side row
//!                   key a missing marker       → rows[j] = MISSING_KEY: each joined cell
//!                                                is the key's text, as in memory
//!                   otherwise                  → the row is dropped (bad_rows = "skip",
//!                                                listed after the funnel's rows, before
//!                                                side j's own skipped rows) or join j's
//!                                                first error (bad_rows = "error")
//!                 cell(i ≥ n_main) = side j's column, row rows[j]
//! ```
//! Memory: every side table as the in-memory reader holds it (each column a `u32` code
//! per row plus its distinct texts) and one index (key text → row) per side table; no
//! row of the data files is held.

use super::parse::{Dropped, FxBuild, Parsed, Pending};
use crate::config::RunConfig;
use crate::data::ingest::shorten;
use crate::data::loaders::join::{self as lj, Side};
use crate::error::Result;
use std::collections::HashMap;
use std::path::Path;

/// A join whose key is a missing marker: its joined cells are the key's text.
pub(super) const MISSING_KEY: u32 = u32::MAX;

/// The side tables as read, before the table's columns are laid out (plan.rs).
pub(super) struct SideTables {
    sides: Vec<Side>,
    /// The data files' columns (a key's error column is its place among them).
    main_names: Vec<String>,
    /// The columns the data files give, in the in-memory reader's order.
    pub main_needed: Vec<String>,
    /// The joined columns that are built (needed ones and keys of later joins).
    keep: Vec<String>,
}

/// Reads the side tables of `cfg` (`None` without `[[data.join]]`).
pub(super) fn read(cfg: &RunConfig, data_dir: &Path) -> Result<Option<SideTables>> {
    if cfg.data.join.is_empty() {
        return Ok(None);
    }
    let main_names = lj::main_names(&cfg.data, data_dir)?;
    let sides = lj::read_sides(&cfg.data, data_dir, &main_names)?;
    let needed = cfg.needed_columns();
    let (main, keep) = lj::main_and_keep(&sides, &needed);
    let (main_needed, keep) = (
        main.iter().map(|s| s.to_string()).collect(),
        keep.iter().map(|s| s.to_string()).collect(),
    );
    Ok(Some(SideTables {
        sides,
        main_names,
        main_needed,
        keep,
    }))
}

/// The joins of one streamed build.
pub(super) struct Joins {
    sides: Vec<Side>,
    /// Per side table: key text → side row (Fx-hashed: one lookup per row and join).
    index: Vec<HashMap<String, u32, FxBuild>>,
    /// Per join: the table column holding its key.
    key_col: Vec<usize>,
    /// Per joined table column (from `n_main` on): its join and side-table column.
    cols: Vec<(usize, usize)>,
    n_main: usize,
    /// Per join: the table columns a row dropped by it shows (the in-memory table's
    /// columns at that join: the data files' needed ones and earlier joins' outputs).
    miss_text: Vec<Vec<usize>>,
    main_names: Vec<String>,
    missing: Vec<String>,
}

impl Joins {
    /// Lays out the joined columns after the `n_main` columns of `names`, appending
    /// their names.
    pub(super) fn new(
        t: SideTables,
        names: &mut Vec<String>,
        n_main: usize,
        missing: &[String],
    ) -> Joins {
        let n_files = t.main_needed.len();
        let (mut key_col, mut cols, mut miss_text) = (Vec::new(), Vec::new(), Vec::new());
        for (j, side) in t.sides.iter().enumerate() {
            let left = side.join.keys().0;
            // a key of the data files, or of an earlier join (read_sides checked it)
            key_col.push(names.iter().position(|n| n == left).unwrap_or(0));
            miss_text.push((0..n_files).chain(n_main..names.len()).collect());
            for (col, name) in &side.outputs {
                if !t.keep.is_empty() && !t.keep.contains(name) {
                    continue;
                }
                let src = side.table.names.iter().position(|n| n == col);
                cols.push((j, src.unwrap_or(0)));
                names.push(name.clone());
            }
        }
        let index = (t.sides.iter())
            .map(|s| {
                (s.index.iter())
                    .map(|(k, &r)| (k.clone(), r as u32))
                    .collect()
            })
            .collect();
        Joins {
            sides: t.sides,
            index,
            key_col,
            cols,
            n_main,
            miss_text,
            main_names: t.main_names,
            missing: missing.iter().map(|m| m.trim().to_string()).collect(),
        }
    }

    /// Table column `i` of a row whose side rows are `rows` (those of the joins before
    /// the one asked for suffice) and whose data-file cells are `text`.
    pub(super) fn cell<'t>(
        &'t self,
        rows: &[u32],
        mut i: usize,
        text: &impl Fn(usize) -> &'t str,
    ) -> &'t str {
        loop {
            if i < self.n_main {
                return text(i);
            }
            let (j, src) = self.cols[i - self.n_main];
            match rows[j] {
                MISSING_KEY => i = self.key_col[j], // the key's text (a chained key too)
                r => return self.sides[j].table.columns[src].get(r as usize),
            }
        }
    }

    /// Joined table column `c` (≥ `n_main`): its join and its side column's dictionary
    /// (the in-memory joined column starts with it); `None` for a data-file column.
    pub(super) fn side_dict(&self, c: usize) -> Option<(usize, &[String])> {
        let &(j, src) = self.cols.get(c.checked_sub(self.n_main)?)?;
        Some((j, &self.sides[j].table.columns[src].dict))
    }

    /// The code of joined table column `c` in a row whose join `j` found side row `r`
    /// (not [`MISSING_KEY`]): its side row's code in [`Joins::side_dict`].
    pub(super) fn side_code(&self, c: usize, r: u32) -> u32 {
        let (j, src) = self.cols[c - self.n_main];
        self.sides[j].table.columns[src].values[r as usize]
    }

    /// Fills `rows` with each join's side row; `Err(j)` when join j lacks the key.
    pub(super) fn resolve<'t>(
        &'t self,
        rows: &mut Vec<u32>,
        text: &impl Fn(usize) -> &'t str,
    ) -> std::result::Result<(), usize> {
        rows.clear();
        for j in 0..self.sides.len() {
            let key = self.cell(rows, self.key_col[j], text);
            let r = match self.index[j].get(key) {
                Some(&r) => r,
                None if self.missing.iter().any(|m| m == key.trim()) => MISSING_KEY,
                None => return Err(j),
            };
            rows.push(r);
        }
        Ok(())
    }

    /// Records that join `j` lacks the key of the row at local line `number` (`rows`:
    /// the side rows of the joins before it): a dropped row, or join j's first error.
    pub(super) fn missed<'t>(
        &'t self,
        out: &mut Parsed,
        j: usize,
        rows: &[u32],
        number: u64,
        text: &impl Fn(usize) -> &'t str,
        skip: bool,
    ) {
        let side = &self.sides[j];
        let seen = lj::miss_seen(side, self.cell(rows, self.key_col[j], text));
        if skip {
            let shown: Vec<&str> = (self.miss_text[j].iter())
                .map(|&c| self.cell(rows, c, text))
                .collect();
            out.join_dropped.push((
                j,
                Dropped {
                    line: number,
                    reason: lj::miss_reason(side, &seen),
                    text: shorten(&shown.join(",")),
                },
            ));
            return;
        }
        if out.join_errors.len() <= j {
            out.join_errors.resize_with(self.sides.len(), || None);
        }
        if out.join_errors[j].is_none() {
            let (column, what, expected) = lj::miss_error_parts(j, side, &self.main_names);
            out.join_errors[j] = Some(Pending {
                line: number,
                column,
                what,
                seen,
                expected,
            });
        }
    }

    /// The rows side table `j` dropped itself (`bad_rows = "skip"`).
    pub(super) fn side_skipped(&self, j: usize) -> crate::data::ingest::SkippedRows {
        self.sides[j].table.skipped.clone()
    }

    pub(super) fn len(&self) -> usize {
        self.sides.len()
    }
}
