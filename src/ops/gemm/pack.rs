//! Packing: copies a block of op(A) or op(B) into the order the micro-kernel reads it.
//!
//! ```text
//! packed A block (MC×KC):  ⌈mc/MR⌉ micro-panels, each (KC, MR):  Ã[ip][p·MR + i] = op(A)[r0+ip·MR+i, p0+p]
//! packed B block (KC×NC):  ⌈nc/NR⌉ micro-panels, each (KC, NR):  B̃[jp][p·NR + j] = op(B)[p0+p, c0+jp·NR+j]
//! ```
//!
//! Rows (columns) past the edge of the matrix are zero, so the micro-kernel always runs a
//! full MR×NR tile and only its write-back is clipped. A transposed operand is just a
//! different pair of strides ([`Mat`]); each packer picks the loop order that reads the
//! stored matrix contiguously, so all four transpose variants pack at memory speed.

use super::{MR, NR};

/// A read-only view of op(X): element `(r, c)` lives at `data[r·rs + c·cs]`.
#[derive(Clone, Copy)]
pub(super) struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// op(X) for X stored row-major as (rows, cols), or as (cols, rows) if `trans`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize, trans: bool) -> Self {
        if trans {
            Mat {
                data,
                rs: 1,
                cs: rows,
            }
        } else {
            Mat {
                data,
                rs: cols,
                cs: 1,
            }
        }
    }

    /// The `len` stored elements from index `start` (a contiguous run of op(X)).
    fn run(&self, start: usize, len: usize) -> &'a [f32] {
        &self.data[start..start + len]
    }

    /// Hints the CPU to fetch the cache line holding stored index `at` (may be past the
    /// end: nothing is read). Used when a packer walks across stored rows, one line per
    /// step, which the hardware prefetchers follow poorly.
    #[inline(always)]
    fn prefetch(&self, at: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.data.as_ptr().wrapping_add(at) as *const i8;
            // SAFETY: a prefetch is only a hint; it never faults or reads into the program,
            // whatever the address (computed with wrapping_add, so no out-of-bounds
            // pointer arithmetic either).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
    }
}

/// How many steps of `p` ahead the packers prefetch when they walk across stored rows.
const PREFETCH_AHEAD: usize = 24;

/// Packs op(A)[r0..r0+mc, p0..p0+kc] into `dst` (≥ ⌈mc/MR⌉·kc·MR floats) as MR-row
/// micro-panels.
pub(super) fn pack_a(dst: &mut [f32], a: Mat, r0: usize, mc: usize, p0: usize, kc: usize) {
    let panels = dst.chunks_exact_mut(kc * MR).take(mc.div_ceil(MR));
    for (ip, panel) in panels.enumerate() {
        let i0 = r0 + ip * MR;
        let mr = MR.min(r0 + mc - i0);
        if mr < MR {
            panel.fill(0.0);
        }
        if a.cs == 1 {
            // Rows of op(A) are contiguous (A stored (M, K)): read MR rows side by side.
            let rows: [&[f32]; MR] =
                std::array::from_fn(|i| a.run((i0 + i.min(mr - 1)) * a.rs + p0, kc));
            if mr == MR {
                for (p, d) in panel.chunks_exact_mut(MR).enumerate() {
                    for (i, row) in rows.iter().enumerate() {
                        d[i] = row[p];
                    }
                }
            } else {
                for (i, row) in rows.iter().enumerate().take(mr) {
                    for (d, &v) in panel.chunks_exact_mut(MR).zip(row.iter()) {
                        d[i] = v;
                    }
                }
            }
        } else {
            // Columns of op(A) are contiguous (A stored (K, M)): copy MR values per p
            // (a constant length in the common case, so the copy is inlined).
            for (p, d) in panel.chunks_exact_mut(MR).enumerate() {
                a.prefetch((p0 + p + PREFETCH_AHEAD) * a.cs + i0);
                let src = a.run((p0 + p) * a.cs + i0, mr);
                if mr == MR {
                    d.copy_from_slice(&src[..MR]);
                } else {
                    d[..mr].copy_from_slice(src);
                }
            }
        }
    }
}

/// Packs one NR-column micro-panel op(B)[p0..p0+kc, j0..j0+nr] into `dst` (kc·NR floats).
pub(super) fn pack_b_panel(dst: &mut [f32], b: Mat, p0: usize, kc: usize, j0: usize, nr: usize) {
    if nr < NR {
        dst.fill(0.0);
    }
    if b.cs == 1 {
        // Rows of op(B) are contiguous (B stored (K, N)): copy NR values per p.
        for (p, d) in dst.chunks_exact_mut(NR).enumerate() {
            b.prefetch((p0 + p + PREFETCH_AHEAD) * b.rs + j0);
            b.prefetch((p0 + p + PREFETCH_AHEAD) * b.rs + j0 + NR - 1);
            let src = b.run((p0 + p) * b.rs + j0, nr);
            if nr == NR {
                d.copy_from_slice(&src[..NR]);
            } else {
                d[..nr].copy_from_slice(src);
            }
        }
    } else {
        // Columns of op(B) are contiguous (B stored (N, K)): read NR stored rows side by side.
        let cols: [&[f32]; NR] =
            std::array::from_fn(|j| b.run((j0 + j.min(nr - 1)) * b.cs + p0, kc));
        if nr == NR {
            for (p, d) in dst.chunks_exact_mut(NR).enumerate() {
                for (j, col) in cols.iter().enumerate() {
                    d[j] = col[p];
                }
            }
        } else {
            for (j, col) in cols.iter().enumerate().take(nr) {
                for (d, &v) in dst.chunks_exact_mut(NR).zip(col.iter()) {
                    d[j] = v;
                }
            }
        }
    }
}

/// A 64-byte-aligned window of `len` floats inside `buf`, growing `buf` if needed (it
/// never shrinks, so a reused buffer stops allocating once it has seen the largest block).
pub(crate) fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    const PAD: usize = 64 / std::mem::size_of::<f32>();
    if buf.len() < len + PAD {
        buf.resize(len + PAD, 0.0);
    }
    let off = buf.as_ptr().align_offset(64).min(PAD);
    &mut buf[off..off + len]
}
