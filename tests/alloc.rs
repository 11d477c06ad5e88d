//! A steady-state training step allocates nothing.
//!
//! A counting `#[global_allocator]` (this test binary only) wraps the system allocator
//! and counts every `alloc`, `alloc_zeroed` and `realloc` on every thread. The step is
//! `mtrec train`'s own ([`encoded_step`]: input layer, MMoE forward, masked BCE losses,
//! fixed-weight balancer backward, Adam with lazy table rows) on the census MMoE's shapes
//! (29 × 8 embeddings + 10 numerics = 242 inputs, 8 experts of 64, 2 gates, towers 64→32→1,
//! batch 1,024) with synthetic data.
//!
//! **Covered:** recording the tape (node slots reused), the packed GEMM (thread-local pack
//! buffers), gathers and their row-sparse gradients, gate combine, losses, the balancer's
//! report, the optimiser step; on one and on two rayon threads.
//! **Not covered:** the first epoch (buffers grow to size there: this is the warm-up, one
//! pass over the same batches measured afterwards, so every sparse gradient has seen its
//! largest batch), batch assembly from the encoded data set (`Encoded::batch` reuses its
//! buffers but is outside the step), evaluation and prediction, checkpoints, the progress
//! bar, and the balancers other than fixed weights and DWA (they rebuild their report).
//! Freeing is not counted (dropping nothing is implied by allocating nothing).

mod census_support;
use census_support::{census_shaped, CensusTrainer};
use mtrec::autograd::{Graph, OpKind};
use mtrec::ops::embed_linear::EmbedLinearMode;
use mtrec::train::run::step::empty_info;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        if TRACE.load(Ordering::Relaxed) {
            TRACE.store(false, Ordering::Relaxed);
            eprintln!(
                "ALLOC {:?}\n{}",
                layout,
                std::backtrace::Backtrace::force_capture()
            );
            TRACE.store(true, Ordering::Relaxed);
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations in each step of the measured passes over `batches` batches (after the
/// warm-up passes), on a pool of `threads` rayon threads, and how many factorised layers
/// the last step recorded.
fn allocations_per_step(
    threads: usize,
    batches: usize,
    mode: EmbedLinearMode,
) -> (Vec<usize>, usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    pool.install(|| {
        let c = census_shaped(60, 1024, batches, 7).expect("census-shaped model");
        let mut t = CensusTrainer::new(c).expect("fixed weights and Adam");
        let mut g = Graph::new(1);
        g.set_embed_linear(mode);
        let mut info = empty_info();
        // Warm-up: passes until two in a row allocate nothing, at most 30. Each rayon
        // thread's GEMM packing buffers grow to its deepest nesting and largest blocks at
        // the pace work stealing happens to reach them (under load a pass can be quiet
        // and the next still reach a deeper nesting); a step that allocates every time
        // never gets quiet, and then the measured passes below fail.
        let mut quiet = 0;
        for _ in 0..30 {
            let before = ALLOCS.load(Ordering::SeqCst);
            for b in 0..batches {
                t.step(&mut g, b, 1e-3, &mut info).expect("warm-up step");
            }
            quiet = if ALLOCS.load(Ordering::SeqCst) == before {
                quiet + 1
            } else {
                0
            };
            if quiet == 2 {
                break;
            }
        }
        // Measured passes: the first that allocates nothing in any step ends them, at
        // most 5 (a busy machine can still push one pass to a new stealing depth; a step
        // that allocates every time fails all five). The counts of every pass are kept.
        let trace = std::env::var_os("MTREC_ALLOC_TRACE").is_some();
        let mut counts = Vec::new();
        for _ in 0..5 {
            for b in 0..batches {
                let before = ALLOCS.load(Ordering::SeqCst);
                TRACE.store(trace, Ordering::SeqCst);
                t.step(&mut g, b, 1e-3, &mut info).expect("step");
                TRACE.store(false, Ordering::SeqCst);
                counts.push(ALLOCS.load(Ordering::SeqCst) - before);
                assert!(info.objective.is_finite(), "loss {}", info.objective);
            }
            if counts[counts.len() - batches..].iter().all(|&n| n == 0) {
                break;
            }
        }
        (counts, g.find_op(OpKind::EmbedLinear).len())
    })
}

/// One test (not two running in parallel threads), so that nothing else allocates while
/// a step is measured. Set `MTREC_ALLOC_TRACE=1` to print a backtrace for every
/// allocation inside a measured step.
#[test]
fn census_mmoe_training_step_allocates_nothing_after_warm_up() {
    // The counter sees allocations: the check below cannot pass vacuously.
    let before = ALLOCS.load(Ordering::SeqCst);
    let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(16));
    drop(v);
    assert!(
        ALLOCS.load(Ordering::SeqCst) > before,
        "the counting allocator counts nothing"
    );

    // both paths of the layers over the embeddings: factorised (default) and plain
    for (mode, layers) in [(EmbedLinearMode::Auto, 3), (EmbedLinearMode::Off, 0)] {
        for threads in [1, 2] {
            let (counts, n) = allocations_per_step(threads, 3, mode);
            assert_eq!(n, layers, "{mode:?}: factorised layers recorded");
            assert!(
                counts[counts.len() - 3..].iter().all(|&n| n == 0),
                "{mode:?}, {threads} thread(s): allocations in each steady-state step of 5 passes: {counts:?} (run with MTREC_ALLOC_TRACE=1 to see where)"
            );
        }
    }
}
