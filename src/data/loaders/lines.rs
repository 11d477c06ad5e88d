//! The pieces every structured loader shares: opening a file (gzip recognised by its
//! first bytes), numbered lines that know whether they were cut off, splitting a line
//! into fields, and the bad-row policy applied to one line.

use crate::config::BadRows;
use crate::data::ingest::SkippedRows;
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The two first bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One non-blank line of a file.
pub(super) struct Line<'a> {
    /// 1-based, counting every line of the file (blank ones too).
    pub number: u64,
    /// The bytes without the line end (`\n` or `\r\n`).
    pub bytes: &'a [u8],
    /// The line has no line end: it is the last one and the file looks cut off.
    pub cut: bool,
}

/// The lines of one file, numbered from 1; blank lines are counted but not returned.
pub(super) struct Lines {
    inner: Box<dyn BufRead>,
    shown: String,
    number: u64,
    buf: Vec<u8>,
    gz: bool,
    /// Bytes taken from `inner` (decompressed, for gzip).
    consumed: u64,
    /// `data.max_line_bytes`, `data.max_decompressed_bytes` (the defaults unless
    /// [`Lines::limits`] sets them).
    max_line: u64,
    max_decompressed: u64,
}

impl Lines {
    /// Opens `path` (called `shown` in messages), through a gzip decoder when it starts
    /// with the gzip magic bytes.
    pub(super) fn open(path: &Path, shown: &str, hint: &str) -> Result<Lines> {
        let io = |e: std::io::Error| Error::Io {
            path: shown.to_string(),
            message: format!("cannot open the data file ({e}); {hint}"),
        };
        crate::data::ingest::check_regular_file(path, shown)?;
        let mut buf = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
        let gz = buf.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
        let inner: Box<dyn BufRead> = if gz {
            Box::new(BufReader::new(MultiGzDecoder::new(buf)))
        } else {
            Box::new(buf)
        };
        let defaults = crate::config::DataConfig::default();
        Ok(Lines {
            inner,
            shown: shown.to_string(),
            number: 0,
            buf: Vec::new(),
            gz,
            consumed: 0,
            max_line: defaults.max_line_bytes,
            max_decompressed: defaults.max_decompressed_bytes,
        })
    }

    /// Reads with the line and gzip limits of `cfg`.
    pub(super) fn limits(mut self, cfg: &crate::config::DataConfig) -> Lines {
        self.max_line = cfg.max_line_bytes;
        self.max_decompressed = cfg.max_decompressed_bytes;
        self
    }

    /// The next non-blank line, or `None` at the end of the file.
    pub(super) fn next_line(&mut self) -> Result<Option<Line<'_>>> {
        loop {
            self.buf.clear();
            // At most max_line_bytes + `\r\n`: an over-long line is never held whole.
            let n = std::io::Read::take(&mut self.inner, self.max_line + 2)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::Io {
                    path: self.shown.clone(),
                    message: format!(
                        "reading failed after line {} ({e}); the file may be damaged or cut off",
                        self.number
                    ),
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            self.consumed += n as u64;
            self.check_limits()?;
            let cut = self.buf.last() != Some(&b'\n');
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if self.buf[..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(Line {
                number: self.number,
                bytes: &self.buf[..end],
                cut,
            }));
        }
    }
}

/// The fields of `bytes` separated by `sep`, as Latin-1 text (every byte one
/// character, so decoding never fails; ASCII files read the same as in UTF-8).
pub(super) fn latin1_fields(bytes: &[u8], sep: u8, trim: bool) -> Vec<String> {
    bytes
        .split(|&b| b == sep)
        .map(|f| {
            let s: String = f.iter().map(|&c| c as char).collect();
            if trim {
                s.trim().to_string()
            } else {
                s
            }
        })
        .collect()
}

/// The line as text for messages (invalid UTF-8 shown as �).
pub(super) fn line_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Why one line cannot be used: the 1-based field, what was seen, what was expected.
pub(super) struct BadLine {
    pub column: usize,
    pub what: String,
    pub seen: String,
    pub expected: String,
}

impl BadLine {
    pub(super) fn new(
        column: usize,
        what: impl Into<String>,
        seen: impl Into<String>,
        expected: impl Into<String>,
    ) -> BadLine {
        BadLine {
            column,
            what: what.into(),
            seen: seen.into(),
            expected: expected.into(),
        }
    }

    /// A wrong number of fields; `cut` adds that the file looks cut off.
    pub(super) fn field_count(n: usize, text: &str, cut: bool, names: &[&str]) -> BadLine {
        let hint = if cut {
            " (the last line has no line end: the file looks cut off)"
        } else {
            ""
        };
        BadLine::new(
            1,
            "row",
            format!("{n} field{} `{text}`{hint}", if n == 1 { "" } else { "s" }),
            format!("{} fields ({})", names.len(), preview(names)),
        )
    }

    /// Field `i` (0-based) called `name` holds `seen`, which is not `expected`.
    pub(super) fn field(i: usize, name: &str, seen: &str, expected: impl Into<String>) -> BadLine {
        BadLine::new(
            i + 1,
            format!("field {} (`{name}`)", i + 1),
            format!("`{seen}`"),
            expected,
        )
    }
}

/// Applies the bad-row policy to one line: under [`BadRows::Error`] the error
/// `path:line:field: what: seen; expected ...`, under [`BadRows::Skip`] the line is
/// counted and listed in `skipped`.
pub(super) fn reject(
    policy: BadRows,
    skipped: &mut SkippedRows,
    shown: &str,
    line: u64,
    bad: BadLine,
    text: &str,
) -> Result<()> {
    match policy {
        BadRows::Error => Err(Error::Input {
            path: shown.to_string(),
            line: line as usize,
            column: bad.column,
            what: bad.what,
            seen: bad.seen,
            expected: format!(
                "{}; fix the file, or set data.bad_rows = \"skip\" to skip such rows and list them in the report",
                bad.expected
            ),
        }),
        BadRows::Skip => {
            let reason = format!("{}: {}; expected {}", bad.what, bad.seen, bad.expected);
            skipped.record(shown, line, reason, text);
            Ok(())
        }
    }
}

/// Parses a whole number (an id or a unix time), or says what was expected.
pub(super) fn whole(i: usize, name: &str, text: &str) -> std::result::Result<i64, BadLine> {
    text.parse::<i64>()
        .map_err(|_| BadLine::field(i, name, text, "a whole number"))
}

/// `a, b, c, ..., z` for long lists of names.
pub(super) fn preview(names: &[&str]) -> String {
    if names.len() <= 8 {
        names.join(", ")
    } else {
        format!("{}, ..., {}", names[..6].join(", "), names[names.len() - 1])
    }
}

impl Lines {
    /// The line just read (in `buf`) is within `max_line`, the gzip output within
    /// `max_decompressed`.
    fn check_limits(&self) -> Result<()> {
        let body = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.len() as u64 > self.max_line {
            return Err(Error::Input {
                path: self.shown.clone(),
                line: self.number as usize,
                column: 1,
                what: "line".into(),
                seen: format!(
                    "longer than data.max_line_bytes = {} bytes (it starts `{}`)",
                    self.max_line,
                    crate::data::ingest::excerpt(body)
                ),
                expected: "a line of delimited text; check that this is the right file (not binary, and not one with CR-only line ends), or raise data.max_line_bytes".into(),
            });
        }
        if self.gz && self.consumed > self.max_decompressed {
            return Err(Error::Io {
                path: self.shown.clone(),
                message: format!(
                    "decompresses to more than data.max_decompressed_bytes = {} bytes (at line {}); raise data.max_decompressed_bytes if the file is genuine",
                    self.max_decompressed, self.number
                ),
            });
        }
        Ok(())
    }
}
