//! A fully connected layer over embedded categorical inputs, factorised per table.
//!
//! When the input of [`Graph::linear_act`] is the input layer's concatenation
//! `x = [T_1[id_1] | … | T_F[id_F] | x_dense]`, the product splits by column blocks of x
//! (and the matching row blocks of W):
//!
//! ```text
//! x: (B, D_in) = [e_1 | … | e_F | x_d]     e_f = T_f[id_f]: (B, d_f)     x_d: (B, D_d)
//! W: (D_in, N) = [W_1; … ; W_F; W_d]       W_f: (d_f, N)                 W_d: (D_d, N)
//! z = x · W + b = b + Σ_f T_f[id_f] · W_f + x_d · W_d                    (B, N)
//! ```
//! A batch of B rows looks up only u_f ≤ B distinct rows of table f (census-income: 2 to
//! 52 of its values in a batch of 1,024). Multiplying those rows once,
//! `U_f = T_f[uniq_f] · W_f` (u_f, N), turns feature f's share of the product into a
//! lookup, `z_i += U_f[inv_f(i)]`: u_f·d_f·N multiply-adds and B row additions instead of
//! B·d_f·N multiply-adds. This op is that factorisation; `linear_act` records it in place
//! of the plain product when it pays (see [`EmbedLinearMode`]). Forward values and
//! gradients equal the plain product's up to rounding (the sums are grouped differently).
//!
//! # Derivation
//!
//! With `dz = dy ⊙ f′(z)` as in `linear_act`, and `S_f[r] = Σ_{i : id_f(i) = uniq_f[r]} dz_i`
//! (u_f, N), the rows of dz summed per distinct id:
//!
//! ```text
//! ∂L/∂W_f = Σ_i e_f,iᵀ dz_i = Σ_r T_f[uniq_f[r]]ᵀ S_f[r] = T_f[uniq_f]ᵀ · S_f   (d_f, N)
//! ∂L/∂T_f[uniq_f[r]] = Σ_{i : id = uniq_f[r]} dz_i · W_fᵀ = S_f[r] · W_fᵀ       (1, d_f)
//! ∂L/∂W_d = x_dᵀ · dz        ∂L/∂x_d = dz · W_dᵀ        ∂L/∂b = Σ_i dz_i
//! ```
//! The embedding gradients go straight into the tables' row-sparse gradients (what the
//! gathers' backward would have added), never through a (B, D_in) gradient of x: that
//! (B, N)·(N, D_in) product is the work the factorisation saves. The gradient of the
//! concatenation node itself therefore receives nothing from this op: consumers of x that
//! take the plain product still send theirs through it, and when every consumer is
//! factorised (MMoE's experts and gates over census-income) the backward pass does not
//! reach the concatenation at all.
//!
//! # Determinism
//!
//! Row i of z is summed by one task in part order; `S_f[r]` by one task in sample order;
//! the small products are the deterministic GEMM. 1 and 2 threads give the same bits.

mod kernels;
mod plan;

use super::gemm::{gemm_accumulate, Gemm};
use super::linear_act::{activate, dz_into, grow, needs_pre};
use crate::autograd::{Graph, Node, Op, ParamStore, UnaryFn, Var};
use kernels::padded;
pub(crate) use plan::EmbedScratch;
use plan::Layout;
use rayon::prelude::*;

/// `Auto` factorises a table when `MAX_DISTINCT_SHARE · u ≤ B` (u distinct ids in a
/// batch of B rows).
pub const MAX_DISTINCT_SHARE: usize = 8;

/// When [`Graph::linear_act`] factorises a product over embedded inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EmbedLinearMode {
    /// Factorise the tables that pay: those with at most B/8 distinct ids in the batch
    /// ([`MAX_DISTINCT_SHARE`]). Measured with `cargo bench --bench embed_linear` (29
    /// tables of width 8, B = 1,024, N = 512, forward + backward, one thread): the plain
    /// product takes 9.8 ms whatever the ids; the factorised one about 2.5 ms plus about
    /// 1.7 µs per distinct id of each table, 0.05 ms per unit of u over the 29 tables
    /// (3.9 ms at u ≈ 10, 5.0 at 60, 9.7 at 150, 13.3 at 200, 21 at 400: the per-id
    /// products and sums, and a U that no longer fits in cache), so the two meet near
    /// u ≈ B/7.
    #[default]
    Auto,
    /// Every gathered table is factorised, whatever the sizes (for tests).
    Always,
    /// Never: the plain product (the reference).
    Off,
}

// ------------------------------------------------------------------ drivers

/// Splits `rows` rows of `len_per_row` values into rayon tasks (two per thread; one task
/// on one thread), each with its first row index.
fn par_rows<F>(out: &mut [f32], len_per_row: usize, rows: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let threads = rayon::current_num_threads();
    if threads == 1 || rows < 2 * ROWS_MIN {
        f(0, &mut out[..rows * len_per_row]);
        return;
    }
    let per = rows.div_ceil(2 * threads).max(ROWS_MIN);
    out[..rows * len_per_row]
        .par_chunks_mut(per * len_per_row)
        .enumerate()
        .for_each(|(t, chunk)| f(t * per, chunk));
}

/// Most rayon tasks of the per-id sums.
const MAX_TASKS: usize = 16;

/// The per-id sums `S[r] = Σ_{i ∈ list_r} dz_i` for every U row, split among tasks by
/// work: the lists' lengths vary a lot (a two-valued column has lists of ~B/2 samples, a
/// 50-valued one of ~B/50), so each task takes an equal share of list entries (CSR
/// positions `start`), not of rows.
fn per_id_sums(s: &mut [f32], dz: &[f32], ld: usize, start: &[u32], list: &[u32], n: usize) {
    let ut = start.len() - 1;
    let tasks = (2 * rayon::current_num_threads()).min(MAX_TASKS).min(ut);
    if tasks <= 1 {
        kernels::per_id(s, dz, ld, start, list, n);
        return;
    }
    let total = start[ut] as usize;
    // task t takes rows bound(t)..bound(t+1): the first row whose list starts at or after
    // its share of the entries
    let bound = |t: usize| {
        if t == tasks {
            ut
        } else {
            start[..ut].partition_point(|&v| (v as usize) < t * total / tasks)
        }
    };
    let mut chunks: [&mut [f32]; MAX_TASKS] = Default::default();
    let mut rest = &mut s[..ut * n];
    for (t, c) in chunks.iter_mut().enumerate().take(tasks) {
        let (a, b) = rest.split_at_mut((bound(t + 1) - bound(t)) * n);
        *c = a;
        rest = b;
    }
    chunks[..tasks]
        .par_iter_mut()
        .enumerate()
        .for_each(|(t, chunk)| {
            let r0 = bound(t);
            let rows = chunk.len() / n;
            kernels::per_id(chunk, dz, ld, &start[r0..r0 + rows + 1], list, n);
        });
}

/// Fewest rows per task of the row kernels.
const ROWS_MIN: usize = 32;

/// The table rows T_f[uniq_f] `(u, d)`, read from the gather node's value (row `rep[r]`
/// of the batch looked up `uniq[r]`).
fn distinct_rows(e: &mut [f32], gathered: &[f32], rep: &[u32], width: usize) {
    for (er, &i) in e.chunks_exact_mut(width).zip(rep) {
        er.copy_from_slice(&gathered[i as usize * width..(i as usize + 1) * width]);
    }
}

/// A 64-byte-aligned offset into `buf` (whose length must leave 16 floats of slack).
fn align16(buf: &[f32]) -> usize {
    buf.as_ptr().align_offset(64).min(16)
}

// ------------------------------------------------------------------ recording

impl Graph {
    /// Records `f(x · w + b)` as the factorised product when `x` is a concatenation with
    /// gathered parts and the graph's [`EmbedLinearMode`] says it pays; `None` to record
    /// the plain one. `linear_act` has checked the shapes and that x, w, b are distinct.
    pub(crate) fn try_embed_linear(
        &mut self,
        x: Var,
        w: Var,
        b: Var,
        f: Option<UnaryFn>,
    ) -> Option<Var> {
        if self.nodes[x.index()]
            .idx
            .iter()
            .any(|&p| p == w.slot || p == b.slot)
            || !self.embed_linear_applies(x)
        {
            return None;
        }
        Some(self.record_embed_linear(x, w, b, f))
    }

    /// Whether a product over `x` is factorised: `x` is a concatenation with gathered
    /// parts and the graph's [`EmbedLinearMode`] says it pays for this batch (the plan is
    /// made here, once per input and step). The int8 layer asks this to take the
    /// factorised product over the tables' int8 rows instead of its integer GEMM.
    pub(crate) fn embed_linear_applies(&mut self, x: Var) -> bool {
        if !self.computes() {
            return false; // a recorded-only tape is lowered to the plain product
        }
        let mode = self.embed_linear_mode();
        let xn = &self.nodes[x.index()];
        if mode == EmbedLinearMode::Off || !matches!(xn.op, Op::ConcatCols) {
            return false;
        }
        // one plan per input and step: MMoE's experts and gates all read the same x
        let key = (x.slot, self.epoch(), mode);
        if self.embed.key != Some(key) {
            self.embed.ok = self.embed.plan(
                &self.nodes,
                &xn.idx,
                xn.rows,
                mode == EmbedLinearMode::Always,
            );
            self.embed.key = Some(key);
        }
        self.embed.ok
    }

    fn record_embed_linear(&mut self, x: Var, w: Var, b: Var, f: Option<UnaryFn>) -> Var {
        let (rows, n) = (self.nodes[x.index()].rows, self.nodes[w.index()].cols);
        let needs = self.any_grad(&[x, w, b]);
        let out = self.push_overwritten(Op::EmbedLinear { x, w, b, f }, rows, n, needs);
        let mut scratch = std::mem::take(&mut self.scratch);
        let plan = std::mem::take(&mut self.embed.plan);
        let (node, inputs) = self.split(out);
        node.idx.extend_from_slice(&plan); // a copy: the next layer over x reuses the plan
        let lay = Layout::read(&node.idx, rows);
        let idx = &node.idx;
        let (wv, bv) = (&inputs[w.index()].value, &inputs[b.index()].value);
        // U_f = T_f[uniq_f] · W_f for every factorised part, stacked: (u_total, ld) in
        // an aligned window of the scratch, after the distinct table rows E (u_total, d_max)
        let ld = padded(n);
        let dmax = (0..lay.nf)
            .map(|k| inputs[lay.fact(idx, k).0.index()].cols)
            .max()
            .unwrap_or(0);
        let elen = (lay.ut * dmax).next_multiple_of(16);
        let len = elen + lay.ut * ld + 16;
        grow(&mut scratch, len); // E and U are written in full: no zero-fill
        let (e_all, u_buf) = scratch[..len].split_at_mut(elen);
        let a0 = align16(u_buf);
        let u_all = &mut u_buf[a0..a0 + lay.ut * ld];
        for k in 0..lay.nf {
            let (p, o, u0, u) = lay.fact(idx, k);
            let width = inputs[p.index()].cols;
            let rep = &idx[lay.rep() + u0..lay.rep() + u0 + u];
            let e = &mut e_all[u0 * dmax..u0 * dmax + u * width];
            distinct_rows(e, &inputs[p.index()].value, rep, width);
            let (e, wf) = (&*e, &wv[o * n..(o + width) * n]); // (u, width), (width, N)
            par_rows(&mut u_all[u0 * ld..(u0 + u) * ld], ld, u, |r0, chunk| {
                let rows = chunk.len() / ld;
                kernels::product(chunk, ld, &e[r0 * width..(r0 + rows) * width], width, wf, n);
            });
        }
        // z_i = b + Σ_k U[inv[i, k]], then z += x_d · W_d for the dense parts
        let (inv, nf, u_all) = (&idx[lay.inv()..lay.inv() + rows * lay.nf], lay.nf, &*u_all);
        par_rows(&mut node.value, n, rows, |i0, chunk| {
            let r = chunk.len() / n;
            kernels::lookup(chunk, bv, u_all, ld, &inv[i0 * nf..(i0 + r) * nf], nf, n);
        });
        for k in 0..lay.nd {
            let (p, o) = lay.dense(idx, k);
            let xd = &inputs[p.index()];
            let wd = &wv[o * n..(o + xd.cols) * n];
            gemm_accumulate(&mut node.value, &xd.value, wd, Gemm::new(rows, xd.cols, n));
        }
        // the pre-activation, kept when f′ needs it
        node.aux.clear();
        if needs_pre(f) {
            node.aux.extend_from_slice(&node.value);
        }
        activate(&mut node.value, f);
        self.scratch = scratch;
        self.embed.plan = plan;
        out
    }
}

// ------------------------------------------------------------------ backward

/// The dense parts of x (the inputs whose node gradients this op adds to, besides w, b).
pub(crate) fn dense_parts(node: &Node, mut f: impl FnMut(Var)) {
    let lay = Layout::read(&node.idx, node.rows);
    for k in 0..lay.nd {
        f(lay.dense(&node.idx, k).0);
    }
}

/// The backward of the recorded op `op` (x, w, b, f) with the tape's context `cx`.
pub(crate) fn backward(cx: BackwardCx<'_>, op: &EmbedLinear) {
    let BackwardCx {
        node,
        head,
        scratch,
        store,
    } = cx;
    let EmbedLinear { x, w, b, f } = *op;
    let (rows, n) = (node.rows, node.cols);
    debug_assert_eq!(head[x.index()].rows, rows, "x and the output share rows");
    let idx = &node.idx;
    let lay = Layout::read(idx, rows);
    // scratch = [dz (B, N) | dz again, stride ld, aligned | S (u_total, N) | E, G per part]
    let ld = padded(n);
    let (umax, dmax) = (0..lay.nf)
        .map(|k| {
            let (p, _, _, u) = lay.fact(idx, k);
            (u, head[p.index()].cols)
        })
        .fold((0, 0), |(a, c), (u, width)| (a.max(u), c.max(width)));
    let per_part = (2 * umax * dmax + dmax * n).next_multiple_of(16);
    let dz_len = (rows * n).next_multiple_of(16);
    let len = dz_len + rows * ld + 16 + lay.ut * n + lay.nf * per_part;
    grow(scratch, len); // every part is written before it is read: no zero-fill
    let (dz, rest) = scratch[..len].split_at_mut(dz_len);
    let dz = &mut dz[..rows * n];
    let a0 = align16(rest);
    let (dzp, rest) = rest[a0..].split_at_mut(rows * ld);
    let (s, parts) = rest[16 - a0..].split_at_mut(lay.ut * n);
    let pre = if needs_pre(f) { &node.aux[..] } else { &[][..] };
    let dz: &[f32] = dz_into(dz, &node.grad, &node.value, pre, f);
    if head[b.index()].needs_grad {
        // db_j += Σ_i dz_ij (rows in order)
        let db = &mut head[b.index()].grad;
        for row in dz.chunks_exact(n) {
            db.iter_mut().zip(row).for_each(|(acc, g)| *acc += g);
        }
    }
    // dz with the padded stride, for the per-id sums' gathers
    for (pr, r) in dzp.chunks_exact_mut(ld).zip(dz.chunks_exact(n)) {
        pr[..n].copy_from_slice(r);
    }
    // S[r] = Σ_{i : id = uniq[r]} dz_i
    let start = &idx[lay.start()..lay.start() + lay.ut + 1];
    let list = &idx[lay.list()..lay.list() + rows * lay.nf];
    let dzp = &*dzp;
    per_id_sums(s, dzp, ld, start, list, n);
    let s = &*s;
    // per factorised part, in parallel: E = T_f[uniq], G = S_f · W_fᵀ, DW = Eᵀ · S_f
    {
        let (wn, head_ro) = (&head[w.index()], &*head);
        let work = |(k, buf): (usize, &mut [f32])| {
            let (p, o, u0, u) = lay.fact(idx, k);
            let pn = &head_ro[p.index()];
            let width = pn.cols;
            let (e, rest) = buf.split_at_mut(umax * dmax);
            let (g, dw) = rest.split_at_mut(umax * dmax);
            let (e, g, dw) = (
                &mut e[..u * width],
                &mut g[..u * width],
                &mut dw[..width * n],
            );
            let sk = &s[u0 * n..(u0 + u) * n]; // (u, N)
            distinct_rows(
                e,
                &pn.value,
                &idx[lay.rep() + u0..lay.rep() + u0 + u],
                width,
            );
            g.fill(0.0);
            gemm_accumulate(
                g,
                sk,
                &wn.value[o * n..(o + width) * n],
                Gemm::new(u, n, width).trans_b(true),
            ); // (u, N)·(N, width)
            if wn.needs_grad {
                dw.fill(0.0);
                gemm_accumulate(dw, e, sk, Gemm::new(width, u, n).trans_a(true));
                // (width, u)·(u, N)
            }
        };
        let parts = &mut parts[..lay.nf * per_part];
        if rayon::current_num_threads() == 1 {
            parts.chunks_mut(per_part).enumerate().for_each(work);
        } else {
            parts.par_chunks_mut(per_part).enumerate().for_each(work);
        }
    }
    // add them in: dW_f rows, and dT_f[uniq[r]] += G[r] into the row-sparse gradients
    add_factorised_parts(head, store, w, idx, &lay, parts, (umax * dmax, per_part, n));
    dense_parts_backward(head, w, idx, &lay, dz, (rows, n));
}

/// Adds each factorised part's `dW_f` (into `w`'s gradient rows) and `G = S_f·W_fᵀ` (into
/// the table's row-sparse gradient at its distinct ids), in part order. `parts` holds
/// per part `[E | G | dW]`, each block `block` long.
fn add_factorised_parts(
    head: &mut [Node],
    store: &mut ParamStore,
    w: Var,
    idx: &[u32],
    lay: &Layout,
    parts: &[f32],
    (block, per_part, n): (usize, usize, usize),
) {
    for (k, buf) in parts.chunks(per_part).take(lay.nf).enumerate() {
        let (p, o, u0, u) = lay.fact(idx, k);
        let width = head[p.index()].cols;
        let g = &buf[block..block + u * width];
        let dw = &buf[2 * block..2 * block + width * n];
        let wn = &mut head[w.index()];
        if wn.needs_grad {
            wn.grad[o * n..(o + width) * n]
                .iter_mut()
                .zip(dw)
                .for_each(|(a, v)| *a += v);
        }
        let Op::Gather { table } = head[p.index()].op else {
            unreachable!("factorised parts are gathers")
        };
        if let Some(dt) = store.sparse_grad_mut(table) {
            let uniq = &idx[lay.uniq() + u0..lay.uniq() + u0 + u];
            for (gr, &row) in g.chunks_exact(width).zip(uniq) {
                dt.row_mut(row)
                    .iter_mut()
                    .zip(gr)
                    .for_each(|(t, v)| *t += v);
            }
        }
    }
}

/// The dense parts of x: `dW_d += x_dᵀ·dz` and `dx_d += dz·W_dᵀ`.
fn dense_parts_backward(
    head: &mut [Node],
    w: Var,
    idx: &[u32],
    lay: &Layout,
    dz: &[f32],
    (rows, n): (usize, usize),
) {
    for k in 0..lay.nd {
        let (p, o) = lay.dense(idx, k);
        let [pn, wn] = head
            .get_disjoint_mut([p.index(), w.index()])
            .expect("distinct part and weight");
        let width = pn.cols;
        if wn.needs_grad {
            // dW_d += x_dᵀ · dz   (D_d, B)·(B, N)
            gemm_accumulate(
                &mut wn.grad[o * n..(o + width) * n],
                &pn.value,
                dz,
                Gemm::new(width, rows, n).trans_a(true),
            );
        }
        if pn.needs_grad {
            // dx_d += dz · W_dᵀ   (B, N)·(N, D_d)
            gemm_accumulate(
                &mut pn.grad,
                dz,
                &wn.value[o * n..(o + width) * n],
                Gemm::new(rows, n, width).trans_b(true),
            );
        }
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none (no device lowering yet).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

use crate::ops::registry::{EmbedLinear, OpKind};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for EmbedLinear {
    fn kind(&self) -> OpKind {
        OpKind::EmbedLinear
    }
    fn each_input(&self, node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.w);
        f(self.b);
        dense_parts(node, f);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx, self)
    }
    no_device_lowering!();
}
