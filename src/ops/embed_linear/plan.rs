//! The plan of a factorised product: which parts of the concatenation are factorised,
//! the distinct ids of each, the U row of every sample's id, and per U row the samples
//! that looked it up. Built once per input and step ([`EmbedScratch::plan`]) and copied
//! into the `idx` of every node that uses it, in the order [`Layout`] describes.

use super::{EmbedLinearMode, MAX_DISTINCT_SHARE};
use crate::autograd::{Node, Op, Var};

/// Where things are in the node's `idx`:
///
/// ```text
/// [n_fact, n_dense, u_total]
/// n_fact × [part node, column offset, first U row, u]
/// n_dense × [part node, column offset]
/// inv:   (B, n_fact)   U row of sample i's id in factorised part k
/// uniq:  u_total       table row of each U row
/// rep:   u_total       a sample that looked that row up
/// start: u_total + 1   CSR starts of the sample lists
/// list:  B · n_fact    samples per U row, in sample order
/// ```
#[derive(Clone, Copy)]
pub(super) struct Layout {
    pub(super) rows: usize,
    pub(super) nf: usize,
    pub(super) nd: usize,
    pub(super) ut: usize,
}

impl Layout {
    pub(super) fn read(idx: &[u32], rows: usize) -> Layout {
        Layout {
            rows,
            nf: idx[0] as usize,
            nd: idx[1] as usize,
            ut: idx[2] as usize,
        }
    }
    /// (part node, column offset, first U row, u) of factorised part k.
    pub(super) fn fact(&self, idx: &[u32], k: usize) -> (Var, usize, usize, usize) {
        let o = 3 + 4 * k;
        (
            Var::slot(idx[o]),
            idx[o + 1] as usize,
            idx[o + 2] as usize,
            idx[o + 3] as usize,
        )
    }
    /// (part node, column offset) of dense part k.
    pub(super) fn dense(&self, idx: &[u32], k: usize) -> (Var, usize) {
        let o = 3 + 4 * self.nf + 2 * k;
        (Var::slot(idx[o]), idx[o + 1] as usize)
    }
    pub(super) fn inv(&self) -> usize {
        3 + 4 * self.nf + 2 * self.nd
    }
    pub(super) fn uniq(&self) -> usize {
        self.inv() + self.rows * self.nf
    }
    pub(super) fn rep(&self) -> usize {
        self.uniq() + self.ut
    }
    pub(super) fn start(&self) -> usize {
        self.rep() + self.ut
    }
    pub(super) fn list(&self) -> usize {
        self.start() + self.ut + 1
    }
}

/// Reusable planning buffers (owned by the graph, so a steady-state step allocates
/// nothing).
#[derive(Debug, Default)]
pub(crate) struct EmbedScratch {
    /// The plan (the `idx` of the nodes that use it), and which input, step and mode it
    /// is for; `ok` false: nothing to factorise there.
    pub(super) plan: Vec<u32>,
    pub(super) key: Option<(u32, u64, EmbedLinearMode)>,
    pub(super) ok: bool,
    /// Id → U row while counting one part.
    slot: Vec<u32>,
    /// (part node, column offset, first U row, u) of the factorised parts.
    fact: Vec<[u32; 4]>,
    /// (part node, column offset) of the dense parts.
    dense: Vec<[u32; 2]>,
    uniq: Vec<u32>,
    rep: Vec<u32>,
    counts: Vec<u32>,
    /// U row per sample, part-major: (n_fact, B).
    inv: Vec<u32>,
}

/// Distinct ids of one gathered part: appends its U rows (first U row `uniq.len()`) to
/// `uniq` / `rep` / `counts` and its U row per sample to `inv`. Ids come out in increasing
/// order (a counting pass when the largest id is small, else a sort), so the plan does not
/// depend on sample order.
fn distinct(ids: &[u32], sc: &mut EmbedScratch) {
    let u0 = sc.uniq.len() as u32;
    let top = ids.iter().copied().max().map_or(0, |m| m as usize + 1);
    if top <= 4 * ids.len().max(64) {
        sc.slot.clear();
        sc.slot.resize(top, u32::MAX);
        for &id in ids {
            sc.slot[id as usize] = 0; // seen
        }
        let mut next = u0;
        for (v, w) in sc.slot.iter_mut().enumerate() {
            if *w == 0 {
                *w = next;
                next += 1;
                sc.uniq.push(v as u32);
                sc.rep.push(0);
                sc.counts.push(0);
            }
        }
        for (i, &id) in ids.iter().enumerate() {
            let r = sc.slot[id as usize];
            sc.inv.push(r);
            if sc.counts[r as usize] == 0 {
                sc.rep[r as usize] = i as u32;
            }
            sc.counts[r as usize] += 1;
        }
    } else {
        // sample indices sorted by (id, sample): runs of equal ids
        let inv0 = sc.inv.len();
        sc.inv.resize(inv0 + ids.len(), 0);
        sc.slot.clear();
        sc.slot.extend(0..ids.len() as u32);
        sc.slot.sort_unstable_by_key(|&i| (ids[i as usize], i));
        let mut prev = None;
        for &i in &sc.slot {
            let id = ids[i as usize];
            if prev != Some(id) {
                prev = Some(id);
                sc.uniq.push(id);
                sc.rep.push(i);
                sc.counts.push(0);
            }
            let r = sc.uniq.len() - 1;
            sc.inv[inv0 + i as usize] = r as u32;
            sc.counts[r] += 1;
        }
    }
}

impl EmbedScratch {
    /// Plans `x · W` over the parts of the concatenation `parts` (node list of `x`), `rows`
    /// rows; false when no part is worth factorising.
    pub(super) fn plan(
        &mut self,
        nodes: &[Node],
        parts: &[u32],
        rows: usize,
        always: bool,
    ) -> bool {
        self.fact.clear();
        self.dense.clear();
        self.uniq.clear();
        self.rep.clear();
        self.counts.clear();
        self.inv.clear();
        let mut off = 0u32;
        for &p in parts {
            let pn = &nodes[p as usize];
            let mut taken = false;
            if matches!(pn.op, Op::Gather { .. }) {
                let (u0, inv0) = (self.uniq.len(), self.inv.len());
                distinct(&pn.idx, self);
                let u = self.uniq.len() - u0;
                if always || MAX_DISTINCT_SHARE * u <= rows {
                    self.fact.push([p, off, u0 as u32, u as u32]);
                    taken = true;
                } else {
                    self.uniq.truncate(u0);
                    self.rep.truncate(u0);
                    self.counts.truncate(u0);
                    self.inv.truncate(inv0);
                }
            }
            if !taken {
                self.dense.push([p, off]);
            }
            off += pn.cols as u32;
        }
        if self.fact.is_empty() {
            return false;
        }
        // the node's idx, in `Layout` order
        let (nf, ut) = (self.fact.len(), self.uniq.len());
        let plan = &mut self.plan;
        plan.clear();
        plan.extend([nf as u32, self.dense.len() as u32, ut as u32]);
        plan.extend(self.fact.iter().flatten());
        plan.extend(self.dense.iter().flatten());
        for i in 0..rows {
            plan.extend((0..nf).map(|k| self.inv[k * rows + i]));
        }
        plan.extend_from_slice(&self.uniq);
        plan.extend_from_slice(&self.rep);
        let start0 = plan.len();
        let mut acc = 0u32;
        plan.push(0);
        for &c in &self.counts {
            acc += c;
            plan.push(acc);
        }
        // sample lists: counts become fill positions
        let list0 = plan.len();
        plan.resize(list0 + rows * nf, 0);
        let fill = &mut self.counts;
        fill.copy_from_slice(&plan[start0..start0 + ut]);
        for i in 0..rows {
            for k in 0..nf {
                let r = self.inv[k * rows + i] as usize;
                plan[list0 + fill[r] as usize] = i as u32;
                fill[r] += 1;
            }
        }
        true
    }
}
