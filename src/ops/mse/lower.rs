//! Device lowering of [`Mse`], and of the point losses in general (MSE and BCE share one
//! launch, `Launch::Loss` / `Launch::LossBwd` with a [`PointLoss`]): the coefficients
//! (B) and targets (B·C) are fed per batch from the node's `aux`.

use crate::autograd::Var;
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch, PointLoss};
use crate::error::Result;
use crate::ops::registry::Mse;

/// The forward launch of a point loss of the predictions (or logits) `p`.
pub(crate) fn point_loss_forward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    p: Var,
    kind: PointLoss,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let (b, c) = lw.dims(p);
    let mut saved = Saved::default();
    let (coef, yb) = (lw.alloc(b)?, lw.alloc(b * c)?);
    saved.bufs = [Some(coef), Some(yb)];
    feeds.push(Feed::Aux {
        node: i,
        buf: coef,
        start: 0,
        len: b,
    });
    feeds.push(Feed::Aux {
        node: i,
        buf: yb,
        start: b,
        len: b * c,
    });
    out.push(Launch::Loss {
        kind,
        loss: lw.values[i],
        p: lw.value(p),
        y: yb,
        coef,
        b,
        c,
    });
    Ok(saved)
}

/// The backward launch of a point loss: `dp += dL·c_i·∂ℓ/∂p`.
pub(crate) fn point_loss_backward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    p: Var,
    kind: PointLoss,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    let saved = lw.saved[i];
    if let Some(dp) = lw.grad(p) {
        let (b, c) = lw.dims(p);
        out.push(Launch::LossBwd {
            kind,
            dp,
            dl: dy,
            p: lw.value(p),
            y: saved.buf(1),
            coef: saved.buf(0),
            b,
            c,
        });
    }
    Ok(())
}

pub(super) fn forward<B: Backend + ?Sized>(
    op: &Mse,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    point_loss_forward(lw, i, op.pred, PointLoss::Mse, out, feeds)
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &Mse,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    point_loss_backward(lw, i, op.pred, PointLoss::Mse, out)
}
