//! Pass 2 of the two-pass build (`MTREC_STREAM_ONEPASS=0`, the one-pass build's
//! reference twin): the files parsed again, every kept row encoded with the final ids
//! and written at its place (encode.rs).

use super::chunks::stream_file;
use super::encode::{self, SetFile};
use super::parse::{FileView, Parsed};
use super::pass1::ChunkInfo;
use super::plan::Plan;
use super::{dedup, parquet, parse, split_scan, split_stream, text, FileIn};
use crate::data::features::FeatureSpec;
use crate::error::{Error, Result};

/// What pass 2 places rows by: pass 1's chunks and text tables, and its totals (rows per
/// set; per multi-hot feature, ids per set).
pub(super) type PassTwoIn<'a> = (
    (&'a [ChunkInfo], &'a [text::TextFit]),
    ([usize; encode::SETS], &'a [[usize; encode::SETS]]),
);

/// Pass 2: every kept row encoded into its set file.
pub(super) fn pass2(
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

pub(super) fn changed(shown: &str) -> Error {
    Error::Io {
        path: shown.to_string(),
        message: "changed while the data cache was being built (the second pass read other rows); run again once the file is complete".into(),
    }
}
