//! `CudaBackend`: the reduction, row-softmax and column-block launches, each one call of its launch wrapper.

use crate::device::cuda::backend::CudaBackend;
use crate::device::cuda::kernels as k;
use crate::device::family::{misrouted, Family};
use crate::device::Launch;
use crate::error::Result;

/// Runs one launch of this family with its kernel.
pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Reduce {
            out,
            inp,
            r,
            c,
            axis,
            s,
        } => be.outs("Reduce", [out], |dev, t, [o]| {
            k::reduce_forward(dev, o, t.get("Reduce", inp)?, (r, c), axis, s)
        }),
        Launch::ReduceBwd {
            dinp,
            dout,
            r,
            c,
            axis,
            s,
        } => be.outs("ReduceBwd", [dinp], |dev, t, [o]| {
            k::reduce_backward(dev, o, t.get("ReduceBwd", dout)?, (r, c), axis, s)
        }),
        Launch::Softmax {
            out,
            inp,
            r,
            c,
            log,
        } => be.outs("Softmax", [out], |dev, t, [o]| {
            k::softmax_forward(dev, o, t.get("Softmax", inp)?, (r, c), log)
        }),
        Launch::SoftmaxBwd {
            dinp,
            dout,
            out,
            r,
            c,
            log,
        } => {
            let op = "SoftmaxBwd";
            be.outs(op, [dinp], |dev, t, [o]| {
                k::softmax_backward(dev, o, t.get(op, dout)?, t.get(op, out)?, (r, c), log)
            })
        }
        Launch::Cols {
            wide,
            narrow,
            r,
            c_wide,
            c_narrow,
            off,
            to_wide,
            add,
        } => {
            let dims = (r, c_wide, c_narrow);
            if to_wide {
                be.outs("Cols", [wide], |dev, t, [o]| {
                    k::cols_to_wide(dev, o, t.get("Cols", narrow)?, dims, off, add)
                })
            } else {
                be.outs("Cols", [narrow], |dev, t, [o]| {
                    k::cols_from_wide(dev, o, t.get("Cols", wide)?, dims, off, add)
                })
            }
        }
        _ => Err(misrouted("CUDA", Family::Reduce, l)),
    }
}
