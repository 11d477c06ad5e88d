//! A weight matrix quantised per output column, kept in two layouts: `q` (D_in, D_out)
//! row-major, what the run file stores and the scalar twin reads, and `packed`, what the
//! AVX2 kernel streams.
//!
//! Packed layout: column blocks of NR = 16, then k in quads (K_p = D_in rounded up to 4):
//!
//! ```text
//! packed[((jb · K_p/4 + p) · 16 + c) · 4 + t] = r[4p + t][16 jb + c]     (0 past the edges)
//! ```
//! so one 32-byte load holds 4 consecutive k of 8 columns, which is what
//! `_mm256_maddubs_epi16` against a broadcast of 4 activation bytes multiplies.

use crate::error::{Error, Result};

/// Columns per block of the packed layout (two ymm of i32 accumulators).
pub const NR: usize = 16;

/// An int8 weight matrix: `W ≈ r · diag(scales)`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantMatrix {
    pub d_in: usize,
    pub d_out: usize,
    /// (D_in, D_out) row-major, in [−127, 127].
    pub q: Vec<i8>,
    /// (D_out,): s_w,j = max_k |W_kj| / 127.
    pub scales: Vec<f32>,
    /// (D_out,): Σ_k r_kj, for the activations' zero point.
    pub col_sums: Vec<i32>,
    /// The AVX2 layout (see the module doc), `N_p/16 · K_p/4 · 64` bytes.
    pub packed: Vec<i8>,
    /// The per-vocabulary partial products of this layer over embedded inputs, built at
    /// first use (`gemm_i8::partial`).
    pub partial: super::partial::PartialCache,
    /// A mixture's experts fused with its gates (`gemm_i8::moe`), built at first use when
    /// this is an experts' first layer.
    pub moe: super::moe::MoeCache,
}

impl QuantMatrix {
    /// Quantises `w` (D_in, D_out) per output column (symmetric, see `gemm_i8`).
    pub fn quantize(name: &str, w: &[f32], d_in: usize, d_out: usize) -> Result<QuantMatrix> {
        super::check_d_in(name, d_in)?;
        if w.len() != d_in * d_out || w.iter().any(|v| !v.is_finite()) {
            return Err(Error::Config {
                what: format!("int8 layer `{name}`"),
                message: format!(
                    "needs {d_in}·{d_out} finite weights, got {} values{}; the run's model.safetensors is broken",
                    w.len(),
                    if w.iter().any(|v| !v.is_finite()) { " with NaN/inf" } else { "" }
                ),
            });
        }
        let mut scales = vec![0f32; d_out];
        for row in w.chunks_exact(d_out) {
            for (s, &v) in scales.iter_mut().zip(row) {
                *s = s.max(v.abs());
            }
        }
        scales.iter_mut().for_each(|s| *s /= 127.0);
        let q = w
            .chunks_exact(d_out)
            .flat_map(|row| {
                row.iter().zip(&scales).map(|(&v, &s)| {
                    if s > 0.0 {
                        (v / s).round().clamp(-127.0, 127.0) as i8
                    } else {
                        0
                    }
                })
            })
            .collect();
        QuantMatrix::from_parts(name, q, scales, d_in, d_out)
    }

    /// A matrix from its stored int8 values `q` (D_in, D_out) and column `scales`.
    pub fn from_parts(
        name: &str,
        q: Vec<i8>,
        scales: Vec<f32>,
        d_in: usize,
        d_out: usize,
    ) -> Result<QuantMatrix> {
        super::check_d_in(name, d_in)?;
        let bad = |m: String| Error::Config {
            what: format!("int8 layer `{name}`"),
            message: m,
        };
        if q.len() != d_in * d_out || scales.len() != d_out {
            return Err(bad(format!(
                "has {} int8 values and {} scales, expected {d_in}·{d_out} and {d_out}; the file was not written by mtrec compress",
                q.len(),
                scales.len()
            )));
        }
        if q.contains(&i8::MIN) || scales.iter().any(|s| !s.is_finite() || *s < 0.0) {
            return Err(bad(
                "holds −128 or a negative / non-finite scale, which mtrec compress never writes; compress the run again".into(),
            ));
        }
        let mut col_sums = vec![0i32; d_out];
        for row in q.chunks_exact(d_out) {
            for (c, &v) in col_sums.iter_mut().zip(row) {
                *c += v as i32;
            }
        }
        let mut m = QuantMatrix {
            d_in,
            d_out,
            q,
            scales,
            col_sums,
            packed: Vec::new(),
            partial: Default::default(),
            moe: Default::default(),
        };
        m.packed = m.pack();
        Ok(m)
    }

    /// `K_p`: D_in rounded up to a multiple of 4.
    pub fn kp(&self) -> usize {
        self.d_in.div_ceil(4) * 4
    }

    /// `N_p`: D_out rounded up to a multiple of 16.
    pub fn np(&self) -> usize {
        self.d_out.div_ceil(NR) * NR
    }

    /// The dequantised weights Ŵ = r · diag(s) (D_in, D_out).
    pub fn dequantize(&self) -> Vec<f32> {
        self.q
            .chunks_exact(self.d_out)
            .flat_map(|row| row.iter().zip(&self.scales).map(|(&r, &s)| r as f32 * s))
            .collect()
    }

    fn pack(&self) -> Vec<i8> {
        let (kq, nb) = (self.kp() / 4, self.np() / NR);
        let mut p = vec![0i8; nb * kq * NR * 4];
        for jb in 0..nb {
            for pq in 0..kq {
                for c in 0..NR {
                    for t in 0..4 {
                        let (k, j) = (4 * pq + t, jb * NR + c);
                        if k < self.d_in && j < self.d_out {
                            p[((jb * kq + pq) * NR + c) * 4 + t] = self.q[k * self.d_out + j];
                        }
                    }
                }
            }
        }
        p
    }
}
