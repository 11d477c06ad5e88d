//! Int8 fully connected layer for inference: `y = f(x · W + b)` with W quantised per
//! output column (int8, symmetric) and x quantised per row at run time (7-bit unsigned
//! with a zero point), multiplied in integers (u8 × i8 → i32) by a hand-written AVX2
//! kernel (`avx2`) or its portable twin (`scalar`, the reference).
//!
//! ```text
//! x: (B, D_in) f32 → u: (B, K_p) u8, s_x, z: (B,)       per row, at run time
//! W: (D_in, D_out) f32 → r: (D_in, D_out) i8, s_w: (D_out,)   once, by `mtrec compress`
//! acc = u · r                       (B, D_out) i32, exact
//! y_ij = f(b_j + s_x,i · s_w,j · (acc_ij − z_i · Σ_k r_kj))
//! ```
//!
//! # Derivation
//!
//! **Weights**, per output column j (symmetric, no zero point):
//!
//! ```text
//! s_w,j = max_k |W_kj| / 127        r_kj = clamp(round(W_kj / s_w,j), −127, 127)
//! Ŵ_kj = s_w,j · r_kj               |W_kj − Ŵ_kj| ≤ s_w,j / 2
//! ```
//! (−128 is never used, so negating a weight never overflows; a zero column has s = 0.)
//!
//! **Activations**, per row i (asymmetric, 7 bits, 0 exactly representable):
//!
//! ```text
//! lo = min(0, min_k x_ik)   hi = max(0, max_k x_ik)   s_x = (hi − lo) / 127
//! z = round(−lo / s_x) ∈ [0, 127]     u_ik = clamp(round(x_ik / s_x) + z, 0, 127)
//! x̂_ik = s_x (u_ik − z)               |x_ik − x̂_ik| ≤ s_x / 2
//! ```
//! (x/s_x + z lies in [lo/s_x + z, hi/s_x + z] ⊂ [−½, 127½], so the clamp moves a value
//! by at most ½ step.) After a ReLU lo = 0, z = 0 and all 7 bits cover [0, max].
//!
//! **Product.** `Σ_k x̂_ik Ŵ_kj = s_x s_w,j Σ_k (u_ik − z) r_kj
//! = s_x s_w,j (Σ_k u_ik r_kj − z Σ_k r_kj)`; the column sums `Σ_k r_kj` are computed once.
//!
//! **Why 7 bits (saturation).** `_mm256_maddubs_epi16` multiplies unsigned bytes u by
//! signed bytes r and adds adjacent pairs **with i16 saturation**:
//! `|u₁r₁ + u₂r₂| ≤ 2 · 127 · 127 = 32 258 ≤ 32 767`, so with u ≤ 127 and |r| ≤ 127 it never
//! saturates (with 8-bit u, `2 · 255 · 127 = 64 770` would). `_mm256_madd_epi16` against ones
//! then widens to i32 (exact), and the i32 accumulator holds
//! `|Σ_k u r| ≤ K · 127² < 2³¹` for `K ≤ 133 143` ([`MAX_D_IN`], checked). Every step is
//! exact, so the AVX2 kernel and the scalar twin give **identical** integers.
//!
//! **Error bound** of the dequantised product against the f32 product, per element:
//!
//! ```text
//! Σ_k x W − Σ_k x̂ Ŵ = Σ_k x (W − Ŵ) + Σ_k (x − x̂) Ŵ
//! |Σ_k x_ik W_kj − s_x s_w,j (acc_ij − z Σ_k r_kj)| ≤ (s_w,j / 2) Σ_k |x_ik| + (s_x / 2) Σ_k |Ŵ_kj|
//! ```
//! ([`error_bound`]), up to f32 rounding of the final scale (relative 2⁻²⁴ per operation).
//! The bias is added in f32 and f is applied after, as in `ops::linear_act`; ReLU,
//! sigmoid and tanh are 1-Lipschitz, so the bound carries through them.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod fastexp;
pub mod moe;
mod pack;
pub mod partial;
mod quantize;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod vnni;

pub use fastexp::{exp_poly, EXP_POLY_MAX_REL};
pub use moe::{moe_i8_forward, GateExp, MoeI8};
pub use pack::QuantMatrix;
pub use partial::{partial_forward, partial_forward_reference, Partial};
pub use quantize::{
    dequantize, dequantize_reference, quantize_rows, quantize_rows_reference, QuantRows,
};
pub use scalar::gemm_u8i8_scalar;

use crate::autograd::UnaryFn;
use crate::error::{Error, Result};
use std::sync::OnceLock;

/// Largest `D_in` whose i32 accumulator cannot overflow: `K · 127² < 2³¹`.
pub const MAX_D_IN: usize = (i32::MAX as usize) / (127 * 127);

/// Which integer kernel multiplies. All of them give identical integers (every step is
/// exact); they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelI8 {
    /// Plain Rust loops (the reference).
    Scalar,
    /// `maddubs` / `madd` AVX2 intrinsics.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-VNNI: the 256-bit `vpdpbusd` (`_mm256_dpbusd_avx_epi32`).
    #[cfg(target_arch = "x86_64")]
    AvxVnni,
    /// AVX-512 VNNI: the 512-bit `vpdpbusd` (`_mm512_dpbusd_epi32`).
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl KernelI8 {
    /// The name `MTREC_GEMM_I8` takes for this kernel.
    pub fn name(self) -> &'static str {
        match self {
            KernelI8::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            KernelI8::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            KernelI8::AvxVnni => "avxvnni",
            #[cfg(target_arch = "x86_64")]
            KernelI8::Avx512Vnni => "avx512vnni",
        }
    }
}

/// Every integer kernel this CPU can run, slowest first (the scalar twin always).
pub fn available() -> Vec<KernelI8> {
    #[allow(unused_mut)]
    let mut k = vec![KernelI8::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            k.push(KernelI8::Avx2);
            if is_x86_feature_detected!("avxvnni") {
                k.push(KernelI8::AvxVnni);
            }
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni") {
            k.push(KernelI8::Avx512Vnni);
        }
    }
    k
}

/// The kernel `detect` picks from `available` (slowest first) given the value of
/// `MTREC_GEMM_I8`: the fastest one, or with `MTREC_GEMM_I8=<name>` the fastest one no
/// faster than `<name>` (`avx2` forces the AVX2 kernel on a VNNI CPU, `scalar` the twin).
/// `Err` names the values it takes when `env` is none of them.
pub fn choose(available: &[KernelI8], env: Option<&str>) -> std::result::Result<KernelI8, String> {
    const ORDER: [&str; 4] = ["scalar", "avx2", "avxvnni", "avx512vnni"];
    let best = *available.last().unwrap_or(&KernelI8::Scalar);
    let Some(v) = env.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(best);
    };
    let Some(cap) = ORDER.iter().position(|n| n.eq_ignore_ascii_case(v)) else {
        return Err(format!(
            "MTREC_GEMM_I8={v:?} is not a kernel; use one of {ORDER:?} (or unset it for the fastest)"
        ));
    };
    let rank = |k: &KernelI8| ORDER.iter().position(|n| *n == k.name()).unwrap_or(0);
    Ok(available
        .iter()
        .copied()
        .rfind(|k| rank(k) <= cap)
        .unwrap_or(KernelI8::Scalar))
}

/// The fastest integer kernel this CPU supports, or the one `MTREC_GEMM_I8` caps it at
/// (see [`choose`]; an unknown value is reported once on stderr and ignored). Detected
/// once, then cached.
pub fn detect() -> KernelI8 {
    static CHOSEN: OnceLock<KernelI8> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let avail = available();
        let env = std::env::var("MTREC_GEMM_I8").ok();
        choose(&avail, env.as_deref()).unwrap_or_else(|m| {
            eprintln!("warning: {m}");
            *avail.last().unwrap_or(&KernelI8::Scalar)
        })
    })
}

/// The kernel [`gemm_u8i8`] runs when asked for `kernel` on a CPU that can run
/// `available` (as [`available`] lists them): `kernel` itself when listed, otherwise the
/// scalar twin. Falling back rather than a `debug_assert!`: a `#[target_feature]`
/// function called on a CPU without the feature is undefined behaviour, and a debug
/// assertion is compiled out of the release builds that would run it; every kernel gives
/// identical integers, so the fallback changes the speed only.
pub fn runnable(kernel: KernelI8, available: &[KernelI8]) -> KernelI8 {
    if available.contains(&kernel) {
        kernel
    } else {
        KernelI8::Scalar
    }
}

/// `acc (B, N_p) = u (B, K_p) · r` in i32 with `kernel`, `N_p` = `w.np()` columns; a
/// kernel this CPU cannot run is replaced by the scalar twin ([`runnable`]).
pub fn gemm_u8i8(kernel: KernelI8, acc: &mut [i32], q: &QuantRows, w: &QuantMatrix, b: usize) {
    static AVAILABLE: OnceLock<Vec<KernelI8>> = OnceLock::new();
    match runnable(kernel, AVAILABLE.get_or_init(available)) {
        KernelI8::Scalar => gemm_u8i8_scalar(acc, &q.u, w, b),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `runnable` returns AVX2 only when `available()` found AVX2 on this CPU.
        KernelI8::Avx2 => unsafe { avx2::gemm_u8i8_avx2(acc, &q.u, w, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, `available()` found AVX2 and AVX-VNNI.
        KernelI8::AvxVnni => unsafe { vnni::gemm_u8i8_avxvnni(acc, &q.u, w, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, `available()` found AVX-512F and AVX-512 VNNI.
        KernelI8::Avx512Vnni => unsafe { vnni::gemm_u8i8_avx512vnni(acc, &q.u, w, b) },
    }
}

/// The per-element bound on `|x · W − dequantised int8 product|` (B, D_out), from the
/// derivation: `(s_w,j / 2) Σ_k |x_ik| + (s_x,i / 2) Σ_k |Ŵ_kj|`.
pub fn error_bound(x: &[f32], q: &QuantRows, w: &QuantMatrix, b: usize) -> Vec<f64> {
    let (d_in, d_out) = (w.d_in, w.d_out);
    let col_abs: Vec<f64> = (0..d_out)
        .map(|j| {
            (0..d_in)
                .map(|k| (w.scales[j] as f64 * w.q[k * d_out + j] as f64).abs())
                .sum()
        })
        .collect();
    let mut out = vec![0f64; b * d_out];
    for i in 0..b {
        let row_abs: f64 = x[i * d_in..(i + 1) * d_in]
            .iter()
            .map(|v| v.abs() as f64)
            .sum();
        for j in 0..d_out {
            out[i * d_out + j] =
                w.scales[j] as f64 / 2.0 * row_abs + q.scale[i] as f64 / 2.0 * col_abs[j];
        }
    }
    out
}

/// Scratch of one row chunk of [`linear_act_i8_forward`], reused across calls.
#[derive(Default)]
struct I8Scratch {
    q: QuantRows,
    acc: Vec<i32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<I8Scratch> = std::cell::RefCell::new(I8Scratch::default());
}

/// Rows per rayon task: each task quantises and multiplies its own rows (rows are
/// independent, so any split gives the same bits).
const ROW_CHUNK: usize = 64;

/// `out (B, D_out) = f(inp (B, D_in) · Ŵ + bias)` through the int8 product: quantise the
/// rows, multiply in i32, then `out_ij = f(b_j + s_x,i s_w,j (acc_ij − z_i Σ_k r_kj))`.
pub fn linear_act_i8_forward(
    out: &mut [f32],
    inp: &[f32],
    w: &QuantMatrix,
    bias: &[f32],
    b: usize,
    f: Option<UnaryFn>,
    kernel: KernelI8,
) {
    use rayon::prelude::*;
    let (d_in, d_out) = (w.d_in, w.d_out);
    let chunk = |(out, inp): (&mut [f32], &[f32])| {
        let rows = out.len() / d_out;
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            rows_forward(out, inp, w, bias, rows, f, kernel, s)
        });
    };
    let big = b > ROW_CHUNK && b * d_in * d_out >= 1 << 20;
    if big && rayon::current_num_threads() > 1 {
        out[..b * d_out]
            .par_chunks_mut(ROW_CHUNK * d_out)
            .zip(inp[..b * d_in].par_chunks(ROW_CHUNK * d_in))
            .for_each(chunk);
    } else {
        chunk((&mut out[..b * d_out], &inp[..b * d_in]));
    }
}

/// One chunk of rows: quantise, multiply, dequantise, add the bias and apply `f`.
#[allow(clippy::too_many_arguments)]
fn rows_forward(
    out: &mut [f32],
    inp: &[f32],
    w: &QuantMatrix,
    bias: &[f32],
    b: usize,
    f: Option<UnaryFn>,
    kernel: KernelI8,
    s: &mut I8Scratch,
) {
    quantize_rows(&mut s.q, inp, b, w.d_in, w.kp());
    // every kernel writes all of acc[..b·N_p] (stores, not adds): no zero-fill of the
    // reused buffer (it was 5 % of the MovieLens int8 profile)
    if s.acc.len() < b * w.np() {
        s.acc.resize(b * w.np(), 0);
    }
    gemm_u8i8(kernel, &mut s.acc, &s.q, w, b);
    dequantize(out, &s.acc, &s.q, w, bias, b, f);
}

/// Refuses a layer too wide for the i32 accumulator (see [`MAX_D_IN`]).
pub fn check_d_in(name: &str, d_in: usize) -> Result<()> {
    if d_in > MAX_D_IN {
        return Err(Error::Config {
            what: format!("int8 layer `{name}`"),
            message: format!(
                "D_in = {d_in} is more than {MAX_D_IN}, where the i32 accumulator of the int8 product could overflow; leave this layer in f32"
            ),
        });
    }
    Ok(())
}

impl crate::autograd::Graph {
    /// `f(x · Ŵ + bias)` through the int8 product, for inference: `x` (B, D_in), `w` an
    /// int8 matrix (D_in, D_out), `bias` (D_out,). The node needs no gradient (there is
    /// no backward pass through quantisation); training graphs use `linear_act`.
    pub fn linear_act_i8(
        &mut self,
        x: crate::autograd::Var,
        w: &QuantMatrix,
        bias: &[f32],
        f: Option<UnaryFn>,
    ) -> Result<crate::autograd::Var> {
        self.check("linear_act_i8", x)?;
        let dx = self.dims(x);
        if dx.1 != w.d_in || bias.len() != w.d_out {
            return Err(Error::Shape {
                op: "linear_act_i8",
                shapes: vec![
                    dx,
                    crate::error::Dims(w.d_in, w.d_out),
                    crate::error::Dims(1, bias.len()),
                ],
                expected: "x (B, D_in), w (D_in, D_out), b (1, D_out)".into(),
            });
        }
        let rows = dx.0;
        let out = self.push_overwritten(crate::autograd::Op::Input, rows, w.d_out, false);
        let (node, inputs) = self.split(out);
        linear_act_i8_forward(
            &mut node.value,
            &inputs[x.index()].value,
            w,
            bias,
            rows,
            f,
            detect(),
        );
        Ok(out)
    }
}
