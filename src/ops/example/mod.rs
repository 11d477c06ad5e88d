//! The worked example of docs/adding_an_op.md: `y = x³` elementwise, compiled only into
//! the library's unit tests (its registry line is in the `examples` list of
//! `src/ops/registry.rs`). Everything a real op has is here, in the order the walk-through
//! adds it: the kernels, the graph method, the `impl TapeOp`, and the tests that find it in
//! the registry and check its gradient by central differences.
//!
//! ```text
//! y = x³        x, y: (R, C)
//! ```
//!
//! # Derivation
//!
//! Each output depends on one input: `∂y_ij/∂x_ij = 3·x_ij²`, so with the upstream `dy`
//! (in the forward pass this was `y = x·x·x`, so now we have):
//!
//! ```text
//! dx_ij += dy_ij · 3·x_ij²
//! ```
//!
//! Kernels: none on the device. The lowering returns the "no device lowering yet" error,
//! which is what a new op does until it gets launches (docs/adding_an_op.md, step 6).

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::device::program::{unsupported, Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::{Cube, OpKind};
use crate::ops::tape_op::{BackwardCx, TapeOp};

/// `out = inp³` elementwise. `out`, `inp`: (R, C).
pub fn cube_forward(out: &mut [f32], inp: &[f32]) {
    out.iter_mut().zip(inp).for_each(|(y, &x)| *y = x * x * x);
}

/// `dinp += dout ⊙ 3·inp²`. All (R, C).
pub fn cube_backward(dinp: &mut [f32], dout: &[f32], inp: &[f32]) {
    for i in 0..dinp.len() {
        dinp[i] += dout[i] * 3.0 * inp[i] * inp[i];
    }
}

impl Graph {
    /// `x³` elementwise (the example op).
    pub(crate) fn example_cube(&mut self, a: Var) -> Result<Var> {
        self.check("example_cube", a)?;
        let dims = self.dims(a);
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::Cube { a }, dims.0, dims.1, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        cube_forward(&mut node.value, &inputs[a.index()].value);
        Ok(out)
    }
}

fn backward(node: &Node, head: &mut [Node], a: Var) {
    let ia = one(head, a);
    if let Some(da) = ia.grad {
        cube_backward(da, &node.grad, ia.value);
    }
}

impl TapeOp for Cube {
    fn kind(&self) -> OpKind {
        OpKind::ExampleCube
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.a)
    }
    fn lower_forward<B: Backend + ?Sized>(
        &self,
        lw: &mut Lowering<'_, B>,
        i: usize,
        _out: &mut Vec<Launch>,
        _feeds: &mut Vec<Feed>,
    ) -> Result<Saved> {
        Err(unsupported(&lw.nodes[i].op))
    }
    fn lower_backward<B: Backend + ?Sized>(
        &self,
        lw: &mut Lowering<'_, B>,
        i: usize,
        _out: &mut Vec<Launch>,
    ) -> Result<()> {
        Err(unsupported(&lw.nodes[i].op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::{Axis, ParamStore};

    /// The registry generated its name, its `OpKind`, and the dispatch finds its inputs.
    #[test]
    fn the_example_op_is_in_the_registry() {
        assert_eq!(OpKind::ALL.last(), Some(&OpKind::ExampleCube));
        let mut store = ParamStore::new();
        let w = store.add_dense("w", 2, 3, vec![0.5; 6]).unwrap();
        let mut g = Graph::new(0);
        let x = g.param(&store, w).unwrap();
        let y = g.example_cube(x).unwrap();
        let node = &g.nodes[y.index()];
        assert_eq!(node.op.kind(), Some(OpKind::ExampleCube));
        let mut inputs = Vec::new();
        node.op.each_input(node, &mut |v| inputs.push(v));
        assert_eq!(inputs, vec![x]);
    }

    /// `L = Σ R ⊙ x³` against central differences in f64: the gradient check every op has.
    #[test]
    fn gradcheck_example_cube() {
        let (r, c) = (3, 4);
        let x0: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.37).sin() * 1.5).collect();
        let weights: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.91).cos()).collect();
        let objective = |x: &[f32]| -> f64 {
            x.iter()
                .zip(&weights)
                .map(|(&x, &w)| w as f64 * (x as f64).powi(3))
                .sum()
        };
        let mut store = ParamStore::new();
        let w = store.add_dense("x", r, c, x0.clone()).unwrap();
        let mut g = Graph::new(0);
        let x = g.param(&store, w).unwrap();
        let y = g.example_cube(x).unwrap();
        let rw = g.input(&crate::tensor::Tensor::from_vec(r, c, weights.clone()).unwrap());
        let prod = g.mul(y, rw).unwrap();
        let loss = g.sum(prod, Axis::All).unwrap();
        g.backward(loss, &mut store).unwrap();
        let analytic = store.grad(w).unwrap().to_vec();
        let h = 1e-3f64;
        for k in 0..r * c {
            let (mut up, mut down) = (x0.clone(), x0.clone());
            up[k] += h as f32;
            down[k] -= h as f32;
            let step = (up[k] as f64 - down[k] as f64) / 2.0;
            let numeric = (objective(&up) - objective(&down)) / (2.0 * step);
            let a = analytic[k] as f64;
            assert!(
                (a - numeric).abs() <= 1e-4 + 1e-3 * a.abs().max(numeric.abs()),
                "element {k}: analytic {a}, numeric {numeric}"
            );
        }
    }
}
