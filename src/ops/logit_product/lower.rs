//! Device lowering of [`LogitProduct`]: `Launch::LogitProduct` /
//! `Launch::LogitProductBwd`, elementwise over `rows·cols`.

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::LogitProduct;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &LogitProduct,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    out.push(Launch::LogitProduct {
        out: lw.values[i],
        a: lw.value(op.a),
        b: lw.value(op.b),
        n: lw.nodes[i].rows * lw.nodes[i].cols,
    });
    Ok(Saved::default())
}

pub(super) fn backward<B: Backend + ?Sized>(
    op: &LogitProduct,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    out.push(Launch::LogitProductBwd {
        da: lw.grad(op.a),
        db: lw.grad(op.b),
        dy: lw.grads[i].expect("called for nodes with a gradient"),
        a: lw.value(op.a),
        b: lw.value(op.b),
        n: lw.nodes[i].rows * lw.nodes[i].cols,
    });
    Ok(())
}
