//! Text features (`[features.text]`) in the streamed build.
//!
//! ```text
//! in memory:  the text column's dictionary: its distinct texts in order of first
//!             appearance among the rows the reader kept (rows later dropped by the
//!             funnel or a bad value included), each row's code into it
//! pass 1:     per chunk, its distinct texts in that order (`Parsed::text_dict`)
//!             ──merged chunk by chunk in file order──▶ TextFit: the same dictionary
//! pass 2:     each kept row's code ──TextFit::id──▶ its id, written to its set's
//!             text column at the row's offset (as encode.rs writes the other columns)
//! then:       texts-<t>.json (the texts, trimmed, in id order) and the encoder's width
//!             D_t (the texts embedded through the shared embedding cache, as
//!             `features::attach_texts` does in memory)
//! ```
//! Memory: the distinct texts of each text feature (and their index), not the rows.
//! A missing text cell is a text like any other (the in-memory path embeds it as is).
//!
//! A text column that a `[[data.join]]` gives (`item_title` of an item table) is, in
//! memory, the joined column (`loaders::join::join_one`): the side column's dictionary
//! as the side table's reader numbered it, every entry whether or not a row joins it,
//! then one entry per distinct missing-marker key (the key's text, in order of first
//! appearance among the rows present at that join: after the funnel and the earlier
//! joins' drops, before the later joins' and the value rules'):
//!
//! ```text
//! TextFit    texts = side dictionary (base = its length), then the markers
//! judge_row  after the funnel, join j resolved:  side row r → the side code of r
//!            key a missing marker → base + the marker's chunk-local code
//!            (text_dict holds the chunk's markers; merged chunk by chunk in file order)
//! ```

use super::cells::Codes;
use super::encode::{io_err, SetFile};
use super::parse::{FxBuild, Parsed};
use super::plan::Plan;
use crate::data::features::{attach_texts, Encoded, FeatureSpec, TextEnv};
use crate::data::ingest::{RawColumn, RawTable};
use crate::error::Result;
use std::collections::HashMap;
use std::path::Path;

/// Numbers the row's text cells (`text(i)`: table column i) among the chunk's texts,
/// adding a new one to `out.text_dict`; the row's code per text feature.
pub(super) fn codes<'t>(
    plan: &Plan<'_>,
    out: &mut Parsed,
    codes: &mut [Codes],
    text: &impl Fn(usize) -> &'t str,
) -> Vec<u32> {
    if plan.text.is_empty() {
        return Vec::new();
    }
    (plan.text.iter().enumerate())
        .map(|(t, &c)| {
            if c >= plan.n_main {
                return 0; // joined: numbered once its join is resolved (joined_codes)
            }
            let s = text(c);
            let (code, new) = codes[t].code(s);
            if new {
                out.text_dict[t].push(s.to_string());
            }
            code
        })
        .collect()
}

/// Sets the codes (`codes`, from [`codes`]) of the joined text features whose join
/// was resolved for this row (`rows`: the side row of each join resolved so far, in
/// order): a side row's code, or for a missing-marker key `base` + the marker's
/// chunk-local code, adding a new marker to `out.text_dict`.
pub(super) fn joined_codes<'t>(
    plan: &'t Plan<'_>,
    out: &mut Parsed,
    look: &mut [Codes],
    rows: &[u32],
    text: &impl Fn(usize) -> &'t str,
    codes: &mut [u32],
) {
    let Some(joins) = &plan.joins else { return };
    for (t, &c) in plan.text.iter().enumerate() {
        let Some((j, dict)) = joins.side_dict(c) else {
            continue;
        };
        codes[t] = match rows.get(j) {
            None => continue, // the row is dropped at an earlier join
            Some(&super::join::MISSING_KEY) => {
                let marker = joins.cell(rows, c, text);
                let (code, new) = look[t].code(marker);
                if new {
                    out.text_dict[t].push(marker.to_string());
                }
                dict.len() as u32 + code
            }
            Some(&r) => joins.side_code(c, r),
        };
    }
}

/// One text feature's dictionary being merged.
#[derive(Default)]
pub(super) struct TextFit {
    texts: Vec<String>,
    index: HashMap<String, u32, FxBuild>,
    /// A joined column: the side column's dictionary, which `texts` starts with (codes
    /// below it are ids already); 0 for a data-file column.
    base: u32,
}

impl TextFit {
    /// The dictionary of text feature column `c` before any row: empty, or for a
    /// joined column its side column's dictionary.
    pub(super) fn new(plan: &Plan<'_>, c: usize) -> TextFit {
        let side = (plan.joins.as_ref()).and_then(|j| j.side_dict(c));
        let texts = side.map_or_else(Vec::new, |(_, d)| d.to_vec());
        TextFit {
            base: texts.len() as u32,
            texts,
            index: HashMap::default(),
        }
    }

    /// Adds a chunk's distinct texts (chunks in file order); for a joined column its
    /// markers, each a new id even if a side text reads the same (as in memory).
    pub(super) fn merge(&mut self, dict: &[String]) {
        for t in dict {
            if !self.index.contains_key(t) {
                self.index.insert(t.clone(), self.texts.len() as u32);
                self.texts.push(t.clone());
            }
        }
    }

    /// The id of a text pass 1 saw (0 for one it did not: a file that changed between
    /// the passes, which pass 2's row count reports).
    fn id(&self, t: &str) -> u32 {
        self.index.get(t).copied().unwrap_or(0)
    }
}

/// Writes the text column of the kept rows of `p` (their sets `sets`; `offsets`: the
/// rows of each set before this chunk) into `files`: per set, the rows' ids at
/// `text(t) + 4·offset`.
pub(super) fn write_chunk(
    p: &Parsed,
    sets: &[u8],
    offsets: [usize; 4],
    fits: &[TextFit],
    files: &[SetFile],
) -> Result<()> {
    write_ids(&row_ids(p, fits), sets, offsets, files)
}

/// The id of each kept row's text per text feature (`fits` merged `p` already).
///                                                                  (n, F_text)
pub(super) fn row_ids(p: &Parsed, fits: &[TextFit]) -> Vec<u32> {
    let ft = fits.len();
    if ft == 0 {
        return Vec::new();
    }
    // the global id of each of the chunk's distinct texts
    let ids: Vec<Vec<u32>> = (fits.iter().zip(&p.text_dict))
        .map(|(fit, dict)| dict.iter().map(|t| fit.id(t)).collect())
        .collect();
    let mut out = Vec::with_capacity(p.rows() * ft);
    for r in 0..p.rows() {
        for (t, ids) in ids.iter().enumerate() {
            // below `base`: a joined side text's id; else a chunk-local code
            let code = p.text[r * ft + t];
            out.push(
                code.checked_sub(fits[t].base)
                    .map_or(code, |k| ids[k as usize]),
            );
        }
    }
    out
}

/// Writes the rows' text ids `ids` (n, F_text) per set at `text(t) + 4·offset`.
pub(super) fn write_ids(
    ids: &[u32],
    sets: &[u8],
    offsets: [usize; 4],
    files: &[SetFile],
) -> Result<()> {
    let n = sets.len();
    if n == 0 || ids.is_empty() {
        return Ok(());
    }
    let ft = ids.len() / n;
    for (s, set) in files.iter().enumerate() {
        for t in 0..ft {
            let mut col = Vec::new();
            for r in (0..n).filter(|&r| sets[r] as usize == s) {
                col.extend_from_slice(&ids[r * ft + t].to_le_bytes());
            }
            if !col.is_empty() {
                set.put(set.lay.text(t) + 4 * offsets[s], &col)?;
            }
        }
    }
    Ok(())
}

/// Writes `texts-<t>.json` into `tmp` (the texts trimmed, in id order, as the
/// in-memory build writes them) and embeds them with `env` as `attach_texts` does,
/// which sets each text feature's `d_text` in `spec` (the in-memory build's spec and
/// report carry it). Without an encoder: the in-memory path's error.
pub(super) fn finish(
    plan: &Plan<'_>,
    spec: &mut FeatureSpec,
    fits: Vec<TextFit>,
    tmp: &Path,
    env: Option<&TextEnv<'_>>,
) -> Result<()> {
    if fits.is_empty() {
        return Ok(());
    }
    let mut table = RawTable::default();
    for (i, (fit, &c)) in fits.into_iter().zip(&plan.text).enumerate() {
        let trimmed: Vec<&str> = fit.texts.iter().map(|x| x.trim()).collect();
        let path = tmp.join(format!("texts-{i}.json"));
        let json = serde_json::to_string(&trimmed).unwrap_or_default();
        std::fs::write(&path, json).map_err(|e| io_err(&path, e))?;
        if !table.names.contains(&plan.names[c]) {
            table.names.push(plan.names[c].clone());
            table.columns.push(RawColumn {
                values: Vec::new(),
                dict: fit.texts,
            });
        }
    }
    let env = env.ok_or_else(|| crate::error::Error::Config {
        what: format!("text feature `{}`", spec.text[0].name),
        message: "needs a text encoder; prepare the data with prepare_with and a TextEnv (mtrec train does)".into(),
    })?;
    attach_texts(spec, &table, &mut Encoded::default(), env)
}
