//! The streaming cache build: two passes over the files, never holding all rows.
//!
//! ```text
//! pass 1  file ──chunks (chunks.rs)──▶ parse, judge rows (parse.rs)      rayon, per chunk
//!              ──in file order──▶ row numbers, lines, skipped rows, first errors
//!              ──set of each row, training counts (fit.rs)──▶ vocabularies
//! pass 2  file ──the same chunks──▶ parse, encode, pwrite at each row's place (encode.rs)
//! then    numeric fill / scaling from train.bin, every set rescaled in place (scale.rs)
//! ```
//! Reading the next chunks overlaps with parsing the current ones (`rayon::join`), so a
//! gzip file's decompression (sequential) runs beside the parse. The result is the
//! in-memory build's: the same rows in the same sets, the same vocabulary ids, the same
//! scaled numbers (bit for bit), the same skipped rows and the same first error
//! (`tests/s7stream_*.rs`). Text features (text.rs: pass 1 numbers the distinct texts,
//! pass 2 writes each row's id) and `data.dedup` (dedup.rs: pass 1 drops repeated rows by
//! their 128-bit hash before numbering them) ride along the same passes
//! (`tests/s9text_*.rs`). Configurations it does not cover (`plan::not_streamable`) and
//! files with a quoted field spanning lines go through the in-memory path.

mod cells;
mod chunks;
mod dedup;
mod encode;
mod fit;
mod join;
mod missing;
mod parquet;
mod parse;
mod plan;
mod scale;
mod split_order;
mod split_scan;
mod split_stream;
mod text;

use super::file::Layout;
use crate::config::{BadRows, RunConfig};
use crate::data::features::{Encoder, FeatureSpec, TextEnv};
use crate::data::ingest::{
    field_map, header_names, ParquetColumns, RawColumn, RawTable, SkippedRows,
};
use crate::error::{Error, Result};
use chunks::ChunkReader;
use encode::SetFile;
use fit::VocabFit;
use parse::{Dropped, FileView, Parsed, Pending};
use plan::Plan;
use rayon::prelude::*;
use std::path::Path;

/// What a build leaves besides the set files.
pub(super) struct Built {
    pub spec: FeatureSpec,
    pub report: String,
    pub files: Vec<String>,
    pub skipped: SkippedRows,
    /// Rows of train, valid, test, cold.
    pub rows: [usize; 4],
    /// Each data file pass 1 read whole as it is (not gzip, not Parquet): its path,
    /// size and content hash, for the cache key (`fingerprint::fingerprint_with`).
    pub hashed: Vec<(std::path::PathBuf, u64, u64)>,
}

/// Where one chunk's rows go.
struct ChunkInfo {
    /// Lines of its file before it.
    first_line: u64,
    /// Kept rows per set before it (all chunks of all files).
    offsets: [usize; 4],
    /// Per multi-hot feature, its ids per set before it.
    bag_offsets: Vec<[usize; 4]>,
    /// `data.dedup`: the local lines of its duplicate rows (dedup.rs).
    dups: Vec<u32>,
}

/// One file as both passes read it.
struct FileIn {
    shown: String,
    path: std::path::PathBuf,
    names: Vec<String>,
    map: Vec<usize>,
    funnel_field: usize,
    /// A Parquet file (`data.format = "parquet"`), projected onto the table's columns:
    /// its row groups are the chunks.
    parquet: Option<ParquetColumns>,
}

/// Everything pass 1 gathers.
#[derive(Default)]
struct Pass1 {
    chunks: Vec<ChunkInfo>,
    kept: u64,
    sets: [usize; 4],
    malformed: Vec<(String, Dropped, u64)>,
    funnel: Vec<(String, Dropped, u64)>,
    values: Vec<(String, Dropped, u64)>,
    /// `[[data.join]]`: (join, file, row, first line of its chunk) of each dropped row,
    /// and per join its first error.
    join_dropped: Vec<(usize, String, Dropped, u64)>,
    join_errors: Vec<Option<Error>>,
    /// `[split] kind = "column"`: the first row with an unknown set.
    set_error: Option<Error>,
    funnel_error: Option<Error>,
    value_errors: Vec<Option<Error>>,
    vocab: Vec<VocabFit>,
    /// Per multi-hot feature: its token vocabulary, and its ids per set so far.
    bag_vocab: Vec<VocabFit>,
    bag_ids: Vec<[usize; 4]>,
    missed: missing::FirstMissing,
    /// Per text feature: its distinct texts (text.rs).
    texts: Vec<text::TextFit>,
    /// `data.dedup`: the kept rows' hashes, and the duplicates dropped.
    seen: dedup::Seen,
    duplicates: usize,
    /// [`Built::hashed`].
    hashed: Vec<(std::path::PathBuf, u64, u64)>,
}

/// Builds the sets of `cfg` into the folder `tmp` by streaming; `Ok(None)` (after
/// saying why) when this config or file needs the in-memory reader. `text`: the
/// encoder of text features (their width goes into the spec, as in memory).
pub(super) fn build_streaming(
    cfg: &RunConfig,
    data_dir: &Path,
    tmp: &Path,
    text: Option<&TextEnv<'_>>,
) -> Result<Option<Built>> {
    if let Some(why) = plan::not_streamable(cfg) {
        eprintln!("data cache: building through the in-memory reader ({why} is not streamed)");
        return Ok(None);
    }
    let funnel = crate::data::loaders::stream_checks(cfg.data.loader, &cfg.data, data_dir)?;
    let sides = join::read(cfg, data_dir)?;
    let plan = Plan::new(cfg, funnel, sides);
    let mut files = Vec::new();
    for f in &cfg.data.files {
        let p = Path::new(f);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            data_dir.join(p)
        };
        let shown = path.display().to_string();
        let mut parquet = None;
        let (names, map) = if cfg.data.format == crate::config::Format::Parquet {
            // the in-memory Parquet reader's: names from the schema, a missing one named
            let mut pq = ParquetColumns::open(&path, &shown, &cfg.data)?;
            let names = pq.names().to_vec();
            let map = field_map(&plan.names[..plan.n_main], &names, &shown, true)?;
            pq.select(&map)?;
            parquet = Some(pq);
            (names, map)
        } else {
            let names = header_names(&path, &shown, &cfg.data)?;
            let map = field_map(&plan.names[..plan.n_main], &names, &shown, cfg.data.header)?;
            (names, map)
        };
        let funnel_field = plan.funnel.map_or(0, |(_, l)| {
            names
                .iter()
                .position(|n| *n == plan.names[l])
                .map_or(0, |i| i + 1)
        });
        files.push(FileIn {
            shown,
            path,
            names,
            map,
            funnel_field,
            parquet,
        });
    }
    let shown: Vec<String> = files.iter().map(|f| f.shown.clone()).collect();
    let file_set = crate::data::features::set_of_files(&cfg.split, &shown);
    let cpu0 = cpu_seconds();
    // temporal, item_holdout: pass 0 gathers the times / items the sets need
    let Some(state) = split_scan::scan(&plan, &files)? else {
        return Ok(None);
    };
    let t0 = std::time::Instant::now(); // pass 1 from here (pass 0 says its own time)
    let Some(p1) = pass1(&plan, &files, &file_set, &state)? else {
        return Ok(None);
    };
    let t1 = t0.elapsed().as_secs_f64();
    if !state.rows_match(p1.kept) {
        return Err(changed(&shown.join(", ")));
    }
    let skipped = skipped_rows(&plan, &p1);
    if let Some(e) = p1.funnel_error {
        return Err(e);
    }
    if let Some(e) = p1.join_errors.into_iter().flatten().next() {
        return Err(e);
    }
    if let Some(e) = p1.value_errors.into_iter().flatten().next() {
        return Err(e);
    }
    if let Some(e) = p1.set_error {
        return Err(e);
    }
    if p1.sets[0] == 0 && p1.kept > 0 {
        return Err(Error::Config {
            what: "split".into(),
            message: format!(
                "gives no training rows out of {}; raise split.train or check split.train_files",
                p1.kept
            ),
        });
    }
    if let Some(e) = p1.missed.error(&plan) {
        return Err(e);
    }
    let mut spec = structure(&plan)?;
    let mut vocab = p1.vocab.into_iter();
    for (c, f) in spec
        .categorical
        .iter_mut()
        .zip(cfg.features.iter().filter(|f| plan_has_cat(f)))
    {
        let fitted = vocab.next().unwrap_or_default();
        if let Encoder::Vocab { values } = &mut c.encoder {
            *values = fitted.finish(f.min_count);
        }
    }
    let mut bag_vocab = p1.bag_vocab.into_iter();
    for (b, f) in (spec.multi_hot.iter_mut())
        .zip((cfg.features.iter()).filter(|f| f.kind == crate::config::FeatureKind::MultiHot))
    {
        let fitted = bag_vocab.next().unwrap_or_default();
        if let Encoder::Vocab { values } = &mut b.encoder {
            *values = fitted.finish(f.min_count);
        }
    }
    let widths = (spec.categorical.len(), spec.numeric.len(), spec.tasks.len());
    let sets = ["train", "valid", "test", "cold"];
    let sizes = p1.sets;
    let pwrite = encode::pwrite_twin();
    let mut set_files: Vec<SetFile> = (sets.iter().zip(sizes))
        .map(|(s, n)| {
            let lay = Layout {
                n,
                n_cat: widths.0,
                n_num: widths.1,
                k: widths.2,
                n_bag: spec.multi_hot.len(),
                n_text: plan.text.len(),
            };
            let set = sets.iter().position(|x| x == s).unwrap_or(3);
            let bags = (p1.bag_ids.iter()).map(|b| b.get(set).copied().unwrap_or(0));
            SetFile::create(&tmp.join(format!("{s}.bin")), lay, bags.collect(), pwrite)
        })
        .collect::<Result<_>>()?;
    let t2 = std::time::Instant::now();
    let written = (&p1.chunks[..], &p1.texts[..]);
    let totals = (p1.sets, &p1.bag_ids[..]);
    pass2(
        &plan,
        &files,
        (&file_set, &state),
        (written, totals),
        &spec,
        &set_files,
    )?;
    set_files.iter_mut().for_each(SetFile::unmap);
    split_order::reorder(&state, &set_files)?;
    drop(state);
    let t2 = t2.elapsed().as_secs_f64();
    let t3 = std::time::Instant::now();
    text::finish(&plan, &mut spec, p1.texts, tmp, text)?;
    scale::scale_numeric(&mut spec, &set_files)?;
    // the report lists `cold` where it has rows (item_holdout), as in memory
    let named: Vec<(&str, &SetFile)> = (sets.iter().copied().zip(&set_files))
        .filter(|(s, f)| *s != "cold" || f.lay.n > 0)
        .collect();
    let report = scale::report(&spec, &named)?;
    for s in &set_files {
        s.file.sync_all().map_err(|e| encode::io_err(&s.path, e))?;
    }
    let mb = (files.iter())
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len() as f64 / 1e6)
        .sum::<f64>();
    let cpu = cpu_seconds() - cpu0;
    eprintln!(
        "data cache: streamed {mb:.0} MB ({} rows): pass 1 (vocabularies, split) {t1:.1} s, pass 2 (encode, {}) {t2:.1} s, numeric scaling and report {:.1} s; {cpu:.1} CPU s ({:.0} MB per CPU second)",
        p1.kept,
        if pwrite { "pwrite" } else { "mapped" },
        t3.elapsed().as_secs_f64(),
        mb / cpu.max(1e-3)
    );
    Ok(Some(Built {
        spec,
        report,
        files: shown,
        skipped,
        rows: sizes,
        hashed: p1.hashed,
    }))
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`, in the
/// kernel's fixed 100 ticks per second); 0 where there is no /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15
    let rest = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn plan_has_cat(f: &crate::config::FeatureConfig) -> bool {
    f.kind == crate::config::FeatureKind::Categorical && plan::has_id(f)
}

/// The spec's structure (names, widths, encoders, checks of the feature settings):
/// `FeatureSpec::fit` on a table with the columns and no rows.
fn structure(plan: &Plan<'_>) -> Result<FeatureSpec> {
    let cfg = plan.cfg;
    let names: Vec<String> = plan.needed.iter().map(|&c| plan.names[c].clone()).collect();
    let empty = RawTable {
        columns: vec![RawColumn::default(); names.len()],
        names,
        ..Default::default()
    };
    crate::data::features::split_rows(&empty, &cfg.split, &cfg.data.missing_values)?;
    FeatureSpec::fit(
        &empty,
        &cfg.features,
        &cfg.tasks,
        &cfg.data.missing_values,
        &[],
    )
}

/// Chunks per parallel batch.
fn batch_len() -> usize {
    2 * rayon::current_num_threads().max(1)
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
fn stream_file<T: Send>(
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

/// Pass 1; `None` when a quoted field spans lines.
fn pass1(
    plan: &Plan<'_>,
    files: &[FileIn],
    file_set: &[u8],
    state: &split_scan::SplitState,
) -> Result<Option<Pass1>> {
    let cfg = plan.cfg;
    let fnum_k = plan.num.len() + plan.tasks.len();
    let mut p1 = Pass1 {
        value_errors: (0..fnum_k).map(|_| None).collect(),
        vocab: (0..plan.cat.len()).map(|_| VocabFit::default()).collect(),
        bag_vocab: (0..plan.bags.len()).map(|_| VocabFit::default()).collect(),
        bag_ids: vec![[0; 4]; plan.bags.len()],
        missed: missing::FirstMissing::new(plan),
        texts: (plan.text.iter())
            .map(|&c| text::TextFit::new(plan, c))
            .collect(),
        ..Default::default()
    };
    for (fi, file) in files.iter().enumerate() {
        let view = FileView {
            names: &file.names,
            map: file.map.clone(),
            funnel_field: file.funnel_field,
        };
        let mut line = 0u64;
        let mut each = |_: usize, parsed: std::result::Result<Parsed, Pending>| {
            let mut p = parsed.map_err(|e| e.into_error(&file.shown, line))?;
            if p.multiline {
                return Ok(false);
            }
            if let Some(e) = p.malformed_error {
                return Err(e.into_error(&file.shown, line));
            }
            let dups = p1.seen.duplicates(&p);
            dedup::drop_rows(&mut p, &dups);
            p1.duplicates += dups.len();
            absorb(&mut p1, &file.shown, &p, line);
            let first_line = line;
            line += p.lines;
            let start = p1.kept;
            let sets = split_stream::sets_of(&cfg.split, file_set, fi as u32, start, &p, state);
            let rank = |r: usize| state.rank(start + r as u64);
            let ranked = state.ranked().then_some(&rank as &dyn Fn(usize) -> u64);
            p1.missed.absorb(&p, &sets, &file.shown, first_line, ranked);
            p1.chunks.push(ChunkInfo {
                first_line,
                offsets: p1.sets,
                bag_offsets: p1.bag_ids.clone(),
                dups,
            });
            for (fit, dict) in p1.texts.iter_mut().zip(&p.text_dict) {
                fit.merge(dict);
            }
            for &s in &sets {
                p1.sets[s as usize] += 1;
            }
            p1.kept += p.rows() as u64;
            let fc = plan.cat.len();
            // temporal: each value's first training place in time order (split_order.rs)
            let firsts =
                (state.ranked()).then(|| split_order::cat_firsts(&p, &sets, fc, state, start));
            for (f, (order, counts)) in fit::chunk_counts(&p, &sets, fc).into_iter().enumerate() {
                match &firsts {
                    Some(first) => p1.vocab[f].merge_ranked(&p.dict[f], &order, &counts, &first[f]),
                    None => p1.vocab[f].merge(&p.dict[f], &order, &counts),
                }
            }
            let bags = fit::bag_counts(&p, &sets, fc, &plan.bags, &plan.missing);
            let bag_firsts = (state.ranked()).then(|| {
                let plan_bags = (&plan.bags[..], &plan.missing[..]);
                split_order::bag_firsts(&p, &sets, fc, plan_bags, &bags, (state, start))
            });
            for (b, c) in bags.into_iter().enumerate() {
                match &bag_firsts {
                    Some(first) => {
                        p1.bag_vocab[b].merge_ranked(&c.tokens, &c.order, &c.counts, &first[b])
                    }
                    None => p1.bag_vocab[b].merge(&c.tokens, &c.order, &c.counts),
                }
                for (total, n) in p1.bag_ids[b].iter_mut().zip(c.ids) {
                    *total += n;
                }
            }
            Ok(true)
        };
        let whole = match &file.parquet {
            Some(pq) => parquet::stream_groups(
                pq,
                |g, first| parquet::parse_group(plan, pq, g, first, false),
                |j, parsed| each(j, Ok(parsed?)),
            )?,
            None => {
                let (whole, hash) = stream_file(
                    file,
                    cfg,
                    |j, bytes, last| parse::parse_chunk(plan, &view, bytes, j == 0, last, false),
                    &mut each,
                )?;
                if let Some((size, h)) = hash {
                    p1.hashed.push((file.path.clone(), size, h));
                }
                whole
            }
        };
        if !whole {
            eprintln!(
                "data cache: {} has a quoted field spanning lines; building through the in-memory reader",
                file.shown
            );
            return Ok(None);
        }
    }
    Ok(Some(p1))
}

/// Adds a chunk's dropped rows and first errors (lines made absolute with `line`).
fn absorb(p1: &mut Pass1, shown: &str, p: &Parsed, line: u64) {
    let copy = |d: &Dropped| {
        let d = Dropped {
            line: d.line,
            reason: d.reason.clone(),
            text: d.text.clone(),
        };
        (shown.to_string(), d, line)
    };
    p1.malformed.extend(p.malformed.iter().map(copy));
    p1.funnel.extend(p.funnel.iter().map(copy));
    p1.values.extend(p.values.iter().map(copy));
    let made = |e: &Pending| {
        let e = Pending {
            line: e.line,
            column: e.column,
            what: e.what.clone(),
            seen: e.seen.clone(),
            expected: e.expected.clone(),
        };
        e.into_error(shown, line)
    };
    if p1.funnel_error.is_none() {
        p1.funnel_error = p.funnel_error.as_ref().map(made);
    }
    if p1.set_error.is_none() {
        p1.set_error = p.set_error.as_ref().map(made);
    }
    for (j, d) in &p.join_dropped {
        let (shown, d, line) = copy(d);
        p1.join_dropped.push((*j, shown, d, line));
    }
    for (j, e) in p.join_errors.iter().enumerate() {
        if p1.join_errors.len() <= j {
            p1.join_errors.resize_with(j + 1, || None);
        }
        if p1.join_errors[j].is_none() {
            p1.join_errors[j] = e.as_ref().map(made);
        }
    }
    for (slot, e) in p1.value_errors.iter_mut().zip(&p.value_errors) {
        if slot.is_none() {
            *slot = e.as_ref().map(made);
        }
    }
}

/// The skipped rows as the in-memory path records them: malformed rows (reader), then
/// rows breaking the funnel (loader), then per `[[data.join]]` the rows whose key its
/// side table lacks and the side table's own skipped rows, then rows with unusable
/// values (features).
fn skipped_rows(plan: &Plan<'_>, p1: &Pass1) -> SkippedRows {
    let cfg = plan.cfg;
    let mut out = SkippedRows {
        keep_all: cfg.data.list_every_bad_row,
        duplicates: p1.duplicates,
        ..Default::default()
    };
    if cfg.data.bad_rows != BadRows::Skip {
        return out;
    }
    for (shown, d, line) in p1.malformed.iter().chain(&p1.funnel) {
        out.record(shown, line + d.line, d.reason.clone(), &d.text);
    }
    for j in 0..plan.joins.as_ref().map_or(0, |j| j.len()) {
        for (_, shown, d, line) in p1.join_dropped.iter().filter(|x| x.0 == j) {
            out.record(shown, line + d.line, d.reason.clone(), &d.text);
        }
        if let Some(joins) = &plan.joins {
            out.absorb(joins.side_skipped(j));
        }
    }
    for (shown, d, line) in &p1.values {
        out.record(shown, line + d.line, d.reason.clone(), &d.text);
    }
    out
}

/// What pass 2 places rows by: pass 1's chunks and text tables, and its totals (rows per
/// set; per multi-hot feature, ids per set).
type PassTwoIn<'a> = (
    (&'a [ChunkInfo], &'a [text::TextFit]),
    ([usize; encode::SETS], &'a [[usize; encode::SETS]]),
);

/// Pass 2: every kept row encoded into its set file.
fn pass2(
    plan: &Plan<'_>,
    files: &[FileIn],
    (file_set, state): (&[u8], &split_scan::SplitState),
    ((chunks, texts), (total, bag_total)): PassTwoIn<'_>,
    spec: &FeatureSpec,
    sets: &[SetFile],
) -> Result<()> {
    let cfg = plan.cfg;
    let lookups: Vec<_> = spec
        .categorical
        .iter()
        .map(|c| c.encoder.lookup())
        .collect();
    let id_of = |f: usize, t: &str| lookups[f].id(t);
    let bag_lookups: Vec<_> = (spec.multi_hot.iter())
        .map(|b| b.encoder.lookup())
        .collect();
    let bag_of = |b: usize, t: &str| bag_lookups[b].id(t);
    let bags = encode::BagsIn {
        plan: &plan.bags,
        missing: &plan.missing,
        id_of: &bag_of,
    };
    let mut base = 0;
    let mut row = 0u64;
    for (fi, file) in files.iter().enumerate() {
        let view = FileView {
            names: &file.names,
            map: file.map.clone(),
            funnel_field: file.funnel_field,
        };
        let mut seen = 0;
        let write = |j: usize, p: &Parsed| -> Result<usize> {
            let info = chunks.get(base + j).ok_or_else(|| changed(&file.shown))?;
            let start = info.offsets.iter().sum::<usize>() as u64;
            let set_of = split_stream::sets_of(&cfg.split, file_set, fi as u32, start, p, state);
            let span = match chunks.get(base + j + 1) {
                Some(next) => encode::ChunkSpan {
                    end: next.offsets,
                    bag_end: &next.bag_offsets,
                },
                None => encode::ChunkSpan {
                    end: total,
                    bag_end: bag_total,
                },
            };
            let fi32 = fi as u32;
            let gone = || changed(&file.shown);
            encode::write_chunk(p, &set_of, (info, &span), &id_of, &bags, sets, fi32, gone)?;
            text::write_chunk(p, &set_of, info.offsets, texts, sets)?;
            Ok(p.rows())
        };
        let mut each = |_: usize, rows: Result<usize>| {
            row += rows? as u64;
            seen += 1;
            Ok(true)
        };
        match &file.parquet {
            Some(pq) => parquet::stream_groups(
                pq,
                |g, first| {
                    let mut p = parquet::parse_group(plan, pq, g, first, true)?;
                    if let Some(info) = chunks.get(base + g) {
                        dedup::drop_rows(&mut p, &info.dups);
                    }
                    write(g, &p)
                },
                &mut each,
            )?,
            None => {
                stream_file(
                    file,
                    cfg,
                    |j, bytes, last| {
                        let mut p = parse::parse_chunk(plan, &view, bytes, j == 0, last, true)
                            .map_err(|e| e.into_error(&file.shown, 0))?;
                        if let Some(info) = chunks.get(base + j) {
                            dedup::drop_rows(&mut p, &info.dups);
                        }
                        write(j, &p)
                    },
                    &mut each,
                )?
                .0
            }
        };
        base += seen;
    }
    if row != sets.iter().map(|s| s.lay.n as u64).sum::<u64>() {
        return Err(changed(
            &files.first().map(|f| f.shown.clone()).unwrap_or_default(),
        ));
    }
    Ok(())
}

fn changed(shown: &str) -> Error {
    Error::Io {
        path: shown.to_string(),
        message: "changed while the data cache was being built (the second pass read other rows); run again once the file is complete".into(),
    }
}
