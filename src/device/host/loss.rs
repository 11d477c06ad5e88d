//! [`HostBackend`]: the CPU twins of the task-loss launches.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::{Launch, PointLoss};
use crate::error::Result;
use crate::ops::{bce, mse};

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Loss {
            kind,
            loss,
            p,
            y,
            coef,
            b,
            c,
        } => be.with_out(loss, &[p, y, coef], |o, h| {
            o[0] = match kind {
                PointLoss::Mse => mse::mse_forward(h.buf(p), h.buf(y), h.buf(coef), b, c),
                PointLoss::Bce => bce::bce_forward(h.buf(p), h.buf(y), h.buf(coef), b, c),
            }
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
        } => be.with_out(dp, &[dl, p, y, coef], |o, h| {
            let dl = h.buf(dl)[0];
            match kind {
                PointLoss::Mse => mse::mse_backward(o, dl, h.buf(p), h.buf(y), h.buf(coef), b, c),
                PointLoss::Bce => bce::bce_backward(o, dl, h.buf(p), h.buf(y), h.buf(coef), b, c),
            }
        }),
        _ => Err(misrouted("host", Family::Loss, l)),
    }
}
