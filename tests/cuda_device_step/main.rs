//! The device step's instruction set on the GPU against the host: every [`Launch`] variant,
//! with seeded random inputs on ragged shapes, runs on `HostBackend` (the CPU twins of
//! `src/ops`, `src/loss`, `src/optim`) and on `CudaBackend` (the kernels of `kernels/*.cu`);
//! every buffer of the case, inputs included, is read back from both and compared with
//! `|gpu − cpu| ≤ atol + rtol·|cpu|`. One test body, written against the `Backend` trait.
//!
//! `every_launch_matches_the_host_backend` is one body run by `test_device!` (see
//! tests/device_support/) on each device backend: `::host_replay` (the host against a
//! second host backend: every case runs, on any machine) and, with the feature `cuda`,
//! `::cuda`, `#[ignore = "needs a CUDA GPU"]`: `cargo test` lists it as ignored with that
//! reason, `.ci/run` runs it with `--ignored` when `nvidia-smi -L` lists a GPU and
//! otherwise prints that it was NOT RUN and why; run with `--ignored` on a machine without
//! a GPU it fails with the device error (no silent pass). `every_launch_variant_has_a_case`
//! needs no GPU.
//!
//! The cases: `elementwise.rs` (elementwise, broadcast, axpy, reductions, softmax, column
//! blocks, dropout), `layers.rs` (embeddings, layer norm, gate, logit product),
//! `gemm_optim.rs` (SGEMM, fused linear layer, losses, Adam).
#[path = "../cuda_support/mod.rs"]
mod cuda_support;
#[path = "../device_support/mod.rs"]
mod device_support;
mod elementwise;
mod gemm_optim;
mod layers;

use cuda_support::rand_vec;
use device_support::test_device;
use mtrec::device::{open_backend, Backend, Buf, HostBackend, IdxBuf, Launch, StepDevice};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

/// Ragged sizes: rows, columns (neither a multiple of 32), a second width, a vocabulary.
const R: usize = 37;
const C: usize = 13;
const N: usize = 29;
const V: usize = 50;

type Launches = Box<dyn Fn(&[Buf], &[IdxBuf]) -> Vec<Launch>>;

/// One case: the contents of its f32 and u32 buffers, the launches made from a backend's
/// handles (`b[i]` holds `bufs[i]`, `i[j]` holds `idx[j]`), the tolerances `(atol, rtol)`.
struct Case {
    name: String,
    bufs: Vec<Vec<f32>>,
    idx: Vec<Vec<u32>>,
    launches: Launches,
    tol: (f32, f32),
}

fn case(
    name: impl Into<String>,
    bufs: Vec<Vec<f32>>,
    idx: Vec<Vec<u32>>,
    tol: (f32, f32),
    launches: impl Fn(&[Buf], &[IdxBuf]) -> Vec<Launch> + 'static,
) -> Case {
    let (name, launches) = (name.into(), Box::new(launches));
    Case {
        name,
        bufs,
        idx,
        launches,
        tol,
    }
}

/// Uploads the case to `be`, runs its launches, reads every buffer back.
fn run(be: &mut dyn Backend, case: &Case) -> mtrec::Result<Vec<Vec<f32>>> {
    let mut bufs = Vec::new();
    for data in &case.bufs {
        let b = be.alloc(data.len())?;
        be.write(b, data)?;
        bufs.push(b);
    }
    let mut idx = Vec::new();
    for data in &case.idx {
        let i = be.alloc_idx()?;
        be.write_idx(i, data)?;
        idx.push(i);
    }
    for l in (case.launches)(&bufs, &idx) {
        be.launch(&l)?;
    }
    let mut out = Vec::new();
    for b in bufs {
        let mut host = vec![0.0; be.len(b)];
        be.read(b, &mut host)?;
        out.push(host);
    }
    Ok(out)
}

/// The worst element outside `|gpu − cpu| ≤ atol + rtol·|cpu|`, if any.
fn mismatch(gpu: &[f32], cpu: &[f32], (atol, rtol): (f32, f32)) -> Option<String> {
    if gpu.len() != cpu.len() {
        return Some(format!("{} elements vs {}", gpu.len(), cpu.len()));
    }
    let mut worst: Option<(usize, f32)> = None;
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let excess = (g - c).abs() - (atol + rtol * c.abs());
        let bad = excess > 0.0 || excess.is_nan();
        if bad && worst.is_none_or(|(_, w)| excess > w || excess.is_nan()) {
            worst = Some((i, excess));
        }
    }
    worst.map(|(i, _)| {
        format!(
            "element {i}: gpu {} vs cpu {} (atol {atol}, rtol {rtol})",
            gpu[i], cpu[i]
        )
    })
}

fn rv(rng: &mut StdRng, n: usize) -> Vec<f32> {
    rand_vec(rng, n, -1.0, 1.0)
}
fn cases() -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(20);
    let mut cases = Vec::new();
    elementwise::cases(&mut rng, &mut cases);
    layers::cases(&mut rng, &mut cases);
    gemm_optim::cases(&mut rng, &mut cases);
    cases
}

/// Position of `l`'s variant; exhaustive, so a new variant does not compile until it
/// has a number here (and then fails the coverage test until it has a case).
fn variant(l: &Launch) -> usize {
    use Launch::*;
    match l {
        Fill { .. } => 0,
        Unary { .. } => 1,
        UnaryBwd { .. } => 2,
        Binary { .. } => 3,
        BinaryBwdA { .. } => 4,
        BinaryBwdB { .. } => 5,
        Scale { .. } => 6,
        Axpy { .. } => 7,
        AxpyW { .. } => 8,
        Reduce { .. } => 9,
        ReduceBwd { .. } => 10,
        Softmax { .. } => 11,
        SoftmaxBwd { .. } => 12,
        Cols { .. } => 13,
        Gather { .. } => 14,
        GatherBwd { .. } => 15,
        EmbeddingBag { .. } => 16,
        EmbeddingBagBwd { .. } => 17,
        Dropout { .. } => 18,
        DropoutBwd { .. } => 19,
        LayerNorm { .. } => 20,
        LayerNormBwd { .. } => 21,
        MatMul { .. } => 22,
        LinearAct { .. } => 23,
        LinearActBwd { .. } => 24,
        GateCombine { .. } => 25,
        GateCombineBwd { .. } => 26,
        LogitProduct { .. } => 27,
        LogitProductBwd { .. } => 28,
        Loss { .. } => 29,
        LossBwd { .. } => 30,
        Adam { .. } => 31,
        AdamRows { .. } => 32,
        SumSq { .. } => 33,
        ClipScale { .. } => 34,
        Sgd { .. } => 35,
        SgdRows { .. } => 36,
    }
}
const VARIANTS: usize = 37;

#[test]
fn every_launch_variant_has_a_case() {
    let mut seen = [false; VARIANTS];
    let (bufs, idx): (Vec<Buf>, Vec<IdxBuf>) =
        ((0..16).map(Buf).collect(), (0..4).map(IdxBuf).collect());
    let cases = cases();
    for case in &cases {
        for l in (case.launches)(&bufs[..case.bufs.len()], &idx[..case.idx.len()]) {
            seen[variant(&l)] = true;
        }
    }
    let missing: Vec<usize> = (0..VARIANTS).filter(|&v| !seen[v]).collect();
    assert!(
        missing.is_empty(),
        "Launch variants without a case (see `variant`): {missing:?}"
    );
    eprintln!("{} cases cover the {VARIANTS} Launch variants", cases.len());
}

test_device!(every_launch_matches_the_host_backend, backends);
fn every_launch_matches_the_host_backend(device: StepDevice) {
    let mut be = open_backend(device)
        .unwrap_or_else(|e| panic!("opening {device} failed: {e}"))
        .expect("a device backend");
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let cpu = run(&mut HostBackend::new(), case)
            .unwrap_or_else(|e| panic!("{}: the host backend failed: {e}", case.name));
        let gpu = match run(be.as_mut(), case) {
            Ok(gpu) => gpu,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
            if let Some(m) = mismatch(g, c, case.tol) {
                failures.push(format!("{}: buffer {i}: {m}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches in {} cases on {}:\n{}",
        failures.len(),
        cases.len(),
        be.name(),
        failures.join("\n")
    );
    eprintln!(
        "{} cases, every Launch variant: {} matches the host",
        cases.len(),
        be.name()
    );
}
