//! Products with a B packed once: `C (M, N) += op(A) (M, K) · B̃`, where B̃ holds op(B)
//! already in the packed path's B̃ layout (every (jc, pc) block, see the module docs).
//!
//! A layer's weight does not change between calls, so re-packing it on every product (as
//! [`super::gemm_accumulate`] must) is wasted work: ≈ 6 % of the text encoder's time. Here
//! [`PackedB::new`] packs it once, with the same packer, into the same blocks; the product
//! then only packs Ã.
//!
//! ```text
//! B̃ = [ block (jc=0, pc=0) | block (jc=0, pc=KC) | … | block (jc=NC, pc=0) | … ]
//!      each block ⌈nc/NR⌉ micro-panels of (kc, NR), as `pack::pack_b_panel` writes them
//! for jc in 0..N step NC
//!   for each task (row chunk ≤ MC of M) × (group of NR micro-panels)   ← rayon, once
//!     for pc in 0..K step KC                    in order, inside the task
//!       pack op(A)[ic.., pc..] → Ã;  C[ic.., jc..] += Ã · B̃(jc, pc)
//! ```
//!
//! The tasks are the packed path's (same row chunks, same column groups) and every task
//! walks `pc` in order, so every output element is the same sum in the same order,
//! `((C + Σ_{p∈block 0}) + Σ_{p∈block 1}) + …`, by the same micro-kernel: the result is
//! **bit-identical** to [`super::gemm_with`] with `GemmPath::Packed { kernel, wide }`, for
//! any thread count (`tests/s7enc_prepacked.rs`). Because B̃ exists before the product
//! starts, the tasks run once for all of K (one fork–join per NC block instead of one per
//! (jc, pc) block).

use super::kernel::{macro_kernel, Block, OutPtr};
use super::pack::{pack_a, pack_b_panel, Mat};
use super::{aligned, detect, split, with_buf, Kernel, KC, MC, MR, NC, NR, PACK_A};
use super::{PAR_MIN_MNK, TASKS_PER_THREAD};
use rayon::prelude::*;

/// op(B) (K, N) packed once into the B̃ blocks of the packed GEMM.
#[derive(Debug)]
pub struct PackedB {
    /// The blocks, jc-major then pc, starting at `data[off]` (64-byte aligned).
    data: Vec<f32>,
    off: usize,
    /// Start of block (jc/NC, pc/KC), relative to `off`.
    starts: Vec<usize>,
    k: usize,
    n: usize,
}

impl Clone for PackedB {
    /// A copy whose blocks are 64-byte aligned again (a plain `Vec` clone may move them).
    fn clone(&self) -> PackedB {
        let len = self.data.len() - self.off;
        let mut data = Vec::new();
        let dst = aligned(&mut data, len);
        dst.copy_from_slice(&self.data[self.off..]);
        let start = dst.as_ptr() as usize;
        PackedB {
            off: (start - data.as_ptr() as usize) / std::mem::size_of::<f32>(),
            data,
            starts: self.starts.clone(),
            k: self.k,
            n: self.n,
        }
    }
}

impl PackedB {
    /// Packs op(B): `b` stored (K, N), or (N, K) when `trans_b` (a linear layer's
    /// `(D_out, D_in)` weight is op(B) = Wᵀ with `trans_b`).
    pub fn new(b: &[f32], k: usize, n: usize, trans_b: bool) -> PackedB {
        assert_eq!(
            b.len(),
            k * n,
            "PackedB::new: {} floats for K={k}, N={n}",
            b.len()
        );
        let bm = Mat::new(b, k, n, trans_b);
        let mut starts = Vec::new();
        let mut len = 0;
        for jc in (0..n).step_by(NC) {
            let n_panels = NC.min(n - jc).div_ceil(NR);
            for pc in (0..k).step_by(KC) {
                starts.push(len);
                len += n_panels * KC.min(k - pc) * NR;
            }
        }
        let mut data = Vec::new();
        let packed = aligned(&mut data, len);
        let mut blk = 0;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let dst = &mut packed[starts[blk]..starts[blk] + nc.div_ceil(NR) * kc * NR];
                for (jp, panel) in dst.chunks_mut(kc * NR).enumerate() {
                    let j0 = jc + jp * NR;
                    pack_b_panel(panel, bm, pc, kc, j0, NR.min(jc + nc - j0));
                }
                blk += 1;
            }
        }
        let start = packed.as_ptr() as usize;
        PackedB {
            off: (start - data.as_ptr() as usize) / std::mem::size_of::<f32>(),
            data,
            starts,
            k,
            n,
        }
    }

    /// K, the rows of op(B).
    pub fn k(&self) -> usize {
        self.k
    }

    /// N, the columns of op(B).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Block (jc/NC = `bj`, pc/KC = `bp`): ⌈nc/NR⌉ micro-panels of (kc, NR).
    fn block(&self, bj: usize, bp: usize, len: usize) -> &[f32] {
        let s = self.off + self.starts[bj * self.k.div_ceil(KC) + bp];
        &self.data[s..s + len]
    }
}

/// `out (M, N) += op(A) (M, K) · B̃` with the detected kernel (AVX-512 where the CPU has
/// it), split among rayon threads from `PAR_MIN_MNK` multiply-adds on. `a` is stored
/// (M, K), or (K, M) when `trans_a`. Bit-identical to
/// `gemm_with(GemmPath::Packed { kernel: detect(), wide: true }, out, a, b, g)` for the
/// unpacked B (which is also what [`super::gemm_accumulate`] runs once M, N > 1 and
/// M·N·K ≥ `SMALL_MNK`).
pub fn gemm_prepacked(out: &mut [f32], a: &[f32], b: &PackedB, m: usize, trans_a: bool) {
    gemm_prepacked_with(detect(), true, true, out, (a, trans_a), b, m);
}

/// [`gemm_prepacked`] on the calling thread only: for callers that already run
/// independent products on all threads (the same bits either way).
pub fn gemm_prepacked_serial(out: &mut [f32], a: &[f32], b: &PackedB, m: usize, trans_a: bool) {
    gemm_prepacked_with(detect(), true, false, out, (a, trans_a), b, m);
}

/// The driver: `kernel` and `wide` as in `GemmPath::Packed`; `parallel` allows rayon tasks.
pub fn gemm_prepacked_with(
    kernel: Kernel,
    wide: bool,
    parallel: bool,
    out: &mut [f32],
    (a, trans_a): (&[f32], bool),
    b: &PackedB,
    m: usize,
) {
    let (k, n) = (b.k, b.n);
    assert!(
        out.len() == m * n && a.len() == m * k,
        "gemm_prepacked: buffer lengths out={} a={} do not match M={m}, K={k}, N={n}",
        out.len(),
        a.len()
    );
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let am = Mat::new(a, m, k, trans_a);
    let threads = rayon::current_num_threads();
    let par = parallel && threads > 1 && m * n * k >= PAR_MIN_MNK;
    // Tasks exactly as in `super::packed`: row chunks of whole MR micro-panels (≤ MC rows),
    // then column groups of micro-panels when the row chunks are too few.
    let target = if par { TASKS_PER_THREAD * threads } else { 1 };
    let m_units = m.div_ceil(MR);
    let m_chunks = m_units.div_ceil(MC / MR).max(target).min(m_units);
    let row = |i: usize| (split(m_units, m_chunks, i) * MR).min(m);
    let c = OutPtr(out.as_mut_ptr());
    for (bj, jc) in (0..n).step_by(NC).enumerate() {
        let nc = NC.min(n - jc);
        let n_panels = nc.div_ceil(NR);
        let n_groups = target.div_ceil(m_chunks).min(n_panels);
        let task = |t: usize| {
            let (ci, gi) = (t / n_groups, t % n_groups);
            let (ic, mc) = (row(ci), row(ci + 1) - row(ci));
            let jp = (
                split(n_panels, n_groups, gi),
                split(n_panels, n_groups, gi + 1),
            );
            with_buf(&PACK_A, |abuf| {
                for (bp, pc) in (0..k).step_by(KC).enumerate() {
                    let kc = KC.min(k - pc);
                    let ap = aligned(abuf, mc.div_ceil(MR) * kc * MR);
                    pack_a(ap, am, ic, mc, pc, kc);
                    let block = Block {
                        kc,
                        ap,
                        bp: b.block(bj, bp, n_panels * kc * NR),
                        c: c.offset(ic * n + jc),
                        ldc: n,
                        mc,
                        nc,
                        jp,
                    };
                    // SAFETY: `block.c` is element (ic, jc) of `out` (M·N floats, row stride
                    // n); the window is mc × nc inside it. Task t alone owns rows ic..ic+mc ×
                    // micro-panel columns jp of this window (chunks and groups partition
                    // it), and all tasks are joined before `out`'s borrow ends. `ap` was
                    // packed for this block and `bp` is block (jc, pc) of B̃, packed by the
                    // same packer for the same (kc, nc).
                    unsafe { macro_kernel(kernel, wide, block) };
                }
            });
        };
        let tasks = m_chunks * n_groups;
        if par {
            (0..tasks).into_par_iter().for_each(task);
        } else {
            (0..tasks).for_each(task);
        }
    }
}
