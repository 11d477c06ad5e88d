//! The first int8 layer over embedded inputs as per-vocabulary partial products: every
//! table row's share of the layer is multiplied once (when the layer first meets its
//! input, i.e. once after loading), stored as i16 with one scale per output column, and a
//! forward pass is then gathers and integer additions.
//!
//! ```text
//! x: (B, D_in) = [e_1 | … | e_F | x_d]    e_c = T_c[id_c]: (B, d_c)   x_d: (B, D_d)
//! Ŵ: (D_in, N) = [Ŵ_1; … ; Ŵ_F; Ŵ_d]      the int8 weights' dequantised values
//! P_c = T_c · Ŵ_c                          (V_c, N), every row of table c, once
//! q_c = round(P_c / s)                     (V_c, N) i16, s: (N,) shared by every c
//! acc_i = Σ_c q_c[id_c(i)]                 (N,) i16 additions, exact (no overflow)
//! y_i = f(x_d,i · Ŵ_d + b + s ⊙ acc_i)     (N,)
//! ```
//!
//! # Derivation
//!
//! **Scale.** With `M_j = Σ_c max_v |P_c[v, j]|` (the largest any row sum can be) and F
//! factorised parts, `s_j = M_j / (32767 − F)`. Then
//! `|q_c[v, j]| ≤ |P_c[v, j]| / s_j + ½`, so `|Σ_c q_c[id_c, j]| ≤ M_j / s_j + F/2
//! = 32767 − F/2 < 32767`: every partial sum of i16 additions stays in range, the
//! additions are exact and their order does not matter (the fast kernel and the scalar
//! twin give identical integers).
//!
//! **Error**, per element, against the f32 layer with the same dequantised weights Ŵ:
//!
//! ```text
//! Σ_c e_c,i · Ŵ_c,j = Σ_c P_c[id_c(i), j]
//! |Σ_c P_c[id_c, j] − s_j Σ_c q_c[id_c, j]| ≤ Σ_c |P_c − s_j q_c| ≤ F · s_j / 2
//!                                            = F · M_j / (2 (32767 − F))
//! ```
//! ([`Partial::bound`]), plus f32 rounding of `P` (computed in f64, rounded once) and of
//! the epilogue. For census-income (F = 29) that is `M_j · 4.4·10⁻⁴`: `M_j` bounds the
//! first layer's pre-activation over the embeddings, so the added error is 0.044 % of
//! the largest value it can take, about 9× below the int8 weights' own `1/254` per term.
//! f is 1-Lipschitz (ReLU, sigmoid, tanh), so the bound carries through it.
//!
//! **Sizes.** `Σ_c V_c · ld` i16 per layer (`ld` = N rounded up to 32): census MMoE (29
//! tables, 514 rows in the shared data, N = 8·64 experts, 2 gates of 8) 0.53 MB for the
//! experts and 33 KB per gate; MovieLens 100K MMoE (user 944, item 1,656, gender and
//! occupation rows, 2,625 in all; the genres bag is a dense part) 2.7 MB and 168 KB per
//! gate; in f32 twice that. They are built at first use and held in memory only; a layer
//! whose tables would take more than [`MAX_BYTES`] keeps the factorised f32 product.

use super::QuantMatrix;
use crate::autograd::{Graph, Op, ParamStore, UnaryFn, Var};
use crate::error::Result;
use std::sync::{Arc, Mutex};

/// Largest i16 table one layer precomputes (bytes).
pub const MAX_BYTES: usize = 256 << 20;

/// Which input a [`Partial`] was built for: per part of the concatenation
/// `(table id or u32::MAX for a dense part, column offset, width, table rows)`, and the
/// address of each table's values (so another store's tables are not mistaken for them).
type Key = (Vec<[u32; 4]>, Vec<usize>);

/// The precomputed partial products of one layer (see the module docs).
#[derive(Debug)]
pub struct Partial {
    key: Key,
    /// `N`.
    pub n: usize,
    /// Per factorised part: (column offset in x, width, first row in `q`).
    pub parts: Vec<[usize; 3]>,
    /// Per dense part: (column offset in x, width).
    pub dense: Vec<[usize; 2]>,
    /// (Σ_c V_c, ld) from `q[q0]` (64-byte aligned): the quantised rows of every P_c,
    /// stacked; `ld` = N rounded up to [`STRIP`], the padding columns 0, so one strip of
    /// one row is one cache line.
    pub q: Vec<i16>,
    pub q0: usize,
    pub ld: usize,
    /// (N,): s_j = M_j / (32767 − F).
    pub scales: Vec<f32>,
}

/// The per-layer cache of [`Partial`] held by a [`QuantMatrix`] (clones share it; it never
/// takes part in comparisons).
#[derive(Clone, Debug, Default)]
pub struct PartialCache(Arc<Mutex<Option<Arc<Partial>>>>);

impl PartialCache {
    /// The partial products built so far (`None` before the layer first met an input
    /// over embeddings).
    pub fn cached(&self) -> Option<Arc<Partial>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl PartialEq for PartialCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Partial {
    /// `P_c = T_c · Ŵ_c` for every factorised part (in f64, then rounded), quantised with
    /// the shared column scales. `tables[k]` is part k's table (V_c, d_c), `w` is Ŵ
    /// (D_in, N).
    pub fn build(
        parts: &[[usize; 2]],
        tables: &[&[f32]],
        dense: Vec<[usize; 2]>,
        w: &[f32],
        n: usize,
    ) -> Partial {
        let f = parts.len();
        let mut p = Vec::new(); // (Σ V_c, N) f64
        let mut max = vec![0f64; f * n]; // (F, N): max_v |P_c[v, j]|
        let mut starts = Vec::with_capacity(f);
        for (k, (&[off, width], t)) in parts.iter().zip(tables).enumerate() {
            starts.push([off, width, p.len() / n.max(1)]);
            let wc = &w[off * n..(off + width) * n]; // (d_c, N)
            for row in t.chunks_exact(width) {
                let r0 = p.len();
                p.resize(r0 + n, 0f64);
                for (&e, wr) in row.iter().zip(wc.chunks_exact(n)) {
                    for (o, &v) in p[r0..].iter_mut().zip(wr) {
                        *o += e as f64 * v as f64;
                    }
                }
                for (m, &v) in max[k * n..(k + 1) * n].iter_mut().zip(&p[r0..]) {
                    *m = m.max(v.abs());
                }
            }
        }
        let mut scales = vec![0f32; n];
        for (j, s) in scales.iter_mut().enumerate() {
            let m: f64 = (0..f).map(|k| max[k * n + j]).sum();
            *s = (m / (32767 - f as i64) as f64) as f32;
        }
        let rows = p.len() / n.max(1);
        let ld = n.next_multiple_of(STRIP);
        let mut q = vec![0i16; rows * ld + STRIP];
        let q0 = q.as_ptr().align_offset(64).min(STRIP);
        for (qr, row) in q[q0..].chunks_exact_mut(ld).zip(p.chunks_exact(n.max(1))) {
            for ((o, &v), &s) in qr.iter_mut().zip(row).zip(&scales) {
                if s > 0.0 {
                    *o = (v / s as f64).round() as i16;
                }
            }
        }
        Partial {
            key: (Vec::new(), Vec::new()),
            n,
            parts: starts,
            dense,
            q,
            q0,
            ld,
            scales,
        }
    }

    /// Row r of the stacked tables, its N columns.
    pub fn row(&self, r: usize) -> &[i16] {
        &self.q[self.q0 + r * self.ld..self.q0 + r * self.ld + self.n]
    }

    /// The per-element bound on `|Σ_c P_c[id_c] − s ⊙ Σ_c q_c[id_c]|`: `F · s_j / 2`.
    pub fn bound(&self) -> Vec<f32> {
        let f = self.parts.len() as f32;
        self.scales.iter().map(|s| f * s / 2.0).collect()
    }
}

/// Rows per rayon task (rows are independent: any split gives the same bits).
const ROW_CHUNK: usize = 64;

/// `out (B, N) = f(dense + bias + s ⊙ Σ_c q_c[ids[i, c]])` where `out` holds the dense
/// parts' product `x_d · Ŵ_d` on entry (zeros without dense parts). `ids` (B, F) are the
/// rows into `p.q` (each part's first row already added). The scalar reference.
pub fn partial_forward_reference(
    out: &mut [f32],
    p: &Partial,
    ids: &[u32],
    bias: &[f32],
    f: Option<UnaryFn>,
) {
    let (n, nf) = (p.n, p.parts.len());
    let mut acc = vec![0i16; n];
    for (row, rid) in out.chunks_exact_mut(n).zip(ids.chunks_exact(nf.max(1))) {
        acc.fill(0);
        for &r in rid {
            for (a, &v) in acc.iter_mut().zip(p.row(r as usize)) {
                *a = a.wrapping_add(v);
            }
        }
        for j in 0..n {
            row[j] = row[j] + bias[j] + p.scales[j] * acc[j] as f32;
        }
    }
    crate::ops::linear_act::activate(out, f);
}

/// The fast twin of [`partial_forward_reference`] (same integers, same float expression
/// per element; vectorised for AVX-512BW / AVX2 where the CPU has them, rows split among
/// rayon tasks).
pub fn partial_forward(
    out: &mut [f32],
    p: &Partial,
    ids: &[u32],
    bias: &[f32],
    f: Option<UnaryFn>,
) {
    use rayon::prelude::*;
    let (n, nf) = (p.n, p.parts.len().max(1));
    let relu = f == Some(UnaryFn::Relu);
    let chunk = |(out, ids): (&mut [f32], &[u32])| rows_dispatch(out, p, ids, bias, relu);
    let b = out.len() / n.max(1);
    if b > ROW_CHUNK && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(ROW_CHUNK * n)
            .zip(ids.par_chunks(ROW_CHUNK * nf))
            .for_each(chunk);
    } else {
        chunk((out, ids));
    }
    if !relu {
        crate::ops::linear_act::activate(out, f);
    }
}

fn rows_dispatch(out: &mut [f32], p: &Partial, ids: &[u32], bias: &[f32], relu: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512F/BW (checked just above).
            return unsafe { rows_avx512(out, p, ids, bias, relu) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { rows_avx2(out, p, ids, bias, relu) };
        }
    }
    rows_lanes::<0>(out, p, ids, bias, relu)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn rows_avx512(out: &mut [f32], p: &Partial, ids: &[u32], bias: &[f32], relu: bool) {
    rows_lanes::<2>(out, p, ids, bias, relu)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_avx2(out: &mut [f32], p: &Partial, ids: &[u32], bias: &[f32], relu: bool) {
    rows_lanes::<1>(out, p, ids, bias, relu)
}

/// `acc = Σ_r q[r·ld + c0 ..][..32]` in one zmm (`vpaddw`; LLVM scalarises the same
/// loop over a `[i16; 32]` into 32 registers and spills).
///
/// # Safety
/// AVX-512F/BW; every `r·ld + c0 + 32 ≤ q.len()` (checked).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn sum_strip512(acc: &mut [i16; STRIP], q: &[i16], rid: &[u32], ld: usize, c0: usize) {
    use std::arch::x86_64::*;
    let mut a = _mm512_setzero_si512();
    for &r in rid {
        let o = r as usize * ld + c0;
        assert!(o + STRIP <= q.len(), "a padded strip");
        // SAFETY: 32 i16 = 64 bytes at o, in bounds (asserted).
        a = _mm512_add_epi16(a, _mm512_loadu_si512(q.as_ptr().add(o) as *const _));
    }
    _mm512_storeu_si512(acc.as_mut_ptr() as *mut _, a);
}

/// [`sum_strip512`] in two ymm (AVX2 `vpaddw`).
///
/// # Safety
/// AVX2; every `r·ld + c0 + 32 ≤ q.len()` (checked).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn sum_strip256(acc: &mut [i16; STRIP], q: &[i16], rid: &[u32], ld: usize, c0: usize) {
    use std::arch::x86_64::*;
    let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for &r in rid {
        let o = r as usize * ld + c0;
        assert!(o + STRIP <= q.len(), "a padded strip");
        let src = q.as_ptr().add(o) as *const __m256i;
        // SAFETY: 2 × 32 bytes at o, in bounds (asserted).
        a = _mm256_add_epi16(a, _mm256_loadu_si256(src));
        b = _mm256_add_epi16(b, _mm256_loadu_si256(src.add(1)));
    }
    _mm256_storeu_si256(acc.as_mut_ptr() as *mut __m256i, a);
    _mm256_storeu_si256(acc.as_mut_ptr().add(16) as *mut __m256i, b);
}

/// Columns per strip of the fast kernel: one zmm of i16, one cache line per table row.
pub const STRIP: usize = 32;

/// The row loop, written so LLVM vectorises it for the target features of its caller.
/// Column strips of 32 columns outermost, so the table rows one strip gathers stay in
/// cache (`Σ_c V_c` lines: 183 KB for census-shaped tables of 101 rows); per strip and
/// row `acc = Σ_c q[r_c][strip]` in one register of wrapping i16 (exact, see the
/// derivation), then `out = out + b + s · acc` (and `max(·, 0)` for ReLU, as `activate`
/// computes it) for the strip's real columns.
#[inline(always)]
fn rows_lanes<const K: u8>(out: &mut [f32], p: &Partial, ids: &[u32], bias: &[f32], relu: bool) {
    let (n, nf, ld) = (p.n, p.parts.len().max(1), p.ld);
    let q = &p.q[p.q0..];
    for c0 in (0..n).step_by(STRIP) {
        let w = STRIP.min(n - c0);
        let (b, s) = (&bias[c0..c0 + w], &p.scales[c0..c0 + w]);
        for (row, rid) in out.chunks_exact_mut(n).zip(ids.chunks_exact(nf)) {
            let mut acc = [0i16; STRIP];
            match K {
                // SAFETY: K = 2 only in `rows_avx512`, K = 1 only in `rows_avx2`, which
                // run where the CPU has those features.
                #[cfg(target_arch = "x86_64")]
                2 => unsafe { sum_strip512(&mut acc, q, rid, ld, c0) },
                #[cfg(target_arch = "x86_64")]
                1 => unsafe { sum_strip256(&mut acc, q, rid, ld, c0) },
                _ => {
                    for &r in rid {
                        let o = r as usize * ld + c0;
                        for (a, &v) in acc.iter_mut().zip(&q[o..o + STRIP]) {
                            *a = a.wrapping_add(v);
                        }
                    }
                }
            }
            let row = &mut row[c0..c0 + w];
            if let (Ok(row), Ok(b), Ok(s)) = (
                <&mut [f32; STRIP]>::try_from(&mut *row),
                <&[f32; STRIP]>::try_from(b),
                <&[f32; STRIP]>::try_from(s),
            ) {
                for l in 0..STRIP {
                    let v = row[l] + b[l] + s[l] * acc[l] as f32;
                    row[l] = if relu { v.max(0.0) } else { v };
                }
            } else {
                for j in 0..w {
                    let v = row[j] + b[j] + s[j] * acc[j] as f32;
                    row[j] = if relu { v.max(0.0) } else { v };
                }
            }
        }
    }
}

thread_local! {
    /// The (B, F) row ids of the last call, reused (a steady state allocates nothing).
    static IDS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Graph {
    /// `f(x · Ŵ + bias)` for an int8 layer whose input `x` is the input layer's
    /// concatenation with gathered parts, through the per-vocabulary partial products
    /// (module docs), built at first use and cached in `w`. `w_deq` is Ŵ (D_in, N), the
    /// values the store holds. `None` when x has no gathered part, the graph's
    /// `EmbedLinearMode` is `Off`, or the tables would take more than [`MAX_BYTES`]: the
    /// caller then takes another product.
    pub fn embed_linear_i8(
        &mut self,
        store: &ParamStore,
        x: Var,
        w: &QuantMatrix,
        w_deq: &[f32],
        bias: &[f32],
        f: Option<UnaryFn>,
    ) -> Result<Option<Var>> {
        self.check("embed_linear_i8", x)?;
        let n = w.d_out;
        let mode = self.embed_linear_mode();
        let xn = &self.nodes[x.index()];
        if mode == crate::ops::embed_linear::EmbedLinearMode::Off
            || !matches!(xn.op, Op::ConcatCols)
            || xn.cols != w.d_in
            || w_deq.len() != w.d_in * n
            || bias.len() != n
        {
            return Ok(None);
        }
        // the key of x's layout
        let (mut key, mut addr, mut off) = (Vec::new(), Vec::new(), 0usize);
        let mut rows_total = 0usize;
        for &pi in &xn.idx {
            let pn = &self.nodes[pi as usize];
            if let Op::Gather { table } = pn.op {
                let t = store.value(table);
                let v = t.len() / pn.cols.max(1);
                key.push([table.index() as u32, off as u32, pn.cols as u32, v as u32]);
                addr.push(t.as_ptr() as usize);
                rows_total += v;
            } else {
                key.push([u32::MAX, off as u32, pn.cols as u32, 0]);
            }
            off += pn.cols;
        }
        if addr.is_empty() || rows_total * n * 2 > MAX_BYTES {
            return Ok(None);
        }
        let key = (key, addr);
        let partial = {
            let mut slot = w.partial.0.lock().unwrap_or_else(|e| e.into_inner());
            match &*slot {
                Some(p) if p.key == key => p.clone(),
                _ => {
                    let (mut parts, mut tables, mut dense) = (Vec::new(), Vec::new(), Vec::new());
                    for (k, &pi) in key.0.iter().zip(&xn.idx) {
                        let pn = &self.nodes[pi as usize];
                        match pn.op {
                            Op::Gather { table } => {
                                parts.push([k[1] as usize, k[2] as usize]);
                                tables.push(store.value(table));
                            }
                            _ => dense.push([k[1] as usize, k[2] as usize]),
                        }
                    }
                    let mut p = Partial::build(&parts, &tables, dense, w_deq, n);
                    p.key = key;
                    let p = Arc::new(p);
                    *slot = Some(p.clone());
                    p
                }
            }
        };
        let rows = xn.rows;
        let parts: Vec<u32> = xn.idx.clone();
        let out = self.push_overwritten(Op::Input, rows, n, false);
        let mut ids = IDS.with(|c| std::mem::take(&mut *c.borrow_mut()));
        let (node, inputs) = self.split(out);
        // the rows into p.q per sample: (B, F)
        let gathered: Vec<&[u32]> = parts
            .iter()
            .filter(|&&pi| matches!(inputs[pi as usize].op, Op::Gather { .. }))
            .map(|&pi| &inputs[pi as usize].idx[..])
            .collect();
        let nf = gathered.len();
        ids.clear();
        ids.resize(rows * nf, 0);
        for (k, (g, pk)) in gathered.iter().zip(&partial.parts).enumerate() {
            let base = pk[2] as u32;
            for (i, &id) in g.iter().enumerate() {
                ids[i * nf + k] = base + id;
            }
        }
        // the dense parts' product, then the partial sums and the epilogue
        node.value[..rows * n].fill(0.0);
        let mut pi_dense = parts
            .iter()
            .filter(|&&pi| !matches!(inputs[pi as usize].op, Op::Gather { .. }));
        for &[o, width] in &partial.dense {
            let Some(&pi) = pi_dense.next() else { break };
            let xd = &inputs[pi as usize].value; // (B, width)
            super::super::gemm::gemm_accumulate(
                &mut node.value[..rows * n],
                xd,
                &w_deq[o * n..(o + width) * n],
                super::super::gemm::Gemm::new(rows, width, n),
            );
        }
        partial_forward(&mut node.value[..rows * n], &partial, &ids, bias, f);
        IDS.with(|c| *c.borrow_mut() = ids);
        Ok(Some(out))
    }
}
