//! Pass 2: one parsed chunk → its rows' segments of every column of every set file,
//! written at their final offsets, so chunks may finish in any order and the bytes are
//! the same for any thread count.
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
//! Each segment is collected in a buffer and `pwrite`n (the default), or, with
//! `MTREC_STREAM_WRITE=mapped`, written straight into a shared writable memory map of
//! the preallocated file (no buffer, no kernel copy, no inode lock shared by the writer
//! threads; each segment's pages handed back once written, so the resident pages stay
//! a few chunks' worth). Both give the same bytes (`tests/s10ingest_writer.rs`). Before anything is written a chunk's rows per set
//! (and ids per bag) are checked against pass 1's counts ([`ChunkSpan`]), so the
//! segments of different chunks never overlap, even if the file changed in between.

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
    /// The whole file mapped for writing (`None`: the `pwrite` twin, or after
    /// [`SetFile::unmap`]).
    map: Option<Mapped>,
}

/// A shared writable map of a set file, written by several threads at once, each in
/// segments no other thread writes (see [`SetFile::put_with`]).
struct Mapped {
    map: memmap2::MmapMut,
    ptr: *mut u8,
}

// SAFETY: `ptr` points into `map`, which lives as long as the struct; threads only
// write disjoint byte ranges through it (`put_with`'s contract).
unsafe impl Sync for Mapped {}
unsafe impl Send for Mapped {}

pub(super) fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

thread_local! {
    /// Each writer thread's segment buffer for `pwrite` ([`SetFile::put_with`]).
    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether pass 2 writes through `pwrite` (the default) rather than through memory maps
/// (`MTREC_STREAM_WRITE=mapped`): on the loaded 2-core machine the maps cost about 0.9
/// CPU s more on the 2M-row build (page faults, and each segment's pages handed back),
/// so they stay opt-in until measured on an idle machine (docs/benchmarks.md).
pub(super) fn pwrite_twin() -> bool {
    !std::env::var("MTREC_STREAM_WRITE").is_ok_and(|v| v == "mapped")
}

impl SetFile {
    /// Creates `path` at its full length with its header; the sections follow. Mapped
    /// for writing unless `pwrite` (or the file is empty of rows).
    pub(super) fn create(
        path: &Path,
        lay: Layout,
        bags: Vec<usize>,
        pwrite: bool,
    ) -> Result<SetFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        let total = lay.total(&bags);
        file.set_len(total as u64).map_err(|e| io_err(path, e))?;
        let map = if pwrite || lay.n == 0 {
            None
        } else {
            // SAFETY: the file is this build's own, in its temp folder, and was just
            // created at its full length; nothing else truncates or writes it while mapped.
            let mut map =
                unsafe { memmap2::MmapMut::map_mut(&file) }.map_err(|e| io_err(path, e))?;
            let ptr = map.as_mut_ptr();
            Some(Mapped { map, ptr })
        };
        let set = SetFile {
            file,
            lay,
            bags,
            path: path.to_path_buf(),
            map,
        };
        set.put(0, &lay.header())?;
        Ok(set)
    }

    /// Starts writing the file's dirty pages to disk without waiting for them
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` over the whole file, Linux): called as
    /// the copy pass goes, so the build's closing `sync_all` waits only for the pages
    /// written since (on the 2M-row build that `sync_all` alone took 0.37 s). A hint: an
    /// error here is not the build's (the `sync_all` reports what matters).
    pub(super) fn start_writeback(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a plain syscall on this struct's open file descriptor; it reads and
            // writes no memory of the process.
            unsafe {
                libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
    }

    /// Drops the write map (pass 2 is done): its dirty pages stay in the page cache and
    /// reach the file with `sync_all`.
    pub(super) fn unmap(&mut self) {
        self.map = None;
    }

    /// Writes `bytes` at `offset` (the `pwrite` twin writes them as they are, without
    /// the segment buffer of [`SetFile::put_with`]).
    pub(super) fn put(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        if self.map.is_some() || bytes.is_empty() {
            return self.put_with(offset, bytes.len(), |out| out.copy_from_slice(bytes));
        }
        self.check_range(offset, bytes.len())?;
        (self.file)
            .write_all_at(bytes, offset as u64)
            .map_err(|e| io_err(&self.path, e))
    }

    /// `Ok` when `len` bytes at `offset` lie inside the file, else the error that a
    /// write there would be.
    fn check_range(&self, offset: usize, len: usize) -> Result<()> {
        let total = self.lay.total(&self.bags);
        if offset.checked_add(len).is_none_or(|end| end > total) {
            return Err(io_err(
                &self.path,
                format!("a write of {len} bytes at {offset} would pass the end of the set file ({total} bytes); delete the cache folder and run again"),
            ));
        }
        Ok(())
    }

    /// Lets `fill` write the `len` bytes at `offset` (every one of them: its slice holds
    /// an earlier segment's bytes in the `pwrite` twin, the file's in the map), then
    /// writes them out. A range
    /// past the file's end is an error, never a write. Callers write byte ranges that
    /// no other thread writes at the same time: a chunk's segments are its own rows
    /// (checked by [`ChunkSpan::check`]).
    pub(super) fn put_with(
        &self,
        offset: usize,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        self.check_range(offset, len)?;
        match &self.map {
            Some(m) => {
                // SAFETY: `offset + len ≤ total = map.len()` (checked above), and no other
                // thread writes these bytes meanwhile (the caller's contract), so this is
                // the only reference to them.
                let out = unsafe { std::slice::from_raw_parts_mut(m.ptr.add(offset), len) };
                fill(out);
                release(&m.map, offset, len);
                Ok(())
            }
            None => BUF.with(|buf| {
                // the thread's buffer, reused: no allocation and no zeroing per segment
                // (every caller's `fill` writes each byte)
                let mut buf = buf.borrow_mut();
                buf.resize(len, 0);
                fill(&mut buf[..len]);
                self.file
                    .write_all_at(&buf[..len], offset as u64)
                    .map_err(|e| io_err(&self.path, e))
            }),
        }
    }

    /// Writes `n` 4-byte words `word(i)` at `offset`.                         (n,)
    fn put_words(&self, offset: usize, n: usize, word: impl Fn(usize) -> [u8; 4]) -> Result<()> {
        self.put_with(offset, 4 * n, |out| {
            for (i, w) in out.chunks_exact_mut(4).enumerate() {
                w.copy_from_slice(&word(i));
            }
        })
    }

    /// Writes `n` 8-byte words `word(i)` at `offset`.                         (n,)
    fn put_u64s(&self, offset: usize, n: usize, word: impl Fn(usize) -> u64) -> Result<()> {
        self.put_with(offset, 8 * n, |out| {
            for (i, w) in out.chunks_exact_mut(8).enumerate() {
                w.copy_from_slice(&word(i).to_le_bytes());
            }
        })
    }
}

/// Hands the written pages of `map[off..off + len]` back to the kernel
/// (`madvise(DONTNEED)`, the range widened to whole pages): the map is shared, so the
/// written bytes stay in the page cache, dirty, and reach the file; a later access (a
/// neighbouring chunk's segment on a shared page) faults the same page back in. Without
/// it every written page stayed resident until the map was dropped: the whole cache.
fn release(map: &memmap2::MmapMut, off: usize, len: usize) {
    const PAGE: usize = 4096;
    let a = off / PAGE * PAGE;
    let b = (off + len).next_multiple_of(PAGE).min(map.len());
    if b <= a {
        return;
    }
    // SAFETY: a shared file mapping: dropping its pages loses no write (the page cache
    // keeps them; a page another thread is writing is faulted back in, its bytes kept).
    unsafe {
        let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, a, b - a);
    }
}

thread_local! {
    /// Each writer thread's column-major buffer for [`gather`].
    static COLS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Rows per block of [`gather`]: a block of a chunk's rows (16 × 63 numbers, 4 KB on
/// the AliExpress file) stays in the L1 cache while every column takes its part (16
/// gave a shorter copy pass than 64 on the 2M-row build).
const BLOCK: usize = 16;

/// The first `width` columns of the row-major `(·, stride)` table `src` at `rows`,
/// column-major into `out`:                                       (width, n), n = rows.len()
///
/// ```text
/// out[n·c + i] = word(c, src[rows[i]·stride + c])                c < width, i < n
/// ```
/// The reference is one column at a time over all rows, which reads a cache line per
/// row per column: on the 2M-row AliExpress build (63 numbers, 252 bytes a row, ~17k
/// rows a chunk) that walked each chunk's 4 MB of numbers 63 times, from the L3 cache.
/// Here a block of [`BLOCK`] rows is read once from memory and then from L1 by every
/// column; the words are the same (`gather_equals_one_column_at_a_time` below, and the
/// whole cache in `tests/s11one_bytes.rs`).
fn gather<T: Copy>(
    src: &[T],
    stride: usize,
    width: usize,
    rows: &[usize],
    word: impl Fn(usize, T) -> u32,
    out: &mut Vec<u32>,
) {
    let n = rows.len();
    out.resize(n * width, 0); // every word is written below: only growth is zeroed
    for (b, block) in rows.chunks(BLOCK).enumerate() {
        for c in 0..width {
            let col = &mut out[n * c + BLOCK * b..][..block.len()];
            for (w, &r) in col.iter_mut().zip(block) {
                *w = word(c, src[r * stride + c]);
            }
        }
    }
}

/// `words` as the file stores them, little-endian bytes (in place: a no-op on a
/// little-endian machine).
fn le_bytes(words: &mut [u32]) -> &[u8] {
    for w in words.iter_mut() {
        *w = w.to_le();
    }
    // SAFETY: the bytes of `words` (u32 has no padding, every byte is a valid u8), with
    // its lifetime; `words` is borrowed for as long as the bytes are
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), 4 * words.len()) }
}

/// Where one chunk's rows end in each set, and its ids in each bag (the next chunk's
/// start, or the totals after the last chunk): pass 1's counts.
pub(super) struct ChunkSpan<'a> {
    pub end: [usize; SETS],
    /// Per multi-hot feature, per set.
    pub bag_end: &'a [[usize; SETS]],
}

/// The sets a streamed build writes: train, valid, test and cold (item_holdout).
pub(super) const SETS: usize = 4;

impl ChunkSpan<'_> {
    /// Whether the chunk `p` (its rows in `sets`, starting at `at`) holds the rows pass
    /// 1 counted for it in every set: `Err(())` when the file changed between the passes.
    fn check(
        &self,
        at: &super::pass1::ChunkInfo,
        sets: &[u8],
        n_ids: &[[usize; SETS]],
    ) -> std::result::Result<(), ()> {
        let mut rows = [0usize; SETS];
        for &s in sets {
            *rows.get_mut(s as usize).ok_or(())? += 1;
        }
        for s in 0..SETS {
            if at.offsets[s] + rows[s] != self.end[s] {
                return Err(());
            }
            for (b, ids) in n_ids.iter().enumerate() {
                let (start, end) = (
                    at.bag_offsets.get(b).ok_or(())?[s],
                    self.bag_end.get(b).ok_or(())?[s],
                );
                if start + ids[s] != end {
                    return Err(());
                }
            }
        }
        Ok(())
    }
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

/// One chunk's kept rows as [`write_rows`] reads them: a parsed chunk's (pass 2), or a
/// spilled one's (the copy pass, copy.rs).
pub(super) struct Rows<'a> {
    /// Local lines.                                           (n,)
    pub line: &'a [u32],
    /// Chunk-local codes.                                     (n, stride) row-major
    pub cat: &'a [u32],
    /// F_cat + F_bag.
    pub stride: usize,
    /// Numbers, labels, masks.                    (n, F_num), (n, K), (n, K) row-major
    pub num: &'a [f32],
    pub labels: &'a [f32],
    pub mask: &'a [f32],
}

impl<'a> Rows<'a> {
    pub(super) fn of(p: &'a Parsed) -> Rows<'a> {
        Rows {
            line: &p.line,
            cat: &p.cat,
            stride: p.dict.len(),
            num: &p.num,
            labels: &p.labels,
            mask: &p.mask,
        }
    }
}

/// Writes the kept rows of `p` (their sets `sets`; `at`: the rows and bag ids of each
/// set before this chunk, and the chunk's first line; `span`: where they end) into
/// `files` (`file`: the data file's index), looking each distinct text up once.
/// `Err(())` inside: the chunk is not the one pass 1 counted, reported by the caller as
/// a changed file.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_chunk(
    p: &Parsed,
    sets: &[u8],
    (at, span): (&super::pass1::ChunkInfo, &ChunkSpan<'_>),
    id_of: &IdOf<'_>,
    bags: &BagsIn<'_>,
    files: &[SetFile],
    file: u32,
    changed: impl Fn() -> Error,
) -> Result<()> {
    let fc = files[0].lay.n_cat;
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
    let rows = Rows::of(p);
    write_rows(
        &rows,
        sets,
        (at, span),
        (&ids, &lists),
        None,
        files,
        file,
        changed,
    )
}

/// Writes `p`'s rows (their sets `sets`; `at`, `span`: as [`write_chunk`]) into
/// `files`, with `ids[f][code]` the final id of local code `code` of categorical
/// feature f and `lists[b][code]` the final ids of local cell `code` of multi-hot
/// feature b. With `scale` (the numeric features' fitted specs) the numbers are written
/// filled and scaled (`scale::scaled`), else as parsed (NaN = missing; scale.rs scales
/// them in place afterwards).
#[allow(clippy::too_many_arguments)]
pub(super) fn write_rows(
    p: &Rows<'_>,
    sets: &[u8],
    (at, span): (&super::pass1::ChunkInfo, &ChunkSpan<'_>),
    (ids, lists): (&[Vec<u32>], &[Vec<Vec<u32>>]),
    scale: Option<&[crate::data::features::NumSpec]>,
    files: &[SetFile],
    file: u32,
    changed: impl Fn() -> Error,
) -> Result<()> {
    let (offsets, first_line) = (at.offsets, at.first_line);
    let (fc, fnum, k) = (files[0].lay.n_cat, files[0].lay.n_num, files[0].lay.k);
    let stride = p.stride; // F_cat + F_bag
    let n_rows = p.line.len();
    // the rows of each set, and each bag's ids per set: checked against pass 1 first
    let rows: Vec<Vec<usize>> = (0..SETS)
        .map(|s| (0..n_rows).filter(|&r| sets[r] as usize == s).collect())
        .collect();
    let n_ids: Vec<[usize; SETS]> = (0..lists.len())
        .map(|b| {
            let mut n = [0; SETS];
            for (s, rows) in rows.iter().enumerate() {
                n[s] = (rows.iter())
                    .map(|&r| lists[b][p.cat[r * stride + fc + b] as usize].len())
                    .sum();
            }
            n
        })
        .collect();
    span.check(at, sets, &n_ids).map_err(|()| changed())?;
    for (s, set) in files.iter().enumerate().take(SETS) {
        let rows = &rows[s];
        if rows.is_empty() {
            continue;
        }
        let (lay, o, n) = (set.lay, offsets[s], rows.len());
        COLS.with(|cols| -> Result<()> {
            let cols = &mut cols.borrow_mut();
            gather(
                p.cat,
                stride,
                fc,
                rows,
                |f, code| ids[f][code as usize],
                cols,
            );
            for (f, col) in cols.chunks_exact_mut(n).enumerate() {
                set.put(lay.cat(f) + 4 * o, le_bytes(col))?;
            }
            // the numbers gathered as they are, then each column filled and scaled in
            // one tight loop over its words
            gather(p.num, fnum, fnum, rows, |_, v| v.to_bits(), cols);
            for (f, col) in cols.chunks_exact_mut(n).enumerate() {
                if let Some(spec) = scale.and_then(|s| s.get(f)) {
                    for w in col.iter_mut() {
                        *w = super::scale::scaled(spec, f32::from_bits(*w)).to_bits();
                    }
                }
                set.put(lay.num(f) + 4 * o, le_bytes(col))?;
            }
            gather(p.labels, k, k, rows, |_, v| v.to_bits(), cols);
            for (t, col) in cols.chunks_exact_mut(n).enumerate() {
                set.put(lay.labels(t) + 4 * o, le_bytes(col))?;
            }
            gather(p.mask, k, k, rows, |_, v| v.to_bits(), cols);
            for (t, col) in cols.chunks_exact_mut(n).enumerate() {
                set.put(lay.mask(t) + 4 * o, le_bytes(col))?;
            }
            Ok(())
        })?;
        set.put_words(lay.src_file() + 4 * o, n, |_| file.to_le_bytes())?;
        let line = |i: usize| first_line + p.line[rows[i]] as u64;
        set.put_u64s(lay.src_line() + 8 * o, n, line)?;
        for (b, lists) in lists.iter().enumerate() {
            let before = at.bag_offsets[b][s];
            let (mut ends, mut ids) = (Vec::with_capacity(n), Vec::new());
            for &r in rows {
                ids.extend_from_slice(&lists[p.cat[r * stride + fc + b] as usize]);
                ends.push((before + ids.len()) as u64);
            }
            let start = lay.bag(&set.bags, b);
            set.put_u64s(start + 8 * (o + 1), n, |i| ends[i])?; // offsets[o + 1 ..= o + n_c]
            let id_at = start + 8 * (lay.n + 1) + 4 * before;
            set.put_words(id_at, ids.len(), |i| ids[i].to_le_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_equals_one_column_at_a_time() {
        // rows picked out of order, counts around the block size, a word that depends
        // on the column; the buffer reused from a longer and a shorter call
        let (stride, width) = (7, 5);
        let src: Vec<u32> = (0..300 * stride as u32)
            .map(|v| v.wrapping_mul(2654435761))
            .collect();
        let word = |c: usize, v: u32| v ^ c as u32;
        let mut out = vec![0xAB; 10_000];
        for n in [0, 1, 63, 64, 65, 200, 129] {
            let rows: Vec<usize> = (0..n).map(|i| (i * 37 + 11) % 300).collect();
            gather(&src, stride, width, &rows, word, &mut out);
            let mut reference = Vec::new();
            for c in 0..width {
                for &r in &rows {
                    reference.push(word(c, src[r * stride + c]));
                }
            }
            assert_eq!(out, reference, "{n} rows");
            let bytes: Vec<u8> = reference.iter().flat_map(|w| w.to_le_bytes()).collect();
            assert_eq!(le_bytes(&mut out), &bytes[..]);
        }
    }
}
