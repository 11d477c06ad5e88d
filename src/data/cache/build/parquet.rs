//! Parquet files in the streamed build: each row group is a chunk.
//!
//! ```text
//! file ──footer (once)──▶ row groups g = 0 .. G, rows per group from the footer
//! group g ──its own handle, the needed columns only (ingest::ParquetColumns)──▶ cells
//!         ──the reader's bad-value rule, then judge::judge_row──▶ Parsed (as a CSV chunk)
//! ```
//! A cell is a text, or for a numeric feature's column the `f32` its text parses to,
//! straight from the typed column reader (no text made and parsed back; the reader
//! formats the text only where that `f32` is not sure without it, and for a dropped
//! row's report line). A categorical feature's integer column comes as codes, its
//! values numbered per row group by the integer (ingest's `parquet/codes.rs`): each
//! code's text is made once, at its first row, into the chunk's `dict`, and the row's
//! code goes to `judge_row` as `Lookups::preset` (no text or text hash per cell).
//! The row numbers (a row's "line") are its 1-based rows in the file, as in the
//! in-memory Parquet reader, so a group's first line is the rows of the groups before
//! it and both passes place every row without reading the groups before. A batch of
//! groups is read in parallel (one group per rayon task); memory holds one batch's
//! decoded pages and parsed rows, never the file.

use super::cells::trim;
use super::parse::{self, Dropped, Parsed, Pending};
use super::plan::Plan;
use crate::config::BadRows;
use crate::data::ingest::{ParquetColumns, ParquetMode};
use crate::error::Result;
use rayon::prelude::*;

/// Parses row group `g` (the file's rows `first + 1 ..`), with `full` the numbers,
/// labels and masks too (pass 2). Local lines count from 1 as in a CSV chunk.
pub(super) fn parse_group(
    plan: &Plan,
    pq: &ParquetColumns,
    g: usize,
    first: u64,
    full: bool,
) -> Result<Parsed> {
    let (mut out, mut look) = parse::empty(plan);
    let skip = plan.cfg.data.bad_rows == BadRows::Skip;
    // numeric features' columns come as f32s (no text per cell), unless a missing
    // value is itself a finite number: only its text would say the cell is missing
    let direct = !(plan.missing.iter()).any(|m| m.parse::<f64>().is_ok_and(f64::is_finite));
    let mut modes = vec![ParquetMode::Text; plan.names.len()];
    // categorical features' columns come as codes where they hold integers (the
    // data file's columns: a joined column's cells are texts of its side table)
    let coded: Vec<(usize, usize)> = (plan.cat.iter().copied().enumerate())
        .filter(|&(_, c)| c < plan.n_main)
        .collect();
    for &(_, c) in &coded {
        modes[c] = ParquetMode::Code;
    }
    if !coded.is_empty() {
        look.preset = vec![None; plan.cat.len()];
    }
    if direct {
        (plan.num.iter())
            .filter(|&&c| c < plan.n_main)
            .for_each(|&c| modes[c] = ParquetMode::Number);
    }
    pq.read_group_as(g, first, &modes, |line, cells| {
        let number = line - first;
        match cells {
            Ok(cells) => {
                if plan.dedup {
                    // the in-memory Parquet reader's rule: the projected columns' texts
                    let texts = (0..plan.n_main).map(|i| cells.text(i).as_bytes());
                    out.hashes
                        .push((number as u32, super::dedup::row_hash(texts)));
                }
                // a coded column's new codes (first rows) get their texts in `dict`
                for &(f, c) in &coded {
                    let code = cells.code(c);
                    if let Some(code) = code {
                        let dict = &mut out.dict[f];
                        while dict.len() <= code as usize {
                            let t = cells.code_text(c, dict.len() as u32);
                            let missing = look.missing.has(trim(&t));
                            dict.push((!missing).then_some(t));
                        }
                    }
                    look.preset[f] = code;
                }
                super::judge::judge_row(
                    plan,
                    &mut out,
                    &mut look,
                    number,
                    0,
                    full,
                    |i| cells.text(i),
                    |i| cells.number(i),
                    None,
                );
            }
            Err(bad) if skip => out.malformed.push(Dropped {
                line: number,
                reason: bad.reason(),
                text: format!("row {line}"),
            }),
            Err(bad) => {
                let (column, what, seen, expected) = bad.parts();
                out.malformed_error = Some(Pending {
                    line: number,
                    column,
                    what,
                    seen,
                    expected,
                });
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    // every row of the group, kept or not (pass 1 adds them to place the next group)
    out.lines = pq.group_rows().get(g).copied().unwrap_or(0);
    Ok(out)
}

/// Runs `work(g, first)` on every row group of `pq` (`first`: the rows before it), a
/// batch of groups in parallel; `each` receives the results in file order. Stops
/// (returning `false`) when `each` does.
pub(super) fn stream_groups<T: Send>(
    pq: &ParquetColumns,
    work: impl Fn(usize, u64) -> T + Sync,
    mut each: impl FnMut(usize, T) -> Result<bool>,
) -> Result<bool> {
    let rows = pq.group_rows();
    let firsts: Vec<u64> = (rows.iter())
        .scan(0u64, |acc, &r| {
            let f = *acc;
            *acc += r;
            Some(f)
        })
        .collect();
    let n = super::chunks::batch_len();
    for (b, batch) in firsts.chunks(n).enumerate() {
        let done: Vec<T> = (batch.par_iter().enumerate())
            .map(|(j, &first)| work(b * n + j, first))
            .collect();
        for (j, t) in done.into_iter().enumerate() {
            if !each(b * n + j, t)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
