//! Device lowering of [`Unary`]: `Launch::Unary` / `Launch::UnaryBwd` (kernels
//! `unary_fwd_f32` / `unary_bwd_f32`; f′ from x or from y as [`super::backward`]).

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::Unary;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &Unary,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    out.push(Launch::Unary {
        out: lw.values[i],
        inp: lw.value(op.a),
        f: op.f,
    });
    Ok(Saved::default())
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &Unary,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let (y, dy) = (
        lw.values[i],
        lw.grads[i].expect("called for nodes with a gradient"),
    );
    if let Some(da) = lw.grad(op.a) {
        out.push(Launch::UnaryBwd {
            dinp: da,
            dout: dy,
            inp: lw.value(op.a),
            out: y,
            f: op.f,
        });
    }
    Ok(())
}
