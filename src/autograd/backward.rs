//! The backward walk: one dispatch line per op into the op's own file, plus the
//! borrowing helpers that hand an op its inputs' values and gradient buffers.
//!
//! Each op's derivation lives beside its kernels in `src/ops/` or `src/loss/`.

use super::graph::{Graph, Node};
use super::op::Op;
use super::params::ParamStore;
use super::Var;
use crate::{loss, ops};

/// An input of the op being differentiated: its forward value and, if it takes part
/// in the backward pass, the buffer its gradient is **added** to.
pub(crate) struct In<'a> {
    pub value: &'a [f32],
    pub grad: Option<&'a mut [f32]>,
    pub rows: usize,
    pub cols: usize,
}

fn in_of(n: &mut Node) -> In<'_> {
    let (rows, cols, needs) = (n.rows, n.cols, n.needs_grad);
    In {
        value: &n.value,
        grad: if needs { Some(&mut n.grad) } else { None },
        rows,
        cols,
    }
}

/// One input.
pub(crate) fn one(head: &mut [Node], a: Var) -> In<'_> {
    in_of(&mut head[a.index()])
}

/// Two inputs, which may be the same node (`x * x`, `x · xᵀ`): then the second
/// gradient goes to a scratch buffer that is added to the first afterwards.
pub(crate) fn with_two(
    head: &mut [Node],
    a: Var,
    b: Var,
    scratch: &mut Vec<f32>,
    f: impl FnOnce(In<'_>, In<'_>),
) {
    if a != b {
        let [na, nb] = head
            .get_disjoint_mut([a.index(), b.index()])
            .expect("distinct, in-range inputs");
        f(in_of(na), in_of(nb));
        return;
    }
    let n = &mut head[a.index()];
    let (rows, cols, needs) = (n.rows, n.cols, n.needs_grad);
    scratch.clear();
    scratch.resize(rows * cols, 0.0);
    {
        let ia = In {
            value: &n.value,
            grad: if needs { Some(&mut n.grad) } else { None },
            rows,
            cols,
        };
        let ib = In {
            value: &n.value,
            grad: if needs { Some(&mut scratch[..]) } else { None },
            rows,
            cols,
        };
        f(ia, ib);
    }
    if needs {
        for (g, s) in n.grad.iter_mut().zip(scratch.iter()) {
            *g += s;
        }
    }
}

/// Three distinct inputs (aliasing is refused when such ops are recorded).
pub(crate) fn three(head: &mut [Node], a: Var, b: Var, c: Var) -> (In<'_>, In<'_>, In<'_>) {
    let [na, nb, nc] = head
        .get_disjoint_mut([a.index(), b.index(), c.index()])
        .expect("distinct, in-range inputs");
    (in_of(na), in_of(nb), in_of(nc))
}

/// Calls `f` with every node whose gradient node `i`'s backward pass adds to: its inputs,
/// except what an op sends elsewhere (a gather's table gradient goes to the store; the
/// factorised layer sends its embedding gradients there too, past its input `x`, and
/// adds only to its dense parts, `w` and `b`).
pub(crate) fn for_each_input(nodes: &[Node], i: usize, mut f: impl FnMut(Var)) {
    let node = &nodes[i];
    match node.op {
        Op::Input | Op::Param(_) | Op::Gather { .. } | Op::EmbeddingBag { .. } => {}
        Op::MatMul { a, b, .. }
        | Op::Add { a, b }
        | Op::Sub { a, b }
        | Op::Mul { a, b }
        | Op::LogitProduct { a, b } => {
            f(a);
            f(b);
        }
        Op::Scale { a, .. }
        | Op::Sum { a, .. }
        | Op::Mean { a, .. }
        | Op::Unary { a, .. }
        | Op::Softmax { a }
        | Op::LogSoftmax { a }
        | Op::SliceCols { a, .. }
        | Op::Dropout { a }
        | Op::MaskedMean { a, .. }
        | Op::L2Normalize { a }
        | Op::SelectRows { a } => f(a),
        Op::ConcatCols => node.idx.iter().for_each(|&p| f(Var::slot(p))),
        Op::WeightedSum => node.idx.iter().for_each(|&p| f(Var::slot(p))),
        Op::LayerNorm { x, gamma, beta, .. } => {
            f(x);
            f(gamma);
            f(beta);
        }
        Op::GateCombine { experts, gate, .. } => {
            f(experts);
            f(gate);
        }
        Op::Mse { pred } => f(pred),
        Op::BceLogits { logits } | Op::SoftmaxCe { logits } | Op::DistillBce { logits } => {
            f(logits)
        }
        Op::Attention { q, k, v, .. } => {
            f(q);
            f(k);
            f(v);
        }
        Op::LinearAct { x, w, b, .. } => {
            f(x);
            f(w);
            f(b);
        }
        Op::EmbedLinear { w, b, .. } => {
            f(w);
            f(b);
            ops::embed_linear::dense_parts(node, f);
        }
    }
}

/// Runs the backward pass of node `i`, whose gradient is complete.
pub(crate) fn step(g: &mut Graph, i: usize, store: &mut ParamStore) {
    let (head, tail) = g.nodes.split_at_mut(i);
    let node = &tail[0];
    let scratch = &mut g.scratch;
    match node.op {
        Op::Input => {}
        Op::Param(id) => {
            // The graph's copy of the parameter fans its gradient back into the store.
            if let Some(dp) = store.grad_mut(id) {
                dp.iter_mut().zip(&node.grad).for_each(|(d, g)| *d += g);
            }
        }
        Op::MatMul { a, b, ta, tb } => ops::matmul::backward(node, head, scratch, a, b, ta, tb),
        Op::Add { a, b } => ops::broadcast::add_backward(node, head, scratch, a, b),
        Op::Sub { a, b } => ops::broadcast::sub_backward(node, head, scratch, a, b),
        Op::Mul { a, b } => ops::broadcast::mul_backward(node, head, scratch, a, b),
        Op::Scale { a, c } => ops::broadcast::scale_backward(node, head, a, c),
        Op::Sum { a, axis } => ops::reduce::sum_backward(node, head, a, axis),
        Op::Mean { a, axis } => ops::reduce::mean_backward(node, head, a, axis),
        Op::Unary { a, f } => ops::unary::backward(node, head, a, f),
        Op::Softmax { a } => ops::softmax::softmax_backward_node(node, head, a),
        Op::LogSoftmax { a } => ops::softmax::log_softmax_backward_node(node, head, a),
        Op::ConcatCols => ops::columns::concat_backward(node, head),
        Op::SliceCols { a, start } => ops::columns::slice_backward(node, head, a, start),
        Op::Gather { table } => ops::gather::backward(node, store, table),
        Op::EmbeddingBag { table } => ops::embedding_bag::backward(node, store, table),
        Op::Dropout { a } => ops::dropout::backward(node, head, a),
        Op::LayerNorm { x, gamma, beta, .. } => {
            ops::layer_norm::backward(node, head, x, gamma, beta)
        }
        Op::GateCombine { experts, gate, e } => ops::gate::backward(node, head, experts, gate, e),
        Op::LogitProduct { a, b } => ops::logit_product::backward(node, head, scratch, a, b),
        Op::Mse { pred } => loss::mse::backward(node, head, pred),
        Op::BceLogits { logits } => loss::bce::backward(node, head, logits),
        Op::DistillBce { logits } => loss::distill::backward(node, head, logits),
        Op::SoftmaxCe { logits } => loss::softmax_ce::backward(node, head, logits),
        Op::WeightedSum => loss::combine::backward(node, head),
        Op::Attention {
            q,
            k,
            v,
            t,
            heads,
            causal,
        } => ops::attention::backward(node, head, q, k, v, t, heads, causal),
        Op::MaskedMean { a, t } => ops::pooling::masked_mean_backward_node(node, head, a, t),
        Op::L2Normalize { a } => ops::pooling::l2_normalize_backward_node(node, head, a),
        Op::SelectRows { a } => ops::rows::backward(node, head, a),
        Op::LinearAct { x, w, b, f } => ops::linear_act::backward(node, head, scratch, x, w, b, f),
        Op::EmbedLinear { x, w, b, f } => {
            ops::embed_linear::backward(node, head, scratch, store, x, w, b, f)
        }
    }
}
