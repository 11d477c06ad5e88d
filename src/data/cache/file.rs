//! One set of the cache (`train.bin`, `valid.bin`, ...): N encoded rows stored column by
//! column, little-endian, read through a memory map.
//!
//! ```text
//! offset 0   magic "MTRCACH2" (8 bytes), then N, F_cat, F_num, K, F_bag, F_text as u64,
//!            zeros to 64
//! cat        F_cat columns of N u32 ids            column f at 64 + 4·N·f
//! num        F_num columns of N f32 (scaled)
//! labels     K columns of N f32 (0 where masked)
//! mask       K columns of N f32 (1 = labelled)
//! text       F_text columns of N u32: the row's text, an index into the cache's
//!            `texts-<t>.json` (the feature's distinct texts; embedded when opened)
//! src_file   N u32 (index into the cache's `files`), zero-padded to a multiple of 8
//! src_line   N u64 (1-based line of the row in its file)
//! bags       per multi-hot feature b: N + 1 u64 offsets (offsets[0] = 0, non-decreasing),
//!            then offsets[N] u32 ids (row r's list: ids[offsets[r] .. offsets[r + 1]]),
//!            zero-padded to a multiple of 8; feature b + 1 follows
//! ```
//! Everything up to `bags` is placed by the header alone; the bag sections are found by
//! reading each one's last offset. The file is written once and never changed in place
//! (a new cache is a new folder, renamed into place), so the map sees fixed bytes.

use super::window::{self, Chunks};
use crate::data::features::{Encoded, EncodedBatch, TextRows};
use crate::data::ingest::RowSource;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const MAGIC: &[u8; 8] = b"MTRCACH2";
const HEADER: usize = 64;

/// Byte offsets of the sections for N rows and the widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub(super) n: usize,
    pub(super) n_cat: usize,
    pub(super) n_num: usize,
    pub(super) k: usize,
    /// F_bag (multi-hot features) and F_text (text features).
    pub(super) n_bag: usize,
    pub(super) n_text: usize,
}

impl Layout {
    pub(super) fn cat(&self, f: usize) -> usize {
        HEADER + 4 * self.n * f
    }
    pub(super) fn num(&self, f: usize) -> usize {
        self.cat(self.n_cat) + 4 * self.n * f
    }
    pub(super) fn labels(&self, t: usize) -> usize {
        self.num(self.n_num) + 4 * self.n * t
    }
    pub(super) fn mask(&self, t: usize) -> usize {
        self.labels(self.k) + 4 * self.n * t
    }
    pub(super) fn text(&self, t: usize) -> usize {
        self.mask(self.k) + 4 * self.n * t
    }
    pub(super) fn src_file(&self) -> usize {
        self.text(self.n_text)
    }
    pub(super) fn src_line(&self) -> usize {
        (self.src_file() + 4 * self.n).next_multiple_of(8)
    }
    /// The end of the sections the header places (the first bag section starts here).
    pub(super) fn fixed(&self) -> usize {
        self.src_line() + 8 * self.n
    }
    /// The whole file, given each bag's number of ids.
    pub(super) fn total(&self, bag_ids: &[usize]) -> usize {
        self.fixed() + bag_ids.iter().map(|&l| self.bag_bytes(l)).sum::<usize>()
    }
    /// Where multi-hot feature b's section starts, given every bag's id count.
    pub(super) fn bag(&self, bag_ids: &[usize], b: usize) -> usize {
        self.fixed()
            + (bag_ids[..b].iter())
                .map(|&l| self.bag_bytes(l))
                .sum::<usize>()
    }
    /// Bytes of one bag section holding `ids` ids.
    pub(super) fn bag_bytes(&self, ids: usize) -> usize {
        8 * (self.n + 1) + (4 * ids).next_multiple_of(8)
    }
    /// The 64-byte header: magic, N, F_cat, F_num, K, F_bag, F_text.
    pub(super) fn header(&self) -> [u8; HEADER] {
        let mut head = [0u8; HEADER];
        head[..8].copy_from_slice(MAGIC);
        let words = [
            self.n,
            self.n_cat,
            self.n_num,
            self.k,
            self.n_bag,
            self.n_text,
        ];
        for (i, v) in words.iter().enumerate() {
            head[8 + 8 * i..16 + 8 * i].copy_from_slice(&(*v as u64).to_le_bytes());
        }
        head
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes `e` to `path` in the layout above (its texts as their row ids; the tables go
/// to `texts-<t>.json` beside it).
pub fn write_set(path: &Path, e: &Encoded) -> Result<()> {
    let lay = Layout {
        n: e.len(),
        n_cat: e.n_cat,
        n_num: e.n_num,
        k: e.n_tasks,
        n_bag: e.bags.len(),
        n_text: e.text.len(),
    };
    let file = std::fs::File::create(path).map_err(|x| io_err(path, x))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut put = |b: &[u8]| w.write_all(b).map_err(|x| io_err(path, x));
    put(&lay.header())?;
    // row-major (N, F) in memory → F columns of N on disk
    for f in 0..lay.n_cat {
        for r in 0..lay.n {
            put(&e.cat[r * lay.n_cat + f].to_le_bytes())?;
        }
    }
    for f in 0..lay.n_num {
        for r in 0..lay.n {
            put(&e.num[r * lay.n_num + f].to_le_bytes())?;
        }
    }
    for m in [&e.labels, &e.mask] {
        for t in 0..lay.k {
            for r in 0..lay.n {
                put(&m[r * lay.k + t].to_le_bytes())?;
            }
        }
    }
    for t in &e.text {
        for &id in &t.ids {
            put(&id.to_le_bytes())?; // (N,)
        }
    }
    for s in &e.source {
        put(&s.file.to_le_bytes())?;
    }
    put(&vec![0u8; lay.src_line() - lay.src_file() - 4 * lay.n])?;
    for s in &e.source {
        put(&s.line.to_le_bytes())?;
    }
    for b in &e.bags {
        for &o in &b.offsets {
            put(&(o as u64).to_le_bytes())?; // (N + 1)
        }
        for &id in &b.ids {
            put(&id.to_le_bytes())?;
        }
        put(&vec![
            0u8;
            (4 * b.ids.len()).next_multiple_of(8) - 4 * b.ids.len()
        ])?;
    }
    w.flush().map_err(|x| io_err(path, x))?;
    w.into_inner()
        .map_err(|x| io_err(path, x.error()))?
        .sync_all()
        .map_err(|x| io_err(path, x))
}

/// One multi-hot feature's section in the map: where its offsets and ids start.
#[derive(Clone, Copy, Debug)]
pub(super) struct BagAt {
    pub(super) offsets: usize,
    pub(super) ids: usize,
}

/// One text feature's `(U, D_t)` table, attached after the texts were embedded.
#[derive(Clone, Debug)]
pub(super) struct TextTable {
    pub(super) dim: usize,
    pub(super) table: Arc<Vec<f32>>,
}

/// One set of the cache: rows are read on demand with `pread` into a few resident
/// chunks (window.rs, read.rs), so the process holds those chunks and not the pages of
/// the file; the header, row sources and the reference reader [`CachedSet::batch_mapped`]
/// read through a memory map.
pub struct CachedSet {
    pub(super) map: memmap2::Mmap,
    /// The open file the chunks are read from, and its path for messages.
    pub(super) file: std::fs::File,
    pub(super) path: PathBuf,
    pub(super) lay: Layout,
    pub(super) bags: Vec<BagAt>,
    /// Byte offset of each fixed-width column, in a chunk's order (window::columns).
    pub(super) cols: Vec<usize>,
    /// One per text feature once [`CachedSet::attach_texts`] ran.
    pub(super) texts: Vec<TextTable>,
    /// Bytes read through the map since its pages were last handed back.
    touched: AtomicUsize,
    /// The resident chunks of [`Rows::batch`]; `None`: batches read through the map
    /// (a full shuffle, whose batches draw from every chunk).
    chunks: Mutex<Option<Chunks>>,
}

/// After this many bytes read, the map's pages are handed back to the kernel
/// (`madvise(MADV_DONTNEED)`), so the pages a long epoch touches do not pile up in the
/// process's resident set; the next read maps them again from the page cache.
const RELEASE_BYTES: usize = 64 << 20;

impl std::fmt::Debug for CachedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachedSet({:?})", self.lay)
    }
}

impl CachedSet {
    /// Maps the set at `path`, checking its magic and length.
    pub fn open(path: &Path) -> Result<CachedSet> {
        let file = std::fs::File::open(path).map_err(|x| io_err(path, x))?;
        // SAFETY: cache files are written once into a temp folder and renamed into place;
        // nothing writes to them afterwards. Another program truncating the file while it
        // is mapped would fault on access; that is documented in docs/data_cache.md.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|x| io_err(path, x))?;
        let bad = |what: &str| {
            Error::Io {
            path: path.display().to_string(),
            message: format!("{what}; it is not a complete mtrec cache file: delete the cache folder and run again"),
        }
        };
        if map.len() < HEADER || &map[..8] != MAGIC {
            return Err(bad("wrong header"));
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&map[8 + 8 * i..16 + 8 * i]);
            u64::from_le_bytes(b) as usize
        };
        let lay = Layout {
            n: word(0),
            n_cat: word(1),
            n_num: word(2),
            k: word(3),
            n_bag: word(4),
            n_text: word(5),
        };
        // the bag sections, each placed by the one before it
        let (mut bags, mut at) = (Vec::with_capacity(lay.n_bag), lay.fixed());
        for _ in 0..lay.n_bag {
            let last = at + 8 * lay.n;
            if map.len() < last + 8 {
                break; // reported by the length check below
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&map[last..last + 8]);
            let ids = u64::from_le_bytes(b) as usize;
            bags.push(BagAt {
                offsets: at,
                ids: at + 8 * (lay.n + 1),
            });
            at = at.saturating_add(lay.bag_bytes(ids));
        }
        if bags.len() != lay.n_bag || map.len() != at {
            return Err(bad(&format!(
                "{} bytes where {} rows need {}",
                map.len(),
                lay.n,
                at.max(lay.fixed())
            )));
        }
        Ok(CachedSet {
            map,
            file,
            path: path.to_path_buf(),
            lay,
            bags,
            cols: window::columns(&lay),
            texts: Vec::new(),
            touched: AtomicUsize::new(0),
            chunks: Mutex::new(Some(Chunks::new(
                lay.n,
                window::MAX_CHUNK_ROWS,
                window::SEQUENTIAL_CHUNKS,
            ))),
        })
    }

    /// Reads training batches drawn in blocks of `block` rows and windows of `window`
    /// rows (`data.shuffle_block`, `data.shuffle_window`, the order of `EpochOrder`):
    /// chunks of the block (at most 16,384 rows), as many kept as a window covers, so
    /// each chunk is read once per epoch. A full shuffle (`window` 0 or ≥ N) draws every
    /// batch from the whole set: its batches read through the map, whose pages are
    /// handed back every 64 MiB read (docs/data_cache.md, "Memory").
    pub fn read_in_windows(&self, block: usize, window: usize) {
        let chunks = (window != 0 && window < self.lay.n).then(|| {
            let (rows, cap) = window::training_chunks(block, window);
            Chunks::new(self.lay.n, rows, cap)
        });
        *self.lock() = chunks;
    }

    /// Reads batches through resident chunks of `rows` rows, `cap` of them kept (tests
    /// exercise eviction with small chunks).
    pub fn read_in_chunks(&self, rows: usize, cap: usize) {
        *self.lock() = Some(Chunks::new(self.lay.n, rows, cap));
    }

    /// Bytes held by the resident chunks' buffers: the batch reader's memory.
    pub fn reader_bytes(&self) -> usize {
        self.lock().as_ref().map_or(0, Chunks::bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Chunks>> {
        // a panic while reading leaves whole chunks or empty slots behind: still usable
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives each text feature its `(U, D_t)` table (`tables[t] = (D_t, table)`, in spec
    /// order): the rows' text ids index it. Refuses an id past a table's end.
    pub fn attach_texts(&mut self, tables: Vec<(usize, Arc<Vec<f32>>)>) -> Result<()> {
        if tables.len() != self.lay.n_text {
            return Err(Error::Config {
                what: "data.cache".into(),
                message: format!(
                    "the cache holds {} text features, the run has {}; delete the cache folder and run again",
                    self.lay.n_text,
                    tables.len()
                ),
            });
        }
        for (t, (dim, table)) in tables.iter().enumerate() {
            let u = table.len() / (*dim).max(1);
            let (mut r, mut bad) = (0, None);
            self.scan_words(self.lay.text(t), self.lay.n, |w| {
                let id = u32::from_le_bytes(w);
                if bad.is_none() && id as usize >= u {
                    bad = Some((r, id));
                }
                r += 1;
            });
            if let Some((r, id)) = bad {
                return Err(Error::Config {
                    what: "data.cache".into(),
                    message: format!(
                        "row {r} names text {id} of text feature {t}, which has {u} texts; delete the cache folder and run again"
                    ),
                });
            }
        }
        self.texts = (tables.into_iter())
            .map(|(dim, table)| TextTable { dim, table })
            .collect();
        Ok(())
    }

    /// Row r's list of multi-hot feature b: (start, end) in its ids.
    pub(super) fn bag_range(&self, b: usize, r: usize) -> (usize, usize) {
        let at = self.bags[b].offsets + 8 * r;
        (self.u64_at(at) as usize, self.u64_at(at + 8) as usize)
    }

    fn u64_at(&self, off: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.map[off..off + 8]);
        u64::from_le_bytes(b)
    }

    /// Counts `bytes` read; past [`RELEASE_BYTES`] hands the mapped pages back.
    pub(super) fn touch(&self, bytes: usize) {
        if self.touched.fetch_add(bytes, Ordering::Relaxed) + bytes < RELEASE_BYTES {
            return;
        }
        self.touched.store(0, Ordering::Relaxed);
        #[cfg(unix)]
        // SAFETY: the map is a read-only shared file mapping; dropping its pages only
        // makes the next access read them again from the file (unchanged, see `open`).
        unsafe {
            let _ = self
                .map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed);
        }
    }

    /// The N 4-byte words of the column at byte `base`.
    pub(super) fn words(&self, base: usize) -> &[[u8; 4]] {
        self.map[base..base + 4 * self.lay.n].as_chunks::<4>().0
    }

    pub(super) fn u32_at(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.map[off..off + 4]);
        u32::from_le_bytes(b)
    }

    /// F_cat, F_num, K.
    pub fn widths(&self) -> (usize, usize, usize) {
        (self.lay.n_cat, self.lay.n_num, self.lay.k)
    }

    /// Where row `r` came from.
    pub fn source(&self, r: usize) -> RowSource {
        self.touch(12);
        let mut b = [0u8; 8];
        let off = self.lay.src_line() + 8 * r;
        b.copy_from_slice(&self.map[off..off + 8]);
        RowSource {
            file: self.u32_at(self.lay.src_file() + 4 * r),
            line: u64::from_le_bytes(b),
        }
    }

    /// Copies every row into memory (tests compare it with the in-memory path).
    pub fn to_encoded(&self) -> Encoded {
        let rows: Vec<usize> = (0..self.lay.n).collect();
        let mut b = EncodedBatch::default();
        self.batch(&rows, &mut b);
        let (fc, k) = (self.lay.n_cat, self.lay.k);
        let mut e = Encoded::empty(fc, self.lay.n_bag, self.lay.n_num, k);
        for r in 0..self.lay.n {
            e.cat.extend((0..fc).map(|f| b.cat[f][r]));
            e.labels.extend((0..k).map(|t| b.labels[t][r]));
            e.mask.extend((0..k).map(|t| b.mask[t][r]));
            e.source.push(self.source(r));
        }
        e.num = b.num;
        e.bags = b.bags;
        e.text = (self.texts.iter().enumerate())
            .map(|(t, x)| TextRows {
                dim: x.dim,
                table: x.table.clone(),
                ids: {
                    let mut ids = Vec::with_capacity(self.lay.n);
                    self.scan_words(self.lay.text(t), self.lay.n, |w| {
                        ids.push(u32::from_le_bytes(w))
                    });
                    ids
                },
            })
            .collect();
        e
    }
}

impl Rows for CachedSet {
    fn len(&self) -> usize {
        self.lay.n
    }

    fn batch(&self, rows: &[usize], out: &mut EncodedBatch) {
        match self.lock().as_mut() {
            Some(ch) => self.batch_chunked(ch, rows, out),
            None => self.batch_mapped(rows, out),
        }
    }

    fn cat_range(&self, f: usize, rows: std::ops::Range<usize>, out: &mut Vec<u32>) {
        out.clear();
        let w = |w| out.push(u32::from_le_bytes(w));
        self.scan_words(self.lay.cat(f) + 4 * rows.start, rows.len(), w);
    }

    fn task_range(
        &self,
        k: usize,
        rows: std::ops::Range<usize>,
        y: &mut Vec<f32>,
        mask: &mut Vec<f32>,
    ) {
        let (lb, mb) = (self.lay.labels(k), self.lay.mask(k));
        y.clear();
        self.scan_words(lb + 4 * rows.start, rows.len(), |w| {
            y.push(f32::from_le_bytes(w))
        });
        mask.clear();
        self.scan_words(mb + 4 * rows.start, rows.len(), |w| {
            mask.push(f32::from_le_bytes(w))
        });
    }

    fn source(&self, r: usize) -> RowSource {
        CachedSet::source(self, r)
    }

    fn task_column(&self, k: usize) -> (Vec<f32>, Vec<f32>) {
        let n = self.lay.n;
        let (mut y, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
        self.task_range(k, 0..self.lay.n, &mut y, &mut mask);
        (y, mask)
    }
}
