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

#[cfg(feature = "cuda")]
mod cuda;
mod launch;

#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;
pub use launch::{bias_corrections, Bcast, BinOp, Buf, IdxBuf, Launch, PointLoss};

use crate::error::Result;

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
