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
//! ```

use super::super::file::Layout;
use super::parse::Parsed;
use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One set file being written.
pub(super) struct SetFile {
    pub file: File,
    pub lay: Layout,
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
    pub(super) fn create(path: &Path, lay: Layout) -> Result<SetFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        file.set_len(lay.total(&[]) as u64) // no bags: multi-hot builds in memory
            .map_err(|e| io_err(path, e))?;
        let set = SetFile {
            file,
            lay,
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

    pub(super) fn get(&self, offset: usize, bytes: &mut [u8]) -> Result<()> {
        self.file
            .read_exact_at(bytes, offset as u64)
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

/// Writes the kept rows of `p` (their sets `sets`; `offsets[s]`: the set-s rows
/// before this chunk) into `files`. `file` and `first_line` place each row.
pub(super) fn write_chunk(
    p: &Parsed,
    sets: &[u8],
    offsets: [usize; 3],
    id_of: &IdOf<'_>,
    files: &[SetFile],
    file: u32,
    first_line: u64,
) -> Result<()> {
    let (fc, fnum, k) = (p.dict.len(), files[0].lay.n_num, files[0].lay.k);
    let ids: Vec<Vec<u32>> = (0..fc)
        .map(|f| {
            // the global id of each of the chunk's distinct texts (0 = missing)
            (p.dict[f].iter())
                .map(|t| t.as_deref().map_or(0, |t| id_of(f, t)))
                .collect()
        })
        .collect();
    for (s, set) in files.iter().enumerate().take(3) {
        let rows: Vec<usize> = (0..p.rows()).filter(|&r| sets[r] as usize == s).collect();
        if rows.is_empty() {
            continue;
        }
        let (lay, o) = (set.lay, offsets[s]);
        for (f, ids) in ids.iter().enumerate() {
            let col: Vec<u32> = rows
                .iter()
                .map(|&r| ids[p.cat[r * fc + f] as usize])
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
    }
    Ok(())
}
