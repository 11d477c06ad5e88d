//! Pass 1 of the streamed build: every chunk parsed and judged (parse.rs), then in file
//! order numbered, split, counted into the vocabularies (fit.rs) and, in the one-pass
//! build, spilled with provisional ids (spill.rs) for the copy pass (copy.rs).

use super::chunks::stream_file;
use super::fit::{self, VocabFit};
use super::parse::{Dropped, FileView, Parsed, Pending};
use super::plan::Plan;
use super::spill::{self, Spill};
use super::FileIn;
use super::{dedup, fit_num, missing, parquet, parse, split_order, split_scan, split_stream, text};
use crate::config::BadRows;
use crate::data::ingest::SkippedRows;
use crate::error::{Error, Result};

/// Where one chunk's rows go.
pub(super) struct ChunkInfo {
    /// Lines of its file before it.
    pub first_line: u64,
    /// Kept rows per set before it (all chunks of all files).
    pub offsets: [usize; 4],
    /// Per multi-hot feature, its ids per set before it.
    pub bag_offsets: Vec<[usize; 4]>,
    /// `data.dedup`: the local lines of its duplicate rows (dedup.rs).
    pub dups: Vec<u32>,
    /// Its data file's index.
    pub file: u32,
    /// The one-pass build: its records in the spill (offset, length; spill.rs): the
    /// numbers, labels and masks where written apart (else length 0), and the rest.
    pub spill: [(u64, u64); 2],
}

/// Everything pass 1 gathers.
#[derive(Default)]
pub(super) struct Pass1 {
    pub chunks: Vec<ChunkInfo>,
    pub kept: u64,
    pub sets: [usize; 4],
    pub malformed: Vec<(String, Dropped, u64)>,
    pub funnel: Vec<(String, Dropped, u64)>,
    pub values: Vec<(String, Dropped, u64)>,
    /// `[[data.join]]`: (join, file, row, first line of its chunk) of each dropped row,
    /// and per join its first error.
    pub join_dropped: Vec<(usize, String, Dropped, u64)>,
    pub join_errors: Vec<Option<Error>>,
    /// `[split] kind = "column"`: the first row with an unknown set.
    pub set_error: Option<Error>,
    pub funnel_error: Option<Error>,
    pub value_errors: Vec<Option<Error>>,
    pub vocab: Vec<VocabFit>,
    /// Per multi-hot feature: its token vocabulary, and its ids per set so far.
    pub bag_vocab: Vec<VocabFit>,
    pub bag_ids: Vec<[usize; 4]>,
    pub missed: missing::FirstMissing,
    /// Per text feature: its distinct texts (text.rs).
    pub texts: Vec<text::TextFit>,
    /// `data.dedup`: the kept rows' hashes, and the duplicates dropped.
    pub seen: dedup::Seen,
    pub duplicates: usize,
    /// [`Built::hashed`].
    pub hashed: Vec<(std::path::PathBuf, u64, u64)>,
    /// The one-pass build (rows in file order): the numeric fit's sums (fit_num.rs).
    pub num_fit: Option<fit_num::NumFit>,
}

/// The start pass 0 and pass 1 give a parsed chunk (`line`: the lines of its file
/// before it): its parse error or first malformed row (`bad_rows = "error"`) is the
/// run's error; `None` when a quoted field spans lines (the in-memory reader builds);
/// else the chunk without its repeated rows (`data.dedup`: rows `seen` before, which
/// learns the chunk's), and their local lines.
pub(super) fn admit(
    parsed: std::result::Result<Parsed, Pending>,
    shown: &str,
    line: u64,
    seen: &mut dedup::Seen,
) -> Result<Option<(Parsed, Vec<u32>)>> {
    let mut p = parsed.map_err(|e| e.into_error(shown, line))?;
    if p.multiline {
        return Ok(None);
    }
    if let Some(e) = p.malformed_error.take() {
        return Err(e.into_error(shown, line));
    }
    let dups = seen.duplicates(&p);
    dedup::drop_rows(&mut p, &dups);
    Ok(Some((p, dups)))
}

/// Pass 1; `None` when a quoted field spans lines. With `spill` (the one-pass build)
/// every cell is parsed (numbers too) and each chunk's rows are spilled with
/// provisional ids (spill.rs); without it the rows are only judged.
pub(super) fn pass1(
    plan: &Plan<'_>,
    files: &[FileIn],
    file_set: &[u8],
    state: &split_scan::SplitState,
    spill: Option<&Spill>,
) -> Result<Option<Pass1>> {
    let cfg = plan.cfg;
    let full = spill.is_some();
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
        num_fit: (full && !state.ranked()).then(|| fit_num::NumFit::new(plan.num.len())),
        ..Default::default()
    };
    // the parsing threads spill each chunk's numbers (not with dedup: rows drop later)
    let bulk = |p: &mut Parsed| {
        if let Some(spill) = spill.filter(|_| !plan.dedup) {
            spill::spill_bulk(spill, p);
        }
    };
    for (fi, file) in files.iter().enumerate() {
        let view = FileView {
            names: &file.names,
            map: file.map.clone(),
            funnel_field: file.funnel_field,
        };
        let mut line = 0u64;
        let mut each = |_: usize, parsed: std::result::Result<Parsed, Pending>| {
            let Some((mut p, dups)) = admit(parsed, &file.shown, line, &mut p1.seen)? else {
                return Ok(false);
            };
            let bulk = p.spilled.take().transpose()?.unwrap_or_default();
            p1.duplicates += dups.len();
            absorb(&mut p1, &file.shown, &p, line);
            let first_line = line;
            line += p.lines;
            let start = p1.kept;
            let sets = split_stream::sets_of(&cfg.split, file_set, fi as u32, start, &p, state);
            let rank = |r: usize| state.rank(start + r as u64);
            let ranked = state.ranked().then_some(&rank as &dyn Fn(usize) -> u64);
            p1.missed.absorb(&p, &sets, &file.shown, first_line, ranked);
            let mut info = ChunkInfo {
                first_line,
                offsets: p1.sets,
                bag_offsets: p1.bag_ids.clone(),
                dups,
                file: fi as u32,
                spill: [bulk, (0, 0)],
            };
            for (fit, dict) in p1.texts.iter_mut().zip(&p.text_dict) {
                fit.merge(dict);
            }
            for &s in &sets {
                p1.sets[s as usize] += 1;
            }
            if let Some(fit) = &mut p1.num_fit {
                fit.absorb(&p.num, &sets);
            }
            if bulk.1 > 0 {
                p.num = Vec::new(); // spilled by the parsing thread (kept for the fit)
            }
            p1.kept += p.rows() as u64;
            let fc = plan.cat.len();
            // one-pass: each local code's provisional id (registered before the merge)
            let prov: Vec<Vec<u32>> = match full {
                true => (0..fc).map(|f| p1.vocab[f].slots(&p.dict[f])).collect(),
                false => Vec::new(),
            };
            // temporal: each value's first training place in time order (split_order.rs)
            let firsts =
                (state.ranked()).then(|| split_order::cat_firsts(&p, &sets, fc, state, start));
            for (f, (order, counts)) in fit::chunk_counts(&p, &sets, fc).into_iter().enumerate() {
                let (vocab, ids) = (&mut p1.vocab[f], prov.get(f).map(|v| &v[..]));
                match &firsts {
                    Some(first) => vocab.merge_ranked(&p.dict[f], &order, &counts, &first[f], ids),
                    None => vocab.merge(&p.dict[f], &order, &counts, ids),
                }
            }
            let bags = fit::bag_counts(&p, &sets, fc, &plan.bags, &plan.missing);
            let bag_firsts = (state.ranked()).then(|| {
                let plan_bags = (&plan.bags[..], &plan.missing[..]);
                split_order::bag_firsts(&p, &sets, fc, plan_bags, &bags, (state, start))
            });
            for (b, c) in bags.into_iter().enumerate() {
                let (t, o, n) = (&c.tokens, &c.order, &c.counts);
                match &bag_firsts {
                    Some(first) => p1.bag_vocab[b].merge_ranked(t, o, n, &first[b], None),
                    None => p1.bag_vocab[b].merge(t, o, n, None),
                }
                for (total, n) in p1.bag_ids[b].iter_mut().zip(c.ids) {
                    *total += n;
                }
            }
            if let Some(spill) = spill {
                let text = text::row_ids(&p, &p1.texts);
                let lists = spill::bag_lists(&p, fc, plan, &mut p1.bag_vocab);
                info.spill[1] =
                    spill.append(&spill::record(p, sets, prov, lists, text).encode())?;
            }
            p1.chunks.push(info);
            Ok(true)
        };
        let whole = match &file.parquet {
            Some(pq) => parquet::stream_groups(
                pq,
                |g, first| {
                    let mut p = parquet::parse_group(plan, pq, g, first, full)?;
                    bulk(&mut p);
                    Ok(p)
                },
                |j, parsed| each(j, Ok(parsed?)),
            )?,
            None => {
                let (whole, hash) = stream_file(
                    file,
                    cfg,
                    |j, bytes, last| {
                        let mut p = parse::parse_chunk(plan, &view, bytes, j == 0, last, full)?;
                        bulk(&mut p);
                        Ok(p)
                    },
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
pub(super) fn skipped_rows(plan: &Plan<'_>, p1: &Pass1) -> SkippedRows {
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
