//! Reading delimited data files (CSV / TSV, optionally gzip'd) into a compact table
//! of raw texts, robustly: every malformed row either stops the run with
//! `path:line:field: what was seen; expected ...`, or (with `data.bad_rows = "skip"`)
//! is dropped, counted and listed in [`SkippedRows`]. Nothing is dropped silently.
//!
//! Every size is bounded (`data.max_line_bytes`, `data.max_field_bytes`,
//! `data.max_quoted_lines`, `data.max_decompressed_bytes`; see `source.rs` and
//! `records.rs`): a huge line, a gzip bomb or `/dev/zero` is an error naming the key or
//! the path, never an out-of-memory; a quote that never closes is one bad row.
//!
//! Texts are interned per column ([`RawColumn`]); numbers and vocabularies are made
//! later from them. For numeric columns, [`RawTable::drop_unparsable`] applies the
//! bad-row policy to values that are not numbers, and [`RawTable::parse_f32`] turns a
//! column into `f32`s (NaN = missing) or fails at the first bad cell with its place.
//!
//! ```no_run
//! use mtrec::config::RunConfig;
//! use mtrec::data::ingest::read_table;
//! let cfg = RunConfig::from_file("configs/example.toml", &[]).unwrap();
//! let mut table = read_table(&cfg.data, "../shared/data".as_ref(), &cfg.needed_columns()).unwrap();
//! table.drop_unparsable(&["age"], &cfg.data.missing_values, cfg.data.bad_rows).unwrap();
//! let age = table.parse_f32("age", &cfg.data.missing_values).unwrap(); // (N,)
//! print!("{}", table.skipped.report());
//! ```

mod column;
pub(crate) mod fx;
mod number;
mod number_x4;
mod parquet;
mod reader;
mod records;
mod skipped;
mod source;
mod stream;

pub use column::{NumberProblem, ParsedNumbers, RawColumn};
pub use number::{parse_cell_f32, parse_f32, plain_decimal};
pub use number_x4::parse_cells_f32;
pub use skipped::{SkippedRow, SkippedRows, KEEP_FIRST};
pub(crate) use source::{check_regular_file, excerpt};
pub use stream::{chunk_rows, read_table_chunked, TableChunks, DEFAULT_CHUNK_ROWS};
// The streaming cache build (src/data/cache/build/) judges rows with the reader's rules.
pub(crate) use reader::{field_map, header_names, BadRow, RowContext};
pub(crate) use skipped::shorten;
// ... and reads Parquet files by row groups.
pub(crate) use parquet::{Mode as ParquetMode, ParquetColumns};
// Parquet values straight to the f32 their texts parse to (tests/s9parquet_values.rs).
pub use parquet::{
    f32_of_double, f32_of_double_exact, f32_of_float, int_number, int_text, parquet_cells,
    parquet_codes, CellRow, CodeRow,
};

use crate::config::{BadRows, DataConfig};
use crate::error::{Error, Result};
use reader::{ingest_file, TableBuilder};
use std::path::{Path, PathBuf};

/// xorshift64: a reproducible stream of test values (the unit tests of the cell
/// readers here and in `data::cache::build`).
#[cfg(test)]
pub(crate) fn test_stream(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Where a row came from: an index into [`RawTable::files`] and the 1-based line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowSource {
    pub file: u32,
    pub line: u64,
}

/// The kept rows of all files, one [`RawColumn`] per needed column.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawTable {
    /// Column names, in the order of `columns`.
    pub names: Vec<String>,
    pub columns: Vec<RawColumn>,
    /// Per row, its file and line, `(N,)`.
    pub source: Vec<RowSource>,
    /// The files read, as shown in messages.
    pub files: Vec<String>,
    /// Rows dropped (malformed, unusable values, duplicates).
    pub skipped: SkippedRows,
}

/// Reads every file of `cfg.files` (relative paths are under `data_dir`), keeping the
/// columns in `needed` (in that order; empty: all columns).
pub fn read_table(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    let mut b = TableBuilder::new(needed);
    for f in &cfg.files {
        let path = resolve(data_dir, f);
        ingest_any(&mut b, &path, &path.display().to_string(), cfg)?;
    }
    Ok(b.finish())
}

/// Reads one file (ignoring `cfg.files`), keeping the columns in `needed`.
pub fn read_file(path: &Path, cfg: &DataConfig, needed: &[&str]) -> Result<RawTable> {
    let mut b = TableBuilder::new(needed);
    ingest_any(&mut b, path, &path.display().to_string(), cfg)?;
    Ok(b.finish())
}

/// The column names of the first file of `cfg.files`: its header line when
/// `cfg.header` (only that line is read), else `cfg.columns`.
pub fn read_header(cfg: &DataConfig, data_dir: &Path) -> Result<Vec<String>> {
    match cfg.files.first() {
        Some(f) => {
            let path = resolve(data_dir, f);
            if cfg.format == crate::config::Format::Parquet {
                return parquet::header_names(&path, &path.display().to_string());
            }
            reader::header_names(&path, &path.display().to_string(), cfg)
        }
        None => Ok(cfg.columns.clone().unwrap_or_default()),
    }
}

/// One file through the reader of `cfg.format`.
fn ingest_any(b: &mut TableBuilder, path: &Path, shown: &str, cfg: &DataConfig) -> Result<()> {
    match cfg.format {
        crate::config::Format::Parquet => parquet::ingest_file(b, path, shown, cfg),
        _ => ingest_file(b, path, shown, cfg),
    }
}

fn resolve(data_dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

impl RawTable {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.source.len()
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&RawColumn> {
        self.index_of(name).map(|i| &self.columns[i])
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn require(&self, name: &str) -> Result<usize> {
        self.index_of(name).ok_or_else(|| Error::Config {
            what: format!("column `{name}`"),
            message: format!(
                "was not read; the table holds {}; add it to the needed columns",
                self.names.join(", ")
            ),
        })
    }

    /// `path:line` of row `row`.
    pub fn locate(&self, row: usize) -> String {
        let s = self.source[row];
        format!("{}:{}", self.files[s.file as usize], s.line)
    }

    /// An [`Error::Input`] for the cell of `row` in column `name`:
    /// `path:line:field: column `name`: seen; expected ...`.
    pub fn cell_error(&self, row: usize, name: &str, seen: &str, expected: &str) -> Error {
        let s = self.source[row];
        Error::Input {
            path: self.files[s.file as usize].clone(),
            line: s.line as usize,
            column: self.index_of(name).map_or(0, |i| i + 1),
            what: format!("column `{name}`"),
            seen: format!("`{}`", source::excerpt(seen.as_bytes())),
            expected: expected.to_string(),
        }
    }

    /// The `f32` of every row of column `name`; NaN where the text is in
    /// `missing_values`. Fails at the first text that is not a finite number.
    ///
    /// The error's column is the position of `name` among the table's columns (the
    /// kept ones), which is the field number when all columns were read.
    pub fn parse_f32(&self, name: &str, missing_values: &[String]) -> Result<Vec<f32>> {
        let col = &self.columns[self.require(name)?];
        let parsed = col.parse_f32(missing_values);
        if let Some(&(row, p)) = parsed.bad.first() {
            let hint = "; fix the value, add the text to data.missing_values, or set data.bad_rows = \"skip\"";
            return Err(self.cell_error(
                row,
                name,
                col.get(row),
                &format!("{}{hint}", p.expected()),
            ));
        }
        Ok(parsed.values)
    }

    /// Applies the bad-row policy to the numeric columns `names`: under
    /// [`BadRows::Error`] the first unusable value is an error (as in
    /// [`RawTable::parse_f32`]); under [`BadRows::Skip`] its row is dropped and
    /// recorded in `skipped`. Returns the number of rows dropped.
    pub fn drop_unparsable(
        &mut self,
        names: &[&str],
        missing_values: &[String],
        policy: BadRows,
    ) -> Result<usize> {
        let mut reasons: Vec<Option<String>> = vec![None; self.num_rows()];
        for &name in names {
            if policy == BadRows::Error {
                self.parse_f32(name, missing_values)?;
                continue;
            }
            let col = &self.columns[self.require(name)?];
            for (row, p) in col.parse_f32(missing_values).bad {
                reasons[row].get_or_insert_with(|| {
                    format!(
                        "column `{name}`: `{}`; expected {}",
                        source::excerpt(col.get(row).as_bytes()),
                        p.expected()
                    )
                });
            }
        }
        let bad: Vec<(usize, String)> = reasons
            .into_iter()
            .enumerate()
            .filter_map(|(r, x)| Some((r, x?)))
            .collect();
        Ok(self.drop_rows(&bad))
    }

    /// Drops the rows `(row, reason)` (row indices of the current table, ascending)
    /// and records each in `skipped` with its place and text. Returns how many.
    pub fn drop_rows(&mut self, rows: &[(usize, String)]) -> usize {
        let mut keep = vec![true; self.num_rows()];
        for (row, reason) in rows {
            if !keep[*row] {
                continue;
            }
            keep[*row] = false;
            let s = self.source[*row];
            let text: Vec<&str> = self.columns.iter().map(|c| c.get(*row)).collect();
            self.skipped.record(
                &self.files[s.file as usize],
                s.line,
                reason.clone(),
                &text.join(","),
            );
        }
        for c in &mut self.columns {
            c.retain(&keep);
        }
        let mut i = 0;
        self.source.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        keep.iter().filter(|k| !**k).count()
    }
}
