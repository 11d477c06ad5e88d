//! The one-pass build's spill: each chunk's kept rows as pass 1 parsed them, written
//! once to a temp file in the cache's temp folder, read back by the copy pass (copy.rs)
//! instead of parsing the data file a second time.
//!
//! ```text
//! spill file   chunk 0 record ‖ chunk 1 record ‖ …     (pwrite at the next free byte,
//!                                                       chunks in file order)
//! record       sets  (n,) u8       line (n,) u32        cat (n, F_cat + F_bag) u32
//!              num   (n, F_num) f32                     labels, mask (n, K) f32
//!              text  (n, F_text) u32 (final ids: TextFit numbers texts as it merges)
//!              per categorical feature: its chunk-local code → provisional id (u32)
//!              per multi-hot feature, per chunk-local cell: its provisional token ids
//! ```
//! Every array is a little-endian `u64` length, then its words. A provisional id is a
//! value's slot in `fit::VocabFit` + 1 (0 = missing); the copy pass maps it to the
//! final id (min_count, hashing, temporal order are only known after pass 1).
//!
//! The file is removed when the [`Spill`] is dropped: after the copy pass, on an error,
//! and when the build falls back to the in-memory reader. Memory: none per row; the
//! page cache holds the file (about the size of the cache itself).

use super::encode::io_err;
use super::fit::{cell_tokens, VocabFit};
use super::parse::Parsed;
use super::plan::Plan;
use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One chunk's kept rows, encoded but for the categorical ids.
#[derive(Default)]
pub(super) struct ChunkRec {
    /// Each row's set.                                       (n,)
    pub sets: Vec<u8>,
    /// Local lines.                                          (n,)
    pub line: Vec<u32>,
    /// Chunk-local codes.                                    (n, F_cat + F_bag)
    pub cat: Vec<u32>,
    /// Numbers, NaN = missing.                               (n, F_num)
    pub num: Vec<f32>,
    /// Labels and masks.                                     (n, K) each
    pub labels: Vec<f32>,
    pub mask: Vec<f32>,
    /// Final text ids.                                       (n, F_text)
    pub text: Vec<u32>,
    /// Per categorical feature: local code → provisional id.
    pub prov: Vec<Vec<u32>>,
    /// Per multi-hot feature, per local cell: its provisional token ids.
    pub lists: Vec<Vec<Vec<u32>>>,
}

/// The record of chunk `p` (its columns moved): `sets` its rows' sets, `prov` and
/// `lists` its provisional ids, `text` its rows' text ids.
pub(super) fn record(
    p: Parsed,
    sets: Vec<u8>,
    prov: Vec<Vec<u32>>,
    lists: Vec<Vec<Vec<u32>>>,
    text: Vec<u32>,
) -> ChunkRec {
    ChunkRec {
        sets,
        line: p.line,
        cat: p.cat,
        num: p.num,
        labels: p.labels,
        mask: p.mask,
        text,
        prov,
        lists,
    }
}

/// Writes the numbers, labels and masks of `p` (the bulk of a record) to the spill
/// from the parsing thread, so the sequential part of pass 1 writes only the rest;
/// `p.spilled` says where (or the write's error). The numbers stay in `p` for the
/// numeric fit (fit_num.rs), which drops them. Not with `data.dedup`, whose repeated
/// rows are known only in file order.
pub(super) fn spill_bulk(spill: &Spill, p: &mut Parsed) {
    let bulk = ChunkRec {
        num: std::mem::take(&mut p.num),
        labels: std::mem::take(&mut p.labels),
        mask: std::mem::take(&mut p.mask),
        ..Default::default()
    };
    p.spilled = Some(spill.append(&bulk.encode()));
    p.num = bulk.num;
}

/// Per multi-hot feature of chunk `p` (its cells are `p.dict[fc + b]`), per local
/// cell: its list as `features::vocab::encode_bags` makes it, in provisional ids
/// (a missing cell: [0]; a missing token: 0), new tokens registered in `vocab`.
pub(super) fn bag_lists(
    p: &Parsed,
    fc: usize,
    plan: &Plan<'_>,
    vocab: &mut [VocabFit],
) -> Vec<Vec<Vec<u32>>> {
    (plan.bags.iter().zip(vocab).enumerate())
        .map(|(b, ((_, sep), vocab))| {
            (p.dict[fc + b].iter())
                .map(|t| match cell_tokens(t.as_deref(), sep, &plan.missing) {
                    None => vec![0],
                    Some(toks) => (toks.iter())
                        .map(|x| x.map_or(0, |x| vocab.token(x)))
                        .collect(),
                })
                .collect()
        })
        .collect()
}

/// Appends a length and the words `w(i)` for i < n.
fn put(buf: &mut Vec<u8>, n: usize, w: impl Fn(usize) -> u32) {
    buf.extend_from_slice(&(n as u64).to_le_bytes());
    let at = buf.len();
    buf.resize(at + 4 * n, 0);
    for (i, o) in buf[at..].chunks_exact_mut(4).enumerate() {
        o.copy_from_slice(&w(i).to_le_bytes());
    }
}

/// Reads what [`put`] wrote.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn len(&mut self) -> std::result::Result<usize, ()> {
        let b = self.buf.get(self.at..self.at + 8).ok_or(())?;
        self.at += 8;
        let n = u64::from_le_bytes(b.try_into().map_err(|_| ())?);
        usize::try_from(n).map_err(|_| ())
    }
    fn words(&mut self) -> std::result::Result<Vec<u32>, ()> {
        let n = self.len()?;
        let end = n
            .checked_mul(4)
            .and_then(|b| b.checked_add(self.at))
            .ok_or(())?;
        let b = self.buf.get(self.at..end).ok_or(())?;
        self.at = end;
        Ok((b.chunks_exact(4))
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect())
    }
    fn floats(&mut self) -> std::result::Result<Vec<f32>, ()> {
        Ok(self.words()?.into_iter().map(f32::from_bits).collect())
    }
}

/// The first seven arrays of a record (sets, line, cat, num, labels, mask, text) as the
/// bytes of their words, read in place (no copy): what the numeric fit (fit_num.rs)
/// reads through the spill's memory map. `Err(())` when `buf` is not a record.
pub(super) fn arrays(buf: &[u8]) -> std::result::Result<[&[u8]; 7], ()> {
    let mut out: [&[u8]; 7] = [&[]; 7];
    let mut at = 0usize;
    for a in out.iter_mut() {
        let len = buf.get(at..at + 8).ok_or(())?;
        let n =
            usize::try_from(u64::from_le_bytes(len.try_into().map_err(|_| ())?)).map_err(|_| ())?;
        let end = (n.checked_mul(4))
            .and_then(|b| b.checked_add(at + 8))
            .ok_or(())?;
        *a = buf.get(at + 8..end).ok_or(())?;
        at = end;
    }
    Ok(out)
}

impl ChunkRec {
    /// The record's bytes.
    pub(super) fn encode(&self) -> Vec<u8> {
        let n = self.sets.len();
        let words = self.cat.len() + self.num.len() + 2 * self.labels.len() + self.text.len();
        let mut buf = Vec::with_capacity(16 * 8 + 5 * n + 4 * words);
        put(&mut buf, n, |i| self.sets[i] as u32);
        put(&mut buf, n, |i| self.line[i]);
        put(&mut buf, self.cat.len(), |i| self.cat[i]);
        put(&mut buf, self.num.len(), |i| self.num[i].to_bits());
        put(&mut buf, self.labels.len(), |i| self.labels[i].to_bits());
        put(&mut buf, self.mask.len(), |i| self.mask[i].to_bits());
        put(&mut buf, self.text.len(), |i| self.text[i]);
        buf.extend_from_slice(&(self.prov.len() as u64).to_le_bytes());
        for p in &self.prov {
            put(&mut buf, p.len(), |i| p[i]);
        }
        buf.extend_from_slice(&(self.lists.len() as u64).to_le_bytes());
        for cells in &self.lists {
            buf.extend_from_slice(&(cells.len() as u64).to_le_bytes());
            for l in cells {
                put(&mut buf, l.len(), |i| l[i]);
            }
        }
        buf
    }

    /// The record [`encode`](Self::encode) wrote as `buf`; `Err(())` when it is not one.
    fn decode(buf: &[u8]) -> std::result::Result<ChunkRec, ()> {
        let mut r = Reader { buf, at: 0 };
        let sets = r.words()?.into_iter().map(|s| s as u8).collect();
        let mut rec = ChunkRec {
            sets,
            line: r.words()?,
            cat: r.words()?,
            num: r.floats()?,
            labels: r.floats()?,
            mask: r.floats()?,
            text: r.words()?,
            ..Default::default()
        };
        for _ in 0..r.len()? {
            rec.prov.push(r.words()?);
        }
        for _ in 0..r.len()? {
            let cells = r.len()?;
            let mut lists = Vec::with_capacity(cells.min(buf.len()));
            for _ in 0..cells {
                lists.push(r.words()?);
            }
            rec.lists.push(lists);
        }
        Ok(rec)
    }
}

/// The spill file being written (pass 1) and read (the copy pass).
pub(super) struct Spill {
    file: File,
    path: PathBuf,
    /// Bytes written so far: where the next record goes.
    end: AtomicU64,
}

impl Spill {
    /// Creates `spill.bin` in the build's temp folder `tmp`.
    pub(super) fn create(tmp: &Path) -> Result<Spill> {
        let path = tmp.join("spill.bin");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        Ok(Spill {
            file,
            path,
            end: AtomicU64::new(0),
        })
    }

    /// Writes a record after the ones before; its (offset, length).
    pub(super) fn append(&self, bytes: &[u8]) -> Result<(u64, u64)> {
        let at = self.end.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.file
            .write_all_at(bytes, at)
            .map_err(|e| io_err(&self.path, e))?;
        Ok((at, bytes.len() as u64))
    }

    /// The record at `rest`, its numbers, labels and masks from `bulk` where written
    /// apart ([`spill_bulk`]; length 0: in `rest`).
    pub(super) fn read(&self, [bulk, rest]: [(u64, u64); 2]) -> Result<ChunkRec> {
        let mut rec = self.read_one(rest)?;
        if bulk.1 > 0 {
            let b = self.read_one(bulk)?;
            (rec.num, rec.labels, rec.mask) = (b.num, b.labels, b.mask);
        }
        Ok(rec)
    }

    fn read_one(&self, (at, len): (u64, u64)) -> Result<ChunkRec> {
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(1 << 40)];
        self.file
            .read_exact_at(&mut buf, at)
            .map_err(|e| io_err(&self.path, e))?;
        ChunkRec::decode(&buf).map_err(|()| Error::Io {
            path: self.path.display().to_string(),
            message: "the build's spill file holds a damaged record (changed by another process?); delete the cache folder and run again".into(),
        })
    }

    /// Cuts the file to `len` bytes (the records past it are copied): their pages go
    /// back to the page cache before the set files take new ones.
    pub(super) fn cut(&self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(|e| io_err(&self.path, e))
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file mapped for reading (pass 1 has written every record).
    pub(super) fn map(&self) -> Result<memmap2::Mmap> {
        // SAFETY: the spill is this build's own file in its temp folder; nothing writes or
        // cuts it while the map lives (the numeric fit reads it before the copy pass).
        unsafe { memmap2::Mmap::map(&self.file) }.map_err(|e| io_err(&self.path, e))
    }

    /// Chunk `at`'s row sets (one u32 word each) and numbers ((n, F_num) f32 words,
    /// row-major) in `map` ([`Spill::map`]): the numbers from the bulk record where
    /// written apart, else from the rest (`data.dedup`).
    pub(super) fn sets_and_numbers<'m>(
        &self,
        map: &'m [u8],
        [bulk, rest]: [(u64, u64); 2],
    ) -> Result<(&'m [u8], &'m [u8])> {
        let record = |(at, len): (u64, u64)| {
            let (at, len) = (usize::try_from(at).ok()?, usize::try_from(len).ok()?);
            arrays(map.get(at..at.checked_add(len)?)?).ok()
        };
        let bad = || {
            Error::Io {
            path: self.path.display().to_string(),
            message: "the build's spill file holds a damaged record (changed by another process?); delete the cache folder and run again".into(),
        }
        };
        let rest = record(rest).ok_or_else(bad)?;
        let num = match bulk.1 {
            0 => rest[3],
            _ => record(bulk).ok_or_else(bad)?[3],
        };
        Ok((rest[0], num))
    }

    /// Its size in bytes.
    pub(super) fn bytes(&self) -> u64 {
        self.end.load(Ordering::Relaxed)
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let rec = ChunkRec {
            sets: vec![0, 2, 3],
            line: vec![1, 5, 9],
            cat: vec![0, 1, 2, 3, 4, 5],
            num: vec![1.5, f32::NAN, -0.0],
            labels: vec![1.0, 0.0, 1.0],
            mask: vec![1.0, 1.0, 0.0],
            text: vec![7, 8, 9],
            prov: vec![vec![0, 3, 1]],
            lists: vec![vec![vec![0], vec![2, 1], vec![]]],
        };
        let back = ChunkRec::decode(&rec.encode()).unwrap();
        assert_eq!(back.sets, rec.sets);
        assert_eq!(back.line, rec.line);
        assert_eq!(back.cat, rec.cat);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.num), bits(&rec.num));
        assert_eq!(bits(&back.labels), bits(&rec.labels));
        assert_eq!(bits(&back.mask), bits(&rec.mask));
        assert_eq!(back.text, rec.text);
        assert_eq!(back.prov, rec.prov);
        assert_eq!(back.lists, rec.lists);
        let bytes = rec.encode();
        assert!(ChunkRec::decode(&bytes[..bytes.len() - 3]).is_err());
        // the arrays in place: the same words as decoded
        let a = arrays(&bytes).unwrap();
        let words = |b: &[u8]| -> Vec<u32> {
            b.chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect()
        };
        assert_eq!(words(a[0]), vec![0, 2, 3]);
        assert_eq!(words(a[3]), bits(&rec.num));
        assert_eq!(words(a[6]), rec.text);
        assert!(arrays(&bytes[..40]).is_err());
    }
}
