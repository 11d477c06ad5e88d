//! `CudaBackend`: the fill, unary, broadcast binary, scale / axpy, dropout and logit-product launches, each one call of its launch wrapper.

use super::binary;
use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Fill { out, value } => be.outs("Fill", [out], |dev, _, [o]| k::fill(dev, o, value)),
        Launch::Unary { out, inp, f } => be.outs("Unary", [out], |dev, t, [o]| {
            k::unary_forward(dev, o, t.get("Unary", inp)?, f.into())
        }),
        Launch::UnaryBwd {
            dinp,
            dout,
            inp,
            out,
            f,
        } => {
            let op = "UnaryBwd";
            be.outs(op, [dinp], |dev, t, [o]| {
                let (dout, inp, out) = (t.get(op, dout)?, t.get(op, inp)?, t.get(op, out)?);
                k::unary_backward(dev, o, dout, inp, out, f.into())
            })
        }
        Launch::Binary { out, a, b, s, op } => be.outs("Binary", [out], |dev, t, [o]| {
            let (a, b) = (t.get("Binary", a)?, t.get("Binary", b)?);
            k::binary_forward(dev, o, a, b, (s.r, s.c), (s.br, s.bc), binary(op))
        }),
        Launch::BinaryBwdA { da, dy, b, s, op } => be.outs("BinaryBwdA", [da], |dev, t, [o]| {
            let (dy, b) = (t.get("BinaryBwdA", dy)?, t.get("BinaryBwdA", b)?);
            k::binary_backward_a(dev, o, dy, b, (s.r, s.c), (s.br, s.bc), binary(op))
        }),
        Launch::BinaryBwdB { db, dy, a, s, op } => be.outs("BinaryBwdB", [db], |dev, t, [o]| {
            let (dy, a) = (t.get("BinaryBwdB", dy)?, t.get("BinaryBwdB", a)?);
            k::binary_backward_b(dev, o, dy, a, (s.r, s.c), (s.br, s.bc), binary(op))
        }),
        Launch::Scale { out, inp, c } => be.outs("Scale", [out], |dev, t, [o]| {
            k::scale_forward(dev, o, t.get("Scale", inp)?, c)
        }),
        Launch::Axpy { y, x, c } => be.outs("Axpy", [y], |dev, t, [o]| {
            k::axpy(dev, o, t.get("Axpy", x)?, c)
        }),
        Launch::AxpyW { y, x, w, k: i } => be.outs("AxpyW", [y], |dev, t, [o]| {
            k::axpy_w(dev, o, t.get("AxpyW", x)?, t.get("AxpyW", w)?, i)
        }),
        Launch::Dropout { out, inp, mask } => be.outs("Dropout", [out], |dev, t, [o]| {
            k::dropout_forward(dev, o, t.get("Dropout", inp)?, t.get("Dropout", mask)?)
        }),
        Launch::DropoutBwd { dinp, dout, mask } => be.outs("DropoutBwd", [dinp], |dev, t, [o]| {
            let (dout, mask) = (t.get("DropoutBwd", dout)?, t.get("DropoutBwd", mask)?);
            k::dropout_backward(dev, o, dout, mask)
        }),
        Launch::LogitProduct { out, a, b, n } => be.outs("LogitProduct", [out], |dev, t, [o]| {
            k::check_len("LogitProduct", "out", o.len(), n)?;
            let (a, b) = (t.get("LogitProduct", a)?, t.get("LogitProduct", b)?);
            k::logit_product_forward(dev, o, a, b)
        }),
        Launch::LogitProductBwd {
            da,
            db,
            dy,
            a,
            b,
            n,
        } => {
            let op = "LogitProductBwd";
            be.opt_outs(op, [da, db], |dev, t, [da, db]| {
                let (dy, a, b) = (t.get(op, dy)?, t.get(op, a)?, t.get(op, b)?);
                k::check_len(op, "dy", dy.len(), n)?;
                k::logit_product_backward(dev, da, db, dy, a, b)
            })
        }
        _ => Err(misrouted("CUDA", Family::Elementwise, l)),
    }
}
