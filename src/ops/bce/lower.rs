//! Device lowering of [`BceLogits`]: the point-loss launch of `ops::mse::lower` with
//! [`PointLoss::Bce`].

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch, PointLoss};
use crate::error::Result;
use crate::ops::mse::lower::{point_loss_backward, point_loss_forward};
use crate::ops::registry::BceLogits;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &BceLogits,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    point_loss_forward(lw, i, op.logits, PointLoss::Bce, out, feeds)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &BceLogits,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    point_loss_backward(lw, i, op.logits, PointLoss::Bce, out)
}
