//! One optimisation step of `mtrec train` on an encoded batch, allocation-free once warm.
//!
//! ```text
//! g.reset()                                      tape slots and their buffers kept
//! x      = input.forward(batch)                  (B, D_in)   embeddings | numerics
//! out_k  = model.forward(x)                      K × (B, 1)
//! L_k    = masked BCE / MSE (+ AITM's extra term) K × (1, 1)
//! balancer: zero grads, backward of Σ_k w_k L_k   info (objective, L_k, w_k)
//! clip (optional); opt.step(lr)
//! ```
//!
//! Every buffer a step needs is owned by something that outlives it (the graph's node
//! slots and handle lists, the store's gradients, the optimiser's moments, `info`), so
//! after the first steps have grown them a step allocates nothing (`tests/alloc.rs`
//! checks this with a counting allocator, for fixed task weights and DWA; the other
//! balancers rebuild `info`).

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::balance::{Balancer, StepInfo};
use crate::config::TaskType;
use crate::data::features::EncodedBatch;
use crate::error::Result;
use crate::loss::LossOpts;
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use crate::optim::{clip_grad_norm, Optimizer};

/// An empty [`StepInfo`] for [`encoded_step`] to fill.
pub fn empty_info() -> StepInfo {
    StepInfo {
        objective: 0.0,
        task_losses: Vec::new(),
        weights: Vec::new(),
        cosines: None,
    }
}

/// Records the K masked task losses of one batch into `losses`, AITM's extra term folded
/// into the last.
pub fn record_task_losses(
    g: &mut Graph,
    kinds: &[TaskType],
    model: &dyn MultiTaskModel,
    outs: &[Var],
    batch: &EncodedBatch,
    losses: &mut Vec<Var>,
) -> Result<()> {
    losses.clear();
    for (k, (kind, &o)) in kinds.iter().zip(outs).enumerate() {
        let opts = LossOpts::masked(&batch.mask[k]);
        losses.push(match kind {
            TaskType::Binary => g.bce_with_logits(o, &batch.labels[k], opts)?, // (1, 1)
            TaskType::Regression => g.mse_loss(o, &batch.labels[k], opts)?,    // (1, 1)
        });
    }
    if let Some(extra) = model.extra_loss(g, outs)? {
        let last = losses.len() - 1;
        losses[last] = g.weighted_sum(&[losses[last], extra], &[1.0, 1.0])?;
    }
    Ok(())
}

/// The models and state one step reads and updates.
pub struct StepParts<'a> {
    pub input: &'a FeatureInput,
    pub model: &'a dyn MultiTaskModel,
    pub store: &'a mut ParamStore,
    pub balancer: &'a mut Balancer,
    pub opt: &'a mut dyn Optimizer,
    /// `model.shared_params()`, computed once.
    pub shared: &'a [ParamId],
    /// The kind of each task's loss.
    pub kinds: &'a [TaskType],
    /// Global gradient-norm bound; 0 for none.
    pub clip_norm: f32,
}

/// One training step on `batch` at learning rate `lr`; the balancer's report lands in
/// `info` (its `objective` may be non-finite: the caller decides what to do).
pub fn encoded_step(
    g: &mut Graph,
    p: &mut StepParts<'_>,
    batch: &EncodedBatch,
    lr: f32,
    info: &mut StepInfo,
) -> Result<()> {
    g.reset();
    let x = p.input.forward(g, p.store, batch)?; // (B, D_in)
    let outs = p.model.forward(g, p.store, x)?; // K × (B, 1)
    let mut losses = g.take_vars();
    let recorded = record_task_losses(g, p.kinds, p.model, &outs, batch, &mut losses); // K × (1, 1)
    g.give_vars(outs);
    let stepped = recorded.and_then(|()| {
        p.balancer
            .backward_into(g, p.store, &losses, p.shared, info)
    });
    g.give_vars(losses);
    stepped?;
    if !info.objective.is_finite() {
        return Ok(());
    }
    if p.clip_norm > 0.0 {
        clip_grad_norm(p.store, p.clip_norm)?;
    }
    p.opt.step(p.store, lr)
}
