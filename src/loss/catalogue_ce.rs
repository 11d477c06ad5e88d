//! Full-softmax cross-entropy over an item catalogue fused with its logits: the graph
//! method, which validates shapes, targets and options before it records a node. The op
//! (kernel, backward, `# Derivation`) is [`crate::ops::catalogue_ce`].

use super::opts::{check_opts, coefficients};
use super::LossOpts;
use crate::autograd::{Graph, Op, Var};
use crate::error::{check_finite, Error, Result};
use crate::ops::catalogue_ce::{catalogue_ce_forward, CeDims, CeGrads};

impl Graph {
    /// `softmax_cross_entropy(h · items[first..]ᵀ, classes, opts)` without the (N, V)
    /// logits: `h` (N, D), `items` (R, D); class y of row i is item row `first + y`, so
    /// classes run in `0..R − first`. Reduced to a `(1, 1)` scalar like every loss.
    pub fn catalogue_cross_entropy(
        &mut self,
        h: Var,
        items: Var,
        first: usize,
        classes: &[u32],
        opts: LossOpts<'_>,
    ) -> Result<Var> {
        const OP: &str = "catalogue_cross_entropy";
        self.check(OP, h)?;
        self.check(OP, items)?;
        let ((n, d), (r, de)) = (self.shape(h), self.shape(items));
        if d != de || first >= r {
            return Err(Error::Shape {
                op: OP,
                shapes: vec![self.dims(h), self.dims(items)],
                expected: format!(
                    "h and items with the same width, and the catalogue's first row {first} inside the {r} item rows"
                ),
            });
        }
        let v = r - first;
        if classes.len() != n {
            return Err(Error::Length {
                op: OP,
                what: "class ids".into(),
                len: classes.len(),
                expected: n,
            });
        }
        if let Some(i) = classes.iter().position(|&y| y as usize >= v) {
            return Err(Error::Index {
                op: OP,
                position: i,
                index: classes[i] as u64,
                bound: v,
            });
        }
        check_finite(OP, "hidden value", self.value(h))?;
        check_finite(OP, "item value", self.value(items))?;
        check_opts(OP, n, opts)?;
        let needs = self.any_grad(&[h, items]);
        let out = self.push(Op::CatalogueCe { h, items, first }, 1, 1, needs);
        let dims = CeDims { n, d, v };
        let computes = self.computes();
        let mut terms = std::mem::take(&mut self.f64_scratch);
        terms.resize(n, 0.0);
        let (node, inputs) = self.split(out);
        coefficients(n, opts, &mut node.aux);
        node.idx.extend_from_slice(classes);
        if !computes {
            self.f64_scratch = terms;
            return Ok(out);
        }
        if needs {
            // dH₁ (N, D) and the G partials of dE₁ (V, D), accumulated by the kernel
            node.aux.resize(n + n * d + dims.groups() * v * d, 0.0);
        }
        let (coef, rest) = node.aux.split_at_mut(n);
        let grads = needs.then(|| {
            let (dh, de_parts) = rest.split_at_mut(n * d);
            CeGrads { dh, de_parts }
        });
        let hv = &inputs[h.index()].value;
        let cat = &inputs[items.index()].value[first * d..];
        node.value[0] = catalogue_ce_forward(&mut terms, grads, hv, cat, classes, coef, dims);
        self.f64_scratch = terms;
        Ok(out)
    }
}
