//! The streaming cache build: the files read in chunks, never holding all rows. Below,
//! the one-pass build (the default; `MTREC_STREAM_ONEPASS=0` selects the two-pass build).
//!
//! ```text
//! pass 1  file ──chunks (chunks.rs)──▶ parse every cell, judge rows (parse.rs, judge.rs)
//!              rayon, per chunk; the parsing thread spills the numbers (spill.rs)
//!              ──in file order (pass1.rs)──▶ row numbers, lines, skipped rows, errors
//!              ──set of each row, training counts (fit.rs)──▶ vocabularies
//!              ──each local code's provisional id (its vocabulary slot + 1)──▶ spill
//!         numeric fill and scaling fitted on the spill's training rows (fit_num.rs)
//! pass 2  spill ──provisional → final ids (copy.rs), numbers scaled──▶ pwrite at each
//!              row's place (encode.rs), rayon over chunks; the spill cut behind, then
//!              deleted
//! then    the report's counts (scale.rs); a temporal split's sets reordered in time
//!         order and scaled in place from train.bin as in the two-pass build
//! ```
//! The two-pass build (`MTREC_STREAM_ONEPASS=0`) is the reference twin: pass 1 only
//! judges the numbers and spills nothing; pass 2 (pass2.rs) parses the same chunks
//! again and encodes them with the final ids; then the numeric features are fitted on
//! train.bin and every set scaled in place (scale.rs). Both leave the same bytes
//! (`tests/s11one_*.rs`). Reading the next chunks overlaps with parsing the current
//! ones (`rayon::join`), so a gzip file's decompression (sequential) runs beside the
//! parse. The result is the in-memory build's: the same rows in the same sets, the
//! same vocabulary ids, the same scaled numbers (bit for bit), the same skipped rows
//! and the same first error (`tests/s7stream_*.rs`). Text features (text.rs: pass 1
//! numbers the distinct texts and spills each row's id) and `data.dedup` (dedup.rs:
//! pass 1 drops repeated rows by their 128-bit hash before numbering them) ride along
//! (`tests/s9text_*.rs`). Configurations it does not cover (`plan::not_streamable`)
//! and files with a quoted field spanning lines go through the in-memory path.

mod cells;
mod chunks;
mod copy;
mod dedup;
mod encode;
mod fit;
mod fit_num;
mod join;
mod judge;
mod missing;
mod parquet;
mod parse;
mod pass1;
mod pass2;
mod plan;
mod scale;
mod spill;
mod split_order;
mod split_scan;
mod split_stream;
mod text;

use super::file::Layout;
use crate::config::RunConfig;
use crate::data::features::{Encoder, FeatureSpec, TextEnv};
use crate::data::ingest::{
    field_map, header_names, ParquetColumns, RawColumn, RawTable, SkippedRows,
};
use crate::error::{Error, Result};
use encode::SetFile;
use fit::VocabFit;
use parse::FileView;
use plan::Plan;
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
                                        // one pass: the spill (removed when dropped: on success, error or fallback)
    let spill = match one_pass() {
        true => Some(spill::Spill::create(tmp)?),
        false => None,
    };
    let Some(mut p1) = pass1::pass1(&plan, &files, &file_set, &state, spill.as_ref())? else {
        return Ok(None);
    };
    let t1 = t0.elapsed().as_secs_f64();
    if !state.rows_match(p1.kept) {
        return Err(pass2::changed(&shown.join(", ")));
    }
    let skipped = pass1::skipped_rows(&plan, &p1);
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
    // one pass: per vocabulary, provisional id → final id (copy.rs)
    let one = spill.is_some();
    let min_counts = |kind: fn(&crate::config::FeatureConfig) -> bool| {
        (cfg.features.iter())
            .filter(move |f| kind(f))
            .map(|f| f.min_count)
    };
    let is_bag = |f: &crate::config::FeatureConfig| f.kind == crate::config::FeatureKind::MultiHot;
    let cats = (spec.categorical.iter_mut()).map(|c| &mut c.encoder);
    let vocab = std::mem::take(&mut p1.vocab);
    let cat = fit_encoders(cats.zip(min_counts(plan_has_cat)), vocab, one);
    let bags = (spec.multi_hot.iter_mut()).map(|b| &mut b.encoder);
    let bag_vocab = std::mem::take(&mut p1.bag_vocab);
    let bag = fit_encoders(bags.zip(min_counts(is_bag)), bag_vocab, one);
    // one pass, rows in file order (not a temporal split): the numeric features are
    // fitted on the spill and the copy writes them scaled (fit_num.rs)
    let t_fit = std::time::Instant::now();
    let scale_in_copy = match &spill {
        Some(spill) if !state.ranked() => {
            let sums = p1.num_fit.take().ok_or_else(|| copy::damaged(spill))?;
            fit_num::fit(&mut spec.numeric, sums, spill, &p1.chunks)?;
            true
        }
        _ => false,
    };
    let t_fit = t_fit.elapsed().as_secs_f64();
    let remaps = copy::Remaps {
        cat,
        bag,
        scale: scale_in_copy.then_some(&spec.numeric[..]),
    };
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
    let totals = (p1.sets, &p1.bag_ids[..]);
    match &spill {
        Some(spill) => copy::copy(spill, &p1.chunks, totals, &remaps, &set_files)?,
        None => {
            let written = (&p1.chunks[..], &p1.texts[..]);
            let state = (&file_set[..], &state);
            pass2::pass2(&plan, &files, state, (written, totals), &spec, &set_files)?;
        }
    }
    let spilled = spill.as_ref().map_or(0, spill::Spill::bytes);
    drop(spill);
    set_files.iter_mut().for_each(SetFile::unmap);
    split_order::reorder(&state, &set_files)?;
    drop(state);
    let t2 = t2.elapsed().as_secs_f64();
    let t3 = std::time::Instant::now();
    drop(remaps);
    text::finish(&plan, &mut spec, p1.texts, tmp, text)?;
    if !scale_in_copy {
        scale::scale_numeric(&mut spec, &set_files)?;
    }
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
    let (what1, from2) = match one_pass() {
        true => (
            "one parse: vocabularies, split, spill",
            format!(" from a {:.0} MB spill", spilled as f64 / 1e6),
        ),
        false => (
            "vocabularies, split",
            " (the file parsed again)".to_string(),
        ),
    };
    let (fit, last) = match scale_in_copy {
        true => (format!(", numeric fit {t_fit:.1} s"), "report"),
        false => (String::new(), "numeric scaling and report"),
    };
    eprintln!(
        "data cache: streamed {mb:.0} MB ({} rows): pass 1 ({what1}) {t1:.1} s{fit}, pass 2 (encode, {}) {t2:.1} s{from2}, {last} {:.1} s; {cpu:.1} CPU s ({:.0} MB per CPU second)",
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

/// Whether the build parses each data file once and copies its spill (the default), or
/// parses it twice (`MTREC_STREAM_ONEPASS=0`: the reference twin, pass2.rs). On the idle
/// 2-core machine of 2026-12-05 21:10 UTC the one parse took 3.7-3.9 s + a 0.6 s copy
/// against the two passes' 3.0-3.1 s + 3.5 s, 8.7-8.9 CPU s against 13.0-13.2
/// (docs/benchmarks.md, "one parse by default"); an earlier machine had the two passes
/// ahead (5.1-5.2 s against 5.2-5.9 s), so both stay, tested byte-equal.
fn one_pass() -> bool {
    std::env::var("MTREC_STREAM_ONEPASS").map_or(true, |v| v != "0")
}

/// Sets each `Encoder::Vocab` of `encoders` (with its feature's `min_count`) to its
/// fitted values (`fits`, in the same order, consumed); with `remap`, returns per
/// vocabulary its provisional id → final id (copy.rs), else nothing.
fn fit_encoders<'e>(
    encoders: impl Iterator<Item = (&'e mut Encoder, usize)>,
    fits: Vec<VocabFit>,
    remap: bool,
) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for ((enc, min_count), fit) in encoders.zip(fits) {
        match enc {
            Encoder::Vocab { values } => {
                let (kept, ids) = fit.into_vocab(min_count);
                *values = kept;
                out.extend(remap.then_some(ids));
            }
            Encoder::Hash { .. } if remap => {
                let lookup = enc.lookup();
                out.push(fit.remap(|t| lookup.id(t)));
            }
            Encoder::Hash { .. } => {}
        }
    }
    out
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
