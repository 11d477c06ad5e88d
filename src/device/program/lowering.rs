//! What an op's lowering (`src/ops/<op>/lower.rs`) works with: the buffers of the nodes
//! lowered so far ([`Lowering`]), what a node's forward launches save for its backward
//! launches ([`Saved`]) and the data copied in before each run ([`Feed`]).

use crate::autograd::{Node, Op, ParamId, Var};
use crate::device::launch::{Bcast, Buf, IdxBuf};
use crate::device::params::DeviceParams;
use crate::device::Backend;
use crate::error::{Error, Result};

/// Data copied from the tape to the backend before each run.
#[derive(Debug)]
pub(crate) enum Feed {
    /// An `Input` node's value.
    Value { node: usize, buf: Buf },
    /// A slice of a node's saved f32 state (`aux`): dropout mask, loss coefficients or
    /// targets, task weights.
    Aux {
        node: usize,
        buf: Buf,
        start: usize,
        len: usize,
    },
    /// The row ids of a `Gather` node (noted as touched rows of `table`).
    Rows {
        node: usize,
        buf: IdxBuf,
        table: ParamId,
    },
    /// The offsets (b + 1) then ids of an `EmbeddingBag` node.
    Bags {
        node: usize,
        offsets: IdxBuf,
        ids: IdxBuf,
        b: usize,
        table: ParamId,
    },
}

/// Buffers a node's forward launches save for its backward launches.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Saved {
    pub bufs: [Option<Buf>; 2],
    pub idxs: [Option<IdxBuf>; 2],
}

impl Saved {
    /// The `k`-th saved f32 buffer.
    pub fn buf(&self, k: usize) -> Buf {
        self.bufs[k].expect("lowered with the forward pass")
    }
    /// The `k`-th saved index buffer.
    pub fn idx(&self, k: usize) -> IdxBuf {
        self.idxs[k].expect("lowered with the forward pass")
    }
}

/// Buffers of the nodes while lowering.
pub(crate) struct Lowering<'a, B: Backend + ?Sized> {
    pub backend: &'a mut B,
    pub params: &'a DeviceParams,
    pub nodes: &'a [Node],
    /// Each node's value buffer.
    pub values: Vec<Buf>,
    /// Each node's gradient buffer, when the backward pass reaches it.
    pub grads: Vec<Option<Buf>>,
    pub saved: Vec<Saved>,
    /// For a gather fused into a concatenation: (the concatenation's node, column offset).
    pub fused: Vec<Option<(usize, usize)>>,
}

impl<B: Backend + ?Sized> Lowering<'_, B> {
    /// The value buffer of `x`.
    pub fn value(&self, x: Var) -> Buf {
        self.values[x.index()]
    }
    /// The gradient buffer of `x`, if it has one.
    pub fn grad(&self, x: Var) -> Option<Buf> {
        self.grads[x.index()]
    }
    /// `(rows, cols)` of `x`.
    pub fn dims(&self, x: Var) -> (usize, usize) {
        let n = &self.nodes[x.index()];
        (n.rows, n.cols)
    }
    /// A fresh zero-filled f32 buffer.
    pub fn alloc(&mut self, len: usize) -> Result<Buf> {
        self.backend.alloc(len)
    }
    /// The broadcast shapes of `a ∘ b`.
    pub fn bcast(&self, a: Var, b: Var) -> Bcast {
        let ((r, c), (br, bc)) = (self.dims(a), self.dims(b));
        Bcast { r, c, br, bc }
    }
}

/// The error of an op with no device lowering yet.
pub(crate) fn unsupported(op: &Op) -> Error {
    Error::Device {
        device: "device step".into(),
        what: format!(
            "the op {:?} has no device lowering yet (supported: inputs, parameters, gather, \
             embedding bags, concat / slice of columns, matmul, linear + activation, add, \
             sub, mul, scale, sum, mean, unary functions, softmax, log-softmax, dropout, \
             layer norm, gate combine, logit product, MSE and BCE losses, weighted sums)",
            op.kind()
        ),
        fix: "train this model on the CPU (`--device cpu`)".into(),
    }
}
