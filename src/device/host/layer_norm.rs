//! [`HostBackend`]: the CPU twins of the layer-norm launches.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::Launch;
use crate::error::Result;
use crate::ops::layer_norm;

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
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
            let (mut m, mut s) = (
                std::mem::take(&mut be.bufs[mean.0 as usize]),
                std::mem::take(&mut be.bufs[rstd.0 as usize]),
            );
            let r = be.with_out(out, &[x, gamma, beta], |o, h| {
                layer_norm::layer_norm_forward(
                    o,
                    &mut m,
                    &mut s,
                    h.buf(x),
                    h.buf(gamma),
                    h.buf(beta),
                    layer_norm::LayerNormShape {
                        rows: b,
                        cols: width,
                        eps,
                    },
                )
            });
            be.bufs[mean.0 as usize] = m;
            be.bufs[rstd.0 as usize] = s;
            r
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
            let mut tb = dbeta.map(|x| std::mem::take(&mut be.bufs[x.0 as usize]));
            let r = be.with_two_outs(dx, dgamma, &[dout, x, gamma, mean, rstd], |a, g, h| {
                let grads = layer_norm::LayerNormGrads {
                    dinp: a,
                    dgamma: g,
                    dbeta: tb.as_deref_mut(),
                };
                let stats = layer_norm::RowStats {
                    mean: h.buf(mean),
                    rstd: h.buf(rstd),
                };
                layer_norm::layer_norm_backward(
                    grads,
                    h.buf(dout),
                    h.buf(x),
                    h.buf(gamma),
                    stats,
                    b,
                    width,
                )
            });
            if let (Some(x), Some(v)) = (dbeta, tb) {
                be.bufs[x.0 as usize] = v;
            }
            r
        }
        _ => Err(misrouted("host", Family::LayerNorm, l)),
    }
}
