//! Mean squared error: the graph method, which validates the targets and the options before
//! it records a node. The op itself (kernels, backward pass, `# Derivation`, device
//! lowering) is [`crate::ops::mse`].

use super::opts::{check_opts, check_targets, coefficients};
use super::LossOpts;
use crate::autograd::{Graph, Op, Var};
use crate::error::{check_finite, Result};

pub use crate::ops::mse::{mse_backward, mse_forward};

impl Graph {
    /// Mean squared error between `pred` (B, C) and `targets` (B·C values), reduced to a
    /// `(1, 1)` scalar with optional per-sample weights and label mask.
    pub fn mse_loss(&mut self, pred: Var, targets: &[f32], opts: LossOpts<'_>) -> Result<Var> {
        self.check("mse_loss", pred)?;
        let (b, c) = self.shape(pred);
        check_targets("mse_loss", targets, b * c)?;
        if self.computes() {
            check_finite("mse_loss", "prediction", self.value(pred))?;
        }
        check_opts("mse_loss", b, opts)?;
        let needs = self.any_grad(&[pred]);
        let out = self.push(Op::Mse { pred }, 1, 1, needs);
        let computes = self.computes();
        let (node, inputs) = self.split(out);
        coefficients(b, opts, &mut node.aux);
        node.aux.extend_from_slice(targets);
        if !computes {
            return Ok(out);
        }
        let (coef, y) = node.aux.split_at(b);
        node.value[0] = mse_forward(&inputs[pred.index()].value, y, coef, b, c);
        Ok(out)
    }
}
