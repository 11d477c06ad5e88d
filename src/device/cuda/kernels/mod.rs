//! Typed launch wrappers, one per kernel of `kernels/*.cu`. Each takes the device buffers
//! in the argument order of its CPU twin (outputs, inputs, sizes), checks every buffer
//! length against the sizes (the kernels index without bounds checks, so these checks are
//! what makes the launches sound), and queues the kernel on the device's stream through
//! [`Kernel`], the one launch helper (look the kernel up, push the arguments in the
//! order of its `.cu` signature, launch, name the kernel in an error). Nothing waits: call
//! [`CudaDevice::synchronize`] or copy a result back.

mod elementwise;
mod embedding_gate;
mod gemm;
mod layer_norm;
mod loss_optim;
mod tape;

pub use elementwise::*;
pub use embedding_gate::*;
pub use gemm::*;
pub use layer_norm::*;
pub use loss_optim::*;
pub use tape::*;

use super::device::driver_error;
use super::CudaDevice;
use crate::autograd::{Axis, UnaryFn};
use crate::error::{Error, Result};
use cudarc::driver::{CudaFunction, DriverError, LaunchArgs, LaunchConfig};

/// Threads per block of the elementwise and per-row kernels (a multiple of 32, as the
/// block reductions of `common.cuh` require).
pub const BLOCK: u32 = 256;

/// A NULL device pointer, pushed for an optional output that is not wanted (the kernels
/// that take one test it: `if (da) ...`).
pub(crate) const NULL: u64 = 0;

/// Elementwise function codes; must match the `UNARY_*` defines of `kernels/common.cuh`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryKind {
    Exp = 0,
    Log = 1,
    Relu = 2,
    Sigmoid = 3,
    Tanh = 4,
    Gelu = 5,
    /// No activation (a plain affine layer in `linear_act`).
    Identity = 6,
}

impl From<UnaryFn> for UnaryKind {
    fn from(f: UnaryFn) -> UnaryKind {
        match f {
            UnaryFn::Exp => UnaryKind::Exp,
            UnaryFn::Log => UnaryKind::Log,
            UnaryFn::Relu => UnaryKind::Relu,
            UnaryFn::Sigmoid => UnaryKind::Sigmoid,
            UnaryFn::Tanh => UnaryKind::Tanh,
            UnaryFn::Gelu => UnaryKind::Gelu,
        }
    }
}

/// Broadcast binary op codes; must match `BINARY_*` in `kernels/elementwise.cu`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryKind {
    Add = 0,
    Sub = 1,
    Mul = 2,
}

/// `AXIS_*` of `kernels/reduce.cu`.
pub(crate) fn axis_code(axis: Axis) -> i32 {
    match axis {
        Axis::All => 0,
        Axis::Rows => 1,
        Axis::Cols => 2,
    }
}

/// Fails with [`Error::Length`] unless a buffer holds `expected` elements.
pub(crate) fn check_len(op: &'static str, what: &str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        Ok(())
    } else {
        Err(Error::Length {
            op,
            what: what.into(),
            len,
            expected,
        })
    }
}

/// `n` as the kernels' 32-bit size type; larger sizes are an error, not a wrap-around.
pub(crate) fn dim(op: &'static str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Config {
        what: format!("{op} size {n}"),
        message: "exceeds the CUDA kernels' 32-bit sizes (4 294 967 295); use smaller batches"
            .into(),
    })
}

/// Grid for a grid-stride elementwise kernel over `n` elements (`n > 0`).
pub(crate) fn grid_1d(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(BLOCK as usize).clamp(1, 65_535) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One block of `threads` per row (grid-stride beyond 65 535 rows).
pub(crate) fn grid_rows(rows: usize, threads: u32, shared_mem_bytes: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (rows.clamp(1, 65_535) as u32, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes,
    }
}

/// A single block of 1024 threads (the loss forwards: one deterministic block sum).
pub(crate) fn single_block() -> LaunchConfig {
    LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (1024, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A failed launch as [`Error::Device`] naming the kernel.
fn launch_error(dev: &CudaDevice, kernel: &str, e: DriverError) -> Error {
    driver_error(dev.ordinal(), &format!("launching {kernel}"), e)
}

/// One kernel of a module, looked up on a device: the launch helper every wrapper uses.
///
/// ```text
/// let f = Kernel::new(dev, "elementwise", "unary_fwd_f32")?;
/// // SAFETY: out and inp hold n elements (checked) ...
/// unsafe { f.launch(grid_1d(n), |l| { l.arg(out).arg(inp).arg(&n32); }) }
/// ```
pub(crate) struct Kernel<'d> {
    dev: &'d CudaDevice,
    name: &'static str,
    func: CudaFunction,
}

impl<'d> Kernel<'d> {
    /// `name` of `module` (compiled with NVRTC on first use, cached per device).
    pub(crate) fn new(
        dev: &'d CudaDevice,
        module: &'static str,
        name: &'static str,
    ) -> Result<Self> {
        let func = dev.function(module, name)?;
        Ok(Kernel { dev, name, func })
    }

    /// Queues the kernel on the device's stream with grid `cfg`; `push` pushes its
    /// arguments in the order of the kernel's signature. A failed launch is an
    /// [`Error::Device`] naming the kernel.
    ///
    /// # Safety
    /// The arguments must match the kernel's parameter types and order, and every buffer
    /// must hold as many elements as the kernel indexes at these sizes (the wrappers check
    /// lengths before calling this and say why at their `// SAFETY:` comment).
    pub(crate) unsafe fn launch<'a>(
        &'a self,
        cfg: LaunchConfig,
        push: impl FnOnce(&mut LaunchArgs<'a>),
    ) -> Result<()> {
        let mut args = self.dev.stream().launch_builder(&self.func);
        push(&mut args);
        // SAFETY: the caller's contract above.
        unsafe { args.launch(cfg) }.map_err(|e| launch_error(self.dev, self.name, e))?;
        Ok(())
    }
}
