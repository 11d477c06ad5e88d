//! `[split] kind = "temporal"`: the sets in time order. The in-memory path keeps each
//! set's rows in time order (`split_rows` sorts them), fits the vocabularies on the
//! training rows in that order and scales from them, so:
//!
//! ```text
//! pass 1   per chunk, per value of a training row: its smallest rank     cat_firsts
//!          (a multi-hot token: (rank, place in the list))                bag_firsts
//!          merged per value: the smallest → VocabFit::finish numbers the values
//!          in that order (first appearance among training rows in time order)
//! pass 2   rows written as for the other splits: each set in file order
//! reorder  per set, perm[q] = the file-order place of its rank-q row; every column
//!          gathered through perm in place (a mapped column copied out, permuted back);
//!          a multi-hot column's list ends rebuilt from the lists' lengths in the new
//!          order and its ids moved list by list
//! then     scaling and the report (scale.rs) read the training column in time order:
//!          the f64 sums of NumSpec::fit in its order, so the same bits
//! ```
//! Memory: the ranks (4 bytes a kept row, split_scan.rs), perm (4 bytes a row) and one
//! column of one set at a time (≤ 8 bytes a row; a bag's ids: 4 bytes an id).

use super::encode::{io_err, SetFile};
use super::fit::{cell_tokens, BagCounts};
use super::parse::Parsed;
use super::split_scan::SplitState;
use crate::error::Result;
use rayon::prelude::*;
use std::collections::HashMap;

/// Per categorical feature, per local code of chunk `p` (rows from kept row `start`;
/// `sets`: their sets): the smallest rank of its training rows (`u64::MAX`: none).
pub(super) fn cat_firsts(
    p: &Parsed,
    sets: &[u8],
    fc: usize,
    state: &SplitState,
    start: u64,
) -> Vec<Vec<u64>> {
    let stride = p.dict.len(); // F_cat + F_bag
    (0..fc)
        .map(|f| {
            let mut first = vec![u64::MAX; p.dict[f].len()];
            for (r, &s) in sets.iter().enumerate() {
                let c = p.cat[r * stride + f] as usize;
                if s == 0 {
                    first[c] = first[c].min(state.rank(start + r as u64));
                }
            }
            first
        })
        .collect()
}

/// Per multi-hot feature, per token of `counts[b]` (its chunk's training tokens): the
/// smallest `(rank << 32) | place in the list` of its training rows.
pub(super) fn bag_firsts(
    p: &Parsed,
    sets: &[u8],
    fc: usize,
    (bags, missing): (&[(usize, String)], &[String]),
    counts: &[BagCounts],
    (state, start): (&SplitState, u64),
) -> Vec<Vec<u64>> {
    let stride = p.dict.len();
    (bags.iter().zip(counts).enumerate())
        .map(|(b, ((_, sep), c))| {
            let local: HashMap<&str, usize> = (c.tokens.iter().enumerate())
                .filter_map(|(i, t)| Some((t.as_deref()?, i)))
                .collect();
            let mut first = vec![u64::MAX; c.tokens.len()];
            for (r, _) in sets.iter().enumerate().filter(|x| *x.1 == 0) {
                let cell = p.dict[fc + b][p.cat[r * stride + fc + b] as usize].as_deref();
                let Some(toks) = cell_tokens(cell, sep, missing) else {
                    continue;
                };
                let rank = state.rank(start + r as u64) << 32;
                for (j, t) in toks.iter().enumerate() {
                    if let Some(&i) = t.and_then(|t| local.get(t)) {
                        first[i] = first[i].min(rank | j as u64);
                    }
                }
            }
            first
        })
        .collect()
}

/// Per set (train, valid, test), `perm[q]`: the place in the written (file-order) set
/// of the row whose time rank within the set is q.                       (N_s,) each
fn perms(state: &SplitState, sizes: [usize; 3]) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = sizes.iter().map(|&n| vec![0; n]).collect();
    let SplitState::Ranks {
        rank,
        n_train,
        n_valid,
    } = state
    else {
        return out;
    };
    let begin = [0, *n_train, *n_valid];
    let mut next = [0u32; 3]; // rows of each set written so far (file order)
    for &k in rank {
        let s = state.set_of_rank(k as u64) as usize;
        out[s][(k as u64 - begin[s]) as usize] = next[s];
        next[s] += 1;
    }
    out
}

/// Reorders the train, valid and test files of a temporal split (written in file order
/// by pass 2) into time order, in place through memory maps.
pub(super) fn reorder(state: &SplitState, sets: &[SetFile]) -> Result<()> {
    if !state.ranked() {
        return Ok(());
    }
    let t0 = std::time::Instant::now();
    let sizes = [sets[0].lay.n, sets[1].lay.n, sets[2].lay.n];
    for (set, perm) in sets.iter().zip(perms(state, sizes)) {
        let n = set.lay.n;
        if n == 0 {
            continue;
        }
        // SAFETY: the set file is this build's own, in its temp folder, written by no one
        // else while mapped (pass 2 has finished; the map is dropped before `sync_all`).
        let mut map =
            unsafe { memmap2::MmapMut::map_mut(&set.file) }.map_err(|e| io_err(&set.path, e))?;
        let lay = set.lay;
        // the 4-byte columns (cat, num, labels, mask, text, src_file), then src_line
        let mut columns: Vec<(usize, usize)> =
            (0..lay.n_cat + lay.n_num + 2 * lay.k + lay.n_text + 1)
                .map(|c| (lay.cat(0) + 4 * n * c, 4))
                .collect();
        columns.push((lay.src_line(), 8));
        for (off, w) in columns {
            permute(&mut map[off..off + w * n], w, &perm);
            release(&map, off, w * n);
        }
        for b in 0..set.bags.len() {
            let start = lay.bag(&set.bags, b);
            let len = 8 * (n + 1) + 4 * set.bags[b];
            permute_bag(&mut map[start..start + len], n, &perm);
            release(&map, start, len);
        }
    }
    eprintln!(
        "data cache: sets reordered into time order in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `col` (N values of `w` bytes) ← `col[perm[q]]` for every q.
fn permute(col: &mut [u8], w: usize, perm: &[u32]) {
    let old = col.to_vec();
    (col.par_chunks_mut(w * 4096).enumerate()).for_each(|(i, out)| {
        for (j, v) in out.chunks_exact_mut(w).enumerate() {
            let p = perm[i * 4096 + j] as usize;
            v.copy_from_slice(&old[w * p..w * p + w]);
        }
    });
}

/// One multi-hot section (N + 1 u64 list ends, then the u32 ids) ← its lists in the
/// order `perm`: new ends from the lists' lengths, the ids moved list by list.
fn permute_bag(section: &mut [u8], n: usize, perm: &[u32]) {
    let (ends, ids) = section.split_at_mut(8 * (n + 1));
    let end = |e: &[u8], r: usize| {
        let b = &e[8 * r..8 * r + 8];
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as usize
    };
    let (old_ends, old_ids) = (ends.to_vec(), ids.to_vec());
    let mut at = 0usize; // ids placed so far
    for (q, &p) in perm.iter().enumerate() {
        let (a, b) = (end(&old_ends, p as usize), end(&old_ends, p as usize + 1));
        ids[4 * at..4 * (at + b - a)].copy_from_slice(&old_ids[4 * a..4 * b]);
        at += b - a;
        ends[8 * (q + 1)..8 * (q + 2)].copy_from_slice(&(at as u64).to_le_bytes());
    }
}

/// Hands the pages of `map[off..off + len]` back to the kernel (as scale.rs does): the
/// reordered columns do not stay resident.
fn release(map: &memmap2::MmapMut, off: usize, len: usize) {
    #[cfg(unix)]
    // SAFETY: a shared file mapping: dropping its pages loses no write (the page cache
    // keeps them), and no slice of this range is alive here.
    unsafe {
        let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, off, len);
    }
    #[cfg(not(unix))]
    let _ = (map, off, len);
}
