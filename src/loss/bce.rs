//! Binary cross-entropy from logits: the graph method, which validates the targets and the options before
//! it records a node. The op itself (kernels, backward pass, `# Derivation`, device
//! lowering) is [`crate::ops::bce`].

use super::opts::{check_opts, check_targets, coefficients};
use super::LossOpts;
use crate::autograd::{Graph, Op, Var};
use crate::error::{check_finite, Error, Result};

pub use crate::ops::bce::{bce_backward, bce_forward, bce_term};

impl Graph {
    /// Binary cross-entropy between `sigmoid(logits)` (B, C) and `targets` in [0, 1],
    /// reduced to a `(1, 1)` scalar with optional per-sample weights and label mask.
    pub fn bce_with_logits(
        &mut self,
        logits: Var,
        targets: &[f32],
        opts: LossOpts<'_>,
    ) -> Result<Var> {
        self.check("bce_with_logits", logits)?;
        let (b, c) = self.shape(logits);
        check_targets("bce_with_logits", targets, b * c)?;
        if let Some(i) = targets.iter().position(|&t| !(0.0..=1.0).contains(&t)) {
            return Err(Error::Value {
                op: "bce_with_logits",
                what: "target".into(),
                position: i,
                value: targets[i] as f64,
                expected: "a probability in [0, 1] (a binary label is 0 or 1)".into(),
            });
        }
        if self.computes() {
            check_finite("bce_with_logits", "logit", self.value(logits))?;
        }
        check_opts("bce_with_logits", b, opts)?;
        let needs = self.any_grad(&[logits]);
        let out = self.push(Op::BceLogits { logits }, 1, 1, needs);
        let computes = self.computes();
        let (node, inputs) = self.split(out);
        coefficients(b, opts, &mut node.aux);
        node.aux.extend_from_slice(targets);
        if !computes {
            return Ok(out);
        }
        let (coef, y) = node.aux.split_at(b);
        node.value[0] = bce_forward(&inputs[logits.index()].value, y, coef, b, c);
        Ok(out)
    }
}
