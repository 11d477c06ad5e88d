//! What a practitioner asks of a trained mixture: how much each gate uses each expert.

use crate::autograd::{Graph, OpKind};

/// For every softmax gate recorded on `g` (each `gate_combine`, in recording order: an
/// MMoE's K task gates; a PLE's gates level by level), the mean weight it gave each
/// expert over the batch: `E` values summing to 1. Call it after a forward pass.
pub fn gate_weights(g: &Graph) -> Vec<Vec<f32>> {
    g.find_op(OpKind::GateCombine)
        .into_iter()
        .map(|v| {
            let w = g.saved(v); // (B, E)
            let (b, _) = g.shape(v);
            let e = w.len().checked_div(b).unwrap_or(0);
            let mut mean = vec![0f64; e];
            for row in w.chunks(e.max(1)) {
                mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64);
            }
            mean.into_iter()
                .map(|m| (m / b.max(1) as f64) as f32)
                .collect()
        })
        .collect()
}
