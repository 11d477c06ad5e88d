//! Softmax cross-entropy with class indices: the graph method, which validates the targets and the options before
//! it records a node. The op itself (kernels, backward pass, `# Derivation`, device
//! lowering) is [`crate::ops::softmax_ce`].

use super::opts::{check_opts, coefficients};
use super::LossOpts;
use crate::autograd::{Graph, Op, Var};
use crate::error::{check_finite, Error, Result};

pub use crate::ops::softmax_ce::{softmax_ce_backward, softmax_ce_forward};

impl Graph {
    /// Cross-entropy of `softmax(logits)` (B, V) against class ids (B), reduced to a
    /// `(1, 1)` scalar with optional per-sample weights and label mask.
    pub fn softmax_cross_entropy(
        &mut self,
        logits: Var,
        classes: &[u32],
        opts: LossOpts<'_>,
    ) -> Result<Var> {
        self.check("softmax_cross_entropy", logits)?;
        let (b, v) = self.shape(logits);
        if classes.len() != b {
            return Err(Error::Length {
                op: "softmax_cross_entropy",
                what: "class ids".into(),
                len: classes.len(),
                expected: b,
            });
        }
        if let Some(i) = classes.iter().position(|&y| y as usize >= v) {
            return Err(Error::Index {
                op: "softmax_cross_entropy",
                position: i,
                index: classes[i] as u64,
                bound: v,
            });
        }
        check_finite("softmax_cross_entropy", "logit", self.value(logits))?;
        check_opts("softmax_cross_entropy", b, opts)?;
        let needs = self.any_grad(&[logits]);
        let out = self.push(Op::SoftmaxCe { logits }, 1, 1, needs);
        let mut terms = std::mem::take(&mut self.f64_scratch);
        terms.resize(b, 0.0);
        let (node, inputs) = self.split(out);
        coefficients(b, opts, &mut node.aux);
        node.aux.resize(b + b * v, 0.0);
        node.idx.extend_from_slice(classes);
        let (coef, p) = node.aux.split_at_mut(b);
        let z = &inputs[logits.index()].value;
        node.value[0] = softmax_ce_forward(p, &mut terms, z, classes, coef, b, v);
        self.f64_scratch = terms;
        Ok(out)
    }
}
