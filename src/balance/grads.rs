//! Per-task gradients: one backward pass per task from a zeroed store.
//!
//! GradNorm, PCGrad and the gradient-conflict diagnostic need `∇θ L_k` for each task k
//! separately, which one backward of `Σ_k L_k` cannot give (the store only ever holds the
//! sum). [`TaskGrads::compute`] runs K backward passes over the same recorded graph:
//!
//! ```text
//! for k in 0..K:
//!     store.zero_grad(); g.backward(L_k)       store holds ∇θ L_k alone
//!     shared[k, :]  = ∇_shared L_k             copy of the shared dense slices, (P,)
//!     dense_sum    += c_k · ∇θ L_k             whole dense block
//!     rows[k]       = touched table rows and their gradients (row-sparse)
//! store.zero_grad()
//! store.dense_grad  = dense_sum                Σ_k c_k ∇θ L_k, exact per task
//! store.tables     += Σ_k c_k · rows[k]        first touch: task order, then row order
//! ```
//!
//! so afterwards the store holds the plain `c`-weighted sum of the task gradients for
//! every parameter, dense and table, and `shared` holds each task's own gradient of the
//! shared parameters. The buffers are kept between steps (no allocation after the first).

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};

/// The per-task gradients of one step and the workspace that computes them.
#[derive(Clone, Debug, Default)]
pub struct TaskGrads {
    /// K, the number of tasks of the last [`TaskGrads::compute`].
    pub k: usize,
    /// P, the number of scalars in the shared parameters (concatenated in the order given).
    pub p: usize,
    /// `(K, P)` row-major: row k is `∇_shared L_k`, the shared slices concatenated.
    pub shared: Vec<f32>,
    /// `(P_dense,)` Σ_k c_k ∇L_k over the whole dense block of the store.
    dense_sum: Vec<f32>,
    /// Per task, per table: the touched rows and their gradients `(touched, D)`.
    rows: Vec<Vec<(Vec<u32>, Vec<f32>)>>,
    /// `(offset, len)` of each shared parameter in the dense block.
    spans: Vec<(usize, usize)>,
}

impl TaskGrads {
    pub fn new() -> TaskGrads {
        TaskGrads::default()
    }

    /// Row k of [`TaskGrads::shared`]: `∇_shared L_k`, `(P,)`.
    pub fn task(&self, k: usize) -> &[f32] {
        &self.shared[k * self.p..(k + 1) * self.p]
    }

    /// `(offset, len)` in the store's dense block of each shared parameter, in order.
    pub fn spans(&self) -> &[(usize, usize)] {
        &self.spans
    }

    /// Runs one backward pass per task loss (see the module docs) and leaves
    /// `Σ_k coefs[k]·∇θ L_k` in `store` for every parameter. `shared` must be dense
    /// parameters of `store`; it may be empty (then `P = 0`).
    pub fn compute(
        &mut self,
        g: &mut Graph,
        store: &mut ParamStore,
        losses: &[Var],
        shared: &[ParamId],
        coefs: &[f32],
    ) -> Result<()> {
        if losses.is_empty() || coefs.len() != losses.len() {
            return Err(Error::Length {
                op: "TaskGrads::compute",
                what: "task coefficients".into(),
                len: coefs.len(),
                expected: losses.len().max(1),
            });
        }
        self.set_spans(store, shared)?;
        let k_tasks = losses.len();
        self.k = k_tasks;
        self.shared.clear();
        self.shared.resize(k_tasks * self.p, 0.0);
        self.dense_sum.clear();
        self.dense_sum.resize(store.dense_grad().len(), 0.0);
        let n_tables = store.tables().len();
        self.rows.resize_with(k_tasks, Vec::new);
        for per_task in &mut self.rows[..k_tasks] {
            per_task.resize_with(n_tables, || (Vec::new(), Vec::new()));
        }

        for (k, (&loss, &c)) in losses.iter().zip(coefs).enumerate() {
            store.zero_grad();
            g.backward(loss, store)?; // store: ∇θ L_k alone
            let dense = store.dense_grad();
            // shared[k, :] = [∇W₁ L_k | ∇W₂ L_k | …]                         (P,)
            let mut at = k * self.p;
            for &(off, len) in &self.spans {
                self.shared[at..at + len].copy_from_slice(&dense[off..off + len]);
                at += len;
            }
            // dense_sum += c_k · ∇θ L_k                                       (P_dense,)
            for (s, &d) in self.dense_sum.iter_mut().zip(dense) {
                *s += c * d;
            }
            for (t, table) in store.tables().iter().enumerate() {
                let (rows, vals) = &mut self.rows[k][t];
                rows.clear();
                rows.extend_from_slice(table.grad.touched());
                vals.clear();
                vals.extend_from_slice(table.grad.values());
            }
        }

        // The store gets the c-weighted sum of the task gradients.
        store.zero_grad();
        store.dense_mut().1.copy_from_slice(&self.dense_sum);
        for (k, &c) in coefs.iter().enumerate() {
            for (t, table) in store.tables_mut().iter_mut().enumerate() {
                let (rows, vals) = &self.rows[k][t];
                if rows.is_empty() {
                    continue;
                }
                let width = vals.len() / rows.len();
                for (i, &r) in rows.iter().enumerate() {
                    let acc = table.grad.row_mut(r);
                    for (a, &v) in acc.iter_mut().zip(&vals[i * width..(i + 1) * width]) {
                        *a += c * v;
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks the shared ids and records their spans in the dense block.
    fn set_spans(&mut self, store: &ParamStore, shared: &[ParamId]) -> Result<()> {
        self.spans.clear();
        self.p = 0;
        for &id in shared {
            store.check("balance (shared parameters)", id)?;
            let info = store.info(id);
            let off = store.dense_offset(id).ok_or_else(|| Error::Config {
                what: format!("shared parameter `{}`", info.name),
                message: "is an embedding table; list only dense parameters as shared (tables always receive the plain sum of the task gradients)".into(),
            })?;
            let len = info.rows * info.cols;
            self.spans.push((off, len));
            self.p += len;
        }
        Ok(())
    }

    /// Writes `(P,)` into the store's gradients of the shared parameters (replacing them).
    pub fn write_shared(&self, store: &mut ParamStore, grad: &[f32]) {
        let dense = store.dense_mut().1;
        let mut at = 0;
        for &(off, len) in &self.spans {
            dense[off..off + len].copy_from_slice(&grad[at..at + len]);
            at += len;
        }
    }
}

/// `Σ_i a_i b_i`, accumulated in f64.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}
