//! One data file as a sequence of byte chunks that end at line ends, read with a
//! bounded buffer (plain or gzip, recognised by the magic bytes like `ingest::Source`).
//!
//! ```text
//! file ──read ~CHUNK bytes──▶ cut after the last `\n` ──▶ chunk (whole lines)
//!                              the rest starts the next chunk
//! ```
//! The cut points depend only on the file's bytes and the chunk size, never on the
//! thread count, so both passes see the same chunks and every chunk's rows land in
//! the same place of the cache. A line without `\n` longer than `max_line_bytes` is
//! handed over as it is (the parser reports it); the last chunk may end without `\n`.
//! A plain file's bytes are hashed as they are read ([`ContentHash`], the cache key's
//! content hash), so the key needs no read of its own.

use super::FileIn;
use crate::config::{DataConfig, RunConfig};
use crate::data::fingerprint::ContentHash;
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use std::io::Read;
use std::path::Path;

/// A chunk of whole lines and whether it is its file's last.
pub(super) type Chunk = (Vec<u8>, bool);

/// Bytes per chunk: `MTREC_STREAM_CHUNK` (tests use small chunks), else 8 MiB.
pub(super) fn chunk_bytes() -> usize {
    std::env::var("MTREC_STREAM_CHUNK")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(8 << 20)
}

/// The chunks of one file.
pub(super) struct ChunkReader {
    inner: Box<dyn Read + Send>,
    shown: String,
    gz: bool,
    /// Bytes read past the last cut.
    carry: Vec<u8>,
    size: usize,
    max_line: usize,
    max_decompressed: u64,
    consumed: u64,
    eof: bool,
    /// The content hash of the bytes read so far (a plain file; not a gzip one).
    hash: Option<ContentHash>,
}

impl ChunkReader {
    pub(super) fn open(path: &Path, shown: &str, cfg: &DataConfig) -> Result<ChunkReader> {
        cfg.check_limits()?;
        crate::data::ingest::check_regular_file(path, shown)?;
        let io = |e: std::io::Error| Error::Io {
            path: shown.to_string(),
            message: format!("cannot open the data file ({e}); check data.files and --data-dir"),
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut magic = [0u8; 2];
        let got = file.read(&mut magic).map_err(io)?;
        let gz = got == 2 && magic == [0x1f, 0x8b];
        let file = std::fs::File::open(path).map_err(io)?;
        let inner: Box<dyn Read + Send> = if gz {
            Box::new(MultiGzDecoder::new(std::io::BufReader::with_capacity(
                1 << 16,
                file,
            )))
        } else {
            Box::new(file)
        };
        Ok(ChunkReader {
            inner,
            shown: shown.to_string(),
            gz,
            carry: Vec::new(),
            size: chunk_bytes(),
            max_line: usize::try_from(cfg.max_line_bytes).unwrap_or(usize::MAX),
            max_decompressed: cfg.max_decompressed_bytes,
            consumed: 0,
            eof: false,
            hash: (!gz).then(ContentHash::default),
        })
    }

    /// Fills `buf` up to `want` bytes (fewer only at the end of the file).
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<()> {
        while buf.len() < want && !self.eof {
            let start = buf.len();
            let room = want - start;
            buf.reserve_exact(room);
            // `read_to_end` reads into the spare capacity as it is (a `resize` first
            // zeroed every chunk: 4% of the 2M-row build's instructions), retries on
            // `Interrupted`, and stops at `room` bytes or at the end of the file
            let n = match (&mut self.inner).take(room as u64).read_to_end(buf) {
                Ok(n) => n,
                Err(e) => {
                    return Err(Error::Io {
                        path: self.shown.clone(),
                        message: format!(
                            "reading failed ({e}); the file may be damaged or cut off{}",
                            if self.gz {
                                " (it is gzip-compressed: check it with `gzip -t`)"
                            } else {
                                ""
                            }
                        ),
                    })
                }
            };
            if let Some(h) = &mut self.hash {
                h.update(&buf[start..]);
            }
            self.eof = n < room;
            self.consumed += n as u64;
            if self.gz && self.consumed > self.max_decompressed {
                return Err(Error::Io {
                    path: self.shown.clone(),
                    message: format!(
                        "decompresses to more than data.max_decompressed_bytes = {} bytes; raise data.max_decompressed_bytes if the file is genuine",
                        self.max_decompressed
                    ),
                });
            }
        }
        Ok(())
    }

    /// The next chunk and whether it is the file's last; `None` after the last.
    pub(super) fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut want = self.size.max(buf.len() + 1);
        loop {
            self.fill(&mut buf, want)?;
            if buf.is_empty() {
                return Ok(None);
            }
            if self.eof {
                return Ok(Some((buf, true)));
            }
            if let Some(i) = memchr::memrchr(b'\n', &buf) {
                self.carry = buf.split_off(i + 1);
                return Ok(Some((buf, false)));
            }
            if buf.len() > self.max_line.saturating_add(1) {
                // one line over the limit: the parser names it
                return Ok(Some((buf, false)));
            }
            want = buf.len() + self.size;
        }
    }

    /// The file's size and content hash (`fingerprint::ContentHash`) once every byte
    /// has been read; `None` before, and for a gzip file (its key hashes the file apart).
    pub(super) fn content_hash(&self) -> Option<(u64, u64)> {
        self.hash
            .as_ref()
            .filter(|_| self.eof)
            .map(ContentHash::finish)
    }

    /// Up to `n` chunks (fewer at the end of the file).
    pub(super) fn next_batch(&mut self, n: usize) -> Result<Vec<Chunk>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next_chunk()? {
                Some(c) => out.push(c),
                None => break,
            }
        }
        Ok(out)
    }
}

/// Chunks per parallel batch.
pub(super) fn batch_len() -> usize {
    4 * rayon::current_num_threads().max(1)
}

/// Runs `work` on every chunk of `file`, a batch at a time, reading the next batch
/// while the current one is worked on; `each` receives the results in file order with
/// the chunk's index in the file. Stops (returning `false`) when `each` does; else
/// returns `true` and, for a plain file, its size and content hash (read on the way).
///
/// ```text
/// step k:   read batch k + 1  ║  work on batch k (parallel)  ║  each(results of batch k − 1)
/// ```
/// `each` (pass 1's sequential part: numbering, split, vocabulary merge) runs beside
/// the parse of the next batch instead of after it. The results reach `each` in the
/// same order, and a read error is returned only after `each` has seen every chunk
/// before it, so the outcome (the same first error) is that of running the steps one
/// after another: batch k + 1 is parsed before `each` has seen batch k, and thrown
/// away if `each` stops there.
pub(super) fn stream_file<T: Send>(
    file: &FileIn,
    cfg: &RunConfig,
    work: impl Fn(usize, &[u8], bool) -> T + Sync,
    mut each: impl FnMut(usize, T) -> Result<bool> + Send,
) -> Result<(bool, Option<(u64, u64)>)> {
    let mut reader = ChunkReader::open(&file.path, &file.shown, &cfg.data)?;
    let n = batch_len();
    let mut batch = reader.next_batch(n)?;
    let mut index = 0; // the first chunk of `batch`
    let mut pending: Vec<T> = Vec::new(); // results of the batch before, for `each`
    let mut read_error = None;
    while !batch.is_empty() || !pending.is_empty() {
        let first = index - pending.len();
        let reading = read_error.is_none() && !batch.is_empty();
        let ((next, done), went) = rayon::join(
            || {
                rayon::join(
                    || match reading {
                        true => reader.next_batch(n),
                        false => Ok(Vec::new()),
                    },
                    || {
                        (batch.par_iter().enumerate())
                            .map(|(j, (bytes, last))| work(index + j, bytes, *last))
                            .collect::<Vec<T>>()
                    },
                )
            },
            || -> Result<bool> {
                for (j, t) in std::mem::take(&mut pending).into_iter().enumerate() {
                    if !each(first + j, t)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            },
        );
        if !went? {
            return Ok((false, None));
        }
        index += done.len();
        pending = done;
        batch = next.unwrap_or_else(|e| {
            read_error = Some(e);
            Vec::new()
        });
    }
    match read_error {
        Some(e) => Err(e),
        None => Ok((true, reader.content_hash())),
    }
}
