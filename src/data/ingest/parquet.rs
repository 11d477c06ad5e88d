//! `data.format = "parquet"`: Parquet files into the same [`RawTable`](super::RawTable)
//! the CSV reader fills, so features, tasks and the split treat both alike.
//!
//! * Column projection: only the needed columns are decoded (the others' pages are
//!   never read), one row group at a time, so memory holds one row group's pages plus
//!   the table being built.
//! * Values become the texts a CSV file would hold: integers in decimal, floats in
//!   Rust's shortest round-trip form (parsed back to the same `f32`), booleans `1` /
//!   `0` (labels), UTF-8 strings as they are. A null is a missing value: it becomes the
//!   first entry of `data.missing_values` (`""` by default), so it is filled or masked
//!   exactly like an empty CSV field.
//! * Row positions: a row's "line" is its 1-based row number in the file (over all row
//!   groups), so `path:line:field` messages and the bad-row report point at a row;
//!   errors while decoding also name the row group.
//! * A column that is not a flat primitive (a list, a map, a struct) or whose type has
//!   no text form here (INT96, FIXED_LEN_BYTE_ARRAY, decimals, dates, timestamps) is an
//!   error naming the file, the column and its type, before any row is read. Bytes that
//!   are not UTF-8 make a bad row (`data.bad_rows`).
//! * Reading: the typed column readers (`parquet/typed.rs`, values per column chunk in
//!   batches), each cell a text or, for columns asked for as numbers, the `f32` its
//!   text parses to (`parquet/values.rs`); the record API (`parquet/records.rs`) is the
//!   reference twin, used with `MTREC_PARQUET_RECORDS=1`. The cache build reads a
//!   categorical feature's integer column as codes (`parquet/codes.rs`: each distinct
//!   value numbered once per row group, no text per cell), and its string column too
//!   (`parquet/dict.rs`: each dictionary entry numbered once per row group, each cell
//!   coded through its dictionary index; plain pages numbered per cell).
//! * `data.dedup` compares the projected columns only.

use super::reader::TableBuilder;
use super::RowSource;
use crate::config::{BadRows, DataConfig};
use crate::error::{Error, Result};
use parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use parquet::file::properties::ReaderProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::SerializedRowGroupReader;
use parquet::schema::types::{Type, TypePtr};
use std::cell::OnceCell;
use std::path::{Path, PathBuf};

mod codes;
mod dict;
mod records;
mod typed;
mod values;
use std::sync::Arc;
pub use values::{f32_of_double, f32_of_double_exact, f32_of_float, int_number, int_text};

fn open(path: &Path, shown: &str) -> Result<SerializedFileReader<std::fs::File>> {
    super::check_regular_file(path, shown)?;
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: shown.to_string(),
        message: format!("cannot open ({e}); check the path in data.files and --data-dir"),
    })?;
    SerializedFileReader::new(file).map_err(|e| Error::Io {
        path: shown.to_string(),
        message: format!(
            "is not a readable Parquet file ({e}); data.format = \"parquet\" expects Parquet files (snappy or uncompressed), use \"csv\" for text"
        ),
    })
}

/// The top-level column names of the Parquet file at `path`.
pub(crate) fn header_names(path: &Path, shown: &str) -> Result<Vec<String>> {
    let reader = open(path, shown)?;
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema();
    Ok(root
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect())
}

/// Why column `t` cannot be read as text, if it cannot.
fn unsupported(t: &Type) -> Option<String> {
    if !t.is_primitive() {
        return Some("a nested group (list, map or struct)".into());
    }
    let info = t.get_basic_info();
    if info.repetition() == parquet::basic::Repetition::REPEATED {
        return Some("a repeated field".into());
    }
    let phys = t.get_physical_type();
    let logical = info.logical_type_ref();
    let plain_int = !matches!(
        info.converted_type(),
        ConvertedType::DATE
            | ConvertedType::TIME_MILLIS
            | ConvertedType::TIME_MICROS
            | ConvertedType::TIMESTAMP_MILLIS
            | ConvertedType::TIMESTAMP_MICROS
            | ConvertedType::DECIMAL
    ) && !matches!(
        logical,
        Some(
            LogicalType::Date
                | LogicalType::Time { .. }
                | LogicalType::Timestamp { .. }
                | LogicalType::Decimal { .. }
        )
    );
    match phys {
        Physical::BOOLEAN | Physical::FLOAT | Physical::DOUBLE => None,
        Physical::INT32 | Physical::INT64 if plain_int => None,
        Physical::BYTE_ARRAY
            if !matches!(logical, Some(LogicalType::Decimal { .. }))
                && info.converted_type() != ConvertedType::DECIMAL =>
        {
            None
        }
        _ => Some(match logical {
            Some(l) => format!("{phys:?} ({l:?})"),
            None => format!("{phys:?}"),
        }),
    }
}

/// Appends the rows of the Parquet file at `path` (called `shown`) to `b`.
pub(crate) fn ingest_file(
    b: &mut TableBuilder,
    path: &Path,
    shown: &str,
    cfg: &DataConfig,
) -> Result<()> {
    let mut pq = ParquetColumns::open(path, shown, cfg)?;
    let (file_index, map) = b.start_file(shown, pq.names(), cfg)?;
    pq.select(&map)?;
    let mut first = 0;
    for (g, rows) in pq.group_rows().into_iter().enumerate() {
        let size = pq.reader.metadata().row_group(g).compressed_size();
        b.count_bytes(size.max(0) as u64);
        pq.read_group(g, first, &[], |line, cells| {
            b.flush_if_full()?;
            match cells {
                Ok(cells) => {
                    let out: Vec<&str> = (0..pq.slot.len()).map(|j| cells.text(j)).collect();
                    b.push_texts(
                        &out,
                        RowSource {
                            file: file_index,
                            line,
                        },
                        cfg.dedup,
                    )
                }
                Err(bad) => match cfg.bad_rows {
                    BadRows::Error => return Err(bad.into_error(shown, line)),
                    BadRows::Skip => b.skip_row(shown, line, bad.reason(), &format!("row {line}")),
                },
            }
            Ok(true)
        })?;
        first += rows;
    }
    Ok(())
}

/// One row as [`parquet_codes`] shows it: its row group and per column its code
/// (`None`: no codes) and text.
pub type CodeRow = (usize, Vec<(Option<u32>, String)>);

/// Every row of the Parquet file `path` over `columns` (by name) read in code mode
/// (`parquet/codes.rs`, `parquet/dict.rs`; a column that is not INT32 / INT64 or
/// strings has no codes): per row its row group and, per column, its code (`None`: no
/// codes) and its text. For the tests comparing those numberings with the numbering of
/// the texts (tests/s10pq_codes.rs, tests/s11pq_dict.rs).
pub fn parquet_codes(cfg: &DataConfig, path: &Path, columns: &[&str]) -> Result<Vec<CodeRow>> {
    let pq = ParquetColumns::open_named(path, cfg, columns)?;
    let modes = vec![Mode::Code; columns.len()];
    let mut out = Vec::new();
    let mut first = 0;
    for (g, rows) in pq.group_rows().into_iter().enumerate() {
        pq.read_group_as(g, first, &modes, |_, cells| {
            if let Ok(c) = cells {
                let row = (0..columns.len()).map(|j| (c.code(j), c.text(j).to_string()));
                out.push((g, row.collect()));
            }
            Ok(true)
        })?;
        first += rows;
    }
    Ok(out)
}

/// One row as [`parquet_cells`] shows it: its 1-based row in the file and its cells
/// (text, and the `f32` where read as a number), or the bad row's reason.
pub type CellRow = (u64, std::result::Result<Vec<(String, Option<f32>)>, String>);

/// Every row of the Parquet file `path` over `columns` (by name), through the typed
/// column readers or (`records`) the record API, the reference twin; `numbers[j]`:
/// column `j` read as numbers. For the tests comparing the two (tests/s9parquet_twin.rs).
pub fn parquet_cells(
    cfg: &DataConfig,
    path: &Path,
    columns: &[&str],
    numbers: &[bool],
    records: bool,
) -> Result<Vec<CellRow>> {
    let mut pq = ParquetColumns::open_named(path, cfg, columns)?;
    pq.records = records;
    let mut out = Vec::new();
    let mut first = 0;
    for (g, rows) in pq.group_rows().into_iter().enumerate() {
        pq.read_group(g, first, numbers, |line, cells| {
            out.push((
                line,
                match cells {
                    Ok(c) => Ok((0..columns.len())
                        .map(|j| (c.text(j).to_string(), c.number(j)))
                        .collect()),
                    Err(bad) => Err(bad.reason()),
                },
            ));
            Ok(true)
        })?;
        first += rows;
    }
    Ok(out)
}

/// A value with no text form (bytes that are not UTF-8): the row is bad.
pub(crate) struct BadValue {
    /// Its field in the file (0-based) and the field's name.
    pub column: usize,
    pub name: String,
    /// `row group g: what the value is`.
    pub seen: String,
}

impl BadValue {
    const EXPECTED: &'static str = "UTF-8 text, a number or a boolean";

    /// The reason listed for a row skipped under `bad_rows = "skip"`.
    pub(crate) fn reason(&self) -> String {
        format!(
            "column `{}`: {}; expected {}",
            self.name,
            self.seen,
            Self::EXPECTED
        )
    }

    /// The run's error under `bad_rows = "error"` (row `line` of the file `shown`).
    pub(crate) fn into_error(self, shown: &str, line: u64) -> Error {
        let (column, what, seen, expected) = self.parts();
        Error::Input {
            path: shown.to_string(),
            line: line as usize,
            column,
            what,
            seen,
            expected,
        }
    }

    /// The error's column (1-based), what, seen and expected.
    pub(crate) fn parts(self) -> (usize, String, String, String) {
        (
            self.column + 1,
            format!("column `{}`", self.name),
            self.seen,
            format!("{}; fix the file, or set data.bad_rows = \"skip\" to skip such rows and list them in the report", Self::EXPECTED),
        )
    }
}

/// One row's cells in output-column order: the typed readers' ([`typed::Cells`]) or,
/// with `MTREC_PARQUET_RECORDS=1`, the record API's texts (the reference twin).
pub(crate) enum Row<'b> {
    Typed(typed::Cells<'b>),
    Texts(&'b [&'b str]),
}

impl<'b> Row<'b> {
    /// Output column `j`'s text (a null's: the first of `data.missing_values`).
    #[inline]
    pub(crate) fn text(&self, j: usize) -> &'b str {
        match self {
            Row::Typed(c) => c.text(j),
            Row::Texts(t) => t[j],
        }
    }

    /// Output column `j` as the `f32` its text parses to, where the reader has it
    /// without the text (a column asked for as numbers); else `None`: parse the text.
    #[inline]
    pub(crate) fn number(&self, j: usize) -> Option<f32> {
        match self {
            Row::Typed(c) => c.number(j),
            Row::Texts(_) => None,
        }
    }

    /// Output column `j`'s code in its row group (`parquet/codes.rs`), where it is read
    /// in code mode ([`Mode::Code`] on an integer or string column); else `None`: read
    /// the text.
    #[inline]
    pub(crate) fn code(&self, j: usize) -> Option<u32> {
        match self {
            Row::Typed(c) => c.code(j),
            Row::Texts(_) => None,
        }
    }

    /// The text of code `code` of output column `j` (a column with codes): the text
    /// of every cell with that code.
    pub(crate) fn code_text(&self, j: usize, code: u32) -> String {
        match self {
            Row::Typed(c) => c.code_text(j, code),
            Row::Texts(_) => String::new(),
        }
    }
}

/// How an output column is read (`ParquetColumns::read_group_as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Texts.
    Text,
    /// The `f32` its text parses to where sure ([`Row::number`]), else text.
    Number,
    /// A code per cell, each distinct value numbered in its row group ([`Row::code`]),
    /// where the column holds integers or strings (`parquet/dict.rs`); else text.
    Code,
}

/// One Parquet file projected onto the columns a run reads, read a row group at a
/// time. The footer is parsed once; each [`read_group`](Self::read_group) opens its
/// own handle, so row groups may be read on several threads at once (the streamed
/// cache build does; the in-memory reader reads them in order).
pub(crate) struct ParquetColumns {
    path: PathBuf,
    shown: String,
    reader: SerializedFileReader<std::fs::File>,
    file_names: Vec<String>,
    /// The projection (`project`): picked fields, projected schema, slot per column,
    /// and each picked field's leaf column in the file (its column chunks).
    picked: Vec<usize>,
    projection: Option<Type>,
    slot: Vec<usize>,
    leaf: Vec<usize>,
    /// The text of a null: the first of `data.missing_values`.
    null: String,
    /// `MTREC_PARQUET_RECORDS=1`: read through the record API (records.rs).
    records: bool,
}

impl ParquetColumns {
    pub(crate) fn open(path: &Path, shown: &str, cfg: &DataConfig) -> Result<ParquetColumns> {
        let reader = open(path, shown)?;
        let root = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .root_schema();
        let file_names = (root.get_fields().iter())
            .map(|f| f.name().to_string())
            .collect();
        Ok(ParquetColumns {
            path: path.to_path_buf(),
            shown: shown.to_string(),
            reader,
            file_names,
            picked: Vec::new(),
            projection: None,
            slot: Vec::new(),
            leaf: Vec::new(),
            null: cfg.missing_values.first().cloned().unwrap_or_default(),
            records: std::env::var("MTREC_PARQUET_RECORDS").is_ok_and(|v| v == "1"),
        })
    }

    /// [`open`](Self::open) `path` (shown as is) with `columns` (by name) selected: the
    /// start of the views for the tests ([`parquet_codes`], [`parquet_cells`]).
    fn open_named(path: &Path, cfg: &DataConfig, columns: &[&str]) -> Result<ParquetColumns> {
        let shown = path.display().to_string();
        let mut pq = ParquetColumns::open(path, &shown, cfg)?;
        let wanted: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let map = super::field_map(&wanted, pq.names(), &shown, true)?;
        pq.select(&map)?;
        Ok(pq)
    }

    /// The file's top-level column names.
    pub(crate) fn names(&self) -> &[String] {
        &self.file_names
    }

    /// Reads the columns `map` names (`map[j]`: the file field of output column j); an
    /// unsupported column type is an error naming the column.
    pub(crate) fn select(&mut self, map: &[usize]) -> Result<()> {
        let descr = self.reader.metadata().file_metadata().schema_descr();
        let root = descr.root_schema();
        let fields: Vec<TypePtr> = root.get_fields().to_vec();
        let (picked, projection, slot) =
            project(root.name(), &fields, &self.file_names, map, &self.shown)?;
        // a flat field (all picked ones are) is one leaf column
        let mut leaf = vec![usize::MAX; fields.len()];
        for i in 0..descr.num_columns() {
            leaf[descr.get_column_root_idx(i)] = i;
        }
        self.leaf = picked.iter().map(|&f| leaf[f]).collect();
        (self.picked, self.projection, self.slot) = (picked, Some(projection), slot);
        Ok(())
    }

    /// Rows per row group, from the footer.
    pub(crate) fn group_rows(&self) -> Vec<u64> {
        (self.reader.metadata().row_groups().iter())
            .map(|g| g.num_rows().max(0) as u64)
            .collect()
    }

    /// The error for row group `g` (at the file's row `row`) that the decoder gave.
    fn io(&self, g: usize, row: Option<u64>, e: impl std::fmt::Display) -> Error {
        Error::Io {
            path: self.shown.clone(),
            message: match row {
                Some(r) => format!("row group {g}, row {r}: cannot be decoded ({e}); the file is damaged or written by an unsupported codec (snappy and uncompressed are read)"),
                None => format!("row group {g}: cannot be read ({e}); the file is damaged or written by an unsupported codec (snappy and uncompressed are read)"),
            },
        }
    }

    /// The bad row for projected field `k`'s value in row group `g`.
    fn bad_value(&self, g: usize, k: usize, what: String) -> BadValue {
        BadValue {
            column: self.picked[k],
            name: self.file_names[self.picked[k]].clone(),
            seen: format!("row group {g}: {what}"),
        }
    }

    /// Row group `g` through a file handle of its own (`File`'s Parquet reads seek,
    /// which threads would share).
    fn group_reader(&self, g: usize) -> Result<SerializedRowGroupReader<'_, std::fs::File>> {
        let file = std::fs::File::open(&self.path).map_err(|e| Error::Io {
            path: self.shown.clone(),
            message: format!("cannot open ({e}); check the path in data.files and --data-dir"),
        })?;
        let meta = self.reader.metadata();
        SerializedRowGroupReader::new(
            Arc::new(file),
            meta.row_group(g),
            meta.page_index_for_row_group(g),
            Arc::new(ReaderProperties::builder().build()),
        )
        .map_err(|e| self.io(g, None, e))
    }

    /// Reads row group `g`, whose rows are the file's rows `first + 1 ..`: `row(line,
    /// cells)` receives each row's 1-based row number in the file and its cells in
    /// output-column order, or the row's first value with no text form; it returns
    /// `false` to stop. `numbers[j]`: output column `j` is read as numbers where it can
    /// be ([`Row::number`]; missing entries: text). A value that cannot be decoded is
    /// an error naming the row group and the row.
    pub(crate) fn read_group(
        &self,
        g: usize,
        first: u64,
        numbers: &[bool],
        row: impl FnMut(u64, std::result::Result<&Row<'_>, BadValue>) -> Result<bool>,
    ) -> Result<()> {
        let modes: Vec<Mode> = (numbers.iter())
            .map(|&n| if n { Mode::Number } else { Mode::Text })
            .collect();
        self.read_group_as(g, first, &modes, row)
    }

    /// [`read_group`](Self::read_group) with each output column's [`Mode`] (missing
    /// entries: text); a field two output columns read in different modes is read as
    /// numbers if one asks for numbers, else as codes if one asks for codes.
    pub(crate) fn read_group_as(
        &self,
        g: usize,
        first: u64,
        modes: &[Mode],
        mut row: impl FnMut(u64, std::result::Result<&Row<'_>, BadValue>) -> Result<bool>,
    ) -> Result<()> {
        if self.records {
            return records::read_group(self, g, first, row);
        }
        let group = self.group_reader(g)?;
        let rows = self.reader.metadata().row_group(g).num_rows().max(0) as usize;
        // projected field k's mode: what the output columns reading it ask for
        let mut cols = Vec::with_capacity(self.picked.len());
        for (k, &leaf) in self.leaf.iter().enumerate() {
            let asks = |m: Mode| (self.slot.iter().zip(modes)).any(|(&s, &a)| s == k && a == m);
            let (number, code) = (asks(Mode::Number), asks(Mode::Code));
            let col = typed::Column::open(&group, leaf, number, code);
            cols.push(col.map_err(|e| self.io(g, None, e))?);
        }
        let mut lazy: Vec<OnceCell<String>> =
            (0..self.slot.len()).map(|_| OnceCell::new()).collect();
        let used = std::cell::Cell::new(false);
        let mut bads: Vec<(usize, usize, String)> = Vec::new();
        let mut done = 0;
        while done < rows {
            let n = typed::BATCH.min(rows - done);
            let at = first + done as u64 + 1;
            bads.clear();
            for (k, c) in cols.iter_mut().enumerate() {
                let bad = c.read(n, &self.null).map_err(|e| {
                    let name = &self.file_names[self.picked[k]];
                    self.io(g, Some(at), format_args!("column `{name}`: {e}"))
                })?;
                bads.extend(bad.into_iter().map(|(r, why)| (r, k, why)));
            }
            // a row's first bad value in file order, as the record API meets them
            bads.sort_by_key(|b| (b.0, b.1));
            bads.dedup_by_key(|b| b.0);
            let mut next_bad = bads.drain(..).peekable();
            for r in 0..n {
                let line = at + r as u64;
                let go = match next_bad.next_if(|b| b.0 == r) {
                    Some((_, k, why)) => row(line, Err(self.bad_value(g, k, why)))?,
                    None => {
                        let cells = typed::Cells::new(&cols, &self.slot, r, &lazy, &used);
                        let go = row(line, Ok(&Row::Typed(cells)))?;
                        if used.replace(false) {
                            lazy.iter_mut().for_each(|l| drop(l.take()));
                        }
                        go
                    }
                };
                if !go {
                    return Ok(());
                }
            }
            done += n;
        }
        Ok(())
    }
}

/// The projection of a file onto the columns the run reads (`map[j]`: the file field of
/// output column j): the picked fields in file order, the projected schema, and
/// `slot[j]`, the projected field output column j reads. An unsupported column type is an
/// error naming the column.
fn project(
    root_name: &str,
    fields: &[TypePtr],
    file_names: &[String],
    map: &[usize],
    shown: &str,
) -> Result<(Vec<usize>, Type, Vec<usize>)> {
    // projection: the needed fields in file order; `order[k]` = output column of the
    // k-th projected field
    let mut picked: Vec<usize> = map.to_vec();
    picked.sort_unstable();
    picked.dedup();
    for &i in &picked {
        if let Some(why) = unsupported(&fields[i]) {
            return Err(Error::Input {
                path: shown.to_string(),
                line: 0,
                column: i + 1,
                what: format!("column `{}`", file_names[i]),
                seen: format!("Parquet type {why}"),
                expected: "a flat column of booleans, integers, floats or UTF-8 strings; cast it when writing the file, or leave the column out of [[features]] / [[tasks]]".into(),
            });
        }
    }
    let projection = Type::group_type_builder(root_name)
        .with_fields(picked.iter().map(|&i| Arc::clone(&fields[i])).collect())
        .build()
        .map_err(|e| Error::Io {
            path: shown.to_string(),
            message: format!("cannot select the needed columns ({e})"),
        })?;
    // output column j reads projected field slot[j]
    let slot: Vec<usize> = map
        .iter()
        .map(|i| {
            picked
                .iter()
                .position(|p| p == i)
                .expect("picked holds every mapped field")
        })
        .collect();
    Ok((picked, projection, slot))
}
