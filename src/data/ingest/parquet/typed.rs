//! A row group read through the `parquet` crate's typed column readers: per needed
//! column chunk a `ColumnReaderImpl<T>`, read [`BATCH`] rows at a time into a typed
//! value buffer plus definition levels (a level below the column's maximum is a null),
//! then turned per cell into what the caller needs:
//!
//! ```text
//! column chunk ──read_records(BATCH)──▶ values (non-null only)   def levels (per row)
//!              ──per row r──▶ at[r]: index into values, or NULL
//!              ──text mode──▶ text[r]   (values.rs: the record API's text rules; null = null text)
//!              ──number mode (a numeric feature's column, cache build)──▶
//!                   num[r] = the f32 its text parses to (values.rs), NaN = use text[r]
//!                   (a null, bytes, or a value where the f32 is not sure without the text)
//!              ──code mode (a categorical feature's INT32 / INT64 column, cache build)──▶
//!                   code[r] = its value's number in the row group (codes.rs), no text
//! string chunk ──code mode (a categorical feature's BYTE_ARRAY column, cache build)──▶
//!                   code[r] through its dictionary entry (dict.rs: pages read there,
//!                   each entry looked up once; plain pages per cell), text per code
//! ```
//! A number-mode cell with a direct `f32`, and a code-mode cell, has no text until asked
//! for one (a dropped row's report line): [`Cells::text`] formats it then, once per row.
//!
//! The record API (`records.rs`, `MTREC_PARQUET_RECORDS=1`) is the reference twin:
//! `tests/s9parquet_twin.rs` compares both cell by cell, `tests/s9parquet_cache.rs`
//! the caches they build.

use super::codes::IntCodes;
use super::dict::{self, StrColumn};
use super::values::{self, IntKind};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::file::reader::RowGroupReader;
use std::cell::{Cell, OnceCell};

/// Rows decoded per column per step: memory holds `BATCH` rows of every needed column.
/// (4,096 was no faster on the 2M-row benchmark: docs/benchmarks.md, s10.)
pub(super) const BATCH: usize = 1024;

/// A null's place in `at`.
const NULL: u32 = u32::MAX;

/// A column chunk's typed reader and its value buffer (the non-null values of a batch).
enum Typed {
    Bool(ColumnReaderImpl<BoolType>, Vec<bool>),
    I32(ColumnReaderImpl<Int32Type>, Vec<i32>, IntKind),
    I64(ColumnReaderImpl<Int64Type>, Vec<i64>, IntKind),
    F32(ColumnReaderImpl<FloatType>, Vec<f32>),
    F64(ColumnReaderImpl<DoubleType>, Vec<f64>),
    Bytes(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
    /// A string column in code mode, read from its pages (dict.rs).
    Str(Box<StrColumn>),
}

/// One needed column of a row group: its reader and the current batch's cells.
pub(super) struct Column {
    typed: Typed,
    max_def: i16,
    /// Number mode: `num` holds the cells' `f32`s where sure (module docs).
    number: bool,
    def: Vec<i16>,
    /// Per row of the batch: its value's index in the value buffer, or `NULL`.  (n,)
    at: Vec<u32>,
    /// Per row: the end of its text in `text` (starts at the previous end).      (n,)
    ends: Vec<u32>,
    text: String,
    /// Number mode, per row: the value as `f32`, NaN = read the text.            (n,)
    num: Vec<f32>,
    /// Code mode: the row group's numbering of the column's values (codes.rs) and its
    /// kind; per row of the batch its code.                                      (n,)
    codes: Option<(IntCodes, IntKind)>,
    code: Vec<u32>,
}

/// Why a value has no text (bytes that are not UTF-8), if it has none.
type Bad = Option<String>;

/// Appends the text of value `i` of `typed` (the record path's `text_of`).
fn push_text(typed: &Typed, i: usize, out: &mut String) -> Bad {
    match typed {
        Typed::Bool(_, v) => out.push_str(if v[i] { "1" } else { "0" }),
        Typed::I32(_, v, k) => values::push_int(out, i64::from(v[i]), *k),
        Typed::I64(_, v, k) => values::push_int(out, v[i], *k),
        Typed::F32(_, v) => values::push_float(out, v[i]),
        Typed::F64(_, v) => values::push_double(out, v[i]),
        Typed::Bytes(_, v) => match std::str::from_utf8(v[i].data()) {
            Ok(s) => out.push_str(s),
            Err(e) => return Some(format!("bytes that are not UTF-8 ({e})")),
        },
        // code mode: its texts are stored per code (`Column::stored`)
        Typed::Str(_) => {}
    }
    None
}

impl Column {
    /// The typed reader of leaf column `leaf` of `group` (a flat column: `unsupported`
    /// in parquet.rs has ruled out the rest), in number mode if `number`, else in code
    /// mode if `code` and the column holds integers, or strings in pages dict.rs reads.
    pub(super) fn open(
        group: &dyn RowGroupReader,
        leaf: usize,
        number: bool,
        code: bool,
    ) -> parquet::errors::Result<Column> {
        let descr = group.metadata().column(leaf).column_descr_ptr();
        let ct = descr.converted_type();
        if code && !number && dict::supported(group.metadata().column(leaf)) {
            let pages = group.get_column_page_reader(leaf)?;
            let typed = Typed::Str(Box::new(StrColumn::new(pages, descr.max_def_level())));
            return Ok(Column::with(typed, descr.max_def_level(), false, None));
        }
        let reader = group.get_column_reader(leaf)?;
        let typed = match reader {
            ColumnReader::BoolColumnReader(r) => Typed::Bool(r, Vec::new()),
            ColumnReader::Int32ColumnReader(r) => Typed::I32(r, Vec::new(), IntKind::of(ct, false)),
            ColumnReader::Int64ColumnReader(r) => Typed::I64(r, Vec::new(), IntKind::of(ct, true)),
            ColumnReader::FloatColumnReader(r) => Typed::F32(r, Vec::new()),
            ColumnReader::DoubleColumnReader(r) => Typed::F64(r, Vec::new()),
            ColumnReader::ByteArrayColumnReader(r) => Typed::Bytes(r, Vec::new()),
            _ => {
                return Err(parquet::errors::ParquetError::General(format!(
                    "column `{}` has no text form here",
                    descr.name()
                )))
            }
        };
        let codes = match &typed {
            Typed::I32(_, _, k) | Typed::I64(_, _, k) if code && !number => {
                Some((IntCodes::default(), *k))
            }
            _ => None,
        };
        Ok(Column::with(typed, descr.max_def_level(), number, codes))
    }

    /// A column reading `typed` (fields as in [`Column`]).
    fn with(
        typed: Typed,
        max_def: i16,
        number: bool,
        codes: Option<(IntCodes, IntKind)>,
    ) -> Column {
        Column {
            typed,
            max_def,
            number,
            codes,
            code: Vec::with_capacity(BATCH),
            def: Vec::with_capacity(BATCH),
            at: Vec::with_capacity(BATCH),
            ends: Vec::with_capacity(BATCH),
            text: String::new(),
            num: Vec::new(),
        }
    }

    /// Read in code mode (`code` holds the rows' codes).
    #[inline]
    fn coded(&self) -> bool {
        self.codes.is_some() || matches!(self.typed, Typed::Str(_))
    }

    /// Decodes the next `n` rows; `null`: a null's text. Returns the rows whose bytes
    /// are not UTF-8, with why. A chunk with fewer rows than `n` left is an error.
    pub(super) fn read(
        &mut self,
        n: usize,
        null: &str,
    ) -> std::result::Result<Vec<(usize, String)>, String> {
        if let Typed::Str(s) = &mut self.typed {
            // code mode on strings: the pages' own decoding (dict.rs)
            self.code.clear();
            let mut bad = Vec::new();
            s.read(n, null, &mut self.code, &mut bad)?;
            return Ok(bad);
        }
        self.def.clear();
        let def = (self.max_def > 0).then_some(&mut self.def);
        let got = match &mut self.typed {
            Typed::Bool(r, v) => {
                v.clear();
                r.read_records(n, def, None, v)
            }
            Typed::I32(r, v, _) => {
                v.clear();
                r.read_records(n, def, None, v)
            }
            Typed::I64(r, v, _) => {
                v.clear();
                r.read_records(n, def, None, v)
            }
            Typed::F32(r, v) => {
                v.clear();
                r.read_records(n, def, None, v)
            }
            Typed::F64(r, v) => {
                v.clear();
                r.read_records(n, def, None, v)
            }
            Typed::Bytes(r, v) => {
                v.clear();
                r.read_records(n, def, None, v)
            }
            Typed::Str(_) => return Ok(Vec::new()), // read above
        };
        let (rows, _, _) = got.map_err(|e| e.to_string())?;
        if rows != n {
            return Err(format!(
                "the column chunk ends after {rows} of the batch's {n} rows"
            ));
        }
        let def = (self.max_def > 0).then_some((&self.def[..], self.max_def));
        if let Some((codes, _)) = &mut self.codes {
            // code mode: integers only (`open`), never a bad value
            self.code.clear();
            match &self.typed {
                Typed::I32(_, v, k) => {
                    let keys = v.iter().map(|&x| k.key(i64::from(x)));
                    codes.number(keys, def, null, &mut self.code);
                }
                Typed::I64(_, v, k) => {
                    codes.number(v.iter().map(|&x| k.key(x)), def, null, &mut self.code)
                }
                _ => {}
            }
            return Ok(Vec::new());
        }
        let out = Out {
            def,
            number: self.number,
            null,
            at: &mut self.at,
            ends: &mut self.ends,
            text: &mut self.text,
            num: &mut self.num,
        };
        let text = |i: usize, o: &mut String| push_text(&self.typed, i, o);
        // one loop per value type (`fill` monomorphised), no type switch per cell
        Ok(match &self.typed {
            Typed::Bool(_, v) => out.fill(v, text, |&b| Some(if b { 1.0 } else { 0.0 })),
            Typed::I32(_, v, k) => out.fill(v, text, |&x| Some(values::int_f32(i64::from(x), *k))),
            Typed::I64(_, v, k) => out.fill(v, text, |&x| Some(values::int_f32(x, *k))),
            Typed::F32(_, v) => out.fill(v, text, |&x| values::f32_of_float(x)),
            Typed::F64(_, v) => out.fill(v, text, |&x| values::f32_of_double(x)),
            Typed::Bytes(_, v) => out.fill(v, text, |_| None),
            Typed::Str(_) => Vec::new(), // read above
        })
    }

    /// Row `r`'s text, if it has one in `text`.
    #[inline]
    fn stored(&self, r: usize) -> Option<&str> {
        if let Typed::Str(s) = &self.typed {
            return Some(s.text(self.code[r]));
        }
        if self.codes.is_some() || (self.number && !self.num[r].is_nan()) {
            return None;
        }
        let a = if r == 0 { 0 } else { self.ends[r - 1] as usize };
        Some(&self.text[a..self.ends[r] as usize])
    }
}

/// Where [`Column::read`] puts a batch's cells (its fields, borrowed apart from the
/// value buffer).
struct Out<'a> {
    /// The definition levels and their maximum, for an optional column.
    def: Option<(&'a [i16], i16)>,
    number: bool,
    null: &'a str,
    at: &'a mut Vec<u32>,
    ends: &'a mut Vec<u32>,
    text: &'a mut String,
    num: &'a mut Vec<f32>,
}

impl Out<'_> {
    /// Fills `at`, `ends`, `text` and `num` for the batch's rows from its non-null
    /// `values`: `text(i, out)` appends value `i`'s text (or says why it has none),
    /// `direct(v)` is a value's `f32` where sure (number mode). Returns the rows with
    /// no text and why.
    fn fill<T>(
        self,
        values: &[T],
        text: impl Fn(usize, &mut String) -> Bad,
        direct: impl Fn(&T) -> Option<f32>,
    ) -> Vec<(usize, String)> {
        let n = self.def.map_or(values.len(), |(d, _)| d.len());
        self.at.clear();
        self.ends.clear();
        self.text.clear();
        self.num.clear();
        let mut bad = Vec::new();
        let mut i = 0usize;
        for r in 0..n {
            // a definition level below the maximum is a null
            if self.def.is_some_and(|(d, max)| d[r] != max) {
                self.at.push(NULL);
                self.text.push_str(self.null);
                if self.number {
                    self.num.push(f32::NAN);
                }
                self.ends.push(self.text.len() as u32);
                continue;
            }
            self.at.push(i as u32);
            if self.number {
                match direct(&values[i]) {
                    Some(x) => {
                        // no text: formatted only when asked for (Cells::text)
                        self.num.push(x);
                        self.ends.push(self.text.len() as u32);
                        i += 1;
                        continue;
                    }
                    None => self.num.push(f32::NAN),
                }
            }
            if let Some(why) = text(i, self.text) {
                bad.push((r, why));
            }
            self.ends.push(self.text.len() as u32);
            i += 1;
        }
        bad
    }
}

/// One row of a batch, in output-column order (`slot[j]`: the column output column `j`
/// reads).
pub(crate) struct Cells<'b> {
    cols: &'b [Column],
    slot: &'b [usize],
    r: usize,
    /// Per output column: a number-mode cell's text, formatted when first asked for;
    /// `used`: some was (the caller empties `lazy` after the row then).
    lazy: &'b [OnceCell<String>],
    used: &'b Cell<bool>,
}

impl<'b> Cells<'b> {
    pub(super) fn new(
        cols: &'b [Column],
        slot: &'b [usize],
        r: usize,
        lazy: &'b [OnceCell<String>],
        used: &'b Cell<bool>,
    ) -> Cells<'b> {
        Cells {
            cols,
            slot,
            r,
            lazy,
            used,
        }
    }

    /// Output column `j`'s text (a null's: the null text).
    #[inline]
    pub(crate) fn text(&self, j: usize) -> &'b str {
        let c = &self.cols[self.slot[j]];
        match c.stored(self.r) {
            Some(t) => t,
            None => self.lazy[j].get_or_init(|| {
                self.used.set(true);
                let mut s = String::new();
                match &c.codes {
                    Some((codes, kind)) => codes.push_text(c.code[self.r], *kind, &mut s),
                    None => {
                        push_text(&c.typed, c.at[self.r] as usize, &mut s);
                    }
                }
                s
            }),
        }
    }

    /// Output column `j`'s code in its row group, when the column is read in code mode
    /// (codes.rs: a new value gets the next code); else `None` (read
    /// [`text`](Self::text)).
    #[inline]
    pub(crate) fn code(&self, j: usize) -> Option<u32> {
        let c = &self.cols[self.slot[j]];
        c.coded().then(|| c.code[self.r])
    }

    /// The text of code `code` of output column `j` (a code-mode column; else empty):
    /// what [`text`](Self::text) gives for the rows holding that code.
    pub(crate) fn code_text(&self, j: usize, code: u32) -> String {
        let mut s = String::new();
        let c = &self.cols[self.slot[j]];
        if let Some((codes, kind)) = &c.codes {
            codes.push_text(code, *kind, &mut s);
        } else if let Typed::Str(t) = &c.typed {
            s.push_str(t.text(code));
        }
        s
    }

    /// Output column `j`'s value as the `f32` its text parses to, when the column is
    /// read in number mode and the value is sure without its text; else `None` (read
    /// [`text`](Self::text)).
    #[inline]
    pub(crate) fn number(&self, j: usize) -> Option<f32> {
        let c = &self.cols[self.slot[j]];
        if !c.number {
            return None;
        }
        let x = c.num[self.r];
        (!x.is_nan()).then_some(x)
    }
}
