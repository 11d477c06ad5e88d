//! The CUDA backend (feature `cuda`; design and status in `docs/cuda.md`).
//!
//! - [`sources`]: the kernels of `kernels/*.cu`, embedded with `include_str!` (always built).
//! - [`CudaDevice`]: opens a GPU through the driver API, loaded at run time by `cudarc`
//!   (`dynamic-loading`: building needs no CUDA toolkit), compiles each kernel module with
//!   NVRTC on first use and caches it per device. Without the feature, or without a
//!   driver / GPU at run time, [`CudaDevice::open`] returns [`crate::Error::Device`] saying
//!   what was tried and what to do, so calling code needs no `cfg`.
//! - `kernels` (feature `cuda` only): typed launch wrappers, one per kernel, with the
//!   argument order of the CPU twin in `src/ops` / `src/loss` / `src/optim`; all of them
//!   queue their kernel through one helper, `kernels::launch`.
//! - `CudaBackend` (feature `cuda` only): the device step's [`crate::device::Backend`] on
//!   one GPU; `dispatch/` maps each [`crate::device::Launch`] to its wrapper, one file per
//!   family of launches.
//!
//! Status: every kernel has a launch wrapper and a parity test against its CPU twin
//! (`tests/cuda_parity.rs`, `tests/cuda_device_step/`); the training step runs on the GPU
//! through `crate::device` (`CudaBackend`). None of it has run on a GPU yet: see
//! `docs/cuda.md`.

pub mod sources;

#[cfg(feature = "cuda")]
mod backend;
#[cfg(feature = "cuda")]
mod device;
#[cfg(feature = "cuda")]
mod dispatch;
#[cfg(feature = "cuda")]
pub mod kernels;
#[cfg(feature = "cuda")]
pub mod nvrtc;
#[cfg(not(feature = "cuda"))]
mod stub;

#[cfg(feature = "cuda")]
pub use backend::CudaBackend;
#[cfg(feature = "cuda")]
pub use device::CudaDevice;
#[cfg(not(feature = "cuda"))]
pub use stub::CudaDevice;

/// Whether this build of mtrec has the CUDA backend (`--features cuda`).
pub const fn compiled_in() -> bool {
    cfg!(feature = "cuda")
}

/// The rebuild command given in errors of a build without the feature.
pub const REBUILD_HINT: &str =
    "this mtrec was built without CUDA support; rebuild with `cargo build --release --features cuda`";
