//! `CudaBackend`: the launches of the softmax gate's weighted sum of experts, each one call of its launch wrapper.

use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::GateCombine {
            out,
            w,
            x,
            z,
            b,
            e,
            width,
        } => {
            let op = "GateCombine";
            be.outs(op, [out, w], |dev, t, [o, w]| {
                k::gate_combine_forward(dev, o, w, t.get(op, x)?, t.get(op, z)?, (b, e, width))
            })
        }
        Launch::GateCombineBwd {
            dx,
            dz,
            dout,
            x,
            w,
            b,
            e,
            width,
        } => {
            let op = "GateCombineBwd";
            be.opt_outs(op, [dx, dz], |dev, t, [dx, dz]| {
                let (dout, x, w) = (t.get(op, dout)?, t.get(op, x)?, t.get(op, w)?);
                k::gate_combine_backward(dev, dx, dz, dout, x, w, (b, e, width))
            })
        }
        _ => Err(misrouted("CUDA", Family::Gate, l)),
    }
}
