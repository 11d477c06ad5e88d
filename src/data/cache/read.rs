//! The `pread` reads of a cached set: mini-batches through the resident chunks
//! (window.rs), and contiguous column ranges for the sequential scans (labels for the
//! metrics, the baselines' column passes, the text-id check). The map's twin of
//! [`CachedSet::batch_chunked`] is [`CachedSet::batch_mapped`] (mapped.rs), which the tests
//! compare it with (tests/s10rss_window.rs, tests/s11win_rows.rs).
//!
//! A chunk is read a piece at a time, column by column (the file's layout), into a
//! column-major scratch and transposed into the slot's row-major records
//! ([`window::transpose_into_rows`], its naive twin beside it); a batch then copies
//! each of its rows' records (≈ 5 cache lines for 83 columns) into the batch's columns,
//! in batch order, so the batch is written front to back.

use super::file::CachedSet;
use super::window::{self, Chunks, Slot, SlotBag};
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

    /// Reads chunk c (rows [c·C, c·C + len)) into `slot`: per piece of P rows, one
    /// `pread` per fixed-width column into `scratch` (F_w, P), transposed into the
    /// slot's records (C, F_w); two `pread`s per multi-hot feature (its offsets, then the
    /// ids they span). The slot's buffer is kept when it already has the size.
    fn load(&self, c_rows: usize, c: usize, slot: &mut Slot, scratch: &mut Vec<u8>) {
        let lo = c * c_rows;
        let len = c_rows.min(self.lay.n - lo);
        let f_w = self.cols.len();
        let p = window::piece_rows(c_rows, f_w);
        slot.words.ensure(4 * c_rows * f_w); // (C, F_w)
        scratch.resize(4 * p * f_w, 0); // (F_w, P)
        let words = slot.words.bytes_mut().as_chunks_mut::<4>().0;
        for p0 in (0..len).step_by(p) {
            let m = p.min(len - p0); // rows of this piece
            for (j, &base) in self.cols.iter().enumerate() {
                let at = 4 * j * p;
                self.read_at(&mut scratch[at..at + 4 * m], base + 4 * (lo + p0));
            }
            let src = scratch.as_chunks::<4>().0;
            window::transpose_into_rows(&mut words[p0 * f_w..(p0 + m) * f_w], src, p, m, f_w);
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
    /// into `out` (already sized to B rows): row by row in list order (batch order), each
    /// row's record (F_w contiguous words) scattered into the batch's columns.
    fn fill_fixed(&self, ch: &Chunks, list: &[(usize, usize, usize)], out: &mut EncodedBatch) {
        let lay = self.lay;
        let f_w = self.cols.len();
        // where each kind of column starts in a record (window::columns' order)
        let (jn, jy) = (lay.n_cat, lay.n_cat + lay.n_num);
        let (jm, jt) = (jy + lay.k, jy + 2 * lay.k);
        for &(i, s, l) in list {
            let rec = ch.slots[s].record(f_w, l); // (F_w,)
            for (o, w) in out.cat.iter_mut().zip(&rec[..jn]) {
                o[i] = u32::from_le_bytes(*w); // cat[f][i]
            }
            let num = &mut out.num[i * lay.n_num..(i + 1) * lay.n_num]; // row i of (B, F_num)
            for (x, w) in num.iter_mut().zip(&rec[jn..jy]) {
                *x = f32::from_le_bytes(*w);
            }
            for t in 0..lay.k {
                out.labels[t][i] = f32::from_le_bytes(rec[jy + t]);
                out.mask[t][i] = f32::from_le_bytes(rec[jm + t]);
            }
            for ((o, x), w) in out.text.iter_mut().zip(&self.texts).zip(&rec[jt..]) {
                let id = u32::from_le_bytes(*w) as usize;
                o[i * x.dim..(i + 1) * x.dim] // row i of (B, D_t)
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
        self.fill_fixed(ch, &list, out);
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
        // the scratch lives for this batch only: a window's chunks are read by its first
        // batches, and a kept scratch would count against the reader's bound
        let mut scratch = Vec::new();
        for &c in &missing {
            let s = ch.claim(c);
            self.load(cr, c, &mut ch.slots[s], &mut scratch);
        }
        drop(scratch);
        ch.missing = missing;
        list.clear();
        (list).extend(rows.iter().enumerate().filter_map(|(i, &r)| {
            let c = r / cr;
            (ch.missing.contains(&c)).then(|| (i, ch.slot_of(c).expect("claimed above"), r % cr))
        }));
        self.fill_fixed(ch, &list, out);
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
