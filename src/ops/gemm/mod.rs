//! Packed, cache-blocked single-precision GEMM in the BLIS / GotoBLAS style:
//! `C += op(A) · op(B)`, C: (M, N) row-major, op(A): (M, K), op(B): (K, N).
//!
//! Every product is described by one [`Gemm`] (sizes and transposes) and runs through
//! [`gemm_accumulate`] (the fastest path for its size) or [`gemm_with`] (a chosen
//! [`GemmPath`]: the reference loops or the packed path with a given kernel, for the
//! tests that compare them and for benchmarks).
//!
//! # Blocking
//!
//! ```text
//! for jc in 0..N step NC                       B̃ block: (KC, NC), lives in L3
//!   for pc in 0..K step KC                     K is walked in order, never split
//!     pack op(B)[pc.., jc..] → B̃               (NR-column micro-panels, in parallel)
//!     for each task (row chunk ≤ MC of M) × (group of NR micro-panels)   ← rayon
//!       pack op(A)[ic.., pc..] → Ã             (MR-row micro-panels, per thread)
//!       for jr in group:                       B̃ micro-panel (KC, NR): stays in L1
//!         for ir in chunk step MR:             Ã micro-panel (KC, MR): from L2
//!           C[ir.., jr..] += Ã_ir · B̃_jr       MR×NR register tile (micro-kernel)
//! ```
//!
//! Packing absorbs the four transpose variants (see `pack`), so there is one micro-kernel:
//! 6×16 with AVX2+FMA (12 ymm accumulators; `avx2`) when the CPU has them — or, where the
//! CPU also has AVX-512F, 6×32 over two micro-panels at once (12 zmm accumulators;
//! `avx512`, bit-identical to the AVX2 kernel) — and a portable scalar kernel of the same
//! layout otherwise (`kernel`).
//!
//! # Constants (x86-64 AVX2, tuned on Zen 3: 32 KiB L1d, 512 KiB L2 per core)
//!
//! - `MR × NR = 6 × 16`: 12 accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm; 12
//!   independent FMA chains hide the FMA latency (4 cycles × 2 pipes).
//! - `KC = 256`: a B̃ micro-panel is 256·16·4 B = 16 KiB (half of L1), an Ã micro-panel
//!   6 KiB.
//! - `MC = 144`: an Ã block is 144·256·4 B = 144 KiB, well inside L2 next to the B̃ stream.
//! - `NC = 4080`: a B̃ block is at most 4 MiB, shared by all threads in L3.
//!
//! These are the values BLIS uses for its Zen sgemm kernel.
//!
//! # Threads and determinism
//!
//! Products of at least `PAR_MIN_MNK` multiply-adds split M (and, when M alone gives too
//! few tasks, N) among rayon tasks; K is never split. Every output element is therefore
//! `((C + Σ_{p∈block 0}) + Σ_{p∈block 1}) + …`, each block sum accumulated by one FMA
//! chain in `p` order by one micro-kernel call, whatever the thread count or the task
//! shapes: 1 and 2 threads give bit-identical results.
//!
//! Pack buffers are thread-local and only grow, so steady-state calls do not allocate.
//! Products below `SMALL_MNK` multiply-adds take the plain loops of `naive` (also the reference,
//! [`GemmPath::Reference`]), and
//! matrix–vector products (M = 1 or N = 1) the streaming loops of `gemv`.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod gemv;
mod kernel;
mod naive;
mod pack;
mod prepacked;

/// Dot product with fixed-order lane partial sums (vectorised, deterministic).
pub(crate) use gemv::dot;
pub use kernel::{detect, Kernel};
/// Products with a B packed once (a layer's weight): `prepacked`.
pub use prepacked::{gemm_prepacked, gemm_prepacked_serial, gemm_prepacked_with, PackedB};

use kernel::{macro_kernel, Block, OutPtr};
pub(crate) use pack::aligned;
use pack::{pack_a, pack_b_panel, Mat};
use rayon::prelude::*;
use std::cell::RefCell;

/// Rows of a register tile (micro-panel height of Ã).
pub const MR: usize = 6;
/// Columns of a register tile (micro-panel width of B̃).
pub const NR: usize = 16;
/// Depth of one packed block (the K step).
pub const KC: usize = 256;
/// Largest row chunk of an Ã block (multiple of MR).
pub const MC: usize = 144;
/// Largest column count of a B̃ block (multiple of NR).
pub const NC: usize = 4080;

/// Below this many multiply-adds (M·N·K, about 8³) the naive loops beat packing.
const SMALL_MNK: usize = 512;
/// From this many multiply-adds on, the product is split among rayon threads.
const PAR_MIN_MNK: usize = 1 << 19;
/// Tasks per thread when parallel (more tasks even out imbalance and other load).
const TASKS_PER_THREAD: usize = 4;
/// Fewest B̃ micro-panels (of NR columns) worth packing in parallel.
const PAR_MIN_PANELS: usize = 8;

const _: () = assert!(MC.is_multiple_of(MR) && NC.is_multiple_of(NR));

thread_local! {
    /// This thread's Ã buffers, one per nesting level in use.
    static PACK_A: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    /// The calling thread's B̃ buffers (read by every task of the call).
    static PACK_B: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// Borrows a thread-local buffer for the duration of `f`. The buffer is taken out of the
/// thread's pool, so a nested call on the same thread (rayon work stealing: a thread
/// waiting for its tasks runs another product) gets another buffer instead of aliasing,
/// and every buffer goes back to the pool afterwards: once each thread has met its
/// deepest nesting and largest blocks, products allocate nothing (`tests/alloc.rs`).
fn with_buf<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<Vec<f32>>>>,
    f: impl FnOnce(&mut Vec<f32>) -> R,
) -> R {
    let mut buf = key.with(|pool| pool.borrow_mut().pop()).unwrap_or_default();
    let r = f(&mut buf);
    key.with(|pool| pool.borrow_mut().push(buf));
    r
}

/// The shape of one product `C (M, N) += op(A) (M, K) · op(B) (K, N)`, all matrices
/// row-major: what every entry point of the family takes instead of positional sizes.
///
/// ```text
/// a: (M, K), or (K, M) stored when trans_a     op(A) = A or Aᵀ
/// b: (K, N), or (N, K) stored when trans_b     op(B) = B or Bᵀ
/// out: (M, N), accumulated into (C += …, never overwritten)
/// ```
///
/// Build it as `Gemm::new(m, k, n)` and flip a transpose with `.trans_a(true)` /
/// `.trans_b(true)`, or write the fields out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gemm {
    /// Rows of op(A) and of C.
    pub m: usize,
    /// The summed dimension: columns of op(A), rows of op(B).
    pub k: usize,
    /// Columns of op(B) and of C.
    pub n: usize,
    /// A is stored (K, M) and used transposed.
    pub trans_a: bool,
    /// B is stored (N, K) and used transposed.
    pub trans_b: bool,
}

impl Gemm {
    /// `C (M, N) += A (M, K) · B (K, N)`, neither operand transposed.
    pub const fn new(m: usize, k: usize, n: usize) -> Self {
        Gemm {
            m,
            k,
            n,
            trans_a: false,
            trans_b: false,
        }
    }

    /// The same product with A stored (K, M) when `yes`.
    pub const fn trans_a(self, yes: bool) -> Self {
        Gemm {
            trans_a: yes,
            ..self
        }
    }

    /// The same product with B stored (N, K) when `yes`.
    pub const fn trans_b(self, yes: bool) -> Self {
        Gemm {
            trans_b: yes,
            ..self
        }
    }

    /// Multiply-adds of the product: M·N·K.
    pub const fn mnk(&self) -> usize {
        self.m * self.n * self.k
    }

    /// Panics unless `out`, `a` and `b` hold M·N, M·K and K·N floats.
    fn check_lens(&self, out: &[f32], a: &[f32], b: &[f32]) {
        let Gemm { m, k, n, .. } = *self;
        assert!(
            out.len() == m * n && a.len() == m * k && b.len() == k * n,
            "gemm: buffer lengths out={} a={} b={} do not match M={m}, K={k}, N={n}",
            out.len(),
            a.len(),
            b.len()
        );
    }
}

/// Which code path multiplies: [`GemmPath::Auto`] is what [`gemm_accumulate`] runs; the
/// others force one path at any size, for the tests that compare the paths and for the
/// benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmPath {
    /// Nothing for an empty product; `gemv` for M = 1 or N = 1; the plain loops below
    /// `SMALL_MNK` multiply-adds; else the packed path with the detected kernel (AVX-512
    /// where the CPU has it).
    Auto,
    /// The reference loops of `naive` (rows in parallel from `PAR_MIN_FLOPS` on).
    Reference,
    /// The packed path at any size, with `kernel`; `wide` lets the AVX2 kernel hand over
    /// to the AVX-512 one where the CPU has AVX-512F (bit-identical either way).
    Packed { kernel: Kernel, wide: bool },
}

/// `out += op(A) · op(B)` with the fastest kernel for this CPU (see [`Gemm`] for the
/// shapes). Bit-identical for any thread count.
pub fn gemm_accumulate(out: &mut [f32], a: &[f32], b: &[f32], g: Gemm) {
    gemm_with(GemmPath::Auto, out, a, b, g);
}

/// `out += op(A) · op(B)` by the given path (see [`GemmPath`]); every path gives the same
/// bits for any thread count, and the paths agree up to the order of the K sums.
pub fn gemm_with(path: GemmPath, out: &mut [f32], a: &[f32], b: &[f32], g: Gemm) {
    g.check_lens(out, a, b);
    match path {
        GemmPath::Auto => {
            if g.m == 0 || g.n == 0 || g.k == 0 || gemv::gemv(out, a, b, g) {
                // Nothing to add, or M = 1 or N = 1 was done as a matrix–vector product.
            } else if g.mnk() < SMALL_MNK {
                naive::naive_rows(out, a, b, g, false);
            } else {
                packed(detect(), true, true, out, a, b, g);
            }
        }
        GemmPath::Reference => {
            naive::naive_rows(out, a, b, g, g.mnk() >= naive::PAR_MIN_FLOPS);
        }
        GemmPath::Packed { kernel, wide } => packed(kernel, wide, true, out, a, b, g),
    }
}

/// `out += op(A) · op(B)` like [`gemm_accumulate`], but always on the calling thread:
/// for kernels that already run one product per rayon task (`ops::catalogue_ce`), where
/// splitting each product again would only add synchronisation. The same bits as
/// [`gemm_accumulate`] (the task split never changes an element's sum).
pub fn gemm_accumulate_serial(out: &mut [f32], a: &[f32], b: &[f32], g: Gemm) {
    g.check_lens(out, a, b);
    if g.m == 0 || g.n == 0 || g.k == 0 || gemv::gemv(out, a, b, g) {
        // nothing to add, or a matrix–vector product
    } else if g.mnk() < SMALL_MNK {
        naive::naive_rows(out, a, b, g, false);
    } else {
        packed(detect(), true, false, out, a, b, g);
    }
}

/// Even split of `units` into `parts` contiguous ranges: the start of range `i`.
fn split(units: usize, parts: usize, i: usize) -> usize {
    i * units / parts
}

/// The packed path (see the blocking above) with `kernel`; `wide` as in
/// [`GemmPath::Packed`]; `may_split`: false keeps the product on the calling thread.
fn packed(
    kernel: Kernel,
    wide: bool,
    may_split: bool,
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    g: Gemm,
) {
    g.check_lens(out, a, b);
    let Gemm {
        m,
        k,
        n,
        trans_a: ta,
        trans_b: tb,
    } = g;
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let (am, bm) = (Mat::new(a, m, k, ta), Mat::new(b, k, n, tb));
    let threads = rayon::current_num_threads();
    let par = may_split && threads > 1 && m * n * k >= PAR_MIN_MNK;
    let target = if par { TASKS_PER_THREAD * threads } else { 1 };
    // Row chunks: whole MR micro-panels, at most MC rows, at least `target` if M allows.
    let m_units = m.div_ceil(MR);
    let m_chunks = m_units.div_ceil(MC / MR).max(target).min(m_units);
    let row = |i: usize| (split(m_units, m_chunks, i) * MR).min(m);
    let c = OutPtr(out.as_mut_ptr());

    with_buf(&PACK_B, |bbuf| {
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let n_panels = nc.div_ceil(NR);
            // Column groups of micro-panels, only when the row chunks are too few.
            let n_groups = target.div_ceil(m_chunks).min(n_panels);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let bp = aligned(bbuf, n_panels * kc * NR);
                let pack_panel = |(jp, dst): (usize, &mut [f32])| {
                    let j0 = jc + jp * NR;
                    pack_b_panel(dst, bm, pc, kc, j0, NR.min(jc + nc - j0));
                };
                // Packing B̃ in parallel pays only when there are many micro-panels.
                if par && n_panels >= PAR_MIN_PANELS {
                    bp.par_chunks_mut(kc * NR)
                        .with_min_len(4)
                        .enumerate()
                        .for_each(pack_panel);
                } else {
                    bp.chunks_mut(kc * NR).enumerate().for_each(pack_panel);
                }
                let bp = &*bp;
                let task = |t: usize| {
                    let (ci, gi) = (t / n_groups, t % n_groups);
                    let (ic, mc) = (row(ci), row(ci + 1) - row(ci));
                    let jp = (
                        split(n_panels, n_groups, gi),
                        split(n_panels, n_groups, gi + 1),
                    );
                    with_buf(&PACK_A, |abuf| {
                        let ap = aligned(abuf, mc.div_ceil(MR) * kc * MR);
                        pack_a(ap, am, ic, mc, pc, kc);
                        let block = Block {
                            kc,
                            ap,
                            bp,
                            c: c.offset(ic * n + jc),
                            ldc: n,
                            mc,
                            nc,
                            jp,
                        };
                        // SAFETY: `block.c` is element (ic, jc) of `out` (M·N floats, row
                        // stride n); the window is mc × nc inside it. Task t alone owns rows
                        // ic..ic+mc × micro-panel columns jp of this window (chunks and
                        // groups partition it), and all tasks are joined before `out`'s
                        // borrow ends. `ap` and `bp` were packed for exactly this block.
                        unsafe { macro_kernel(kernel, wide, block) };
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
    });
}
