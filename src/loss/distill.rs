//! Knowledge distillation of a binary task (BCE against tempered teacher probabilities): the graph method, which validates the targets and the options before
//! it records a node. The op itself (kernels, backward pass, `# Derivation`, device
//! lowering) is [`crate::ops::distill`].

use super::opts::{check_opts, coefficients};
use super::LossOpts;
use crate::autograd::{Graph, Op, UnaryFn, Var};
use crate::error::{check_finite, Error, Result};
use crate::ops::unary::f as unary_f;

pub use crate::ops::distill::{distill_bce_backward, distill_bce_forward, SoftTargets};

impl Graph {
    /// The distillation loss of a binary task: student logits `logits` (B, C) against the
    /// teacher's logits `teacher` (B·C values) at temperature `temperature`, reduced to a
    /// `(1, 1)` scalar with optional per-sample weights and label mask.
    pub fn distill_bce(
        &mut self,
        logits: Var,
        teacher: &[f32],
        temperature: f32,
        opts: LossOpts<'_>,
    ) -> Result<Var> {
        self.check("distill_bce", logits)?;
        let (b, c) = self.shape(logits);
        if teacher.len() != b * c {
            return Err(Error::Length {
                op: "distill_bce",
                what: "teacher logits".into(),
                len: teacher.len(),
                expected: b * c,
            });
        }
        check_finite("distill_bce", "teacher logit", teacher)?;
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(Error::Value {
                op: "distill_bce",
                what: "temperature".into(),
                position: 0,
                value: temperature as f64,
                expected: "a temperature T > 0".into(),
            });
        }
        if self.computes() {
            check_finite("distill_bce", "logit", self.value(logits))?;
        }
        check_opts("distill_bce", b, opts)?;
        let needs = self.any_grad(&[logits]);
        let out = self.push(Op::DistillBce { logits }, 1, 1, needs);
        let computes = self.computes();
        let (node, inputs) = self.split(out);
        coefficients(b, opts, &mut node.aux);
        node.aux.extend(
            teacher
                .iter()
                .map(|&zt| unary_f(UnaryFn::Sigmoid, zt / temperature)),
        );
        node.aux.push(temperature);
        if !computes {
            return Ok(out);
        }
        let tg = SoftTargets::from_aux(&node.aux, b, c);
        node.value[0] = distill_bce_forward(&inputs[logits.index()].value, tg, b, c);
        Ok(out)
    }
}
