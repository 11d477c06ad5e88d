//! `CudaBackend`: the matrix-product and fused-linear-layer launches, each one call of its launch wrapper.

use super::unary;
use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::{Error, Result};

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::MatMul {
            out,
            a,
            b,
            m,
            k: kk,
            n,
            ta,
            tb,
            beta,
        } => be.outs("MatMul", [out], |dev, t, [o]| {
            let (a, b) = (t.get("MatMul", a)?, t.get("MatMul", b)?);
            k::matmul_forward(
                dev,
                o,
                a,
                b,
                k::Gemm::new(m, kk, n).trans_a(ta).trans_b(tb),
                beta,
            )
        }),
        Launch::LinearAct {
            out,
            pre,
            x,
            w,
            bias,
            b,
            d_in,
            d_out,
            f,
        } => {
            let op = "LinearAct";
            be.outs(op, [out, pre], |dev, t, [o, p]| {
                let (x, w, bias) = (t.get(op, x)?, t.get(op, w)?, t.get(op, bias)?);
                let shape = k::LinearShape {
                    b,
                    d_in,
                    d_out,
                    act: unary(f),
                };
                k::linear_act_forward(dev, o, p, x, w, bias, shape)
            })
        }
        Launch::LinearActBwd {
            dpre,
            dbias,
            dout,
            pre,
            out,
            b,
            d_out,
            f,
        } => {
            let op = "LinearActBwd";
            be.opt_outs(op, [Some(dpre), dbias], |dev, t, [dp, db]| {
                let dp = dp.ok_or_else(|| Error::Handle {
                    op,
                    message: "internal: the dpre buffer went missing".into(),
                })?;
                let (dout, pre, out) = (t.get(op, dout)?, t.get(op, pre)?, t.get(op, out)?);
                k::linear_act_backward_dpre(dev, dp, db, dout, (pre, out), (b, d_out), unary(f))
            })
        }
        _ => Err(misrouted("CUDA", Family::Gemm, l)),
    }
}
