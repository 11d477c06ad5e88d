//! Micro-kernels and their dispatch.
//!
//! A micro-kernel computes one MR×NR tile of `C += Ã·B̃` from a packed A micro-panel
//! (KC, MR) and a packed B micro-panel (KC, NR): MR·NR accumulators start at zero, take
//! one rank-1 update per `p = 0..kc` in order, and are then added to C (only the `mr×nr`
//! corner that lies inside the matrix). The macro-kernel walks the micro-panels of one
//! packed block: B micro-panel outer (it stays in L1), A micro-panel inner (from L2).
//!
//! Two kernels share that layout: AVX2+FMA intrinsics ([`super::avx2`], chosen at run time
//! when the CPU has both features; the check is made once and cached) and a portable scalar
//! kernel, used everywhere else and forced by the tests through
//! [`super::gemm_with`] (`GemmPath::Packed`).

use super::{MR, NR};
use std::sync::OnceLock;

/// Which micro-kernel runs the packed product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust, any target.
    Portable,
    /// `std::arch::x86_64` AVX2 + FMA intrinsics.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

/// The fastest kernel this CPU supports (detected on the first call, then cached).
pub fn detect() -> Kernel {
    static CHOSEN: OnceLock<Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Kernel::Avx2Fma;
        }
        Kernel::Portable
    })
}

/// Output tile pointer that may cross threads: tasks write disjoint tiles of one C.
#[derive(Clone, Copy)]
pub(super) struct OutPtr(pub *mut f32);
// SAFETY: an `OutPtr` is only dereferenced by the macro-kernel inside the rectangle of C
// that its task owns; the driver hands every task a disjoint rectangle and joins all tasks
// before the borrow of `out` ends.
unsafe impl Send for OutPtr {}
// SAFETY: as above; shared references only copy the pointer.
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The pointer `off` floats further on (computed without dereferencing).
    pub fn offset(self, off: usize) -> Self {
        OutPtr(self.0.wrapping_add(off))
    }
}

/// One packed block pair and the window of C that one task updates from it: the
/// arguments of every macro-kernel.
#[derive(Clone, Copy)]
pub(super) struct Block<'a> {
    /// Depth of the block (≤ KC).
    pub kc: usize,
    /// Packed Ã: ⌈mc/MR⌉ micro-panels, each (kc, MR).
    pub ap: &'a [f32],
    /// Packed B̃: ⌈nc/NR⌉ micro-panels, each (kc, NR).
    pub bp: &'a [f32],
    /// Element (0, 0) of the (mc, nc) window of C.
    pub c: OutPtr,
    /// Row stride of C (its N).
    pub ldc: usize,
    /// Rows of the window.
    pub mc: usize,
    /// Columns of the window.
    pub nc: usize,
    /// The B micro-panels `jp.0..jp.1` this task owns.
    pub jp: (usize, usize),
}

/// `C[0..mc, 0..nc] += Ã·B̃` over B micro-panels `jp0..jp1` of one packed block pair.
/// With `wide`, the AVX2 kernel hands over to the AVX-512 one where the CPU has AVX-512F
/// (same packing, bit-identical results, see `avx512`).
///
/// # Safety
/// `blk.c` must point at element (0, 0) of an `mc × nc` window of a row-major matrix with
/// row stride `ldc` that the caller may write, with no other thread touching micro-panel
/// columns `jp0·NR..min(jp1·NR, nc)` of it; `ap` holds ⌈mc/MR⌉·kc·MR packed floats and `bp`
/// ⌈nc/NR⌉·kc·NR, as laid out by `pack`.
pub(super) unsafe fn macro_kernel(kernel: Kernel, wide: bool, blk: Block) {
    let Block {
        kc,
        ap,
        bp,
        mc,
        nc,
        jp,
        ..
    } = blk;
    debug_assert!(ap.len() >= mc.div_ceil(MR) * kc * MR);
    debug_assert!(bp.len() >= jp.1 * kc * NR && jp.1 <= nc.div_ceil(NR));
    #[cfg(not(target_arch = "x86_64"))]
    let _ = wide;
    match kernel {
        // SAFETY: the caller's contract is forwarded unchanged.
        Kernel::Portable => unsafe { macro_portable(blk) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Avx2Fma` is only produced by `detect` after checking the CPU has AVX2
        // and FMA; the memory contract is forwarded unchanged.
        Kernel::Avx2Fma if !(wide && super::avx512::available()) => unsafe {
            super::avx2::macro_avx2(blk)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available` checked AVX-512F (cached); the memory contract is forwarded.
        Kernel::Avx2Fma => unsafe { super::avx512::macro_avx512(blk) },
    }
}

/// The loops over micro-panels, shared by both kernels (`micro` is inlined into each; it
/// takes `(kc, Ã panel, B̃ panel, C tile, ldc, mr, nr)`).
///
/// # Safety
/// As [`macro_kernel`]; `micro` must write only the `mr × nr` corner it is given.
#[inline(always)]
pub(super) unsafe fn macro_loop(
    blk: Block,
    micro: impl Fn(usize, *const f32, *const f32, *mut f32, usize, usize, usize),
) {
    let Block {
        kc,
        ap,
        bp,
        c,
        ldc,
        mc,
        nc,
        jp: (jp0, jp1),
    } = blk;
    let c = c.0;
    for jp in jp0..jp1 {
        let nr = NR.min(nc - jp * NR);
        let b = bp[jp * kc * NR..(jp + 1) * kc * NR].as_ptr();
        for ip in 0..mc.div_ceil(MR) {
            let mr = MR.min(mc - ip * MR);
            let a = ap[ip * kc * MR..(ip + 1) * kc * MR].as_ptr();
            // SAFETY: tile (ip, jp) starts inside the window (ip·MR < mc, jp·NR < nc) and
            // `micro` writes only its mr×nr corner, which lies inside the window too.
            let ct = unsafe { c.add(ip * MR * ldc + jp * NR) };
            micro(kc, a, b, ct, ldc, mr, nr);
        }
    }
}

/// Portable macro-kernel.
///
/// # Safety
/// As [`macro_kernel`].
unsafe fn macro_portable(blk: Block) {
    // SAFETY: the caller's contract is forwarded; `macro_loop` hands `micro_portable` whole
    // packed micro-panels and a tile whose mr×nr corner is inside the window.
    unsafe {
        macro_loop(blk, |kc, a, b, c, ldc, mr, nr| {
            micro_portable(kc, a, b, c, ldc, mr, nr)
        })
    }
}

/// Portable MR×NR micro-kernel: `C[0..mr, 0..nr] += Σ_p Ã[p,:]ᵀ · B̃[p,:]`.
///
/// # Safety
/// `a` points at kc·MR floats, `b` at kc·NR floats, and `c` at a tile whose `mr × nr`
/// corner (row stride `ldc`) the caller may write.
#[inline(always)]
unsafe fn micro_portable(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    // SAFETY: by the contract above.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, kc * MR),
            std::slice::from_raw_parts(b, kc * NR),
        )
    };
    let mut acc = [[0f32; NR]; MR];
    for (ar, br) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for (row, &ai) in acc.iter_mut().zip(ar) {
            for (x, &bj) in row.iter_mut().zip(br) {
                *x += ai * bj;
            }
        }
    }
    for (i, row) in acc.iter().enumerate().take(mr) {
        for (j, &x) in row.iter().enumerate().take(nr) {
            // SAFETY: i < mr and j < nr, inside the tile the caller owns.
            unsafe { *c.add(i * ldc + j) += x };
        }
    }
}
