//! The training step on a device: a recorded tape lowered to kernel launches.
//!
//! ```text
//! host:   g.set_record_only(true); record input → model → task losses → Σ_k w_k L_k
//!         (shapes, row ids, labels, dropout masks: no arithmetic)
//! lower:  tape → Program { forward launches, backward launches, feeds }   once per shape
//! device: upload feeds → forward → backward → Adam (dense blocks, touched table rows)
//!         → read back K task losses and the objective (one copy of K + 1 floats)
//! ```
//!
//! The same [`Program`] runs on any [`Backend`]: [`HostBackend`] executes each
//! [`Launch`] with the CPU twin in `src/ops` / `src/loss` / `src/optim` (what `cargo test`
//! checks against the CPU training step), the CUDA backend (feature `cuda`) with the
//! kernels of `kernels/*.cu`. Parameters, activations, gradients and Adam moments stay in
//! the backend's buffers between steps; [`DeviceTrainer::download`] copies parameters
//! and moments back into the host store and optimiser (evaluation, checkpoints).

pub mod cuda;
mod family;
mod host;
mod launch;
mod params;
pub(crate) mod program;
mod trainer;

#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;
pub use host::HostBackend;
pub use launch::{bias_corrections, Bcast, BinOp, Buf, IdxBuf, Launch, PointLoss};
pub use params::DeviceParams;
pub use program::Program;
pub use trainer::DeviceTrainer;

use crate::error::Result;

/// Where a training step runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StepDevice {
    /// The CPU graph (`Graph::backward`, `Optimizer::step`): the default.
    #[default]
    Cpu,
    /// The device program on [`HostBackend`]: the GPU path's lowering, feeds and
    /// optimiser, executed by the CPU twins (checks the device step without a GPU).
    HostReplay,
    /// The device program on CUDA GPU `ordinal` (feature `cuda`).
    Cuda(usize),
}

impl std::fmt::Display for StepDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepDevice::Cpu => write!(f, "cpu"),
            StepDevice::HostReplay => write!(f, "host replay of the device step"),
            StepDevice::Cuda(o) => write!(f, "cuda:{o}"),
        }
    }
}

/// The backend of `device`; `None` for [`StepDevice::Cpu`], which runs no program.
/// A CUDA device that cannot be opened is an [`crate::Error::Device`] saying why
/// (a build without the feature, no driver, no GPU, no NVRTC).
pub fn open_backend(device: StepDevice) -> Result<Option<Box<dyn Backend>>> {
    Ok(match device {
        StepDevice::Cpu => None,
        StepDevice::HostReplay => Some(Box::new(HostBackend::new())),
        StepDevice::Cuda(ordinal) => Some(cuda_backend(ordinal)?),
    })
}

#[cfg(feature = "cuda")]
fn cuda_backend(ordinal: usize) -> Result<Box<dyn Backend>> {
    let dev = cuda::CudaDevice::open(ordinal)?;
    Ok(Box::new(CudaBackend::new(dev)))
}

#[cfg(not(feature = "cuda"))]
fn cuda_backend(ordinal: usize) -> Result<Box<dyn Backend>> {
    // the stub's open always fails, naming the rebuild command
    cuda::CudaDevice::open(ordinal)?;
    unreachable!("CudaDevice::open fails in a build without the feature `cuda`")
}

/// Executes [`Launch`]es on buffers it owns. Launches run in submission order; `read`
/// waits for every earlier launch.
pub trait Backend {
    /// The device, in words (errors and logs).
    fn name(&self) -> String;
    /// A zero-filled f32 buffer of `len` elements.
    fn alloc(&mut self, len: usize) -> Result<Buf>;
    /// An empty u32 buffer; [`Backend::write_idx`] sets its contents and length.
    fn alloc_idx(&mut self) -> Result<IdxBuf>;
    /// Copies `data` into `buf`, whose length must be `data.len()`.
    fn write(&mut self, buf: Buf, data: &[f32]) -> Result<()>;
    /// Replaces the contents (and length) of `buf` with `data`.
    fn write_idx(&mut self, buf: IdxBuf, data: &[u32]) -> Result<()>;
    /// Copies `buf` into `out`, whose length must be the buffer's.
    fn read(&mut self, buf: Buf, out: &mut [f32]) -> Result<()>;
    /// Length of an f32 buffer.
    fn len(&self, buf: Buf) -> usize;
    /// Runs one kernel.
    fn launch(&mut self, l: &Launch) -> Result<()>;
}
