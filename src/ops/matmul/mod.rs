//! Matrix product with either operand transposed.
//!
//! ```text
//! forward:  C = op(A) · op(B)        op(A): (M, K), op(B): (K, N), C: (M, N)
//!           op(A) = A  (stored (M, K))   or  Aᵀ (A stored (K, M)) when `ta`
//!           op(B) = B  (stored (K, N))   or  Bᵀ (B stored (N, K)) when `tb`
//! ```
//!
//! # Derivation
//!
//! `C_ij = Σ_p op(A)_ip · op(B)_pj`, so `∂C_ij/∂op(A)_ip = op(B)_pj` and
//! `∂C_ij/∂op(B)_pj = op(A)_ip`. Summing over the outputs each input reaches:
//!
//! ```text
//! ∂L/∂op(A) = ∂L/∂C · op(B)ᵀ          (M, N)·(N, K) = (M, K)
//! ∂L/∂op(B) = op(A)ᵀ · ∂L/∂C          (K, M)·(M, N) = (K, N)
//! ```
//!
//! and for a stored-transposed operand the gradient is the transpose of that:
//! `dA = op(B) · dCᵀ` when `ta`, `dB = dCᵀ · op(A)` when `tb`. Every case is one more
//! call of the same accumulating kernel with the transpose flags chosen accordingly.

use crate::autograd::{with_two, Graph, Node, Op, Var};
use crate::error::{Error, Result};

pub use super::gemm::{gemm_accumulate, Gemm};

/// Accumulates `dA` and `dB` for `C = op(A) · op(B)` (the product `g`) given `dC`
/// (see the derivation). The forward product is [`gemm_accumulate`]: `C += op(A)·op(B)`
/// with the packed, cache-blocked GEMM of [`super::gemm`] (parallel for large products,
/// split over M and N only, so bit-identical for any thread count).
pub fn matmul_backward(
    da: Option<&mut [f32]>,
    db: Option<&mut [f32]>,
    dc: &[f32],
    a: &[f32],
    b: &[f32],
    g: Gemm,
) {
    let Gemm {
        m,
        k,
        n,
        trans_a: ta,
        trans_b: tb,
    } = g;
    if let Some(da) = da {
        if !ta {
            // dA (M,K) += dC (M,N) · op(B)ᵀ (N,K)
            gemm_accumulate(da, dc, b, Gemm::new(m, n, k).trans_b(!tb));
        } else {
            // dA (K,M) += op(B) (K,N) · dCᵀ (N,M)
            gemm_accumulate(da, b, dc, Gemm::new(k, n, m).trans_a(tb).trans_b(true));
        }
    }
    if let Some(db) = db {
        if !tb {
            // dB (K,N) += op(A)ᵀ (K,M) · dC (M,N)
            gemm_accumulate(db, a, dc, Gemm::new(k, m, n).trans_a(!ta));
        } else {
            // dB (N,K) += dCᵀ (N,M) · op(A) (M,K)
            gemm_accumulate(db, dc, a, Gemm::new(n, m, k).trans_a(true).trans_b(ta));
        }
    }
}

impl Graph {
    /// `op(a) · op(b)`, transposing `a` if `ta` and `b` if `tb`.
    pub fn matmul(&mut self, a: Var, b: Var, ta: bool, tb: bool) -> Result<Var> {
        self.check("matmul", a)?;
        self.check("matmul", b)?;
        let (da, db) = (self.dims(a), self.dims(b));
        let (m, ka) = if ta { (da.1, da.0) } else { (da.0, da.1) };
        let (kb, n) = if tb { (db.1, db.0) } else { (db.0, db.1) };
        if ka != kb {
            return Err(Error::Shape {
                op: "matmul",
                shapes: vec![da, db],
                expected: format!("inner dimensions to agree (op(a) has {ka} columns, op(b) has {kb} rows; ta={ta}, tb={tb})"),
            });
        }
        let needs = self.any_grad(&[a, b]);
        let out = self.push(Op::MatMul { a, b, ta, tb }, m, n, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        gemm_accumulate(
            &mut node.value,
            &inputs[a.index()].value,
            &inputs[b.index()].value,
            Gemm::new(m, ka, n).trans_a(ta).trans_b(tb),
        );
        Ok(out)
    }

    /// `a · b`.
    pub fn mm(&mut self, a: Var, b: Var) -> Result<Var> {
        self.matmul(a, b, false, false)
    }
}

pub(crate) fn backward(
    node: &Node,
    head: &mut [Node],
    scratch: &mut Vec<f32>,
    a: Var,
    b: Var,
    ta: bool,
    tb: bool,
) {
    let (m, n) = (node.rows, node.cols);
    with_two(head, a, b, scratch, |ia, ib| {
        let k = if ta { ia.rows } else { ia.cols };
        matmul_backward(
            ia.grad,
            ib.grad,
            &node.grad,
            ia.value,
            ib.value,
            Gemm::new(m, k, n).trans_a(ta).trans_b(tb),
        );
    });
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `matmul_fwd_f32` (kernels/matmul.cu), forward and both input
// gradients.
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{MatMul, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for MatMul {
    fn kind(&self) -> OpKind {
        OpKind::MatMul
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
        f(self.b);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(
            cx.node, cx.head, cx.scratch, self.a, self.b, self.ta, self.tb,
        )
    }
    device_lowering!(lower::forward, lower::backward);
}
