//! Reading a cached set's rows with `pread` into a few resident chunks, instead of
//! through the memory map.
//!
//! ```text
//! chunk c = rows [c·C, (c+1)·C)      C = chunk rows (the shuffle block, at most 16,384)
//! slot    = one resident chunk:      words (C, F_w) ROW-major 4-byte LE values of the
//!                                    fixed-width columns (cat, num, labels, mask, text):
//!                                    row l is one record of F_w·4 contiguous bytes;
//!                                    bags: offsets (C + 1) u64 and the chunk's ids
//! load:     each piece of P rows (P·F_w·4 ≤ 1 MiB, P ≥ 64): one `pread` per column into a
//!           column-major scratch (F_w, P), then a tiled transpose into the slot's rows
//! a batch:  rows whose chunk is resident are copied first; then the least recently used
//!           chunks are evicted until the missing ones fit in `cap` slots; the missing
//!           chunks are read and their rows copied: one record per row, its words
//!           scattered into the batch's columns
//! ```
//! Why rows, not the file's columns: a batch of B rows drawn at random from a window
//! reads every fixed-width value of each row. Column-major, each (row, column) value
//! is its own cache line (F_w·B ≈ 85k misses for a 1,024-row batch of 83 columns: 23 %
//! of a 2M-row training run's CPU time); row-major, a row is ⌈F_w·4 / 64⌉ ≈ 5
//! consecutive lines. The transpose is paid once per chunk read (once per epoch in
//! training), the gather once per row drawn.
//!
//! Why not the map: on a fault the kernel maps the whole page-cache folio around the
//! faulting page, and read-ahead makes those folios large (up to 2 MB), so reading 64 KiB
//! of a column could map many times that; the pages a window's batches mapped were
//! counted against the process (RssFile 389 MB at 10M rows, 807 MB at 40M) although a
//! window's rows are 87 MB (docs/benchmarks.md, "scale"). Here the resident bytes are
//! the slots and nothing else (plus, while a batch reads chunks, one scratch of at most
//! [`SCRATCH_BYTES`]): `cap` chunks, a window's worth in training (every batch
//! of a window draws from all its blocks, so the window must stay resident to read each
//! chunk once per epoch), a few chunks for the sequential reads of evaluation.

use super::file::Layout;
use crate::data::features::Bags;

/// Where each fixed-width column starts in the file, in slot order: F_cat cat, F_num num,
/// K labels, K mask, F_text text (4-byte values, N of each).
pub(super) fn columns(lay: &Layout) -> Vec<usize> {
    let mut c = Vec::new();
    c.extend((0..lay.n_cat).map(|f| lay.cat(f)));
    c.extend((0..lay.n_num).map(|f| lay.num(f)));
    c.extend((0..lay.k).map(|t| lay.labels(t)));
    c.extend((0..lay.k).map(|t| lay.mask(t)));
    c.extend((0..lay.n_text).map(|t| lay.text(t)));
    c
}

/// One multi-hot feature's part of a chunk.
#[derive(Default)]
pub(super) struct SlotBag {
    /// (C + 1) offsets into the feature's ids, as in the file (absolute).
    pub(super) offsets: Vec<u64>,
    /// The chunk's ids: `ids[offsets[0] .. offsets[C]]` of the file.
    pub(super) ids: Vec<u32>,
}

impl SlotBag {
    /// Local row l's list.
    pub(super) fn list(&self, l: usize) -> &[u32] {
        let base = self.offsets[0];
        &self.ids[(self.offsets[l] - base) as usize..(self.offsets[l + 1] - base) as usize]
    }
}

/// One resident chunk (or an empty slot whose buffers wait for the next one).
pub(super) struct Slot {
    /// The chunk it holds; `usize::MAX`: empty.
    pub(super) chunk: usize,
    /// The batch that last read it.
    stamp: u64,
    /// (C, F_w) row-major 4-byte LE values: row l's record at words `[l·F_w, (l+1)·F_w)`.
    pub(super) words: Words,
    pub(super) bags: Vec<SlotBag>,
}

const EMPTY: usize = usize::MAX;

/// A slot's values: an anonymous map that asks for transparent huge pages. A batch
/// reads its rows at random across a window's chunks (tens of MB), so in 4 KiB pages
/// nearly every value may cost a TLB miss (the map's page-cache folios can be covered
/// by larger entries on CPUs that coalesce them). Not yet measured on a quiet machine.
#[derive(Default)]
pub(super) struct Words(Option<memmap2::MmapMut>);

impl Words {
    /// Makes it `len` bytes (zeros when newly mapped; kept when already that long).
    pub(super) fn ensure(&mut self, len: usize) {
        if self.len() == len {
            return;
        }
        self.0 = (len > 0).then(|| {
            let m = memmap2::MmapMut::map_anon(len).unwrap_or_else(|e| {
                panic!("cannot allocate {len} bytes for a chunk of the data cache: {e}; lower data.shuffle_window")
            });
            #[cfg(target_os = "linux")]
            let _ = m.advise(memmap2::Advice::HugePage); // a hint: refused is fine
            m
        });
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    pub(super) fn bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }

    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        self.0.as_deref_mut().unwrap_or(&mut [])
    }
}

impl Slot {
    /// Local row l's record: its F_w fixed-width values, in [`columns`] order.  // (F_w,)
    #[inline]
    pub(super) fn record(&self, f_w: usize, l: usize) -> &[[u8; 4]] {
        &self.words.bytes().as_chunks::<4>().0[l * f_w..(l + 1) * f_w]
    }
}

/// The most bytes of the column-major scratch a chunk is read through (one piece of
/// P rows of every column): the scratch stays in L2 while it is transposed, and a
/// 16,384-row chunk of 83 columns is read in 6 pieces, 498 `pread`s of ~12 KiB.
pub(super) const SCRATCH_BYTES: usize = 1 << 20;

/// P: rows per piece of a chunk of `c_rows` rows and `f_w` columns (at least one tile).
pub(super) fn piece_rows(c_rows: usize, f_w: usize) -> usize {
    c_rows.min((SCRATCH_BYTES / (4 * f_w.max(1))).max(TILE_ROWS))
}

/// Rows per tile of [`transpose_into_rows`]: a tile of the slot (T·F_w·4 bytes, 21 KB
/// for 83 columns) stays in L1 while each column's T values (256 contiguous bytes of
/// the scratch) are written into it.
const TILE_ROWS: usize = 64;

/// The first `len` rows of a column-major piece as row-major records:
/// `dst[l·F_w + j] = src[j·P + l]` for l < len ≤ P, j < F_w, one tile of
/// [`TILE_ROWS`] rows at a time.
///
/// src: (F_w, P) column-major; dst: (len, F_w) row-major.
pub(super) fn transpose_into_rows(
    dst: &mut [[u8; 4]],
    src: &[[u8; 4]],
    p: usize,
    len: usize,
    f_w: usize,
) {
    assert!(len <= p && src.len() >= f_w * p && dst.len() >= len * f_w);
    if f_w == 0 {
        return;
    }
    // the tile is assembled in L1 and written to the slot whole: full cache lines, so
    // the slot's lines need not be read first to be partly written
    let mut buf = vec![[0u8; 4]; TILE_ROWS.min(len) * f_w]; // (T, F_w)
    for r0 in (0..len).step_by(TILE_ROWS) {
        let t = TILE_ROWS.min(len - r0);
        let tile = &mut buf[..t * f_w]; // (T, F_w)
        for j in 0..f_w {
            let col = &src[j * p + r0..j * p + r0 + t]; // (T,) of column j
            for (rec, &w) in tile.chunks_exact_mut(f_w).zip(col) {
                rec[j] = w;
            }
        }
        dst[r0 * f_w..(r0 + t) * f_w].copy_from_slice(tile);
    }
}

/// The reference twin of [`transpose_into_rows`]: one value at a time, row by row.
#[cfg(test)]
pub(super) fn transpose_naive(
    dst: &mut [[u8; 4]],
    src: &[[u8; 4]],
    p: usize,
    len: usize,
    f_w: usize,
) {
    for l in 0..len {
        for j in 0..f_w {
            dst[l * f_w + j] = src[j * p + l];
        }
    }
}

/// The resident chunks of one set and the scratch of a batch.
pub(super) struct Chunks {
    /// C: rows per chunk.
    pub(super) rows: usize,
    /// Chunks kept after a batch (a batch that needs more holds them until it ends).
    pub(super) cap: usize,
    pub(super) slots: Vec<Slot>,
    /// Per chunk, its slot + 1 (0: not resident).   // (⌈N/C⌉,)
    at: Vec<u32>,
    stamp: u64,
    /// Scratch: the chunks a batch misses.
    pub(super) missing: Vec<usize>,
    /// Scratch of a batch: (position, slot, local row) of the rows being copied.
    pub(super) list: Vec<(usize, usize, usize)>,
    /// Scratch: per multi-hot feature, the lists of the rows copied before eviction, and
    /// per position its index there (`u32::MAX`: read from a slot).
    pub(super) held: Vec<Bags>,
    pub(super) from_held: Vec<u32>,
}

impl Chunks {
    /// No resident chunk, for N rows in chunks of `rows`, keeping `cap` chunks.
    pub(super) fn new(n: usize, rows: usize, cap: usize) -> Chunks {
        let rows = rows.max(1);
        Chunks {
            rows,
            cap: cap.max(1),
            slots: Vec::new(),
            at: vec![0; n.div_ceil(rows)],
            stamp: 0,
            missing: Vec::new(),
            list: Vec::new(),
            held: Vec::new(),
            from_held: Vec::new(),
        }
    }

    /// The slot holding chunk c, if resident.
    #[inline]
    pub(super) fn slot_of(&self, c: usize) -> Option<usize> {
        (self.at[c] as usize).checked_sub(1)
    }

    /// Starts a batch: a new stamp; every resident chunk the batch reads gets it, and the
    /// chunks it misses are listed in `missing` (each once). Returns the stamp.
    pub(super) fn begin(&mut self, rows: &[usize]) -> u64 {
        self.stamp += 1;
        self.missing.clear();
        for &r in rows {
            let c = r / self.rows;
            match self.slot_of(c) {
                Some(s) => self.slots[s].stamp = self.stamp,
                None if !self.missing.contains(&c) => self.missing.push(c),
                None => {}
            }
        }
        self.stamp
    }

    /// Makes room for the missing chunks: evicts least recently read chunks (the ones of
    /// this batch too: their rows were copied already) until the resident and the
    /// missing chunks fit in `cap`, or nothing is left to evict.
    pub(super) fn evict_for_missing(&mut self) {
        let resident = self.slots.iter().filter(|s| s.chunk != EMPTY).count();
        for _ in 0..(resident + self.missing.len()).saturating_sub(self.cap) {
            self.evict_lru();
        }
    }

    fn evict_lru(&mut self) {
        let lru = (self.slots.iter().enumerate())
            .filter(|(_, s)| s.chunk != EMPTY)
            .min_by_key(|(_, s)| s.stamp)
            .map(|(i, _)| i);
        if let Some(i) = lru {
            self.at[self.slots[i].chunk] = 0;
            self.slots[i].chunk = EMPTY;
        }
    }

    /// A slot for chunk c (an empty one, or a new one), marked resident and read by this
    /// batch; its buffers are the caller's to fill.
    pub(super) fn claim(&mut self, c: usize) -> usize {
        let i = match self.slots.iter().position(|s| s.chunk == EMPTY) {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    chunk: EMPTY,
                    stamp: 0,
                    words: Words::default(),
                    bags: Vec::new(),
                });
                self.slots.len() - 1
            }
        };
        self.slots[i].chunk = c;
        self.slots[i].stamp = self.stamp;
        self.at[c] = i as u32 + 1;
        i
    }

    /// Ends a batch: evicts down to `cap` chunks and frees the buffers of empty slots
    /// beyond `cap`, so one batch larger than a window does not keep its memory.
    pub(super) fn end(&mut self) {
        while self.slots.iter().filter(|s| s.chunk != EMPTY).count() > self.cap {
            self.evict_lru();
        }
        // resident slots count first; empty ones keep their buffers up to `cap` in all
        let mut kept = self.slots.iter().filter(|s| s.chunk != EMPTY).count();
        for s in self.slots.iter_mut().filter(|s| s.chunk == EMPTY) {
            if kept < self.cap {
                kept += 1;
            } else {
                s.words = Words::default();
                s.bags = Vec::new();
            }
        }
    }

    /// Bytes held by the slots' buffers (tests and docs: the reader's memory).
    pub(super) fn bytes(&self) -> usize {
        (self.slots.iter())
            .map(|s| {
                s.words.len()
                    + (s.bags.iter())
                        .map(|b| 8 * b.offsets.capacity() + 4 * b.ids.capacity())
                        .sum::<usize>()
            })
            .sum()
    }
}

/// Chunk rows and chunks kept for training reads in blocks of `block` rows and windows
/// of `window` rows: C = the block, at most 16,384 rows (64 KiB of a 4-byte column per
/// `pread`); a window's blocks cover ⌈W/S⌉ blocks of S/C chunks each when C divides S,
/// else at most ⌈S/C⌉ + 1 each (a block that straddles chunk edges).
pub(super) fn training_chunks(block: usize, window: usize) -> (usize, usize) {
    let s = block.max(1);
    let c = s.min(MAX_CHUNK_ROWS);
    let per_block = if s.is_multiple_of(c) {
        s / c
    } else {
        s.div_ceil(c) + 1
    };
    (c, window.div_ceil(s).max(1) * per_block)
}

/// The largest chunk: 16,384 rows, 64 KiB of each 4-byte column.
pub(super) const MAX_CHUNK_ROWS: usize = 16_384;

/// Chunks kept for sequential reads (evaluation, predict, export): a batch rarely spans
/// more than two.
pub(super) const SEQUENTIAL_CHUNKS: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (P, len, F_w) around the tile edges: the tiled transpose equals the naive
    /// one, which is checked against the definition on a value that names its place.
    #[test]
    fn tiled_transpose_equals_the_naive_one() {
        for f_w in [1, 2, 7, 83] {
            for (p, len) in [
                (1, 1),
                (5, 3),
                (63, 63),
                (64, 64),
                (65, 65),
                (200, 129),
                (300, 1),
            ] {
                // value (j, l) = j·1000 + l, and padding past len that must not be copied
                let src: Vec<[u8; 4]> = (0..f_w * p)
                    .map(|x| ((x / p) as u32 * 1000 + (x % p) as u32).to_le_bytes())
                    .collect();
                let (mut a, mut b) = (vec![[9u8; 4]; len * f_w + 3], vec![[9u8; 4]; len * f_w + 3]);
                transpose_into_rows(&mut a, &src, p, len, f_w);
                transpose_naive(&mut b, &src, p, len, f_w);
                assert_eq!(a, b, "P {p}, len {len}, F_w {f_w}");
                for l in 0..len {
                    for j in 0..f_w {
                        assert_eq!(
                            u32::from_le_bytes(b[l * f_w + j]),
                            j as u32 * 1000 + l as u32
                        );
                    }
                }
                assert_eq!(a[len * f_w..], [[9u8; 4]; 3], "wrote past the rows");
            }
        }
    }

    #[test]
    fn pieces_fit_the_scratch() {
        // 83 columns (the AliExpress shape): 16,384-row chunks in pieces of 3,158 rows
        assert_eq!(piece_rows(16_384, 83), SCRATCH_BYTES / 332);
        assert!(4 * 83 * piece_rows(16_384, 83) <= SCRATCH_BYTES);
        // 25 columns (tests/s11win_rows.rs): two pieces per 16,384-row chunk
        assert_eq!(piece_rows(16_384, 25), 10_485);
        // narrow rows: one piece per chunk; very wide: one tile at least
        assert_eq!(piece_rows(1000, 12), 1000);
        assert_eq!(piece_rows(16_384, 1 << 20), TILE_ROWS);
    }

    #[test]
    fn training_chunks_cover_a_window() {
        assert_eq!(training_chunks(16_384, 262_144), (16_384, 16));
        assert_eq!(training_chunks(4096, 262_144), (4096, 64));
        assert_eq!(training_chunks(65_536, 262_144), (16_384, 16));
        // 20,000-row blocks straddle 16,384-row chunks: 3 chunks per block at most
        assert_eq!(training_chunks(20_000, 40_000), (16_384, 6));
    }

    #[test]
    fn lru_evicts_the_oldest_and_end_shrinks_to_cap() {
        let mut ch = Chunks::new(100, 10, 2);
        for rows in [[0usize, 15], [25, 26]] {
            ch.begin(&rows);
            ch.evict_for_missing();
            for c in std::mem::take(&mut ch.missing) {
                ch.claim(c);
            }
            ch.end();
        }
        // batch 1 read chunks 0, 1; batch 2 needs chunk 2: chunk 0 and 1 share a stamp,
        // one of them goes
        assert!(ch.slot_of(2).is_some());
        assert_eq!((0..10).filter(|&c| ch.slot_of(c).is_some()).count(), 2);
        // a batch of five chunks holds them all, then ends at cap
        ch.begin(&[30, 40, 50, 60, 70]);
        ch.evict_for_missing();
        for c in std::mem::take(&mut ch.missing) {
            ch.claim(c);
        }
        assert_eq!((0..10).filter(|&c| ch.slot_of(c).is_some()).count(), 5);
        ch.end();
        assert_eq!((0..10).filter(|&c| ch.slot_of(c).is_some()).count(), 2);
    }
}
