//! The CUDA device of a build without the `cuda` feature: opening it always fails with
//! the rebuild command, so calling code needs no `cfg`.

use crate::error::{Error, Result};
use std::sync::Arc;

/// Stands in for the real device type; cannot be constructed.
#[derive(Debug)]
pub struct CudaDevice {
    _never: (),
}

impl CudaDevice {
    /// Always [`Error::Device`]: CUDA support is not compiled in.
    pub fn open(ordinal: usize) -> Result<Arc<CudaDevice>> {
        Err(Error::Device {
            device: format!("cuda:{ordinal}"),
            what: super::REBUILD_HINT.into(),
            fix: "or run on the CPU (`--device cpu`, the default)".into(),
        })
    }

    /// The GPU's name (never reached: no value of this type exists).
    pub fn name(&self) -> &str {
        ""
    }
}
