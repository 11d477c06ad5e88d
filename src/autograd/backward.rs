//! The backward walk's step (the dispatch into each op's `TapeOp::backward` is generated
//! from `src/ops/registry.rs`), plus the borrowing helpers that hand an op its inputs'
//! values and gradient buffers.
//!
//! Each op's derivation lives beside its kernels in its folder under `src/ops/`.

use super::graph::{Graph, Node};
use super::op::Op;
use super::params::ParamStore;
use super::Var;
use crate::ops::tape_op::BackwardCx;

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
/// adds only to its dense parts, `w` and `b`). Each op lists them (`TapeOp::each_input`).
pub(crate) fn for_each_input(nodes: &[Node], i: usize, mut f: impl FnMut(Var)) {
    let node = &nodes[i];
    node.op.each_input(node, &mut f);
}

/// Runs the backward pass of node `i`, whose gradient is complete: a parameter's copy
/// fans its gradient back into the store, an op runs its own (`TapeOp::backward`).
pub(crate) fn step(g: &mut Graph, i: usize, store: &mut ParamStore) {
    let (head, tail) = g.nodes.split_at_mut(i);
    let node = &tail[0];
    if let Op::Param(id) = node.op {
        if let Some(dp) = store.grad_mut(id) {
            dp.iter_mut().zip(&node.grad).for_each(|(d, g)| *d += g);
        }
        return;
    }
    let cx = BackwardCx {
        node,
        head,
        scratch: &mut g.scratch,
        store,
    };
    node.op.backward(cx);
}
