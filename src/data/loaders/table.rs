//! Building a [`RawTable`] row by row from a loader's fixed list of columns, keeping
//! only the needed ones (interned like ingest's columns).

use crate::config::DataConfig;
use crate::data::ingest::{RawColumn, RawTable, RowSource, SkippedRows};
use crate::error::{Error, Result};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// One interned column under construction.
#[derive(Default)]
struct Interned {
    column: RawColumn,
    codes: HashMap<String, u32>,
}

impl Interned {
    fn push(&mut self, text: &str) {
        let code = match self.codes.get(text) {
            Some(&c) => c,
            None => {
                let c = self.column.dict.len() as u32;
                self.column.dict.push(text.to_string());
                self.codes.insert(text.to_string(), c);
                c
            }
        };
        self.column.values.push(code);
    }
}

/// Rows of a loader whose columns are `all`; only the `needed` ones are kept.
pub(super) struct TableOut {
    /// For each kept column, its index in the loader's list.
    keep: Vec<usize>,
    names: Vec<String>,
    columns: Vec<Interned>,
    source: Vec<RowSource>,
    pub files: Vec<String>,
    pub skipped: SkippedRows,
    /// 128-bit hashes of the lines kept so far (`data.dedup`).
    seen: std::collections::HashSet<u128>,
}

impl TableOut {
    /// A table keeping the columns `needed` (in that order; empty: all of `all`).
    /// A needed column that `loader` does not produce is an error listing `all`.
    pub(super) fn new(loader: &str, all: &[&str], needed: &[&str]) -> Result<TableOut> {
        let mut keep: Vec<usize> = Vec::new();
        if needed.is_empty() {
            keep = (0..all.len()).collect();
        }
        for n in needed {
            let i = all.iter().position(|a| a == n).ok_or_else(|| Error::Config {
                what: format!("column `{n}`"),
                message: format!(
                    "is not produced by data.loader = \"{loader}\", whose columns are {}; fix the name in [[features]] / [[tasks]] / [split]",
                    all.join(", ")
                ),
            })?;
            if !keep.contains(&i) {
                keep.push(i);
            }
        }
        Ok(TableOut {
            names: keep.iter().map(|&i| all[i].to_string()).collect(),
            columns: keep.iter().map(|_| Interned::default()).collect(),
            keep,
            source: Vec::new(),
            files: Vec::new(),
            skipped: SkippedRows::default(),
            seen: Default::default(),
        })
    }

    /// Appends one row: `texts` holds every column of the loader, in its order.
    pub(super) fn push(&mut self, texts: &[&str], source: RowSource) {
        for (col, &i) in self.columns.iter_mut().zip(&self.keep) {
            col.push(texts[i]);
        }
        self.source.push(source);
    }

    /// `true` if `line` repeats a line seen before (and counts it as a duplicate).
    pub(super) fn is_duplicate(&mut self, line: &[u8]) -> bool {
        let mut h1 = DefaultHasher::new();
        let mut h2 = DefaultHasher::new();
        0x9e37_79b9_7f4a_7c15u64.hash(&mut h2);
        line.hash(&mut h1);
        line.hash(&mut h2);
        let h = ((h1.finish() as u128) << 64) | h2.finish() as u128;
        if self.seen.insert(h) {
            false
        } else {
            self.skipped.duplicates += 1;
            true
        }
    }

    pub(super) fn finish(self) -> RawTable {
        RawTable {
            names: self.names,
            columns: self.columns.into_iter().map(|c| c.column).collect(),
            source: self.source,
            files: self.files,
            skipped: self.skipped,
        }
    }
}

/// A loader with fixed output columns reads files without a header, so
/// `data.header` must be false; `data.columns`, if set, must name exactly the
/// loader's columns (it lets the configuration be checked before any file is read).
pub(super) fn check_fixed_columns(cfg: &DataConfig, loader: &str, all: &[&str]) -> Result<()> {
    let listed = || {
        format!(
            "columns = [{}]",
            all.iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if cfg.header {
        return Err(Error::Config {
            what: "data.header".into(),
            message: format!(
                "is true, but data.loader = \"{loader}\" reads files without a header and names the columns itself; set header = false and {}",
                listed()
            ),
        });
    }
    if let Some(cols) = &cfg.columns {
        let mut got: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut want = all.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        if got != want {
            return Err(Error::Config {
                what: "data.columns".into(),
                message: format!(
                    "is {cols:?}, but data.loader = \"{loader}\" produces other columns; set {}",
                    listed()
                ),
            });
        }
    }
    Ok(())
}
