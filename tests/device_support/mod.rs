//! `test_device!`: one parity body, every backend (candle's `test_device!`).
//!
//! Beside `fn body(device: StepDevice)`, `test_device!(body);` makes a module `body` with
//! one test per place a training step runs:
//!
//! ```text
//! body::cpu          StepDevice::Cpu          the reference against itself: bit for bit
//! body::host_replay  StepDevice::HostReplay   the device program, each launch by its CPU twin
//! body::cuda         StepDevice::Cuda(0)      feature `cuda` only; #[ignore = "needs a CUDA GPU"]
//! ```
//!
//! `test_device!(body, backends);` makes only `host_replay` and `cuda`, for bodies that
//! need a [`mtrec::device::Backend`] (the CPU step runs no device program). The CUDA
//! instances follow the repository's convention for GPU tests: compiled with the
//! feature, listed as ignored with the reason, run by `.ci/run` with `--ignored` where
//! `nvidia-smi -L` lists a GPU; run with `--ignored` without one, they fail with the
//! device error (no silent pass).
#![allow(dead_code, unused_macros, unused_imports)]

use mtrec::device::StepDevice;

/// Largest relative difference `|x − y| / (1 + |x|)` allowed between a number of the CPU
/// step and the same number on `device`. The CPU against itself must repeat exactly; the
/// host replay runs the same CPU twins in the lowering's order; a GPU sums in other orders
/// (never measured yet: see docs/cuda.md).
pub fn tolerance(device: StepDevice) -> f64 {
    match device {
        StepDevice::Cpu => 0.0,
        StepDevice::HostReplay => 1e-4,
        StepDevice::Cuda(_) => 1e-3,
    }
}

/// The device in a file or folder name (`cpu`, `host`, `cuda0`).
pub fn slug(device: StepDevice) -> String {
    match device {
        StepDevice::Cpu => "cpu".into(),
        StepDevice::HostReplay => "host".into(),
        StepDevice::Cuda(o) => format!("cuda{o}"),
    }
}

/// The device as the CLI's `--device` spells it.
pub fn cli_name(device: StepDevice) -> &'static str {
    match device {
        StepDevice::Cpu => "cpu",
        StepDevice::HostReplay => "host-replay",
        StepDevice::Cuda(_) => "cuda",
    }
}

macro_rules! test_device {
    ($body:ident) => {
        mod $body {
            #[test]
            fn cpu() {
                super::$body(mtrec::device::StepDevice::Cpu)
            }

            #[test]
            fn host_replay() {
                super::$body(mtrec::device::StepDevice::HostReplay)
            }

            #[cfg(feature = "cuda")]
            #[test]
            #[ignore = "needs a CUDA GPU"]
            fn cuda() {
                super::$body(mtrec::device::StepDevice::Cuda(0))
            }
        }
    };
    ($body:ident, backends) => {
        mod $body {
            #[test]
            fn host_replay() {
                super::$body(mtrec::device::StepDevice::HostReplay)
            }

            #[cfg(feature = "cuda")]
            #[test]
            #[ignore = "needs a CUDA GPU"]
            fn cuda() {
                super::$body(mtrec::device::StepDevice::Cuda(0))
            }
        }
    };
}
pub(crate) use test_device;
