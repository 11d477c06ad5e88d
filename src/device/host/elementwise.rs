//! [`HostBackend`]: the CPU twins of the fill, unary, broadcast binary, scale / axpy,
//! dropout and logit-product launches.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::{BinOp, Launch};
use crate::error::Result;
use crate::ops::broadcast::{binary_backward, binary_forward, Kind};
use crate::ops::{dropout, logit_product, unary};

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Fill { out, value } => {
            be.bufs[out.0 as usize].fill(value);
            Ok(())
        }
        Launch::Unary { out, inp, f } => {
            be.with_out(out, &[inp], |o, h| unary::unary_forward(o, h.buf(inp), f))
        }
        Launch::UnaryBwd {
            dinp,
            dout,
            inp,
            out,
            f,
        } => be.with_out(dinp, &[dout, inp, out], |d, h| {
            unary::unary_backward(d, h.buf(dout), h.buf(inp), h.buf(out), f)
        }),
        Launch::Binary { out, a, b, s, op } => be.with_out(out, &[a, b], |o, h| {
            binary_forward(o, h.buf(a), h.buf(b), s, kind(op))
        }),
        Launch::BinaryBwdA { da, dy, b, s, op } => be.with_out(da, &[dy, b], |d, h| {
            // `a` only enters db: any buffer of a's size stands in for it
            binary_backward(Some(d), None, h.buf(dy), h.buf(dy), h.buf(b), s, kind(op))
        }),
        Launch::BinaryBwdB { db, dy, a, s, op } => be.with_out(db, &[dy, a], |d, h| {
            // `b` only enters da (Mul): zeros of b's size stand in for it
            let zeros = vec![0.0; s.br * s.bc];
            binary_backward(None, Some(d), h.buf(dy), h.buf(a), &zeros, s, kind(op))
        }),
        Launch::Scale { out, inp, c } => be.with_out(out, &[inp], |o, h| {
            o.iter_mut().zip(h.buf(inp)).for_each(|(y, x)| *y = c * x)
        }),
        Launch::Axpy { y, x, c } => be.with_out(y, &[x], |o, h| {
            o.iter_mut().zip(h.buf(x)).for_each(|(y, x)| *y += c * x)
        }),
        Launch::AxpyW { y, x, w, k } => be.with_out(y, &[x, w], |o, h| {
            let c = h.buf(w)[k];
            o.iter_mut().zip(h.buf(x)).for_each(|(y, x)| *y += c * x)
        }),
        Launch::Dropout { out, inp, mask } => be.with_out(out, &[inp, mask], |o, h| {
            dropout::dropout_forward(o, h.buf(inp), h.buf(mask))
        }),
        Launch::DropoutBwd { dinp, dout, mask } => be.with_out(dinp, &[dout, mask], |d, h| {
            dropout::dropout_backward(d, h.buf(dout), h.buf(mask))
        }),
        Launch::LogitProduct { out, a, b, n } => be.with_out(out, &[a, b], |o, h| {
            logit_product::logit_product_forward(&mut o[..n], h.buf(a), h.buf(b))
        }),
        Launch::LogitProductBwd {
            da,
            db,
            dy,
            a,
            b,
            n,
        } => be.with_two_outs(da, db, &[dy, a, b], |ga, gb, h| {
            logit_product::logit_product_backward(ga, gb, &h.buf(dy)[..n], h.buf(a), h.buf(b))
        }),
        _ => Err(misrouted("host", Family::Elementwise, l)),
    }
}

fn kind(op: BinOp) -> Kind {
    match op {
        BinOp::Add => Kind::Add,
        BinOp::Sub => Kind::Sub,
        BinOp::Mul => Kind::Mul,
    }
}
