//! Top-K of scored candidates by partial selection: `select_nth_unstable` puts the K
//! best first in O(N), then only those K are sorted (O(N + K log K), no full sort).
//!
//! Order: higher score first; equal scores by smaller item index (the catalogue is
//! sorted by item id, so ties are broken by item id and the result is deterministic).
//! NaN scores never reach a list.

use std::cmp::Ordering;

/// One scored candidate: (score, item index in the catalogue).
pub type Scored = (f32, u32);

/// Best-first order of two candidates.
pub fn better(a: &Scored, b: &Scored) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The `k` best of `cands`, best first. `cands` is reordered.
pub fn top_k(cands: &mut Vec<Scored>, k: usize) -> Vec<Scored> {
    cands.retain(|c| !c.0.is_nan());
    let k = k.min(cands.len());
    if k == 0 {
        return Vec::new();
    }
    if k < cands.len() {
        cands.select_nth_unstable_by(k - 1, better);
    }
    let mut out = cands[..k].to_vec();
    out.sort_unstable_by(better);
    out
}

/// The `k` best of `cands` with at most `cap` items per category value:
/// `category[item]` is the item's value code. Greedy in best-first order (the list a
/// full sort followed by a walk would give); the walk starts on the best 4·k and
/// doubles the selection only when the cap rejected too many.
pub fn top_k_capped(
    cands: &mut Vec<Scored>,
    k: usize,
    category: &[u32],
    cap: usize,
) -> Vec<Scored> {
    cands.retain(|c| !c.0.is_nan());
    let n = cands.len();
    let mut m = (4 * k).max(1).min(n);
    loop {
        let head = top_k(cands, m);
        let mut count = std::collections::HashMap::<u32, usize>::new();
        let mut out = Vec::with_capacity(k);
        for c in &head {
            let n_c = count.entry(category[c.1 as usize]).or_insert(0);
            if *n_c < cap {
                *n_c += 1;
                out.push(*c);
                if out.len() == k {
                    return out;
                }
            }
        }
        if m >= n {
            return out;
        }
        m = (2 * m).min(n);
    }
}
