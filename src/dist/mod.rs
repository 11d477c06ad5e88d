//! Data-parallel training: P processes train one model (`mpirun -np P mtrec train`).
//!
//! ```text
//! every rank: same data, same seeded shuffle → global batch of B rows
//!             rank r takes rows [r·B/P, (r+1)·B/P)          (local_rows)
//!             loss weights so Σ_r L_k^r = L_k of the global batch (loss_weights)
//!             forward, balanced backward on its rows        (train::run::step)
//!             sum dense gradients + task losses: one all-reduce          ┐ sync_gradients
//!             embedding rows: all-gather (ids, rows), summed per id      ┘
//!             clip, optimiser step: the same update on every rank
//! rank 0:     writes the run folder
//! ```
//! The derivation of the loss weights and the bytes each step sends are in
//! `docs/distributed.md`. [`GradientSync`] is the hook: the train loop calls it where
//! one is given and is unchanged where none is (a build without the `mpi` feature, or
//! `mtrec train` not started by `mpirun`). The collectives live in `mpi.rs`
//! (`--features mpi`); what is done with them lives here, written once.

pub mod grads;
#[cfg(feature = "mpi")]
pub mod mpi;

pub use grads::{local_rows, loss_weights, sync_gradients, LossWeights, SyncBuffers};

use crate::error::Result;

/// The collectives data-parallel training needs, over P processes of one job.
///
/// Every rank must call the same collectives in the same order with buffers of the same
/// length (`all_reduce_sum`) — the train loop guarantees it by running the same steps
/// on every rank.
pub trait GradientSync {
    /// This process's rank, 0..P.
    fn rank(&self) -> usize;
    /// P, the number of processes.
    fn size(&self) -> usize;
    /// `buf[i] ← Σ_r buf_r[i]` on every rank.
    fn all_reduce_sum(&mut self, buf: &mut [f32]) -> Result<()>;
    /// Every rank's `local` concatenated in rank order into `out`; `counts[r]` is rank
    /// r's length. Lengths may differ between ranks.
    fn all_gather_u32(
        &mut self,
        local: &[u32],
        out: &mut Vec<u32>,
        counts: &mut Vec<usize>,
    ) -> Result<()>;
    /// [`GradientSync::all_gather_u32`] for f32 values.
    fn all_gather_f32(
        &mut self,
        local: &[f32],
        out: &mut Vec<f32>,
        counts: &mut Vec<usize>,
    ) -> Result<()>;
    /// Whether this rank writes the run folder, metrics and checkpoints (rank 0).
    fn writes(&self) -> bool {
        self.rank() == 0
    }
    /// Ends every process of the job after this one failed (a rank that returns while
    /// the others wait in a collective would leave them waiting forever).
    fn abort(&self, code: i32) -> !;
}

/// Whether this process was started by an MPI launcher: Open MPI's `mpirun` sets
/// `OMPI_COMM_WORLD_SIZE`, MPICH's and Slurm's PMI set `PMI_SIZE`, PMIx sets `PMIX_RANK`.
pub fn under_launcher() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// Rank 0's `flag` on every rank (one all-reduce of one value): decisions that end the
/// loop (early stopping) must be the same everywhere, or a rank would wait alone.
pub fn writer_decides(sync: &mut dyn GradientSync, flag: bool) -> Result<bool> {
    let mut v = [if sync.rank() == 0 && flag { 1.0 } else { 0.0 }];
    sync.all_reduce_sum(&mut v)?;
    Ok(v[0] > 0.0)
}

/// Checks that a run can be trained on `size` processes: the balancers whose update is
/// not a sum over rows (uncertainty, GradNorm, PCGrad), transfer and the device step
/// are refused with what to change.
pub fn check_supported(
    size: usize,
    balancer: &str,
    cfg: &crate::config::RunConfig,
    device: crate::device::StepDevice,
) -> Result<()> {
    use crate::error::Error;
    if size <= 1 {
        return Ok(());
    }
    if !matches!(balancer, "fixed" | "dwa") {
        return Err(Error::Config {
            what: "train.balancer".into(),
            message: format!(
                "`{balancer}` is not supported on {size} processes (its update is not a sum of per-row gradients); use \"fixed\" or \"dwa\", or train on one process"
            ),
        });
    }
    if cfg.train.init_from.is_some() || !cfg.train.freeze.is_empty() {
        return Err(Error::Config {
            what: "train.init_from / train.freeze".into(),
            message: format!(
                "transfer is not supported on {size} processes yet; train on one process"
            ),
        });
    }
    if cfg.train.teacher.is_some() {
        return Err(Error::Config {
            what: "train.teacher".into(),
            message: format!(
                "distillation is not supported on {size} processes yet (the teacher's step does not exchange gradients); train on one process"
            ),
        });
    }
    if device != crate::device::StepDevice::Cpu {
        return Err(Error::Config {
            what: "--device".into(),
            message: format!(
                "the device step is not supported on {size} processes yet (docs/distributed.md, GPU path); use --device cpu"
            ),
        });
    }
    Ok(())
}
