//! Dense layers of the encoder: [`Dense`] (`y = x·Wᵀ + b`, W as stored in the checkpoint,
//! the GEMM packs it on every call) and [`Linear`] (the same layer with W packed once at
//! load into the GEMM's B̃ layout, `ops::gemm::PackedB`): the same bits, without re-packing
//! the weight on every product (`tests/s7enc_prepacked.rs`).

use crate::ops::gemm::{gemm_accumulate, gemm_prepacked, gemm_prepacked_serial, Gemm, PackedB};

/// A dense layer `y = x·Wᵀ + b` with W stored `(D_out, D_in)`.
#[derive(Clone, Debug)]
pub struct Dense {
    pub w: Vec<f32>, // (D_out, D_in)
    pub b: Vec<f32>, // (D_out)
    pub d_in: usize,
    pub d_out: usize,
}

impl Dense {
    /// `out = inp·Wᵀ + b`: `inp` (M, D_in) → `out` (M, D_out), overwritten.
    pub fn forward(&self, out: &mut [f32], inp: &[f32], m: usize) {
        for row in out.chunks_mut(self.d_out) {
            row.copy_from_slice(&self.b);
        }
        // out (M, D_out) += inp (M, D_in) · W (D_out, D_in)ᵀ
        gemm_accumulate(
            out,
            inp,
            &self.w,
            Gemm::new(m, self.d_in, self.d_out).trans_b(true),
        );
    }

    /// The layers side by side as one: W = [W_0; W_1; …] `(Σ D_out, D_in)`, b = [b_0; b_1; …],
    /// so one product gives every output, row r = [x_r·W_0ᵀ + b_0, x_r·W_1ᵀ + b_1, …]
    /// (the fused Q/K/V projection). Each output element is the same FMA chain over D_in
    /// as in its own layer's product, so the values are bit-identical
    /// (`tests/i20enc_qkv.rs`). All layers must share D_in.
    pub fn concat(parts: &[&Dense]) -> Dense {
        let d_in = parts[0].d_in;
        assert!(
            parts.iter().all(|p| p.d_in == d_in),
            "Dense::concat: D_in differs"
        );
        Dense {
            w: parts.iter().flat_map(|p| p.w.iter().copied()).collect(),
            b: parts.iter().flat_map(|p| p.b.iter().copied()).collect(),
            d_in,
            d_out: parts.iter().map(|p| p.d_out).sum(),
        }
    }
}

/// A [`Dense`] layer whose weight is also packed once for the GEMM (op(B) = Wᵀ, (D_in,
/// D_out)). [`Linear::forward`] gives the same bits as [`Dense::forward`] on the same
/// layer whenever that one takes the packed path (M, D_out > 1, M·D_in·D_out ≥ 512: every
/// product of a real encoder); below that it runs [`Dense::forward`] itself.
#[derive(Clone, Debug)]
pub struct Linear {
    pub dense: Dense,
    /// Wᵀ packed: `(D_in, D_out)` in B̃ blocks.
    packed: PackedB,
}

/// Fewest multiply-adds for which `gemm_accumulate` takes the packed path (its
/// `SMALL_MNK`); below it (and for M = 1 or D_out = 1), [`Linear`] calls the unpacked twin.
const PACKED_MIN_MNK: usize = 512;

impl Linear {
    /// Packs `dense`'s weight.
    pub fn new(dense: Dense) -> Linear {
        let packed = PackedB::new(&dense.w, dense.d_in, dense.d_out, true);
        Linear { dense, packed }
    }

    /// `out = inp·Wᵀ + b`: `inp` (M, D_in) → `out` (M, D_out), overwritten; the product is
    /// split among rayon threads when `parallel` and large enough (same bits either way).
    pub fn forward(&self, out: &mut [f32], inp: &[f32], m: usize, parallel: bool) {
        let d = &self.dense;
        if m <= 1 || d.d_out <= 1 || m * d.d_in * d.d_out < PACKED_MIN_MNK {
            return d.forward(out, inp, m);
        }
        for row in out.chunks_mut(d.d_out) {
            row.copy_from_slice(&d.b);
        }
        // out (M, D_out) += inp (M, D_in) · W̃ (D_in, D_out)
        if parallel {
            gemm_prepacked(out, inp, &self.packed, m, false);
        } else {
            gemm_prepacked_serial(out, inp, &self.packed, m, false);
        }
    }
}
