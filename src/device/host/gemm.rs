//! [`HostBackend`]: the CPU twins of the matrix-product and fused-linear-layer launches.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::Launch;
use crate::error::Result;
use crate::ops::gemm::{gemm_accumulate, Gemm};
use crate::ops::linear_act;

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::MatMul {
            out,
            a,
            b,
            m,
            k,
            n,
            ta,
            tb,
            beta,
        } => be.with_out(out, &[a, b], |o, h| {
            if beta == 0.0 {
                o.fill(0.0);
            } else if beta != 1.0 {
                o.iter_mut().for_each(|v| *v *= beta);
            }
            gemm_accumulate(
                o,
                h.buf(a),
                h.buf(b),
                Gemm::new(m, k, n).trans_a(ta).trans_b(tb),
            ) // += op(a)·op(b)
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
            let mut p = std::mem::take(&mut be.bufs[pre.0 as usize]);
            let r = be.with_out(out, &[x, w, bias], |o, h| {
                linear_act::linear_act_forward(
                    o,
                    &mut p,
                    h.buf(x),
                    h.buf(w),
                    h.buf(bias),
                    linear_act::LinearShape { b, d_in, d_out },
                    f,
                )
            });
            be.bufs[pre.0 as usize] = p;
            r
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
            let mut tb = dbias.map(|x| std::mem::take(&mut be.bufs[x.0 as usize]));
            let r = be.with_out(dpre, &[dout, pre, out], |dz, h| {
                let dy = h.buf(dout);
                match f {
                    None => dz.copy_from_slice(dy),
                    Some(_) => {
                        linear_act::dz_into(dz, dy, h.buf(out), h.buf(pre), f);
                    }
                }
                if let Some(db) = tb.as_deref_mut() {
                    // z_ij = … + b_j  ⇒  db_j += Σ_i dz_ij (rows in order)
                    for row in dz.chunks_exact(d_out).take(b) {
                        db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
                    }
                }
            });
            if let (Some(x), Some(v)) = (dbias, tb) {
                be.bufs[x.0 as usize] = v;
            }
            r
        }
        _ => Err(misrouted("host", Family::Gemm, l)),
    }
}
