//! Splitting the lines of a [`Source`] into records of fields, CSV quoting included,
//! so that a quote that is never closed costs one row, not the rest of the file.
//!
//! ```text
//! state          byte        →  action, next state             (quoting = csv only)
//! Start          "           →  Quoted
//! Start          delimiter   →  end field, Start
//! Start          other       →  push, Unquoted
//! Unquoted       delimiter   →  end field, Start
//! Unquoted       other ("")  →  push, Unquoted                  (a quote inside is text)
//! Quoted         "           →  QuoteInQuoted
//! Quoted         other (\n)  →  push, Quoted                    (the field spans lines)
//! QuoteInQuoted  "           →  push ", Quoted                  ("" is one quote)
//! QuoteInQuoted  delimiter   →  end field, Start
//! QuoteInQuoted  other       →  push, Unquoted                  ("ab"c is abc)
//! ```
//!
//! These are the rules of the `csv` crate's reader (RFC 4180 with `""` escapes). A
//! record ends at the end of a line that does not end inside a quote. A quoted field
//! that spans more than `data.max_quoted_lines` lines, grows past
//! `data.max_field_bytes`, or is still open at the end of the file, is an
//! **unterminated quote**: a bad row at the line where the quote opened. Reading then
//! resumes at the line after that one, so the rows swallowed by the quote are read
//! again as rows.

use super::source::{excerpt, LineEnd, Source};
use crate::config::DataConfig;
use crate::error::Result;
use csv::ByteRecord;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// One physical line read ahead.
struct Line {
    number: u64,
    bytes: Vec<u8>,
    end: LineEnd,
}

/// What [`Records::next_record`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A record starting at `line`, its fields in the caller's `ByteRecord`; `cut`:
    /// its last line has no line end (the end of the file).
    Row { line: u64, cut: bool },
    /// A quote opened at `line` (in field `column`) that does not close within the limits.
    Unterminated {
        line: u64,
        column: usize,
        /// Why the quote counts as unterminated, naming the limit.
        why: String,
        /// The opening line, shortened.
        text: String,
    },
}

/// The records of one file.
pub(crate) struct Records {
    source: Source,
    quoting: bool,
    delimiter: u8,
    trim: bool,
    max_field: u64,
    max_quoted_lines: u64,
    /// Lines read but not yet used (after an unterminated quote).
    pending: VecDeque<Line>,
    /// The lines of the record being read.
    lines: Vec<Line>,
    field: Vec<u8>,
}

impl Records {
    pub(crate) fn new(source: Source, cfg: &DataConfig) -> Records {
        Records {
            source,
            quoting: cfg.format == crate::config::Format::Csv,
            delimiter: cfg.delimiter_char() as u8,
            trim: cfg.trim,
            max_field: cfg.max_field_bytes,
            max_quoted_lines: cfg.max_quoted_lines,
            pending: VecDeque::new(),
            lines: Vec::new(),
            field: Vec::new(),
        }
    }

    fn take_line(&mut self) -> Result<Option<Line>> {
        if let Some(l) = self.pending.pop_front() {
            return Ok(Some(l));
        }
        let mut bytes = Vec::new();
        Ok(self.source.next_line(&mut bytes)?.map(|end| Line {
            number: self.source.number(),
            bytes,
            end,
        }))
    }

    /// Reads the next record that is not a blank line into `rec`. `None` at the end.
    pub(crate) fn next_record(&mut self, rec: &mut ByteRecord) -> Result<Option<Item>> {
        self.lines.clear();
        let first = loop {
            match self.take_line()? {
                None => return Ok(None),
                Some(l) if l.bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Some(l) => break l,
            }
        };
        self.lines.push(first);
        rec.clear();
        self.field.clear();
        let mut state = State::Start;
        // (index into `lines`, field) where the open quote started; its length so far.
        let mut open = (0usize, 0usize);
        let mut quoted_len = 0u64;
        let mut i = 0;
        loop {
            let line = &self.lines[i];
            let (body, cr) = match line.bytes.strip_suffix(b"\r") {
                Some(b) => (b, true),
                None => (&line.bytes[..], false),
            };
            for &c in body {
                match state {
                    State::Start if self.quoting && c == b'"' => {
                        state = State::Quoted;
                        open = (i, rec.len() + 1);
                        quoted_len = 0;
                    }
                    State::Start | State::Unquoted | State::QuoteInQuoted
                        if c == self.delimiter =>
                    {
                        rec.push_field(&self.field);
                        self.field.clear();
                        state = State::Start;
                    }
                    State::Quoted if c == b'"' => state = State::QuoteInQuoted,
                    State::Quoted => {
                        self.field.push(c);
                        quoted_len += 1;
                    }
                    State::QuoteInQuoted if c == b'"' => {
                        self.field.push(c);
                        quoted_len += 1;
                        state = State::Quoted;
                    }
                    _ => {
                        self.field.push(c);
                        state = State::Unquoted;
                    }
                }
            }
            if state != State::Quoted {
                rec.push_field(&self.field);
                if self.trim {
                    rec.trim();
                }
                let last = &self.lines[i];
                return Ok(Some(Item::Row {
                    line: self.lines[0].number,
                    cut: last.end == LineEnd::Eof,
                }));
            }
            // The line ends inside a quote: its line end belongs to the field.
            if cr {
                self.field.push(b'\r');
            }
            self.field.push(b'\n');
            quoted_len += 1 + cr as u64;
            let spanned = (i - open.0 + 1) as u64;
            let why = if quoted_len > self.max_field {
                Some(format!(
                    "the quoted field grows past data.max_field_bytes = {} bytes",
                    self.max_field
                ))
            } else if spanned >= self.max_quoted_lines {
                Some(format!(
                    "the quoted field spans more than data.max_quoted_lines = {} lines",
                    self.max_quoted_lines
                ))
            } else {
                None
            };
            let next = match why {
                Some(_) => None,
                None => self.take_line()?,
            };
            match next {
                Some(l) => {
                    self.lines.push(l);
                    i += 1;
                }
                None => {
                    let why = why.unwrap_or_else(|| "the file ends inside the quote".into());
                    return Ok(Some(self.unterminated(open, why)));
                }
            }
        }
    }

    /// Reports the quote opened in `lines[open.0]` and puts the lines after that one
    /// back, to be read again.
    fn unterminated(&mut self, open: (usize, usize), why: String) -> Item {
        let mut lines = std::mem::take(&mut self.lines).into_iter();
        let opening = lines
            .nth(open.0)
            .expect("the opening line is among the lines");
        for l in lines.rev() {
            self.pending.push_front(l);
        }
        Item::Unterminated {
            line: opening.number,
            column: open.1,
            why,
            text: excerpt(&opening.bytes),
        }
    }
}
