//! Int8 inference of a mixture's experts **and** its gates in one integer product, with
//! the gate softmax and the weighted sum fused into the product's epilogue (MMoE with
//! one-layer ReLU experts; `nn::moe::experts_gates_i8`).
//!
//! ```text
//! x: (B, D_in)                     the shared input of the E experts and the K gates
//! Ŵ = [Ŵ_x | Ŵ_g1 | … | Ŵ_gK]     (D_in, N), N = E·D + K·E: the int8 columns side by side
//! pre = x · Ŵ + b                  (B, N): one quantisation of x, one product
//! h_e = relu(pre[:, e·D .. (e+1)·D])        (B, D) expert e, never stored on its own
//! g_k = softmax(pre[:, E·D + k·E ..][..E])  (B, E) with `exp_poly`
//! y_k = Σ_e g_k,e · h_e                     (B, D) per task k: the towers' inputs
//! ```
//!
//! The weights are quantised per output column, so the columns of the fused matrix are
//! exactly the columns of the separate layers (same integers, same scales, same column
//! sums) and x is quantised per row independently of the columns: `pre` holds **the same
//! bits** as the separate int8 layers' outputs (the reference: `Experts::forward` and
//! `Gate::forward` in evaluation mode). Over the input layer's embeddings `pre` comes
//! from the per-vocabulary partial products of the fused matrix (`partial`), again per
//! column the same as the separate layers'.
//!
//! # Derivation (bound against the reference)
//!
//! The epilogue evaluates the reference's expressions in the reference's order
//! (`softmax_row`: `o_e = exp(z_e − m)`, `Z = Σ_e o_e` left to right, `g_e = o_e · (1/Z)`;
//! then `y = 0 + g_0 h_0 + g_1 h_1 + …`), so with `exp = f32::exp` ([`GateExp::Std`]) it is
//! bit-identical to the reference. With `exp_poly` ([`GateExp::Poly`], relative error
//! ε = `EXP_POLY_MAX_REL` against `f32::exp`) and u = 2⁻²⁴:
//!
//! ```text
//! o'_e = o_e (1 + α_e), |α_e| ≤ ε      (+ f32 rounding of each side's exp, inside ε)
//! g'_e = o'_e / Z' :  |g'_e − g_e| ≤ (2ε + 2(E+1)u) g_e       first order: ε from o'_e, ε
//!                        from Z' (a weighted mean of the α), (E+1)u per side for the sum,
//!                        the reciprocal and the product
//! y' − y = Σ_e (g'_e − g_e) h_e + (rounding of both sums, ≤ E u Σ_e g_e h_e each)
//! h_e ≥ 0 (ReLU), g_e ≥ 0:
//! |y'_k,ij − y_k,ij| ≤ (2ε + 4(E+1)u) · Σ_e g_k,e h_e,ij = (2ε + 4(E+1)u) · y_k,ij
//! ```
//! a relative bound on every mixed value ([`mix_bound`]; for E = 8: 2.6·10⁻⁶, against
//! the int8 product's own error of order 1/254). Gate logits below the row's maximum by
//! more than 87 give `e⁻⁸⁷` instead of ≈ 0: an absolute `E · 1.7·10⁻³⁸ · max_e h_e` more.
//! `tests/s9int8_moe.rs` checks the bound as a property and the bit-identity with
//! [`GateExp::Std`].

use super::fastexp::exp_poly;
use super::{detect, gemm_u8i8, quantize_rows, I8Scratch, QuantMatrix, SCRATCH};
use crate::autograd::{Graph, ParamStore, Var};
use crate::error::{Dims, Error, Result};
use std::sync::{Arc, Mutex};

/// Which `exp` the gate softmax of [`Graph::moe_i8`] takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateExp {
    /// `exp_poly` (the int8 path's default: vectorised, relative error ≤ `EXP_POLY_MAX_REL`).
    Poly,
    /// `f32::exp`, as the f32 gate: the result is bit-identical to the separate layers.
    Std,
}

/// The experts' first layer and the K gates of a mixture as one int8 matrix.
#[derive(Debug)]
pub struct MoeI8 {
    /// (D_in, N), N = E·D + K·E: experts' columns, then gate 0's E logits, gate 1's, ….
    pub w: QuantMatrix,
    /// Ŵ (D_in, N): the dequantised values (the partial products are built from them).
    pub w_deq: Vec<f32>,
    /// (N,): the experts' bias, then each gate's.
    pub bias: Vec<f32>,
    /// E, D (the experts' width), K.
    pub e: usize,
    pub d: usize,
    pub k: usize,
    /// Addresses of the gate matrices it was built from (so another model's gates are
    /// not mistaken for them).
    key: Vec<usize>,
}

/// The fused matrix cached in the experts' [`QuantMatrix`] (clones share it; it never
/// takes part in comparisons).
#[derive(Clone, Debug, Default)]
pub struct MoeCache(Arc<Mutex<Option<Arc<MoeI8>>>>);

impl PartialEq for MoeCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl MoeI8 {
    /// Concatenates the experts' first layer `experts` (D_in, E·D) and the gates (D_in, E)
    /// along the output axis, with their biases.
    pub fn fuse(
        experts: &QuantMatrix,
        experts_b: &[f32],
        gates: &[&QuantMatrix],
        gates_b: &[&[f32]],
        e: usize,
    ) -> Result<MoeI8> {
        let (d_in, ed) = (experts.d_in, experts.d_out);
        let k = gates.len();
        let shapes_ok = e > 0
            && ed % e == 0
            && experts_b.len() == ed
            && gates_b.len() == k
            && gates.iter().all(|g| g.d_in == d_in && g.d_out == e)
            && gates_b.iter().all(|b| b.len() == e);
        if !shapes_ok {
            let mut shapes = vec![Dims(d_in, ed), Dims(1, experts_b.len())];
            shapes.extend(gates.iter().map(|g| Dims(g.d_in, g.d_out)));
            return Err(Error::Shape {
                op: "moe_i8",
                shapes,
                expected: format!("experts (D_in, E·D) with E = {e} and a bias (E·D,), gates (D_in, E) with a bias (E,) each"),
            });
        }
        let n = ed + k * e;
        let mut q = Vec::with_capacity(d_in * n);
        for r in 0..d_in {
            q.extend_from_slice(&experts.q[r * ed..(r + 1) * ed]);
            for g in gates {
                q.extend_from_slice(&g.q[r * e..(r + 1) * e]);
            }
        }
        let mut scales = experts.scales.clone();
        let mut bias = experts_b.to_vec();
        for (g, b) in gates.iter().zip(gates_b) {
            scales.extend_from_slice(&g.scales);
            bias.extend_from_slice(b);
        }
        let w = QuantMatrix::from_parts("mixture experts + gates", q, scales, d_in, n)?;
        let w_deq = w.dequantize();
        Ok(MoeI8 {
            w,
            w_deq,
            bias,
            e,
            d: ed / e,
            k,
            key: gates
                .iter()
                .map(|g| *g as *const QuantMatrix as usize)
                .collect(),
        })
    }

    /// [`MoeI8::fuse`] built once and cached in `experts` (rebuilt when the gates or any
    /// bias differ from the cached ones).
    pub fn cached(
        experts: &QuantMatrix,
        experts_b: &[f32],
        gates: &[&QuantMatrix],
        gates_b: &[&[f32]],
        e: usize,
    ) -> Result<Arc<MoeI8>> {
        let mut slot = experts.moe.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = &*slot {
            let same_gates = m.key.len() == gates.len()
                && m.key
                    .iter()
                    .zip(gates)
                    .all(|(&a, g)| a == *g as *const QuantMatrix as usize);
            let ed = experts_b.len();
            let same_bias = m.e == e
                && m.bias.len() == ed + gates_b.iter().map(|b| b.len()).sum::<usize>()
                && m.bias[..ed] == *experts_b
                && gates_b
                    .iter()
                    .enumerate()
                    .all(|(k, b)| m.bias[ed + k * e..ed + (k + 1) * e] == **b);
            if same_gates && same_bias {
                return Ok(m.clone());
            }
        }
        let m = Arc::new(MoeI8::fuse(experts, experts_b, gates, gates_b, e)?);
        *slot = Some(m.clone());
        Ok(m)
    }
}

/// [`mix_bound`]'s factor: `2ε + 4(E+1)u`.
pub fn mix_bound(e: usize) -> f32 {
    2.0 * super::fastexp::EXP_POLY_MAX_REL + 4.0 * (e as f32 + 1.0) * f32::EPSILON / 2.0
}

/// Rows per block: quantised, multiplied and mixed while they are in cache (rows are
/// independent: every split gives the same bits).
const ROW_CHUNK: usize = 64;

#[inline(always)]
fn exp_of<const POLY: bool>(v: f32) -> f32 {
    if POLY {
        exp_poly(v)
    } else {
        v.exp()
    }
}

/// `g` (K·E) = the softmax of each gate's logits `z` (K·E), in `softmax_row`'s arithmetic
/// and order (the exp loop apart, so it vectorises).
#[inline(always)]
fn softmax_gates<const POLY: bool>(g: &mut [f32], z: &[f32], e: usize) {
    for (gk, zk) in g.chunks_exact_mut(e).zip(z.chunks_exact(e)) {
        let m = zk.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (o, &v) in gk.iter_mut().zip(zk) {
            *o = exp_of::<POLY>(v - m);
        }
        let mut s = 0f32;
        for &o in gk.iter() {
            s += o;
        }
        let inv = 1.0 / s;
        gk.iter_mut().for_each(|o| *o *= inv);
    }
}

/// `y_k,i += g_k,e · h` for every task k: row `i` of each output, expert `ex`'s `h` (D).
/// (Plain functions, not closures: inlined into the AVX2 caller they are compiled with its
/// features; a closure is compiled for the crate's baseline.)
#[inline(always)]
fn mix_expert(ys: &mut [&mut [f32]], i: usize, g: &[f32], e: usize, ex: usize, h: &[f32]) {
    let d = h.len();
    for (k, y) in ys.iter_mut().enumerate() {
        let gk = g[k * e + ex];
        let y = &mut y[i * d..(i + 1) * d];
        for (y, &hv) in y.iter_mut().zip(h) {
            *y += gk * hv;
        }
    }
}

/// Zeroes row `i` of every output (the reference's `gate_combine` starts from 0).
#[inline(always)]
fn zero_row(ys: &mut [&mut [f32]], i: usize, d: usize) {
    for y in ys.iter_mut() {
        y[i * d..(i + 1) * d].fill(0.0);
    }
}

/// Dense input: quantise the block's rows, one integer product, then per row the
/// dequantising epilogue (`b_j + s_x s_w,j (acc_ij − z_i Σ_k r_kj)`, as `dequantize`)
/// fused with the gate softmax and the mixing. `ys` are the K outputs' rows of the block.
#[inline(always)]
fn block_dense<const POLY: bool>(
    ys: &mut [&mut [f32]],
    x: &[f32],
    m: &MoeI8,
    rows: usize,
    s: &mut I8Scratch,
) {
    let (w, e, d) = (&m.w, m.e, m.d);
    let (ed, np) = (e * d, w.np());
    quantize_rows(&mut s.q, x, rows, w.d_in, w.kp());
    if s.acc.len() < rows * np {
        s.acc.resize(rows * np, 0);
    }
    gemm_u8i8(detect(), &mut s.acc, &s.q, w, rows);
    let (mut z, mut g, mut h) = (vec![0f32; m.k * e], vec![0f32; m.k * e], vec![0f32; d]);
    let (scales, sums, bias) = (&w.scales[..w.d_out], &w.col_sums[..w.d_out], &m.bias[..]);
    for i in 0..rows {
        let (sx, zp) = (s.q.scale[i], s.q.zero[i]);
        let acc = &s.acc[i * np..i * np + w.d_out];
        for (t, zt) in z.iter_mut().enumerate() {
            let j = ed + t; // gate logits, as `dequantize`
            let a = acc[j].wrapping_sub(zp.wrapping_mul(sums[j])); // Σ_k (u_ik − z_i) r_kj
            *zt = bias[j] + sx * scales[j] * a as f32;
        }
        softmax_gates::<POLY>(&mut g, &z, e);
        zero_row(ys, i, d);
        for ex in 0..e {
            let c = ex * d..(ex + 1) * d;
            let (acc, sc, su, b) = (
                &acc[c.clone()],
                &scales[c.clone()],
                &sums[c.clone()],
                &bias[c],
            );
            for j in 0..d {
                let a = acc[j].wrapping_sub(zp.wrapping_mul(su[j]));
                h[j] = (b[j] + sx * sc[j] * a as f32).max(0.0); // relu(expert ex), as `dequantize`
            }
            mix_expert(ys, i, &g, e, ex, &h);
        }
    }
}

/// `pre` (B, N) given (the partial products' output): per row relu of the experts'
/// columns, the gate softmax and the mixing.
#[inline(always)]
fn block_pre<const POLY: bool>(ys: &mut [&mut [f32]], pre: &[f32], m: &MoeI8, rows: usize) {
    let (e, d, n) = (m.e, m.d, m.w.d_out);
    let ed = e * d;
    let (mut g, mut h) = (vec![0f32; m.k * e], vec![0f32; d]);
    for i in 0..rows {
        let row = &pre[i * n..(i + 1) * n];
        softmax_gates::<POLY>(&mut g, &row[ed..], e);
        zero_row(ys, i, d);
        for ex in 0..e {
            for (o, &v) in h.iter_mut().zip(&row[ex * d..(ex + 1) * d]) {
                *o = v.max(0.0);
            }
            mix_expert(ys, i, &g, e, ex, &h);
        }
    }
}

/// The block kernels compiled for AVX2 where the CPU has it (the crate's baseline is SSE2).
/// The thread's scratch is taken out of its thread-local first: code inside a
/// `LocalKey::with` closure is compiled without the caller's target features.
fn block(ys: &mut [&mut [f32]], src: &[f32], m: &MoeI8, rows: usize, dense: bool, exp: GateExp) {
    let mut s = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
    #[cfg(target_arch = "x86_64")]
    let done = is_x86_feature_detected!("avx2") && {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { block_avx2(ys, src, m, rows, dense, exp, &mut s) };
        true
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    if !done {
        block_generic(ys, src, m, rows, dense, exp, &mut s);
    }
    SCRATCH.with(|c| *c.borrow_mut() = s);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_avx2(
    ys: &mut [&mut [f32]],
    src: &[f32],
    m: &MoeI8,
    rows: usize,
    dense: bool,
    exp: GateExp,
    s: &mut I8Scratch,
) {
    block_generic(ys, src, m, rows, dense, exp, s)
}

#[inline(always)]
fn block_generic(
    ys: &mut [&mut [f32]],
    src: &[f32],
    m: &MoeI8,
    rows: usize,
    dense: bool,
    exp: GateExp,
    s: &mut I8Scratch,
) {
    match (dense, exp) {
        (true, GateExp::Poly) => block_dense::<true>(ys, src, m, rows, s),
        (true, GateExp::Std) => block_dense::<false>(ys, src, m, rows, s),
        (false, GateExp::Poly) => block_pre::<true>(ys, src, m, rows),
        (false, GateExp::Std) => block_pre::<false>(ys, src, m, rows),
    }
}

/// `ys[k] (B, D) = Σ_e softmax_k,e · relu(expert_e)` from `src`: the input x (B, D_in)
/// when `dense`, else the fused pre-activation (B, N). Blocks of [`ROW_CHUNK`] rows, in
/// parallel on more than one rayon thread (bit-identical for any split).
pub fn moe_i8_forward(
    ys: &mut [&mut [f32]],
    src: &[f32],
    m: &MoeI8,
    b: usize,
    dense: bool,
    exp: GateExp,
) {
    use rayon::prelude::*;
    let width = if dense { m.w.d_in } else { m.w.d_out };
    let d = m.d;
    let chunks = b.div_ceil(ROW_CHUNK);
    let mut per: Vec<Vec<&mut [f32]>> = (0..chunks).map(|_| Vec::new()).collect();
    for y in ys.iter_mut() {
        for (c, part) in y[..b * d].chunks_mut(ROW_CHUNK * d).enumerate() {
            per[c].push(part);
        }
    }
    let run = |(c, mut ysc): (usize, Vec<&mut [f32]>)| {
        let r0 = c * ROW_CHUNK;
        let rows = ROW_CHUNK.min(b - r0);
        block(
            &mut ysc,
            &src[r0 * width..(r0 + rows) * width],
            m,
            rows,
            dense,
            exp,
        );
    };
    if chunks > 1 && rayon::current_num_threads() > 1 {
        per.into_par_iter().enumerate().for_each(run);
    } else {
        per.into_iter().enumerate().for_each(run);
    }
}

impl Graph {
    /// The K task mixtures `y_k (B, D)` of a mixture whose experts and gates are `m`
    /// (module docs), for inference: one product for every expert and gate of input `x`
    /// (B, D_in), the softmax and weighted sum in its epilogue. Over the input layer's
    /// embeddings the product is the partial products' (`partial`). `None` where the
    /// embeddings take the factorised f32 product (tables too large to precompute): the
    /// caller then takes the separate layers.
    pub fn moe_i8(
        &mut self,
        store: &ParamStore,
        x: Var,
        m: &MoeI8,
        exp: GateExp,
    ) -> Result<Option<Vec<Var>>> {
        self.check("moe_i8", x)?;
        let dx = self.dims(x);
        if dx.1 != m.w.d_in {
            return Err(Error::Shape {
                op: "moe_i8",
                shapes: vec![dx, Dims(m.w.d_in, m.w.d_out)],
                expected: "x (B, D_in), the fused experts + gates (D_in, N)".into(),
            });
        }
        let rows = dx.0;
        let (src, dense) = match self.embed_linear_i8(store, x, &m.w, &m.w_deq, &m.bias, None)? {
            Some(pre) => (pre, false), // (B, N)
            None if self.embed_linear_applies(x) => return Ok(None),
            None => (x, true), // (B, D_in)
        };
        let outs: Vec<Var> = (0..m.k)
            .map(|_| self.push_overwritten(crate::autograd::Op::Input, rows, m.d, false))
            .collect();
        let (head, tail) = self.nodes.split_at_mut(outs[0].index());
        let mut ys: Vec<&mut [f32]> = tail[..m.k].iter_mut().map(|n| &mut n.value[..]).collect();
        moe_i8_forward(&mut ys, &head[src.index()].value, m, rows, dense, exp);
        Ok(Some(outs))
    }
}
