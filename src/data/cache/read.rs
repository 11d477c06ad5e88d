//! The `pread` reads of a cached set: mini-batches through the resident chunks
//! (window.rs), and contiguous column ranges for the sequential scans (labels for the
//! metrics, the baselines' column passes, the text-id check). The map's twin of
//! [`CachedSet::batch_chunked`] is [`CachedSet::batch_mapped`] (mapped.rs), which the tests
//! compare it with.

use super::file::CachedSet;
use super::window::{Chunks, Slot, SlotBag};
use crate::data::features::{Bags, EncodedBatch};

/// Words per `pread` of a sequential scan: 256 KiB.
const SCAN_WORDS: usize = 65_536;

impl CachedSet {
    /// Reads `buf.len()` bytes at byte `off` of the set's file.
    ///
    /// Panics when the read fails: the file was checked when it was opened and is never
    /// written afterwards, so a failure means the file was changed or truncated under the
    /// run, or the disk failed (where the map this replaces would have raised SIGBUS).
    pub(super) fn read_at(&self, buf: &mut [u8], off: usize) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            if let Err(e) = self.file.read_exact_at(buf, off as u64) {
                panic!(
                    "reading {} bytes at byte {off} of {} failed: {e}; the cache file was changed under the run or the disk failed: delete the cache folder and run again",
                    buf.len(),
                    self.path.display()
                );
            }
        }
        #[cfg(not(unix))]
        buf.copy_from_slice(&self.map[off..off + buf.len()]);
    }

    /// Calls `f` on each of the `count` 4-byte words at byte `off`, in order, reading
    /// [`SCAN_WORDS`] at a time into one buffer: no page of the file is mapped.
    pub(super) fn scan_words(&self, off: usize, count: usize, mut f: impl FnMut([u8; 4])) {
        let mut buf = vec![0u8; 4 * SCAN_WORDS.min(count)];
        let mut done = 0;
        while done < count {
            let n = SCAN_WORDS.min(count - done);
            let b = &mut buf[..4 * n];
            self.read_at(b, off + 4 * done);
            b.as_chunks::<4>().0.iter().for_each(|w| f(*w));
            done += n;
        }
    }

    /// Reads chunk c (rows [c·C, c·C + len)) into `slot`: one `pread` per fixed-width
    /// column, two per multi-hot feature (its offsets, then the ids they span).
    fn load(&self, c_rows: usize, c: usize, slot: &mut Slot) {
        let lo = c * c_rows;
        let len = c_rows.min(self.lay.n - lo);
        slot.words.ensure(4 * c_rows * self.cols.len()); // (F_w, C)
        let words = slot.words.bytes_mut();
        for (j, &base) in self.cols.iter().enumerate() {
            let at = 4 * j * c_rows;
            self.read_at(&mut words[at..at + 4 * len], base + 4 * lo);
        }
        slot.bags.resize_with(self.bags.len(), SlotBag::default);
        for (at, o) in self.bags.iter().zip(&mut slot.bags) {
            let mut raw = vec![0u8; 8 * (len + 1)];
            self.read_at(&mut raw, at.offsets + 8 * lo);
            o.offsets.clear();
            (o.offsets).extend(
                raw.as_chunks::<8>()
                    .0
                    .iter()
                    .map(|w| u64::from_le_bytes(*w)),
            );
            let (s, e) = (o.offsets[0] as usize, o.offsets[len] as usize);
            o.ids.clear();
            self.scan_words(at.ids + 4 * s, e - s, |w| o.ids.push(u32::from_le_bytes(w)));
        }
    }

    /// Copies the fixed-width columns of the rows `list` = (position i, slot, local row)
    /// into `out` (already sized to B rows).
    fn fill_fixed(&self, ch: &Chunks, list: &mut [(usize, usize, usize)], out: &mut EncodedBatch) {
        let (lay, cr) = (self.lay, ch.rows);
        // ascending through each chunk's columns, so the reads stream (the writes stay
        // within the batch's few hundred KB)
        list.sort_unstable_by_key(|&(_, s, l)| (s, l));
        let list = &*list;
        let word = |j: usize, s: usize, l: usize| ch.slots[s].word(cr, j, l);
        for (f, o) in out.cat.iter_mut().enumerate() {
            for &(i, s, l) in list {
                o[i] = u32::from_le_bytes(word(f, s, l)); // cat[f][i]
            }
        }
        for f in 0..lay.n_num {
            let j = lay.n_cat + f;
            for &(i, s, l) in list {
                out.num[i * lay.n_num + f] = f32::from_le_bytes(word(j, s, l)); // (B, F_num)
            }
        }
        for t in 0..lay.k {
            let (jy, jm) = (lay.n_cat + lay.n_num + t, lay.n_cat + lay.n_num + lay.k + t);
            for &(i, s, l) in list {
                out.labels[t][i] = f32::from_le_bytes(word(jy, s, l));
                out.mask[t][i] = f32::from_le_bytes(word(jm, s, l));
            }
        }
        for (t, x) in self.texts.iter().enumerate() {
            let j = lay.n_cat + lay.n_num + 2 * lay.k + t;
            let o = &mut out.text[t]; // (B, D_t)
            for &(i, s, l) in list {
                let id = u32::from_le_bytes(word(j, s, l)) as usize;
                o[i * x.dim..(i + 1) * x.dim]
                    .copy_from_slice(&x.table[id * x.dim..(id + 1) * x.dim]);
            }
        }
    }

    /// [`crate::data::rows::Rows::batch`] through the resident chunks `ch`: the rows of
    /// resident chunks are copied first (multi-hot lists into `held`), then the least
    /// recently read chunks make room for the missing ones, which are read and copied.
    /// So a window's first batch, whose leading rows were carried over from the last
    /// window, holds the new window's chunks and not both windows'.
    pub(super) fn batch_chunked(&self, ch: &mut Chunks, rows: &[usize], out: &mut EncodedBatch) {
        let (lay, b) = (self.lay, rows.len());
        out.rows = b;
        out.n_num = lay.n_num;
        out.cat.resize_with(lay.n_cat, Vec::new);
        out.cat.iter_mut().for_each(|v| {
            v.clear();
            v.resize(b, 0); // (B,)
        });
        out.num.clear();
        out.num.resize(b * lay.n_num, 0.0); // (B, F_num)
        for m in [&mut out.labels, &mut out.mask] {
            m.resize_with(lay.k, Vec::new);
            m.iter_mut().for_each(|v| {
                v.clear();
                v.resize(b, 0.0); // (B,)
            });
        }
        out.text.resize_with(self.texts.len(), Vec::new);
        for (o, x) in out.text.iter_mut().zip(&self.texts) {
            o.clear();
            o.resize(b * x.dim, 0.0); // (B, D_t)
        }
        let cr = ch.rows;
        ch.begin(rows);
        // the rows of chunks resident before this batch
        let mut list = std::mem::take(&mut ch.list);
        list.clear();
        (list).extend(
            rows.iter()
                .enumerate()
                .filter_map(|(i, &r)| ch.slot_of(r / cr).map(|s| (i, s, r % cr))),
        );
        self.fill_fixed(ch, &mut list, out);
        let mut held = std::mem::take(&mut ch.held);
        held.resize_with(lay.n_bag, Bags::default);
        let mut from_held = std::mem::take(&mut ch.from_held);
        from_held.clear();
        from_held.resize(if lay.n_bag > 0 { b } else { 0 }, u32::MAX);
        for (bf, h) in held.iter_mut().enumerate() {
            h.clear();
            for (k, &(i, s, l)) in list.iter().enumerate() {
                h.push(ch.slots[s].bags[bf].list(l));
                from_held[i] = k as u32;
            }
        }
        // the missing chunks, read into the slots the oldest chunks leave
        ch.evict_for_missing();
        let missing = std::mem::take(&mut ch.missing);
        for &c in &missing {
            let s = ch.claim(c);
            self.load(cr, c, &mut ch.slots[s]);
        }
        ch.missing = missing;
        list.clear();
        (list).extend(rows.iter().enumerate().filter_map(|(i, &r)| {
            let c = r / cr;
            (ch.missing.contains(&c)).then(|| (i, ch.slot_of(c).expect("claimed above"), r % cr))
        }));
        self.fill_fixed(ch, &mut list, out);
        // multi-hot lists in row order: from `held`, or from the slots just read
        out.bags.resize_with(lay.n_bag, Bags::default);
        for (bf, o) in out.bags.iter_mut().enumerate() {
            o.clear();
            for (i, &r) in rows.iter().enumerate() {
                match from_held[i] {
                    u32::MAX => {
                        let s = ch.slot_of(r / cr).expect("read above");
                        o.push(ch.slots[s].bags[bf].list(r % cr));
                    }
                    k => o.push(held[bf].bag(k as usize)),
                }
            }
        }
        ch.list = list;
        ch.held = held;
        ch.from_held = from_held;
        ch.end();
    }
}
