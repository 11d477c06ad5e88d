//! One chunk of whole lines → its kept rows, its dropped rows and its first errors,
//! judged by the rules of the in-memory path, in its order of precedence:
//!
//! ```text
//! blank line                    skipped, not counted (ingest::Records)
//! header (first record, chunk 0 of a file with header = true)        skipped
//! malformed row                 ingest::RowContext::decode_row (field count, length, UTF-8)
//! funnel (aliexpress, ali_ccp)  later = 1 while earlier = 0           (loaders::samples)
//! values                        numeric features, then labels         (features::drop_bad_values)
//! ```
//! Line numbers here are local to the chunk (1 = its first line); the caller adds the
//! lines of the chunks before it. A line that ends inside a quoted field makes the
//! chunk [`Parsed::multiline`]: the caller then builds through the in-memory reader,
//! which follows a quoted field across lines.

use super::cells::{split_fields, Codes, MissingSet};
use super::plan::Plan;
use crate::config::BadRows;
use crate::data::ingest::{excerpt, BadRow, RowContext};
use crate::error::Error;
use csv::ByteRecord;

pub(super) use crate::data::ingest::fx::{Fx, FxBuild};

/// A dropped row: local line, reason, text.
pub(super) struct Dropped {
    pub line: u64,
    pub reason: String,
    pub text: String,
}

/// An error at a cell whose line is still local.
pub(super) struct Pending {
    pub line: u64,
    pub column: usize,
    pub what: String,
    pub seen: String,
    pub expected: String,
}

impl Pending {
    pub(super) fn into_error(self, shown: &str, first_line: u64) -> Error {
        Error::Input {
            path: shown.to_string(),
            line: (first_line + self.line) as usize,
            column: self.column,
            what: self.what,
            seen: self.seen,
            expected: self.expected,
        }
    }
}

/// A missing cell of a feature with `missing = "error"` in a kept row.
pub(super) struct Missed {
    /// The row among the chunk's kept rows.
    pub row: u32,
    /// A numeric feature (else categorical), its index among those.
    pub numeric: bool,
    pub feature: usize,
    pub text: String,
}

/// What one chunk holds.
#[derive(Default)]
pub(super) struct Parsed {
    /// Physical lines in the chunk.
    pub lines: u64,
    pub multiline: bool,
    /// The first malformed row under `bad_rows = "error"`: the run's error.
    pub malformed_error: Option<Pending>,
    pub funnel_error: Option<Pending>,
    /// Per numeric feature, then per task: the first bad value (`bad_rows = "error"`).
    pub value_errors: Vec<Option<Pending>>,
    pub malformed: Vec<Dropped>,
    pub funnel: Vec<Dropped>,
    pub values: Vec<Dropped>,
    /// `[[data.join]]`: rows whose key a side table lacks (join, row), and per join the
    /// first such row under `bad_rows = "error"` (join.rs).
    pub join_dropped: Vec<(usize, Dropped)>,
    pub join_errors: Vec<Option<Pending>>,
    /// `[split] kind = "column"`: each kept row's set, and the chunk's first row with
    /// another text (split_stream.rs).
    pub set: Vec<u8>,
    pub set_error: Option<Pending>,
    /// Kept rows: their local lines.                      (n,)
    pub line: Vec<u32>,
    /// Per categorical feature, then per multi-hot feature (whole cells): the chunk's
    /// distinct texts, `None` for a missing one. (A column the Parquet reader numbers
    /// by value, `Lookups::preset`, may also list values of dropped rows, and a text
    /// twice (a null's and a value's): the vocabulary merges and pass 2 looks up texts.)
    pub dict: Vec<Vec<Option<String>>>,
    /// Codes into `dict`.                          (n, F_cat + F_bag) row-major
    pub cat: Vec<u32>,
    /// Numbers, NaN = missing (only with `full`).         (n, F_num) row-major
    pub num: Vec<f32>,
    /// Labels and masks (only with `full`).               (n, K) row-major each
    pub labels: Vec<f32>,
    pub mask: Vec<f32>,
    /// Missing cells of the features with `missing = "error"`, in row order.
    pub missed: Vec<Missed>,
    /// Per text feature: the chunk's distinct texts in order of first appearance among
    /// its decoded rows, kept or dropped by the funnel or values rules (text.rs).
    pub text_dict: Vec<Vec<String>>,
    /// Codes into `text_dict`.                            (n, F_text) row-major
    pub text: Vec<u32>,
    /// `data.dedup`: each decoded row's local line and 128-bit hash (dedup.rs).
    pub hashes: Vec<(u32, u128)>,
    /// `[split] kind = "temporal"` / `"item_holdout"`: each kept row's time or item
    /// (split_scan.rs).
    pub split: super::split_scan::SplitCells,
    /// The one-pass build: where the chunk's numbers, labels and masks went in the
    /// spill, written by the parsing thread (`spill::spill_bulk`; they are moved out).
    pub spilled: Option<crate::error::Result<(u64, u64)>>,
}

impl Parsed {
    pub(super) fn rows(&self) -> usize {
        self.line.len()
    }
}

/// Splits one line (without `\n`) into `rec` by the CSV rules of `ingest::records`;
/// `false` when the line ends inside a quote.
fn split_line(
    line: &[u8],
    delimiter: u8,
    quoting: bool,
    rec: &mut ByteRecord,
    field: &mut Vec<u8>,
) -> bool {
    rec.clear();
    let body = line.strip_suffix(b"\r").unwrap_or(line);
    if !quoting || memchr::memchr(b'"', body).is_none() {
        for f in body.split(|&c| c == delimiter) {
            rec.push_field(f);
        }
        return true;
    }
    #[derive(PartialEq)]
    enum S {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut s = S::Start;
    field.clear();
    for &c in body {
        match s {
            S::Start if c == b'"' => s = S::Quoted,
            S::Start | S::Unquoted | S::QuoteInQuoted if c == delimiter => {
                rec.push_field(field);
                field.clear();
                s = S::Start;
            }
            S::Quoted if c == b'"' => s = S::QuoteInQuoted,
            S::Quoted => field.push(c),
            S::QuoteInQuoted if c == b'"' => {
                field.push(c);
                s = S::Quoted;
            }
            _ => {
                field.push(c);
                s = S::Unquoted;
            }
        }
    }
    if s == S::Quoted {
        return false;
    }
    rec.push_field(field);
    true
}

/// One file's part of the parse: its column names and where each table column is.
pub(super) struct FileView<'a> {
    pub names: &'a [String],
    /// For each table column, its field in this file.
    pub map: Vec<usize>,
    /// The funnel's `later` field (1-based) in this file.
    pub funnel_field: usize,
}

/// What a chunk looks texts up in: its code maps (one per categorical, then per
/// multi-hot feature) and `data.missing_values`.
pub(super) struct Lookups<'p> {
    pub codes: Vec<Codes>,
    /// One per text feature.
    pub text_codes: Vec<Codes>,
    pub missing: MissingSet<'p>,
    /// The current row's side row of each join (join.rs).
    pub join_rows: Vec<u32>,
    /// `item_holdout`: the chunk's item texts (split_scan.rs).
    pub split_codes: Codes,
    /// Per categorical feature (may be shorter): the current row's code where the
    /// reader numbered the column by value (parquet.rs, Parquet integer columns; that
    /// code's entry already in `dict`), else `None`: number the text in `codes`.
    pub preset: Vec<Option<u32>>,
}

/// A chunk without rows yet, and its chunk-local code maps (one per categorical feature).
pub(super) fn empty<'p>(plan: &'p Plan) -> (Parsed, Lookups<'p>) {
    // categorical features, then multi-hot features' cells (fit.rs splits them in tokens)
    let (fc, fnum, k) = (
        plan.cat.len() + plan.bags.len(),
        plan.num.len(),
        plan.tasks.len(),
    );
    let out = Parsed {
        dict: vec![Vec::new(); fc],
        text_dict: vec![Vec::new(); plan.text.len()],
        value_errors: (0..fnum + k).map(|_| None).collect(),
        ..Default::default()
    };
    let look = Lookups {
        codes: (0..fc).map(|_| Codes::default()).collect(),
        text_codes: (0..plan.text.len()).map(|_| Codes::default()).collect(),
        missing: MissingSet::new(&plan.missing),
        join_rows: Vec::new(),
        split_codes: Codes::default(),
        preset: Vec::new(),
    };
    (out, look)
}

/// Parses `bytes` (whole lines; `last`: the file's last chunk; `first`: the file's
/// first chunk, whose first record is the header when `data.header`).
pub(super) fn parse_chunk(
    plan: &Plan,
    view: &FileView<'_>,
    bytes: &[u8],
    first: bool,
    last: bool,
    full: bool,
) -> Result<Parsed, Pending> {
    // Over 100 lines: one pass over the chunk's lines applying each rule of the module
    // docs in order; split up, each rule would need the row's texts passed around.
    let cfg = &plan.cfg.data;
    let ctx = RowContext {
        file_names: view.names,
        cfg,
    };
    let quoting = cfg.format == crate::config::Format::Csv;
    let delimiter = cfg.delimiter_char() as u8;
    let max_line = usize::try_from(cfg.max_line_bytes).unwrap_or(usize::MAX);
    let (mut out, mut look) = empty(plan);
    let mut rec = ByteRecord::new();
    let mut field = Vec::new();
    let (mut bounds, mut ends): (Vec<(usize, usize)>, Vec<u32>) = (Vec::new(), Vec::new());
    let mut header_pending = first && cfg.header;
    let mut pos = 0;
    let skip = cfg.bad_rows == BadRows::Skip;
    // the numeric cells' missing test outside `look` (judge_row borrows it)
    let missing = MissingSet::new(&plan.missing);
    let mut numbers = QuickNumbers::new(plan, view);
    while pos < bytes.len() {
        let line_at = pos;
        let (line, next, ended) = match memchr::memchr(b'\n', &bytes[pos..]) {
            Some(i) => (&bytes[pos..pos + i], pos + i + 1, true),
            None => (&bytes[pos..], bytes.len(), false),
        };
        pos = next;
        out.lines += 1;
        let number = out.lines;
        if line.len() > max_line {
            return Err(Pending {
                line: number,
                column: 1,
                what: "line".into(),
                seen: format!(
                    "longer than data.max_line_bytes = {max_line} bytes (it starts `{}`)",
                    excerpt(&line[..line.len().min(320)])
                ),
                expected: "a line of delimited text; check that this is the right file (not binary, and not one with CR-only line ends), or raise data.max_line_bytes".into(),
            });
        }
        if first && number == 1 && line.strip_suffix(b"\r").unwrap_or(line).contains(&b'\r') {
            return Err(Pending {
                line: number,
                column: 1,
                what: "line ends".into(),
                seen: format!(
                    "the file ends its lines with CR (\\r) alone (old Mac style), so it reads as one line `{}`",
                    excerpt(line)
                ),
                expected: "lines ending in LF (\\n) or CRLF (\\r\\n); convert the file, e.g. `tr '\\r' '\\n' < in.csv > out.csv`".into(),
            });
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if header_pending {
            // the header was read by `ingest::header_names`; only a quote left open
            // across its line matters here
            header_pending = false;
            if !split_line(line, delimiter, quoting, &mut rec, &mut field) {
                out.multiline = true;
                return Ok(out);
            }
            continue;
        }
        // Fast path: a line of printable ASCII without spaces or quotes (the delimiter
        // aside: TSV's tab) splits at each
        // delimiter into its fields as they are (nothing to unquote, trim or decode);
        // any other line, or one the fast path finds malformed, takes the reader's path.
        let body = line.strip_suffix(b"\r").unwrap_or(line);
        bounds.clear();
        // a fold without early exit (`&`, not `&&`), so the compiler can vectorise it
        let plain = (body.iter()).fold(true, |ok, &c| {
            ok & (((c > b' ') & (c < 0x7f) & (c != b'"')) | (c == delimiter))
        });
        if plain {
            split_fields(body, delimiter, &mut bounds, &mut ends);
        }
        let fast = plain
            && bounds.len() == view.names.len()
            && bounds
                .iter()
                .all(|&(a, b)| (b - a) as u64 <= cfg.max_field_bytes);
        // printable ASCII (checked above) is UTF-8 and Latin-1 alike: one check per line
        let line_text = if fast {
            std::str::from_utf8(body).unwrap_or_default()
        } else {
            ""
        };
        let decoded = if fast {
            Vec::new()
        } else {
            if !split_line(line, delimiter, quoting, &mut rec, &mut field) {
                out.multiline = true;
                return Ok(out);
            }
            if cfg.trim {
                rec.trim();
            }
            let cut = last && !ended;
            match ctx.decode_row(&rec, &view.map, cut) {
                Ok(d) => d,
                Err(bad) => {
                    malformed(&mut out, bad, number, skip);
                    if out.malformed_error.is_some() {
                        return Ok(out);
                    }
                    continue;
                }
            }
        };
        if plan.dedup {
            // every field of the file, as the in-memory reader hashes its record
            let h = if fast {
                super::dedup::row_hash(bounds.iter().map(|&(a, b)| &body[a..b]))
            } else {
                super::dedup::row_hash(rec.iter())
            };
            out.hashes.push((number as u32, h));
        }
        let text = |i: usize| -> &str {
            if fast {
                let (a, b) = bounds[view.map[i]];
                line_text.get(a..b).unwrap_or_default()
            } else {
                decoded[i].as_ref()
            }
        };
        if out.line.is_empty() {
            // the chunk's rows estimated from this one's length: few reallocations
            let rows = bytes.len() / (line.len() + 1) + 1;
            let (fc, fnum, k) = (look.codes.len(), plan.num.len(), plan.tasks.len());
            out.line.reserve(rows);
            out.cat.reserve(rows * fc);
            if full {
                out.num.reserve(rows * fnum);
                out.labels.reserve(rows * k);
                out.mask.reserve(rows * k);
            }
        }
        // a plain line's numbers read in one tight loop (`quick`), else one cell at a
        // time by judge_row's rule through `value`
        let quick = fast && full && numbers.read(&missing, (bytes, line_at), body, &bounds);
        // a plain line's numeric cell read eight bytes at once (`parse_cell_f32`: the
        // bits of `parse_f32`, or `None` and judge_row parses the text as before)
        let value = |c: usize| -> Option<f32> {
            if !(fast && full) {
                return None;
            }
            let (a, b) = bounds[view.map[c]];
            if missing.has_bytes(body.get(a..b)?) {
                return None;
            }
            crate::data::ingest::parse_cell_f32(bytes, line_at + a, line_at + b)
        };
        super::judge::judge_row(
            plan,
            &mut out,
            &mut look,
            number,
            view.funnel_field,
            full,
            text,
            value,
            quick.then_some(&numbers.nums[..]),
        );
    }
    Ok(out)
}

/// A plain line's numeric cells read in one tight loop: each cell's field looked up
/// once per chunk, no per-cell closure, rule or push (judge_row's per-cell loop took
/// about 115 instructions a cell on the AliExpress file), four cells at a time where
/// the processor has AVX2 (`ingest::parse_cells_f32`). A row with a cell it does not
/// take (a missing value, or a text `parse_cell_f32` declines) is read by judge_row a
/// cell at a time, as before; both give the same numbers (`tests/s7stream_equal.rs`
/// compares the cache with the in-memory path).
struct QuickNumbers {
    /// Per numeric feature: its field in the line; empty when a numeric feature is a
    /// joined column (text of a side table: judge_row reads it).
    fields: Vec<usize>,
    /// The row's numeric cells in the chunk's bytes, and their numbers.  (F_num,) each
    spans: Vec<(usize, usize)>,
    nums: Vec<f32>,
}

impl QuickNumbers {
    fn new(plan: &Plan, view: &FileView<'_>) -> QuickNumbers {
        let fields: Option<Vec<usize>> = (plan.num.iter())
            .map(|&c| {
                (c < plan.n_main)
                    .then(|| view.map.get(c).copied())
                    .flatten()
            })
            .collect();
        let fields = fields.unwrap_or_default();
        QuickNumbers {
            spans: Vec::with_capacity(fields.len()),
            nums: vec![0.0; fields.len()],
            fields,
        }
    }

    /// Reads every numeric cell of the plain line `body` (at `line_at` in `bytes`, its
    /// fields `bounds`) into `nums`; `false` at the first cell it does not take (or
    /// when it reads none: no numeric feature, or a joined one).
    fn read(
        &mut self,
        missing: &MissingSet<'_>,
        (bytes, line_at): (&[u8], usize),
        body: &[u8],
        bounds: &[(usize, usize)],
    ) -> bool {
        if self.fields.is_empty() {
            return false;
        }
        self.spans.clear();
        for &f in &self.fields {
            let Some(&(a, b)) = bounds.get(f) else {
                return false;
            };
            if missing.has_bytes(&body[a..b]) {
                return false;
            }
            self.spans.push((line_at + a, line_at + b));
        }
        crate::data::ingest::parse_cells_f32(bytes, &self.spans, &mut self.nums)
    }
}

fn malformed(out: &mut Parsed, bad: BadRow, line: u64, skip: bool) {
    if skip {
        out.malformed.push(Dropped {
            line,
            reason: bad.reason(),
            text: bad.text.clone(),
        });
        return;
    }
    let Error::Input {
        column,
        what,
        seen,
        expected,
        ..
    } = bad.into_error("", 0)
    else {
        return;
    };
    out.malformed_error = Some(Pending {
        line,
        column,
        what,
        seen,
        expected,
    });
}
