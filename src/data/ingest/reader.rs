//! Reading one delimited file into a [`TableBuilder`]: lines from [`Source`] (bounded,
//! gzip detected from the magic bytes), records from [`Records`] (CSV quoting, an
//! unterminated quote is one bad row), field counts, field lengths and decoding
//! checked here, de-duplication, and the bad-row policy.

use super::column::ColumnBuilder;
use super::records::{Item, Records};
use super::skipped::{shorten, SkippedRows};
use super::source::{excerpt, Source};
use super::{RawTable, RowSource};
use crate::config::{BadRows, DataConfig, Encoding};
use crate::error::{Error, Result};
use csv::ByteRecord;
use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::Path;

/// Rows gathered from one or more files, column by column.
pub(crate) struct TableBuilder {
    /// Which columns to keep; empty: every column of the first file.
    wanted: Vec<String>,
    names: Vec<String>,
    columns: Vec<ColumnBuilder>,
    source: Vec<RowSource>,
    files: Vec<String>,
    skipped: SkippedRows,
    /// 128-bit hashes of every kept row's fields (`data.dedup`).
    seen: HashSet<u128>,
    /// Hand the rows over in chunks as they are read (`super::stream`); `None`: keep
    /// every row until [`TableBuilder::finish`].
    pub(super) chunking: Option<super::stream::Chunking>,
}

impl TableBuilder {
    pub(crate) fn new(needed: &[&str]) -> TableBuilder {
        let mut wanted: Vec<String> = Vec::new();
        for n in needed {
            if !wanted.iter().any(|w| w == n) {
                wanted.push(n.to_string());
            }
        }
        TableBuilder {
            wanted,
            names: Vec::new(),
            columns: Vec::new(),
            source: Vec::new(),
            files: Vec::new(),
            skipped: SkippedRows::default(),
            seen: HashSet::new(),
            chunking: None,
        }
    }

    pub(crate) fn finish(self) -> RawTable {
        RawTable {
            names: self.names,
            columns: self
                .columns
                .into_iter()
                .map(ColumnBuilder::finish)
                .collect(),
            source: self.source,
            files: self.files,
            skipped: self.skipped,
        }
    }

    /// Fixes the output columns at the first file; later files map by name.
    fn set_names(&mut self, file_names: &[String]) {
        if self.files.len() == 1 {
            self.names = if self.wanted.is_empty() {
                file_names.to_vec()
            } else {
                self.wanted.clone()
            };
            self.columns = self
                .names
                .iter()
                .map(|_| ColumnBuilder::default())
                .collect();
        }
    }
}

/// Appends the rows of the file at `path` (called `shown` in messages) to `b`.
pub(crate) fn ingest_file(
    b: &mut TableBuilder,
    path: &Path,
    shown: &str,
    cfg: &DataConfig,
) -> Result<()> {
    let source = Source::open_counted(path, shown, cfg, b.bytes_counter())?;
    let mut records = Records::new(source, cfg);
    b.skipped.keep_all |= cfg.list_every_bad_row;
    b.files.push(shown.to_string());
    let file_index = (b.files.len() - 1) as u32;
    let mut rec = ByteRecord::new();
    let file_names: Vec<String> = if cfg.header {
        match records.next_record(&mut rec)? {
            None => {
                return Err(Error::Io {
                    path: shown.to_string(),
                    message: "is empty; expected a header line naming the columns (or set data.header = false and list data.columns)".into(),
                })
            }
            Some(Item::Unterminated { line, column, why, text }) => {
                return Err(unterminated(line, column, why, text).into_error(shown, line));
            }
            Some(Item::Row { .. }) => rec
                .iter()
                .map(|f| decode(f, cfg.encoding).into_owned())
                .collect(),
        }
    } else {
        cfg.columns.clone().ok_or_else(|| Error::Config {
            what: "data.columns".into(),
            message: "is missing while data.header = false; list one name per field".into(),
        })?
    };
    b.set_names(&file_names);
    let map = field_map(&b.names, &file_names, shown, cfg.header)?;
    let ctx = RowContext {
        file_names: &file_names,
        cfg,
    };
    while let Some(item) = records.next_record(&mut rec)? {
        b.flush_if_full()?;
        let (line, decoded) = match item {
            Item::Row { line, cut } => (line, ctx.decode_row(&rec, &map, cut)),
            Item::Unterminated {
                line,
                column,
                why,
                text,
            } => (line, Err(unterminated(line, column, why, text))),
        };
        match decoded {
            Ok(texts) => {
                if cfg.dedup && !b.seen.insert(row_hash(&rec)) {
                    b.skipped.duplicates += 1;
                } else {
                    for (col, t) in b.columns.iter_mut().zip(&texts) {
                        col.push(t);
                    }
                    b.source.push(RowSource {
                        file: file_index,
                        line,
                    });
                }
            }
            Err(bad) => match cfg.bad_rows {
                BadRows::Error => return Err(bad.into_error(shown, line)),
                BadRows::Skip => b.skipped.record(shown, line, bad.reason(), &bad.text),
            },
        }
    }
    Ok(())
}

/// The bad row of a quote that does not close (see [`super::records`]).
fn unterminated(line: u64, column: usize, why: String, text: String) -> BadRow {
    BadRow {
        column,
        what: format!("field {column}"),
        seen: format!("unterminated quote: the quote opened on line {line} does not close ({why}) in `{text}`"),
        expected: "a closing `\"` (write a quote inside a quoted field as `\"\"`), or data.format = \"tsv\" if quotes are ordinary text".into(),
        text,
    }
}

/// For each output column, its field index in this file.
pub(crate) fn field_map(
    wanted: &[String],
    file_names: &[String],
    shown: &str,
    header: bool,
) -> Result<Vec<usize>> {
    wanted
        .iter()
        .map(|w| {
            file_names.iter().position(|n| n == w).ok_or_else(|| {
                let names = file_names.join(", ");
                if header {
                    Error::Input {
                        path: shown.to_string(),
                        line: 1,
                        column: 1,
                        what: "header".into(),
                        seen: format!("no column `{w}` among {names}"),
                        expected: format!("a column `{w}`; fix the name in [[features]] / [[tasks]] or the file's header"),
                    }
                } else {
                    Error::Config {
                        what: "data.columns".into(),
                        message: format!("has no column `{w}` ({names}); add it or fix the name in [[features]] / [[tasks]]"),
                    }
                }
            })
        })
        .collect()
}

/// What is needed to judge one row of a file.
pub(crate) struct RowContext<'a> {
    pub(crate) file_names: &'a [String],
    pub(crate) cfg: &'a DataConfig,
}

/// Why a row is malformed: the 1-based field, what was seen, what was expected.
pub(crate) struct BadRow {
    pub(crate) column: usize,
    what: String,
    seen: String,
    expected: String,
    pub(crate) text: String,
}

impl BadRow {
    pub(crate) fn reason(&self) -> String {
        format!("{}: {}; expected {}", self.what, self.seen, self.expected)
    }

    pub(crate) fn into_error(self, shown: &str, line: u64) -> Error {
        Error::Input {
            path: shown.to_string(),
            line: line as usize,
            column: self.column,
            what: self.what,
            seen: self.seen,
            expected: format!(
                "{}; fix the file, or set data.bad_rows = \"skip\" to skip such rows and list them in the report",
                self.expected
            ),
        }
    }
}

impl RowContext<'_> {
    /// The texts of the wanted fields, or why the row cannot be used.
    pub(crate) fn decode_row<'r>(
        &self,
        rec: &'r ByteRecord,
        map: &[usize],
        cut: bool,
    ) -> std::result::Result<Vec<Cow<'r, str>>, BadRow> {
        let n = self.file_names.len();
        if rec.len() != n {
            let hint = if cut {
                " (the last line has no line end: the file looks cut off)"
            } else {
                ""
            };
            return Err(BadRow {
                column: 1,
                what: "row".into(),
                seen: format!(
                    "{} field{} `{}`{hint}",
                    rec.len(),
                    if rec.len() == 1 { "" } else { "s" },
                    self.row_text(rec)
                ),
                expected: format!("{n} fields ({})", preview(self.file_names)),
                text: self.row_text(rec),
            });
        }
        let max = self.cfg.max_field_bytes;
        if let Some(i) = rec.iter().position(|f| f.len() as u64 > max) {
            return Err(BadRow {
                column: i + 1,
                what: format!("field {} (`{}`)", i + 1, self.file_names[i]),
                seen: format!(
                    "{} bytes, longer than data.max_field_bytes = {max} (it starts `{}`)",
                    rec[i].len(),
                    excerpt(&rec[i])
                ),
                expected: "a shorter field; raise data.max_field_bytes if such fields are genuine"
                    .into(),
                text: self.row_text(rec),
            });
        }
        map.iter()
            .map(
                |&i| match (self.cfg.encoding, std::str::from_utf8(&rec[i])) {
                    (Encoding::Utf8, Ok(s)) => Ok(Cow::Borrowed(s)),
                    (Encoding::Latin1, _) => {
                        Ok(Cow::Owned(rec[i].iter().map(|&c| c as char).collect()))
                    }
                    (Encoding::Utf8, Err(e)) => Err(BadRow {
                        column: i + 1,
                        what: format!("field {} (`{}`)", i + 1, self.file_names[i]),
                        seen: format!(
                            "invalid UTF-8 at byte {} of `{}`",
                            e.valid_up_to(),
                            excerpt(&rec[i])
                        ),
                        expected: "UTF-8 text (set data.encoding = \"latin-1\" for Latin-1 files)"
                            .into(),
                        text: self.row_text(rec),
                    }),
                },
            )
            .collect()
    }

    /// The row's fields joined by the delimiter (invalid bytes shown as �), shortened.
    fn row_text(&self, rec: &ByteRecord) -> String {
        let sep = self.cfg.delimiter_char().to_string();
        shorten(
            &rec.iter()
                .map(|f| decode(f, self.cfg.encoding))
                .collect::<Vec<_>>()
                .join(&sep),
        )
    }
}

fn decode(bytes: &[u8], encoding: Encoding) -> Cow<'_, str> {
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(bytes),
        Encoding::Latin1 => Cow::Owned(bytes.iter().map(|&c| c as char).collect()),
    }
}

/// `a, b, c, ..., z` for long lists of names.
fn preview(names: &[String]) -> String {
    if names.len() <= 8 {
        names.join(", ")
    } else {
        format!("{}, ..., {}", names[..6].join(", "), names[names.len() - 1])
    }
}

/// Two independent 64-bit hashes of every field: distinct rows collide with
/// probability ~2⁻¹²⁸, so de-duplication drops only true repeats.
fn row_hash(rec: &ByteRecord) -> u128 {
    let mut h1 = DefaultHasher::new();
    let mut h2 = DefaultHasher::new();
    0x9e37_79b9_7f4a_7c15u64.hash(&mut h2);
    for f in rec.iter() {
        f.hash(&mut h1);
        f.hash(&mut h2);
    }
    ((h1.finish() as u128) << 64) | h2.finish() as u128
}

/// The column names of the file at `path` (called `shown` in messages): its first
/// record when `cfg.header`, else `cfg.columns`. Reads one record only.
pub(crate) fn header_names(path: &Path, shown: &str, cfg: &DataConfig) -> Result<Vec<String>> {
    if !cfg.header {
        return Ok(cfg.columns.clone().unwrap_or_default());
    }
    let mut records = Records::new(Source::open(path, shown, cfg)?, cfg);
    let mut rec = ByteRecord::new();
    match records.next_record(&mut rec)? {
        None => Err(Error::Io {
            path: shown.to_string(),
            message: "is empty; expected a header line naming the columns (or set data.header = false and list data.columns)".into(),
        }),
        Some(Item::Unterminated { line, column, why, text }) => {
            Err(unterminated(line, column, why, text).into_error(shown, line))
        }
        Some(Item::Row { .. }) => Ok(rec
            .iter()
            .map(|f| decode(f, cfg.encoding).into_owned())
            .collect()),
    }
}

/// The builder as other readers (Parquet) fill it: one file, then rows of texts.
impl TableBuilder {
    /// Registers the file `shown` with its column names; returns its index and, per
    /// output column, its position among `file_names` (an error names a missing one).
    pub(super) fn start_file(
        &mut self,
        shown: &str,
        file_names: &[String],
        cfg: &DataConfig,
    ) -> Result<(u32, Vec<usize>)> {
        self.skipped.keep_all |= cfg.list_every_bad_row;
        self.files.push(shown.to_string());
        self.set_names(file_names);
        let map = field_map(&self.names, file_names, shown, true)?;
        Ok(((self.files.len() - 1) as u32, map))
    }

    /// Appends one row (texts in output-column order), or counts it as a duplicate.
    pub(super) fn push_texts(&mut self, texts: &[&str], source: RowSource, dedup: bool) {
        if dedup {
            let mut h1 = DefaultHasher::new();
            let mut h2 = DefaultHasher::new();
            0x9e37_79b9_7f4a_7c15u64.hash(&mut h2);
            for t in texts {
                t.hash(&mut h1);
                t.hash(&mut h2);
            }
            if !self
                .seen
                .insert(((h1.finish() as u128) << 64) | h2.finish() as u128)
            {
                self.skipped.duplicates += 1;
                return;
            }
        }
        for (col, t) in self.columns.iter_mut().zip(texts) {
            col.push(t);
        }
        self.source.push(source);
    }

    /// Records a row dropped under `data.bad_rows = "skip"`.
    pub(super) fn skip_row(&mut self, shown: &str, line: u64, reason: String, text: &str) {
        self.skipped.record(shown, line, reason, text);
    }
}

/// Chunked reading (`super::stream`): the rows gathered so far handed over as one table.
impl TableBuilder {
    /// The counter of bytes read, when reading in chunks with progress.
    pub(super) fn bytes_counter(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicU64>> {
        self.chunking.as_ref().and_then(|c| c.bytes.clone())
    }

    /// Adds `n` bytes read (Parquet: a row group's compressed size) to the counter.
    pub(super) fn count_bytes(&self, n: u64) {
        if let Some(b) = self.bytes_counter() {
            b.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Called before each row: when reading in chunks and the chunk holds its rows
    /// (kept and dropped together), hands it over and starts the next.
    pub(super) fn flush_if_full(&mut self) -> Result<()> {
        match &self.chunking {
            Some(c) if self.source.len() + self.skipped.count >= c.rows => self.flush(),
            _ => Ok(()),
        }
    }

    /// Hands the rows gathered since the last chunk to the chunk sink (a table that
    /// may be empty); the names, files and `data.dedup` hashes carry on.
    pub(super) fn flush(&mut self) -> Result<()> {
        let keep_all = self.skipped.keep_all;
        let chunk = RawTable {
            names: self.names.clone(),
            columns: self
                .columns
                .iter_mut()
                .map(|c| std::mem::take(c).finish())
                .collect(),
            source: std::mem::take(&mut self.source),
            files: self.files.clone(),
            skipped: std::mem::replace(
                &mut self.skipped,
                SkippedRows {
                    keep_all,
                    ..SkippedRows::default()
                },
            ),
        };
        match &mut self.chunking {
            Some(c) => (c.sink)(chunk),
            None => Ok(()),
        }
    }
}
