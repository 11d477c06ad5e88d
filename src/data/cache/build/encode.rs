//! Pass 2: one parsed chunk → its rows' segments of every column of every set file,
//! written at their final offsets (`pwrite`), so chunks may finish in any order and
//! the bytes are the same for any thread count.
//!
//! ```text
//! set file s (N_s rows, file.rs layout)       chunk c holds rows o_c .. o_c + n_c of s
//! cat column f:   offset cat(f) + 4·o_c       ← n_c u32 ids      (global ids of its texts)
//! num column f:   offset num(f) + 4·o_c       ← n_c f32, unscaled, NaN = missing (scale.rs
//!                                               fills and scales them after pass 2)
//! labels / mask, src_file (u32), src_line (u64) likewise
//! bag b offsets:  offset bag(b) + 8·(o_c + 1) ← n_c u64 list ends (the set's ids before
//!                                               the chunk, `ChunkInfo::bag_offsets`, + the
//!                                               chunk's own); offsets[0] = 0 from set_len
//! bag b ids:      offset bag(b) + 8·(N_s + 1) + 4·(ids before the chunk) ← the ids
//! ```

use super::super::file::Layout;
use super::fit;
use super::parse::Parsed;
use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One set file being written.
pub(super) struct SetFile {
    pub file: File,
    pub lay: Layout,
    /// Ids of each multi-hot feature (counted in pass 1).
    pub bags: Vec<usize>,
    pub path: PathBuf,
}

pub(super) fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl SetFile {
    /// Creates `path` at its full length with its header; the sections follow.
    pub(super) fn create(path: &Path, lay: Layout, bags: Vec<usize>) -> Result<SetFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        file.set_len(lay.total(&bags) as u64)
            .map_err(|e| io_err(path, e))?;
        let set = SetFile {
            file,
            lay,
            bags,
            path: path.to_path_buf(),
        };
        set.put(0, &lay.header())?;
        Ok(set)
    }

    pub(super) fn put(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all_at(bytes, offset as u64)
            .map_err(|e| io_err(&self.path, e))
    }
}

/// Little-endian bytes of 4-byte words.
fn words<T: Copy>(v: &[T], to: impl Fn(T) -> [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * v.len());
    for &x in v {
        out.extend_from_slice(&to(x));
    }
    out
}

/// The id of a non-missing text of categorical feature `f` (the fitted encoders'
/// lookups, built once for the whole pass).
pub(super) type IdOf<'a> = dyn Fn(usize, &str) -> u32 + Sync + 'a;

/// The multi-hot features as pass 2 encodes them: each one's table column and
/// separator, the missing values, and the id of a token of feature b.
pub(super) struct BagsIn<'a> {
    pub plan: &'a [(usize, String)],
    pub missing: &'a [String],
    pub id_of: &'a IdOf<'a>,
}

/// Writes the kept rows of `p` (their sets `sets`; `at`: the rows and bag ids of each
/// set before this chunk, and the chunk's first line) into `files` (`file`: the data
/// file's index).
pub(super) fn write_chunk(
    p: &Parsed,
    sets: &[u8],
    at: &super::ChunkInfo,
    id_of: &IdOf<'_>,
    bags: &BagsIn<'_>,
    files: &[SetFile],
    file: u32,
) -> Result<()> {
    let (offsets, first_line) = (at.offsets, at.first_line);
    let (fc, fnum, k) = (files[0].lay.n_cat, files[0].lay.n_num, files[0].lay.k);
    let stride = p.dict.len(); // F_cat + F_bag
    let ids: Vec<Vec<u32>> = (0..fc)
        .map(|f| {
            // the global id of each of the chunk's distinct texts (0 = missing)
            (p.dict[f].iter())
                .map(|t| t.as_deref().map_or(0, |t| id_of(f, t)))
                .collect()
        })
        .collect();
    // per multi-hot feature, per distinct cell of the chunk: its list of ids
    let lists: Vec<Vec<Vec<u32>>> = (bags.plan.iter().enumerate())
        .map(|(b, (_, sep))| {
            (p.dict[fc + b].iter())
                .map(
                    |t| match fit::cell_tokens(t.as_deref(), sep, bags.missing) {
                        None => vec![0], // a missing cell
                        Some(toks) => (toks.iter())
                            .map(|x| x.map_or(0, |x| (bags.id_of)(b, x)))
                            .collect(),
                    },
                )
                .collect()
        })
        .collect();
    for (s, set) in files.iter().enumerate() {
        let rows: Vec<usize> = (0..p.rows()).filter(|&r| sets[r] as usize == s).collect();
        if rows.is_empty() {
            continue;
        }
        let (lay, o) = (set.lay, offsets[s]);
        for (f, ids) in ids.iter().enumerate() {
            let col: Vec<u32> = rows
                .iter()
                .map(|&r| ids[p.cat[r * stride + f] as usize])
                .collect();
            set.put(lay.cat(f) + 4 * o, &words(&col, u32::to_le_bytes))?;
        }
        for f in 0..fnum {
            let col: Vec<f32> = rows.iter().map(|&r| p.num[r * fnum + f]).collect();
            set.put(lay.num(f) + 4 * o, &words(&col, f32::to_le_bytes))?;
        }
        for t in 0..k {
            let y: Vec<f32> = rows.iter().map(|&r| p.labels[r * k + t]).collect();
            set.put(lay.labels(t) + 4 * o, &words(&y, f32::to_le_bytes))?;
            let m: Vec<f32> = rows.iter().map(|&r| p.mask[r * k + t]).collect();
            set.put(lay.mask(t) + 4 * o, &words(&m, f32::to_le_bytes))?;
        }
        set.put(
            lay.src_file() + 4 * o,
            &words(&vec![file; rows.len()], u32::to_le_bytes),
        )?;
        let mut lines = Vec::with_capacity(8 * rows.len());
        for &r in &rows {
            lines.extend_from_slice(&(first_line + p.line[r] as u64).to_le_bytes());
        }
        set.put(lay.src_line() + 8 * o, &lines)?;
        for (b, lists) in lists.iter().enumerate() {
            let before = at.bag_offsets[b][s];
            let (mut ends, mut ids) = (Vec::with_capacity(8 * rows.len()), Vec::new());
            for &r in &rows {
                ids.extend_from_slice(&lists[p.cat[r * stride + fc + b] as usize]);
                ends.extend_from_slice(&((before + ids.len()) as u64).to_le_bytes());
            }
            let start = lay.bag(&set.bags, b);
            set.put(start + 8 * (o + 1), &ends)?; // offsets[o + 1 ..= o + n_c]
            let id_at = start + 8 * (lay.n + 1) + 4 * before;
            set.put(id_at, &words(&ids, u32::to_le_bytes))?;
        }
    }
    Ok(())
}
