//! [`HostBackend`]: the CPU twins of the launches of the softmax gate's weighted sum of experts.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::Launch;
use crate::error::Result;
use crate::ops::gate;

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::GateCombine {
            out,
            w,
            x,
            z,
            b,
            e,
            width,
        } => {
            let mut tw = std::mem::take(&mut be.bufs[w.0 as usize]);
            let r = be.with_out(out, &[x, z], |o, h| {
                gate::gate_combine_forward(o, &mut tw, h.buf(x), h.buf(z), b, e, width)
            });
            be.bufs[w.0 as usize] = tw;
            r
        }
        Launch::GateCombineBwd {
            dx,
            dz,
            dout,
            x,
            w,
            b,
            e,
            width,
        } => be.with_two_outs(dx, dz, &[dout, x, w], |gx, gz, h| {
            let shape = gate::GateShape { b, e, width };
            gate::gate_combine_backward(gx, gz, h.buf(dout), h.buf(x), h.buf(w), shape)
        }),
        _ => Err(misrouted("host", Family::Gate, l)),
    }
}
