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
//! Ensembles: every member reads the input in its own stream (its own columns, joins
//! and texts) and scores it with its own batches; the chunks advance together, and a
//! chunk is written once every member has scored it, the outputs fused row by row.
//! Where the input is inherently whole (`source.rs`), the one chunk is the whole table.

use super::scorer::{Chunk, Scorer, BATCH};
use super::source::{self, Source};
use super::{header, report, rows_text, to_values, PredictArgs};
use crate::cli::output::AtomicWriter;
use crate::data::features::{Encoded, EncodedBatch};
use crate::data::ingest::{chunk_rows, RowSource};
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::text::progress::styled_bar;
use indicatif::ProgressBar;
use std::collections::VecDeque;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Fuses the members' raw outputs of one chunk, `outs[m][k][i]`, into the values
/// written, `[k][i]` (an ensemble's method).
pub(in crate::cli) type Fuse<'a> = &'a dyn Fn(&[Vec<Vec<f32>>]) -> Vec<Vec<f32>>;

/// Scores `--input` with the run folder `args.run` and writes `--output`.
pub(in crate::cli) fn predict_streamed(args: &PredictArgs) -> Result<()> {
    predict_members(args, std::slice::from_ref(&args.run), None)
}

/// The encoded rows of the chunks still waiting for outputs, in order.
struct Waiting {
    chunks: VecDeque<Chunk>,
    /// Their read rows not yet scored (a tail of fewer than BATCH rows between chunks).
    enc: Option<Encoded>,
}

/// One run folder scoring the input: its model, its tables, its chunks in flight.
struct Member {
    dir: PathBuf,
    sc: Scorer,
    src: Source,
    waiting: Waiting,
}

/// Scores `--input` with the run folders `dirs` and writes `--output`: one run
/// (`fuse` = `None`: its values as written), or the members of an ensemble fused by
/// `fuse`; keys, rows and counts are the first member's.
pub(in crate::cli) fn predict_members(
    args: &PredictArgs,
    dirs: &[PathBuf],
    fuse: Option<Fuse<'_>>,
) -> Result<()> {
    let rows = chunk_rows();
    let mut members = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let mut sc = Scorer::open(args, dir)?;
        let src = source::open(&mut sc, args, rows)?;
        members.push(Member {
            dir: dir.clone(),
            sc,
            src,
            waiting: Waiting {
                chunks: VecDeque::new(),
                enc: None,
            },
        });
    }
    run_chunks(args, &mut members, fuse, rows)
}

/// Reads, scores and writes every chunk of every member's tables.
fn run_chunks(
    args: &PredictArgs,
    members: &mut [Member],
    fuse: Option<Fuse<'_>>,
    chunk_rows: usize,
) -> Result<()> {
    let mut w = AtomicWriter::create(&args.output)?;
    w.write(header(args, &members[0].sc.cfg, &members[0].sc.keep).as_bytes())?;
    let bar = progress_bar(members[0].src.total, args.quiet);
    let (mut counts, mut n_read, mut n_chunks) = ((0usize, 0usize), 0usize, 0usize);
    loop {
        let mut any = false;
        for (m, member) in members.iter_mut().enumerate() {
            let Some(table) = member.src.tables.next() else {
                continue;
            };
            any = true;
            let (chunk, enc) = member.sc.prepare_chunk(args, table?)?;
            if m == 0 {
                n_chunks += 1;
                n_read += chunk.table.num_rows();
            }
            let waiting = &mut member.waiting;
            waiting.chunks.push_back(chunk);
            waiting.enc = Some(match waiting.enc.take() {
                Some(mut a) => {
                    append(&mut a, &enc);
                    a
                }
                None => enc,
            });
            score_ready(&mut member.sc, waiting, false)?;
        }
        if !any {
            break;
        }
        write_done(args, members, fuse, &mut w, &mut counts)?;
        bar.set_position((members[0].src.read)());
    }
    for member in members.iter_mut() {
        score_ready(&mut member.sc, &mut member.waiting, true)?;
    }
    write_done(args, members, fuse, &mut w, &mut counts)?;
    if let Some(m) = members.iter().position(|m| !m.waiting.chunks.is_empty()) {
        if members.len() > 1 {
            return Err(different_rows(
                &members[0].dir,
                &members[m.max(1)].dir,
                args,
            ));
        }
    }
    if !members[0].waiting.chunks.is_empty() || counts.0 != n_read {
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
    let sc = &members[0].sc;
    report(args, &sc.cfg, counts, &sc.unseen, n_read);
    if n_chunks > 1 {
        eprintln!("read --input in {n_chunks} chunks of at most {chunk_rows} rows");
    }
    Ok(())
}

/// The error of two members that read different rows of the input.
fn different_rows(first: &Path, other: &Path, args: &PredictArgs) -> Error {
    Error::Io {
        path: args.input.display().to_string(),
        message: format!(
            "the members {} and {} read different rows of the input (their features need different columns); fix the unreadable rows or use --bad-rows error",
            first.display(),
            other.display()
        ),
    }
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

/// Appends to the output the lines of the chunks at the front that every member has
/// scored (the members' outputs fused).
fn write_done(
    args: &PredictArgs,
    members: &mut [Member],
    fuse: Option<Fuse<'_>>,
    w: &mut AtomicWriter,
    counts: &mut (usize, usize),
) -> Result<()> {
    while members
        .iter()
        .all(|m| m.waiting.chunks.front().is_some_and(Chunk::done))
    {
        let chunks: Vec<Chunk> = members
            .iter_mut()
            .map(|m| m.waiting.chunks.pop_front().expect("front exists"))
            .collect();
        let lines = |c: &Chunk| c.rows.iter().map(|r| r.0).collect::<Vec<u64>>();
        for (m, c) in chunks.iter().enumerate().skip(1) {
            if lines(c) != lines(&chunks[0]) {
                return Err(different_rows(&members[0].dir, &members[m].dir, args));
            }
        }
        let sc = &members[0].sc;
        let values = match fuse {
            None => to_values(&sc.cfg.tasks, &chunks[0].out),
            Some(f) => f(&chunks.iter().map(|c| c.out.clone()).collect::<Vec<_>>()),
        };
        let c = &chunks[0];
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
        if Arc::ptr_eq(&x.table, &y.table) {
            // one table for the whole input (texts gathered before the chunks)
            x.ids.extend_from_slice(&y.ids);
            continue;
        }
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
