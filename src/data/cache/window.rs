//! Reading a cached set's rows with `pread` into a few resident chunks, instead of
//! through the memory map.
//!
//! ```text
//! chunk c = rows [c·C, (c+1)·C)      C = chunk rows (the shuffle block, at most 16,384)
//! slot    = one resident chunk:      words (F_w, C) column-major 4-byte LE values of the
//!                                    fixed-width columns (cat, num, labels, mask, text),
//!                                    bags: offsets (C + 1) u64 and the chunk's ids
//! a batch:  rows whose chunk is resident are copied first; then the least recently used
//!           chunks are evicted until the missing ones fit in `cap` slots; the missing
//!           chunks are read (one `pread` per column) and their rows copied
//! ```
//! Why not the map: on a fault the kernel maps the whole page-cache folio around the
//! faulting page, and read-ahead makes those folios large (up to 2 MB), so reading 64 KiB
//! of a column could map many times that; the pages a window's batches mapped were
//! counted against the process (RssFile 389 MB at 10M rows, 807 MB at 40M) although a
//! window's rows are 87 MB (docs/benchmarks.md, "scale"). Here the resident bytes are
//! the slots and nothing else: `cap` chunks, a window's worth in training (every batch
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
    /// (F_w, C) column-major 4-byte LE values.
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
    /// Value of column j, local row l (chunk rows C).
    #[inline]
    pub(super) fn word(&self, c_rows: usize, j: usize, l: usize) -> [u8; 4] {
        let at = 4 * (j * c_rows + l);
        let w = self.words.bytes();
        [w[at], w[at + 1], w[at + 2], w[at + 3]]
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
