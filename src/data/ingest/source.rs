//! One data file as a stream of physical lines, with every size bounded:
//!
//! ```text
//! the path          must be a regular file (not a FIFO, device or directory)
//! gzip              recognised by its magic bytes; at most data.max_decompressed_bytes
//! one line          at most data.max_line_bytes (without its line end); reading stops
//!                   at the limit, so memory never grows with an over-long line
//! CR-only line ends (old Mac files) would make the whole file one line: recognised in
//!                   the first line and reported with a bounded excerpt
//! ```

use crate::config::DataConfig;
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A reader that adds the bytes it reads to a shared counter.
struct Counted<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let got = self.inner.read(buf)?;
        self.n.fetch_add(got as u64, Ordering::Relaxed);
        Ok(got)
    }
}

/// The two first bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Characters of a line shown in messages about it.
const EXCERPT_CHARS: usize = 80;

/// `Err` unless `path` is a regular file (after following links): reading a FIFO,
/// a device such as `/dev/zero` or a directory would block, never end, or fail late.
pub(crate) fn check_regular_file(path: &Path, shown: &str) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        path: shown.to_string(),
        message: format!("cannot open the data file ({e}); check data.files and --data-dir"),
    })?;
    if meta.is_file() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(Error::Io {
        path: shown.to_string(),
        message: format!(
            "is {kind}; data.files must name regular files (copy the data into a file first)"
        ),
    })
}

/// A bounded excerpt of `bytes` for messages: the first [`EXCERPT_CHARS`]
/// characters, control characters escaped (`\r`, `\0`), `…` where cut.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(4 * EXCERPT_CHARS)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push('…');
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if head.len() < bytes.len() {
        out.push('…');
    }
    out
}

/// The physical lines of one file.
pub(crate) struct Source {
    inner: Box<dyn BufRead>,
    shown: String,
    gz: bool,
    /// Lines returned so far; the last one's 1-based number.
    number: u64,
    /// Bytes taken from `inner` so far (decompressed, for gzip).
    consumed: u64,
    max_line: usize,
    max_decompressed: u64,
}

/// Where the last line returned by [`Source::next_line`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// At a `\n` (a `\r` before it is kept in the line).
    Newline,
    /// At the end of the file without a line end: the file may be cut off.
    Eof,
}

impl Source {
    /// Opens `path` (called `shown` in messages).
    pub(crate) fn open(path: &Path, shown: &str, cfg: &DataConfig) -> Result<Source> {
        Source::open_counted(path, shown, cfg, None)
    }

    /// Opens `path` like [`Source::open`]; with `counter`, every byte read from the file
    /// (compressed, for gzip) is added to it, for a progress bar of bytes read.
    pub(crate) fn open_counted(
        path: &Path,
        shown: &str,
        cfg: &DataConfig,
        counter: Option<Arc<AtomicU64>>,
    ) -> Result<Source> {
        cfg.check_limits()?;
        check_regular_file(path, shown)?;
        let io = |e: std::io::Error| Error::Io {
            path: shown.to_string(),
            message: format!("cannot open the data file ({e}); check data.files and --data-dir"),
        };
        let file: Box<dyn Read> = match counter {
            Some(n) => Box::new(Counted {
                inner: File::open(path).map_err(io)?,
                n,
            }),
            None => Box::new(File::open(path).map_err(io)?),
        };
        let mut buf = BufReader::with_capacity(1 << 16, file);
        let gz = buf.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
        let inner: Box<dyn BufRead> = if gz {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buf)))
        } else {
            Box::new(buf)
        };
        Ok(Source {
            inner,
            shown: shown.to_string(),
            gz,
            number: 0,
            consumed: 0,
            max_line: usize::try_from(cfg.max_line_bytes).unwrap_or(usize::MAX),
            max_decompressed: cfg.max_decompressed_bytes,
        })
    }

    /// The 1-based number of the last line read.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Reads the next line into `line` (without its `\n`). `None` at the end of the
    /// file. Holds at most `max_line_bytes` + one read buffer in memory.
    pub(crate) fn next_line(&mut self, line: &mut Vec<u8>) -> Result<Option<LineEnd>> {
        line.clear();
        let mut started = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            };
            if chunk.is_empty() {
                if !started {
                    return Ok(None);
                }
                self.number += 1;
                self.check_first_line(line)?;
                return Ok(Some(LineEnd::Eof));
            }
            started = true;
            let (take, used, end) = match chunk.iter().position(|&c| c == b'\n') {
                Some(i) => (i, i + 1, true),
                None => (chunk.len(), chunk.len(), false),
            };
            let room = self.max_line - line.len();
            line.extend_from_slice(&chunk[..take.min(room)]);
            self.inner.consume(used);
            self.consumed += used as u64;
            if take > room {
                return Err(self.too_long(line));
            }
            if self.gz && self.consumed > self.max_decompressed {
                return Err(Error::Io {
                    path: self.shown.clone(),
                    message: format!(
                        "decompresses to more than data.max_decompressed_bytes = {} bytes (at line {}); raise data.max_decompressed_bytes if the file is genuine",
                        self.max_decompressed,
                        self.number + 1
                    ),
                });
            }
            if end {
                self.number += 1;
                self.check_first_line(line)?;
                return Ok(Some(LineEnd::Newline));
            }
        }
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        Error::Io {
            path: self.shown.clone(),
            message: format!(
                "reading failed after line {} ({e}); the file may be damaged or cut off{}",
                self.number,
                if self.gz {
                    " (it is gzip-compressed: check it with `gzip -t`)"
                } else {
                    ""
                }
            ),
        }
    }

    /// A `\r` inside the first line (not just before its `\n`): the file ends its lines
    /// with CR alone, so all of it would read as one line.
    fn check_first_line(&self, line: &[u8]) -> Result<()> {
        if self.number != 1 {
            return Ok(());
        }
        let body = line.strip_suffix(b"\r").unwrap_or(line);
        if body.contains(&b'\r') {
            return Err(self.cr_only(1, line));
        }
        Ok(())
    }

    fn cr_only(&self, number: u64, line: &[u8]) -> Error {
        Error::Input {
            path: self.shown.clone(),
            line: number as usize,
            column: 1,
            what: "line ends".into(),
            seen: format!(
                "the file ends its lines with CR (\\r) alone (old Mac style), so it reads as one line `{}`",
                excerpt(line)
            ),
            expected: "lines ending in LF (\\n) or CRLF (\\r\\n); convert the file, e.g. `tr '\\r' '\\n' < in.csv > out.csv`".into(),
        }
    }

    /// The line being read (its first `max_line_bytes` in `line`) is too long.
    fn too_long(&self, line: &[u8]) -> Error {
        let number = self.number + 1;
        if number == 1 && line.contains(&b'\r') {
            return self.cr_only(1, line);
        }
        Error::Input {
            path: self.shown.clone(),
            line: number as usize,
            column: 1,
            what: "line".into(),
            seen: format!(
                "longer than data.max_line_bytes = {} bytes (it starts `{}`)",
                self.max_line,
                excerpt(line)
            ),
            expected: "a line of delimited text; check that this is the right file (not binary, and not one with CR-only line ends), or raise data.max_line_bytes".into(),
        }
    }
}
