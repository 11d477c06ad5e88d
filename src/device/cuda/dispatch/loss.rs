//! `CudaBackend`: the task-loss launches, each one call of its launch wrapper.

use super::point_loss;
use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Loss {
            kind,
            loss,
            p,
            y,
            coef,
            b,
            c,
        } => be.outs("Loss", [loss], |dev, t, [o]| {
            let op = "Loss";
            let (p, y, coef) = (t.get(op, p)?, t.get(op, y)?, t.get(op, coef)?);
            k::loss_forward(dev, point_loss(kind), o, p, (y, coef), (b, c))
        }),
        Launch::LossBwd {
            kind,
            dp,
            dl,
            p,
            y,
            coef,
            b,
            c,
        } => {
            let op = "LossBwd";
            be.outs(op, [dp], |dev, t, [o]| {
                let (dl, p) = (t.get(op, dl)?, t.get(op, p)?);
                let (y, coef) = (t.get(op, y)?, t.get(op, coef)?);
                k::loss_backward(dev, point_loss(kind), o, dl, p, (y, coef), (b, c))
            })
        }
        _ => Err(misrouted("CUDA", Family::Loss, l)),
    }
}
