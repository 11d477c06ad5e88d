//! `CudaBackend`: the layer-norm launches, each one call of its launch wrapper.

use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::LayerNorm {
            out,
            mean,
            rstd,
            x,
            gamma,
            beta,
            b,
            width,
            eps,
        } => {
            let op = "LayerNorm";
            be.outs(op, [out, mean, rstd], |dev, t, [o, mu, rs]| {
                let (x, gamma, beta) = (t.get(op, x)?, t.get(op, gamma)?, t.get(op, beta)?);
                k::layer_norm_forward(dev, o, (mu, rs), x, (gamma, beta), (b, width), eps)
            })
        }
        Launch::LayerNormBwd {
            dx,
            dgamma,
            dbeta,
            dout,
            x,
            gamma,
            mean,
            rstd,
            b,
            width,
        } => {
            let op = "LayerNormBwd";
            be.opt_outs(op, [dx, dgamma, dbeta], |dev, t, [dx, dg, db]| {
                let (dout, x, gamma) = (t.get(op, dout)?, t.get(op, x)?, t.get(op, gamma)?);
                let (mean, rstd) = (t.get(op, mean)?, t.get(op, rstd)?);
                // The kernel writes widthγ and widthβ together: a missing one goes to a scratch
                // buffer (one (D,) allocation; the lowering asks for both in practice).
                let mut scratch = match (&dg, &db) {
                    (Some(_), None) | (None, Some(_)) => Some(dev.zeros::<f32>(width.max(1))?),
                    _ => None,
                };
                let params = match (dg, db, scratch.as_mut()) {
                    (Some(g), Some(bt), _) => Some((g, bt)),
                    (Some(g), None, Some(s)) => Some((g, s)),
                    (None, Some(bt), Some(s)) => Some((s, bt)),
                    _ => None,
                };
                k::layer_norm_backward(dev, dx, params, dout, (x, gamma), (mean, rstd), (b, width))
            })
        }
        _ => Err(misrouted("CUDA", Family::LayerNorm, l)),
    }
}
