//! Where a graph's buffers live and its kernels run.
//!
//! Every op has a CPU kernel (`ops::*::<op>_forward` / `<op>_backward`, rayon-parallel).
//! A second backend (CUDA through `cudarc`) plugs in behind the same `Graph` methods:
//! the graph dispatches on its `Device`, and the CPU kernels stay as the twins its
//! parity tests compare against.

/// The compute device of a [`crate::autograd::Graph`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// Host memory, rayon-parallel kernels.
    #[default]
    Cpu,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
        }
    }
}
