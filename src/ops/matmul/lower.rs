//! Device lowering of [`MatMul`]: one accumulating GEMM launch (`Launch::MatMul`,
//! kernel `matmul_fwd_f32`) forward, one per input gradient backward: the same calls as
//! [`super::matmul_backward`].

use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Buf, Launch};
use crate::error::Result;
use crate::ops::registry::MatMul;

pub(super) fn forward<B: Backend + ?Sized>(
    op: &MatMul,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let MatMul { a, b, ta, tb } = *op;
    let n = &lw.nodes[i];
    let (rows, cols) = (n.rows, n.cols);
    let k = if ta { lw.dims(a).0 } else { lw.dims(a).1 };
    out.push(Launch::MatMul {
        out: lw.values[i],
        a: lw.value(a),
        b: lw.value(b),
        m: rows,
        k,
        n: cols,
        ta,
        tb,
        beta: 0.0,
    });
    Ok(Saved::default())
}

/// `C (m, n) = op(A) (m, k) · op(B) (k, n)`; the calls of `ops::matmul::matmul_backward`.
pub(super) fn backward<B: Backend + ?Sized>(
    op: &MatMul,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let MatMul { a, b, ta, tb } = *op;
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    let (m, nn) = (lw.nodes[i].rows, lw.nodes[i].cols);
    let k = if ta { lw.dims(a).0 } else { lw.dims(a).1 };
    let (va, vb) = (lw.value(a), lw.value(b));
    let mm =
        |out: Buf, x: Buf, z: Buf, dims: (usize, usize, usize), t: (bool, bool)| Launch::MatMul {
            out,
            a: x,
            b: z,
            m: dims.0,
            k: dims.1,
            n: dims.2,
            ta: t.0,
            tb: t.1,
            beta: 1.0,
        };
    if let Some(da) = lw.grad(a) {
        out.push(if !ta {
            mm(da, dy, vb, (m, nn, k), (false, !tb)) // dA (m,k) += dC · op(B)ᵀ
        } else {
            mm(da, vb, dy, (k, nn, m), (tb, true)) // dA (k,m) += op(B) · dCᵀ
        });
    }
    if let Some(db) = lw.grad(b) {
        out.push(if !tb {
            mm(db, va, dy, (k, m, nn), (!ta, false)) // dB (k,n) += op(A)ᵀ · dC
        } else {
            mm(db, dy, va, (nn, m, k), (true, ta)) // dB (n,k) += dCᵀ · op(A)
        });
    }
    Ok(())
}
