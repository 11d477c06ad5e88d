//! `CudaBackend`: the launches of gradient clipping by the global norm, each one call of its launch wrapper.

use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::SumSq {
            sq,
            k,
            x,
            rows,
            width,
        } => {
            let op = "SumSq";
            be.outs(op, [sq], |dev, t, [o]| {
                let rows = rows.map(|r| t.idx_all(op, r)).transpose()?;
                k::sum_sq(dev, o, k, t.get(op, x)?, rows.as_ref(), width)
            })
        }
        Launch::ClipScale {
            x,
            rows,
            width,
            sq,
            k,
            c,
        } => {
            let op = "ClipScale";
            be.outs(op, [x], |dev, t, [o]| {
                let rows = rows.map(|r| t.idx_all(op, r)).transpose()?;
                k::clip_scale(dev, o, rows.as_ref(), width, t.get(op, sq)?, k, c)
            })
        }
        _ => Err(misrouted("CUDA", Family::Clip, l)),
    }
}
