//! Which catalogue items are candidates for one user: the allow-list (if any), minus
//! the user's history (items seen in the training split, when `exclude_history`).
//! The per-category cap is applied while the list is picked ([`super::topk::top_k_capped`]).

use std::collections::HashSet;

/// The candidate item indices of one user, ascending.
///
/// `n_items`: catalogue size; `allow`: the allow-list (catalogue indices), `None` = all;
/// `history`: the user's training items, left out when `exclude` is set.
pub fn candidates(
    n_items: usize,
    allow: Option<&[u32]>,
    history: Option<&HashSet<u32>>,
    exclude: bool,
) -> Vec<u32> {
    let keep = |i: &u32| !(exclude && history.is_some_and(|h| h.contains(i)));
    let mut out: Vec<u32> = match allow {
        Some(a) => a
            .iter()
            .copied()
            .filter(|i| (*i as usize) < n_items)
            .filter(keep)
            .collect(),
        None => (0..n_items as u32).filter(keep).collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}
