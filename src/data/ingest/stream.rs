//! `data.files` read in chunks of rows, for work that must never hold a whole file
//! (`mtrec predict` on a log larger than memory).
//!
//! ```text
//! reader thread                                   caller
//! Records (CSV quoting, gzip, limits) ─┐
//! Parquet row groups ──────────────────┤─▶ TableBuilder ─▶ chunk ─▶ channel (1) ─▶ next()
//!                                      │   every `rows` rows (kept + dropped)
//!                                      └─  bytes read ─▶ AtomicU64 ─▶ progress bar
//! ```
//!
//! Each chunk is a [`RawTable`] exactly as [`super::read_table`] would hold those rows:
//! the same reader judges every row (field counts, lengths, UTF-8, an unterminated
//! quote as one bad row, a quoted field across lines), the same line numbers, the same
//! dropped rows in `skipped` (each chunk lists its own), `data.dedup` over the whole
//! input. Chunks are cut between records, never inside one, so a quoted field with line
//! breaks stays whole. The files list of every chunk is the list so far, so a row's
//! `RowSource::file` means the same in every chunk.
//!
//! Memory: the chunk being built, one chunk waiting in the channel and the chunk the
//! caller holds; each chunk interns its own texts. The first error stops the reader;
//! [`TableChunks`] yields it after the chunks read before it.

use super::reader::TableBuilder;
use super::{ingest_any, resolve, RawTable};
use crate::config::DataConfig;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Rows per chunk when `MTREC_PREDICT_CHUNK_ROWS` is not set. Interning costs most:
/// 16k rows of the AliExpress layout (63 numeric columns, nearly every value distinct)
/// are ~8 MB of CSV and ~40 MB interned; predict's peak RSS on 200k such rows was
/// 175 MB with 16k-row chunks and 518 MB with 64k (docs/benchmarks.md).
pub const DEFAULT_CHUNK_ROWS: usize = 1 << 14;

/// Rows per chunk: `MTREC_PREDICT_CHUNK_ROWS` (tests force small chunks; `0` or text
/// is ignored), else [`DEFAULT_CHUNK_ROWS`].
pub fn chunk_rows() -> usize {
    std::env::var("MTREC_PREDICT_CHUNK_ROWS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(DEFAULT_CHUNK_ROWS)
}

/// What a [`TableBuilder`] reading in chunks needs: the chunk size, where chunks go
/// and the counter of bytes read.
pub(crate) struct Chunking {
    pub(super) rows: usize,
    pub(super) sink: Box<dyn FnMut(RawTable) -> Result<()> + Send>,
    pub(super) bytes: Option<Arc<AtomicU64>>,
}

/// Reads every file of `cfg.files` (relative paths under `data_dir`) like
/// [`super::read_table`], keeping the columns `needed`, and hands the rows to `sink`
/// every `rows` rows (kept and dropped together) and once at the end (that last
/// table may be empty). Bytes read from the files are added to `bytes`.
pub fn read_table_chunked(
    cfg: &DataConfig,
    data_dir: &std::path::Path,
    needed: &[&str],
    rows: usize,
    bytes: Option<Arc<AtomicU64>>,
    sink: Box<dyn FnMut(RawTable) -> Result<()> + Send>,
) -> Result<()> {
    let mut b = TableBuilder::new(needed);
    b.chunking = Some(Chunking {
        rows: rows.max(1),
        sink,
        bytes,
    });
    for f in &cfg.files {
        let path = resolve(data_dir, f);
        ingest_any(&mut b, &path, &path.display().to_string(), cfg)?;
    }
    b.flush()
}

/// The chunks of [`read_table_chunked`], read on a thread of their own while the caller
/// works on the previous chunk.
pub struct TableChunks {
    rx: Option<Receiver<RawTable>>,
    worker: Option<JoinHandle<Result<()>>>,
    /// Bytes read from the files so far (compressed, for gzip).
    pub bytes: Arc<AtomicU64>,
    /// The files' sizes on disk, summed (0 where unknown).
    pub total_bytes: u64,
}

impl TableChunks {
    /// Starts reading `cfg.files` (relative paths under `data_dir`), keeping the columns
    /// `needed`, in chunks of `rows` rows.
    pub fn spawn(
        cfg: &DataConfig,
        data_dir: &std::path::Path,
        needed: &[&str],
        rows: usize,
    ) -> TableChunks {
        let total_bytes = cfg
            .files
            .iter()
            .filter_map(|f| std::fs::metadata(resolve(data_dir, f)).ok())
            .map(|m| m.len())
            .sum();
        let bytes = Arc::new(AtomicU64::new(0));
        // one chunk waits while the caller works on another: two in memory at most
        let (tx, rx) = sync_channel::<RawTable>(1);
        let (cfg, dir) = (cfg.clone(), PathBuf::from(data_dir));
        let needed: Vec<String> = needed.iter().map(|s| s.to_string()).collect();
        let counter = Arc::clone(&bytes);
        let worker = std::thread::spawn(move || {
            let needed: Vec<&str> = needed.iter().map(String::as_str).collect();
            let sink = Box::new(move |t: RawTable| {
                // the caller stopped (its own error): stop reading quietly
                tx.send(t).map_err(|_| Error::Io {
                    path: "(reader)".into(),
                    message: "the reader's consumer stopped".into(),
                })
            });
            read_table_chunked(&cfg, &dir, &needed, rows, Some(counter), sink)
        });
        TableChunks {
            rx: Some(rx),
            worker: Some(worker),
            bytes,
            total_bytes,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Ends the reader thread and returns its result.
    fn join(&mut self) -> Option<Result<()>> {
        self.rx = None;
        let w = self.worker.take()?;
        Some(w.join().unwrap_or_else(|_| {
            Err(Error::Io {
                path: "(reader)".into(),
                message: "the thread reading the input stopped unexpectedly (please report this)"
                    .into(),
            })
        }))
    }
}

impl Iterator for TableChunks {
    type Item = Result<RawTable>;

    /// The next chunk; after the last, the reader's error if it stopped on one.
    fn next(&mut self) -> Option<Result<RawTable>> {
        if let Some(t) = self.rx.as_ref().and_then(|rx| rx.recv().ok()) {
            return Some(Ok(t));
        }
        match self.join()? {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl Drop for TableChunks {
    fn drop(&mut self) {
        let _ = self.join();
    }
}
