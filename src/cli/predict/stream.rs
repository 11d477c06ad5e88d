//! `mtrec predict` of a run folder on an input of any size: read in chunks, scored and
//! written chunk by chunk, so memory holds a few chunks, never the file.
//!
//! ```text
//! reader thread: --input ─▶ chunks of 16k rows (RawTable, data::loaders::stream_table)
//! this thread:   chunk ─▶ Scorer::prepare_chunk ─▶ output rows + encoded rows
//!                encoded rows of the waiting chunks, concatenated ─▶ score the whole
//!                batches of BATCH rows (all rows at the end of the input)
//!                ─▶ outputs handed to the waiting chunks in order
//!                ─▶ each finished chunk's lines appended to the temporary output
//!                end ─▶ sync, rename (atomic as before)
//! ```
//!
//! Same bytes as reading the input whole: the chunks hold the rows, line numbers and
//! marked rows the whole table would; encoding looks at one row at a time; the batches
//! start at the same rows (every multiple of BATCH read rows), so every matrix product
//! sees the rows it would see whole; the output lines are written in input order. The
//! unseen-id counts are summed over the chunks. An error (a bad row under `--bad-rows
//! error`, a score that is not finite) stops at its chunk and removes the temporary
//! file, as before nothing is written.
//!
//! Read whole instead (one chunk): runs with text features (their texts are embedded
//! as one set and cached under the run), `[[data.join]]`, and the loaders that
//! aggregate rows (`movielens`, `taobao`, `interactions`).

use super::scorer::{Chunk, Scorer, BATCH};
use super::{header, report, rows_text, to_values, PredictArgs};
use crate::cli::output::AtomicWriter;
use crate::data::features::{Encoded, EncodedBatch};
use crate::data::ingest::{chunk_rows, RawTable, RowSource};
use crate::data::loaders::stream_table;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::text::progress::styled_bar;
use indicatif::ProgressBar;
use std::collections::VecDeque;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Scores `--input` with the run folder `args.run` and writes `--output`.
pub(in crate::cli) fn predict_streamed(args: &PredictArgs) -> Result<()> {
    let mut sc = Scorer::open(args, &args.run)?;
    let rows = chunk_rows();
    let needed = sc.needed();
    let stream = if sc.has_texts() {
        None
    } else {
        stream_table(&sc.cfg.data, Path::new("."), &needed, rows)?
    };
    let Some(stream) = stream else {
        let table = sc.load_whole(args)?;
        return run_chunks(args, &mut sc, std::iter::once(Ok(table)), &|| 0, 0, rows);
    };
    let (bytes, total) = (Arc::clone(&stream.chunks.bytes), stream.chunks.total_bytes);
    let read = move || bytes.load(std::sync::atomic::Ordering::Relaxed);
    run_chunks(args, &mut sc, stream, &read, total, rows)
}

/// The encoded rows of the chunks still waiting for outputs, in order.
struct Waiting {
    chunks: VecDeque<Chunk>,
    /// Their read rows not yet scored (a tail of fewer than BATCH rows between chunks).
    enc: Option<Encoded>,
}

/// Reads, scores and writes every chunk of `tables`; `read()` is the input's bytes read
/// so far, of `total` (0: no progress bar).
fn run_chunks(
    args: &PredictArgs,
    sc: &mut Scorer,
    tables: impl Iterator<Item = Result<RawTable>>,
    read: &dyn Fn() -> u64,
    total: u64,
    chunk_rows: usize,
) -> Result<()> {
    let mut w = AtomicWriter::create(&args.output)?;
    w.write(header(args, &sc.cfg, &sc.keep).as_bytes())?;
    let bar = progress_bar(total, args.quiet);
    let mut waiting = Waiting {
        chunks: VecDeque::new(),
        enc: None,
    };
    let (mut counts, mut n_read, mut n_chunks) = ((0usize, 0usize), 0usize, 0usize);
    for table in tables {
        let (chunk, enc) = sc.prepare_chunk(args, table?)?;
        n_chunks += 1;
        n_read += chunk.table.num_rows();
        waiting.chunks.push_back(chunk);
        waiting.enc = Some(match waiting.enc.take() {
            Some(mut a) => {
                append(&mut a, &enc);
                a
            }
            None => enc,
        });
        score_ready(sc, &mut waiting, false)?;
        write_done(args, sc, &mut waiting, &mut w, &mut counts)?;
        bar.set_position(read());
    }
    score_ready(sc, &mut waiting, true)?;
    write_done(args, sc, &mut waiting, &mut w, &mut counts)?;
    if !waiting.chunks.is_empty() || counts.0 != n_read {
        return Err(Error::Io {
            path: args.input.display().to_string(),
            message: format!(
                "{n_read} rows were read but {} were scored; no output was written (please report this)",
                counts.0
            ),
        });
    }
    w.commit()?;
    bar.finish_and_clear();
    report(args, &sc.cfg, counts, &sc.unseen, n_read);
    if n_chunks > 1 {
        eprintln!("read --input in {n_chunks} chunks of at most {chunk_rows} rows");
    }
    Ok(())
}

/// Scores the whole batches of the waiting rows (`last`: every row) and hands the
/// outputs to the waiting chunks in order; the rows past the last whole batch wait.
fn score_ready(sc: &mut Scorer, waiting: &mut Waiting, last: bool) -> Result<()> {
    let Some(enc) = waiting.enc.take() else {
        return Ok(());
    };
    let n = enc.len();
    let m = if last { n } else { n / BATCH * BATCH };
    if m == 0 {
        waiting.enc = Some(enc);
        return Ok(());
    }
    let out = sc.score(&Prefix(&enc, m))?; // K × (m,)
    let mut at = 0;
    for c in waiting.chunks.iter_mut() {
        let need = c.table.num_rows() - c.out.first().map_or(0, Vec::len);
        let take = need.min(m - at);
        for (o, src) in c.out.iter_mut().zip(&out) {
            o.extend_from_slice(&src[at..at + take]);
        }
        at += take;
        if at == m {
            break;
        }
    }
    if m < n {
        let tail: Vec<usize> = (m..n).collect();
        waiting.enc = Some(enc.select(&tail));
    }
    Ok(())
}

/// Appends the lines of the finished chunks at the front to the output.
fn write_done(
    args: &PredictArgs,
    sc: &Scorer,
    waiting: &mut Waiting,
    w: &mut AtomicWriter,
    counts: &mut (usize, usize),
) -> Result<()> {
    while waiting.chunks.front().is_some_and(Chunk::done) {
        let c = waiting.chunks.pop_front().expect("front exists");
        let values = to_values(&sc.cfg.tasks, &c.out);
        let text = rows_text(args, &sc.cfg, &sc.keep, &c.table, &c.rows, &values, counts)?;
        w.write(text.as_bytes())?;
    }
    Ok(())
}

/// The first `.1` rows of an encoded set.
struct Prefix<'a>(&'a Encoded, usize);

impl Rows for Prefix<'_> {
    fn len(&self) -> usize {
        self.1
    }

    fn batch(&self, rows: &[usize], out: &mut EncodedBatch) {
        self.0.batch(rows, out)
    }

    fn task_column(&self, k: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut y, mut m) = self.0.task_column(k);
        y.truncate(self.1);
        m.truncate(self.1);
        (y, m)
    }

    fn cat_range(&self, f: usize, rows: Range<usize>, out: &mut Vec<u32>) {
        debug_assert!(rows.end <= self.1);
        self.0.cat_range(f, rows, out)
    }

    fn task_range(&self, k: usize, rows: Range<usize>, y: &mut Vec<f32>, mask: &mut Vec<f32>) {
        debug_assert!(rows.end <= self.1);
        self.0.task_range(k, rows, y, mask)
    }

    fn source(&self, r: usize) -> RowSource {
        self.0.source(r)
    }
}

/// `a` followed by the rows of `b` (same spec): `(N_a + N_b, ·)` in every buffer.
fn append(a: &mut Encoded, b: &Encoded) {
    a.cat.extend_from_slice(&b.cat); // (N, F_cat)
    a.num.extend_from_slice(&b.num); // (N, F_num)
    a.labels.extend_from_slice(&b.labels); // (N, K)
    a.mask.extend_from_slice(&b.mask); // (N, K)
    a.source.extend_from_slice(&b.source); // (N,)
    for (x, y) in a.bags.iter_mut().zip(&b.bags) {
        for r in 0..y.len() {
            x.push(y.bag(r));
        }
    }
    for (x, y) in a.text.iter_mut().zip(&b.text) {
        // b's text ids index b's table: append it and shift them past a's rows
        let shift = (x.table.len() / x.dim.max(1)) as u32;
        let mut table = (*x.table).clone();
        table.extend_from_slice(&y.table);
        x.table = Arc::new(table);
        x.ids.extend(y.ids.iter().map(|&i| i + shift));
    }
}

/// Bytes of --input read, on stderr when it is a terminal (and not --quiet).
fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    styled_bar(
        total,
        "predict [{bar:30}] {bytes}/{total_bytes} of --input  {bytes_per_sec}  ETA {eta}",
        !quiet && total > 0,
    )
}
