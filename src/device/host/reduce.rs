//! [`HostBackend`]: the CPU twins of the reduction, row-softmax and column-block launches.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::{Buf, Launch};
use crate::error::Result;
use crate::ops::{columns, reduce, softmax};

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Reduce {
            out,
            inp,
            r,
            c,
            axis,
            s,
        } => be.with_out(out, &[inp], |o, h| {
            reduce::reduce_forward(o, h.buf(inp), r, c, axis, s)
        }),
        Launch::ReduceBwd {
            dinp,
            dout,
            r,
            c,
            axis,
            s,
        } => be.with_out(dinp, &[dout], |d, h| {
            reduce::reduce_backward(d, h.buf(dout), r, c, axis, s)
        }),
        Launch::Softmax {
            out,
            inp,
            r,
            c,
            log,
        } => be.with_out(out, &[inp], |o, h| {
            if log {
                softmax::log_softmax_forward(o, h.buf(inp), r, c)
            } else {
                softmax::softmax_forward(o, h.buf(inp), r, c)
            }
        }),
        Launch::SoftmaxBwd {
            dinp,
            dout,
            out,
            r,
            c,
            log,
        } => be.with_out(dinp, &[dout, out], |d, h| {
            if log {
                softmax::log_softmax_backward(d, h.buf(dout), h.buf(out), r, c)
            } else {
                softmax::softmax_backward(d, h.buf(dout), h.buf(out), r, c)
            }
        }),
        Launch::Cols {
            wide,
            narrow,
            r,
            c_wide,
            c_narrow,
            off,
            to_wide,
            add,
        } => cols(be, wide, narrow, (r, c_wide, c_narrow, off), to_wide, add),
        _ => Err(misrouted("host", Family::Reduce, l)),
    }
}

/// [`Launch::Cols`] with the twins of `ops::columns` (concat forward: narrow → wide,
/// overwrite; concat backward: wide → narrow, add) and the slice's loops (wide → narrow,
/// overwrite; narrow → wide, add).
fn cols(
    h: &mut HostBackend,
    wide: Buf,
    narrow: Buf,
    (r, c_wide, c_narrow, off): (usize, usize, usize, usize),
    to_wide: bool,
    add: bool,
) -> Result<()> {
    let (dst, src) = if to_wide {
        (wide, narrow)
    } else {
        (narrow, wide)
    };
    h.with_out(dst, &[src], |o, h| {
        let s = h.buf(src);
        match (to_wide, add) {
            (true, false) => columns::copy_cols_forward(o, s, r, c_wide, c_narrow, off),
            (false, true) => columns::copy_cols_backward(o, s, r, c_wide, c_narrow, off),
            (true, true) => {
                for i in 0..r {
                    let src = &s[i * c_narrow..(i + 1) * c_narrow];
                    let dst = &mut o[i * c_wide + off..i * c_wide + off + c_narrow];
                    dst.iter_mut().zip(src).for_each(|(to, from)| *to += from);
                }
            }
            (false, false) => {
                for i in 0..r {
                    o[i * c_narrow..(i + 1) * c_narrow]
                        .copy_from_slice(&s[i * c_wide + off..i * c_wide + off + c_narrow]);
                }
            }
        }
    })
}
