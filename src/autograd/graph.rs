//! The graph of one training step and its tape.
//!
//! A [`Graph`] records every op as it runs (define-by-run): the forward value is computed
//! at once and the op is appended to the tape. [`Graph::backward`] then walks the tape in
//! reverse, each op adding (`+=`) its share of the gradient into its inputs' gradient
//! buffers, so a value used by several consumers (a shared bottom feeding K task towers)
//! receives the sum of their gradients.
//!
//! **Buffer reuse.** The tape is a list of node *slots*. [`Graph::reset`] starts a new step
//! but keeps every slot's buffers: node `i` of the next step reuses the value, gradient and
//! saved-state allocations of node `i` of the last. A training loop records the same op
//! sequence each step, so after the first step recording allocates nothing, except in ops
//! that build per-call scratch (attention's lengths and gradient buffers; the tabular models
//! of `tests/alloc.rs` use none of them).

use super::op::Op;
use super::params::{ParamId, ParamStore};
use super::Var;
use crate::error::{Dims, Error, Result};
use crate::ops::embed_linear::{EmbedLinearMode, EmbedScratch};
use crate::tensor::Tensor;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

/// One slot of the tape.
#[derive(Debug)]
pub(crate) struct Node {
    pub op: Op,
    pub rows: usize,
    pub cols: usize,
    /// Forward value, `(rows, cols)` row-major.
    pub value: Vec<f32>,
    /// Gradient of the backward seed with respect to `value`; sized during backward.
    pub grad: Vec<f32>,
    /// Saved f32 state for the backward pass (masks, statistics, probabilities).
    pub aux: Vec<f32>,
    /// Saved integer state (row indices, class ids, input lists).
    pub idx: Vec<u32>,
    pub needs_grad: bool,
    /// The address of the store values this slot holds a copy of ([`Graph::param`]);
    /// 0 for any other node.
    pub from: usize,
}

impl Node {
    fn empty() -> Node {
        Node {
            op: Op::Input,
            rows: 0,
            cols: 0,
            value: Vec::new(),
            grad: Vec::new(),
            aux: Vec::new(),
            idx: Vec::new(),
            needs_grad: false,
            from: 0,
        }
    }

    pub fn dims(&self) -> Dims {
        Dims(self.rows, self.cols)
    }

    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
}

/// A tape of ops for one step: forward values, saved state and gradients.
pub struct Graph {
    pub(crate) nodes: Vec<Node>,
    pub(crate) len: usize,
    training: bool,
    seed: u64,
    pub(crate) rng: StdRng,
    /// Scratch for ops whose two inputs are the same node (`x * x`).
    pub(crate) scratch: Vec<f32>,
    /// Recycled lists of handles ([`Graph::take_vars`] / [`Graph::give_vars`]).
    var_pool: Vec<Vec<Var>>,
    /// When `linear_act` factorises a product over gathered embeddings.
    embed_mode: EmbedLinearMode,
    /// Planning buffers of that factorisation.
    pub(crate) embed: EmbedScratch,
    /// f64 scratch of ops that sum per-row terms in a fixed order (softmax cross-entropy).
    pub(crate) f64_scratch: Vec<f64>,
    /// Per node of the last backward pass: whether the seed reaches it.
    reach: Vec<bool>,
    /// Steps recorded so far ([`Graph::reset`] counts one): tells a plan of this step's
    /// nodes from one of an earlier step's, whose handles are reused.
    epoch: u64,
    /// [`Graph::set_record_only`].
    record_only: bool,
    /// [`Graph::set_params_fixed`].
    params_fixed: bool,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new(0)
    }
}

impl Graph {
    /// An empty graph in training mode; `seed` drives dropout masks.
    pub fn new(seed: u64) -> Graph {
        Graph {
            nodes: Vec::new(),
            len: 0,
            training: true,
            seed,
            rng: StdRng::seed_from_u64(seed),
            scratch: Vec::new(),
            var_pool: Vec::new(),
            embed_mode: EmbedLinearMode::default(),
            embed: EmbedScratch::default(),
            epoch: 0,
            reach: Vec::new(),
            f64_scratch: Vec::new(),
            record_only: false,
            params_fixed: false,
        }
    }

    /// Starts a new step: forgets all nodes but keeps their buffers for reuse.
    /// The dropout stream continues from where it was.
    pub fn reset(&mut self) {
        self.len = 0;
        self.epoch += 1;
    }

    /// Like [`Graph::reset`], and restarts the dropout stream from `seed`.
    pub fn reset_with_seed(&mut self, seed: u64) {
        self.len = 0;
        self.epoch += 1;
        self.seed = seed;
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// Training mode (dropout active) or evaluation mode (dropout is the identity).
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Whether [`Graph::linear_act`] may factorise a layer over gathered embeddings per
    /// table (`ops::embed_linear`; default [`EmbedLinearMode::Auto`]). The result is the
    /// same up to rounding; `Off` records the plain product.
    pub fn set_embed_linear(&mut self, mode: EmbedLinearMode) {
        self.embed_mode = mode;
    }

    pub fn embed_linear_mode(&self) -> EmbedLinearMode {
        self.embed_mode
    }

    /// Record-only mode: ops record their inputs, shapes and the data they save (row ids,
    /// labels and masks of losses, dropout masks, task weights) but compute no values,
    /// so a device can replay the tape (`crate::device`). Values and losses of such a
    /// tape are meaningless on the host; `linear_act` records the plain product.
    pub fn set_record_only(&mut self, record_only: bool) {
        self.record_only = record_only;
    }

    /// Whether ops compute their values (false in record-only mode).
    pub fn computes(&self) -> bool {
        !self.record_only
    }

    /// Number of [`Graph::reset`]s so far.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The step handles of this step carry ([`Var`]): the reset count modulo 2³² (a handle
    /// exactly 2³² steps old would pass the check).
    pub(crate) fn step(&self) -> u32 {
        self.epoch as u32
    }

    /// Number of nodes recorded in this step.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by all node buffers (live and recycled): what a step costs in memory.
    pub fn buffer_bytes(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| {
                4 * (n.value.capacity() + n.grad.capacity() + n.aux.capacity() + n.idx.capacity())
            })
            .sum()
    }

    /// An empty list of handles, recycled from an earlier [`Graph::give_vars`] when there
    /// is one: layers that collect the nodes they record (input parts, task outputs) take
    /// their list here so that a steady-state training step allocates nothing.
    pub fn take_vars(&mut self) -> Vec<Var> {
        self.var_pool.pop().unwrap_or_default()
    }

    /// Returns a list of handles for reuse by a later [`Graph::take_vars`].
    pub fn give_vars(&mut self, mut vars: Vec<Var>) {
        vars.clear();
        if vars.capacity() > 0 {
            self.var_pool.push(vars);
        }
    }

    // ---------------------------------------------------------------- recording

    /// Fails unless `v` is a node of the current step.
    pub(crate) fn check(&self, op: &'static str, v: Var) -> Result<()> {
        if v.step != self.step() {
            Err(Error::Handle { op, message: format!("node #{} was recorded in step {} but the graph is at step {}; a Var is valid until Graph::reset", v.slot, v.step, self.step()) })
        } else if v.index() < self.len {
            Ok(())
        } else {
            Err(Error::Handle { op, message: format!("node #{} is not part of this step's graph ({} nodes); a Var is valid until Graph::reset", v.slot, self.len) })
        }
    }

    pub(crate) fn dims(&self, v: Var) -> Dims {
        self.nodes[v.index()].dims()
    }

    /// Appends a node of shape `(rows, cols)`, reusing the slot's buffers. The value is
    /// zero-filled; `aux` and `idx` are emptied. Returns its handle.
    pub(crate) fn push(&mut self, op: Op, rows: usize, cols: usize, needs_grad: bool) -> Var {
        if self.len == self.nodes.len() {
            self.nodes.push(Node::empty());
        }
        let n = &mut self.nodes[self.len];
        n.op = op;
        n.rows = rows;
        n.cols = cols;
        n.needs_grad = needs_grad;
        n.from = 0;
        n.value.clear();
        n.value.resize(rows * cols, 0.0);
        n.grad.clear();
        n.aux.clear();
        n.idx.clear();
        self.len += 1;
        Var {
            slot: self.len as u32 - 1,
            step: self.step(),
        }
    }

    /// Like [`Graph::push`] for an op whose forward pass writes **every** element of the
    /// value: the slot's old values are left in place (not zero-filled) when the size is
    /// unchanged, saving one pass over the buffer.
    pub(crate) fn push_overwritten(
        &mut self,
        op: Op,
        rows: usize,
        cols: usize,
        needs_grad: bool,
    ) -> Var {
        if self.len == self.nodes.len() {
            self.nodes.push(Node::empty());
        }
        let n = &mut self.nodes[self.len];
        n.op = op;
        n.rows = rows;
        n.cols = cols;
        n.needs_grad = needs_grad;
        n.from = 0;
        n.value.resize(rows * cols, 0.0);
        n.value.truncate(rows * cols);
        n.grad.clear();
        n.aux.clear();
        n.idx.clear();
        self.len += 1;
        Var {
            slot: self.len as u32 - 1,
            step: self.step(),
        }
    }

    /// The new node `out` (mutable) and every node before it (read-only): the inputs of
    /// the op that produces `out`.
    pub(crate) fn split(&mut self, out: Var) -> (&mut Node, &[Node]) {
        let (head, tail) = self.nodes.split_at_mut(out.index());
        (&mut tail[0], head)
    }

    /// Whether any of `vars` needs a gradient.
    pub(crate) fn any_grad(&self, vars: &[Var]) -> bool {
        vars.iter().any(|v| self.nodes[v.index()].needs_grad)
    }

    /// Feeds data into the graph (no gradient).
    pub fn input(&mut self, t: &Tensor) -> Var {
        let v = self.push(Op::Input, t.rows(), t.cols(), false);
        self.nodes[v.index()].value.copy_from_slice(t.data());
        v
    }

    /// Feeds a row-major `(rows, cols)` slice into the graph (no gradient).
    pub fn input_slice(&mut self, rows: usize, cols: usize, data: &[f32]) -> Result<Var> {
        if data.len() != rows * cols {
            return Err(Error::Length {
                op: "input",
                what: "data".into(),
                len: data.len(),
                expected: rows * cols,
            });
        }
        let v = self.push(Op::Input, rows, cols, false);
        self.nodes[v.index()].value.copy_from_slice(data);
        Ok(v)
    }

    /// Brings a dense parameter into the graph; its gradient flows back to `store`.
    pub fn param(&mut self, store: &ParamStore, id: ParamId) -> Result<Var> {
        store.check("param", id)?;
        if store.grad(id).is_none() {
            return Err(Error::Handle {
                op: "param",
                message: format!(
                    "`{}` is an embedding table; read it with Graph::gather",
                    store.info(id).name
                ),
            });
        }
        let info = store.info(id);
        if !self.computes() {
            return Ok(self.push(Op::Param(id), info.rows, info.cols, true));
        }
        let src = store.value(id);
        let from = src.as_ptr() as usize;
        // with fixed parameters, the slot may still hold this very copy from the last pass
        let kept = self.params_fixed
            && self.nodes.get(self.len).is_some_and(|n| {
                n.op == Op::Param(id) && n.from == from && n.value.len() == src.len()
            });
        // the copy writes every element: no zero-fill of the slot first (with a kept
        // graph, as serving has, the slot already has the size and is only overwritten)
        let v = self.push_overwritten(Op::Param(id), info.rows, info.cols, true);
        let n = &mut self.nodes[v.index()];
        if !kept {
            n.value.copy_from_slice(src);
        }
        n.from = from;
        Ok(v)
    }

    /// Serving's promise: the values of every [`ParamStore`] read through this graph stay
    /// as they are while the graph is kept (a loaded model's parameters; a reload loads a
    /// new graph). [`Graph::param`] then copies a parameter into its slot once, and a
    /// later pass that puts the same parameter of the same store in the same slot reads
    /// the copy already there: a forward pass copies no parameters. Turning it on forgets
    /// the copies of earlier passes (the store may have changed before the promise).
    pub fn set_params_fixed(&mut self, fixed: bool) {
        if fixed && !self.params_fixed {
            for n in &mut self.nodes {
                n.from = 0;
            }
        }
        self.params_fixed = fixed;
    }

    // ---------------------------------------------------------------- reading

    /// The node of a handle of this step. Reading through a stale handle (one kept across
    /// [`Graph::reset`]) is a bug in the caller: it panics with the steps involved rather
    /// than return whatever node the new step put in the slot.
    fn node(&self, v: Var) -> &Node {
        assert!(
            v.step == self.step() && v.index() < self.len,
            "stale Var: node #{} was recorded in step {}, the graph is at step {} with {} nodes; a Var is valid until Graph::reset",
            v.slot,
            v.step,
            self.step(),
            self.len
        );
        &self.nodes[v.index()]
    }

    /// `(rows, cols)` of a node.
    pub fn shape(&self, v: Var) -> (usize, usize) {
        let n = self.node(v);
        (n.rows, n.cols)
    }

    /// Forward value of a node, row-major.
    pub fn value(&self, v: Var) -> &[f32] {
        &self.node(v).value
    }

    /// The single value of a `(1, 1)` node (a loss).
    pub fn scalar(&self, v: Var) -> f32 {
        self.node(v).value[0]
    }

    /// A copy of a node's value.
    pub fn tensor(&self, v: Var) -> Tensor {
        let n = self.node(v);
        Tensor::from_vec(n.rows, n.cols, n.value.clone())
            .expect("node invariant: value.len() == rows * cols")
    }

    /// Every node of this step produced by `kind`, in recording order.
    pub fn find_op(&self, kind: super::OpKind) -> Vec<Var> {
        (0..self.len)
            .filter(|&i| self.nodes[i].op.kind() == Some(kind))
            .map(|i| Var {
                slot: i as u32,
                step: self.step(),
            })
            .collect()
    }

    /// Which op produced a node (`None` for inputs and parameters).
    pub fn op_kind(&self, v: Var) -> Option<super::OpKind> {
        self.node(v).op.kind()
    }

    /// Gradient of the last backward seed with respect to a node, if it was reached.
    pub fn grad(&self, v: Var) -> Option<&[f32]> {
        let n = self.node(v);
        if n.needs_grad && n.grad.len() == n.len() {
            Some(&n.grad)
        } else {
            None
        }
    }

    /// State an op saved for its backward pass: for `gate_combine`, the softmax gate
    /// weights `(B, E)`; for `layer_norm`, per-row mean then 1/σ; for `dropout`, the mask.
    pub fn saved(&self, v: Var) -> &[f32] {
        &self.node(v).aux
    }

    // ---------------------------------------------------------------- backward

    /// Reverse-mode backward from a scalar `(1, 1)` loss: ∂loss/∂loss = 1.
    /// Parameter gradients are **added** to `store` (zero them once per step).
    pub fn backward(&mut self, loss: Var, store: &mut ParamStore) -> Result<()> {
        self.check("backward", loss)?;
        let dims = self.dims(loss);
        if dims != Dims(1, 1) {
            return Err(Error::Shape {
                op: "backward",
                shapes: vec![dims],
                expected: "a (1, 1) scalar loss; reduce it with sum or mean first".into(),
            });
        }
        self.backward_with_grad(loss, &[1.0], store)
    }

    /// Backward from any node, seeded with `seed` = ∂L/∂out (same shape as `out`).
    pub fn backward_with_grad(
        &mut self,
        out: Var,
        seed: &[f32],
        store: &mut ParamStore,
    ) -> Result<()> {
        self.check("backward", out)?;
        let n = self.nodes[out.index()].len();
        if seed.len() != n {
            return Err(Error::Length {
                op: "backward",
                what: "seed gradient".into(),
                len: seed.len(),
                expected: n,
            });
        }
        crate::error::check_finite("backward", "seed gradient", seed)?;
        // Which nodes the seed can reach: `out`, then every input of a reached node that
        // needs a gradient. Nodes it cannot reach (an input layer's concatenation that
        // only factorised layers read) are neither zeroed nor walked.
        let last = out.index();
        let reach = &mut self.reach;
        reach.clear();
        reach.resize(last + 1, false);
        reach[last] = true;
        for i in (0..=last).rev() {
            if reach[i] && self.nodes[i].needs_grad {
                super::backward::for_each_input(&self.nodes, i, |v| reach[v.index()] = true);
            }
        }
        // The one zeroing of this step's node gradients.
        for (node, &r) in self.nodes[..=last].iter_mut().zip(reach.iter()) {
            node.grad.clear();
            if node.needs_grad && r {
                node.grad.resize(node.len(), 0.0);
            }
        }
        if !self.nodes[last].needs_grad {
            return Ok(());
        }
        self.nodes[last].grad.copy_from_slice(seed);
        for i in (0..=last).rev() {
            if self.nodes[i].needs_grad && self.reach[i] {
                super::backward::step(self, i, store);
            }
        }
        Ok(())
    }
}
