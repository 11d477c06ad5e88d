//! `CudaBackend`: the optimiser-step launches (dense blocks and touched table rows), each one call of its launch wrapper.

use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Adam {
            theta,
            g,
            m,
            v,
            cfg,
            lr,
            t: step,
        } => be.outs("Adam", [theta, m, v], |dev, t, [th, m, v]| {
            k::adam_step(dev, th, t.get("Adam", g)?, (m, v), (&cfg, lr, step))
        }),
        Launch::Sgd {
            theta,
            g,
            v,
            cfg,
            lr,
        } => be.outs("Sgd", [theta, v], |dev, t, [th, v]| {
            k::sgd_step(dev, th, t.get("Sgd", g)?, v, &cfg, lr)
        }),
        Launch::SgdRows {
            theta,
            g,
            v,
            rows,
            width,
            cfg,
            lr,
        } => {
            let op = "SgdRows";
            be.outs(op, [theta, g, v], |dev, t, [th, g, v]| {
                let rows = t.idx_all(op, rows)?;
                k::sgd_rows_step(dev, th, g, v, &rows, width, (&cfg, lr))
            })
        }
        Launch::AdamRows {
            theta,
            g,
            m,
            v,
            rows,
            width,
            cfg,
            lr,
            t: step,
        } => {
            let op = "AdamRows";
            be.outs(op, [theta, g, m, v], |dev, t, [th, g, m, v]| {
                let rows = t.idx_all(op, rows)?;
                k::adam_rows_step(dev, th, g, (m, v), &rows, width, (&cfg, lr, step))
            })
        }
        _ => Err(misrouted("CUDA", Family::Optim, l)),
    }
}
