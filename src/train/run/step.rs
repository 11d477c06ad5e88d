//! One optimisation step of `mtrec train` on an encoded batch, allocation-free once warm.
//!
//! ```text
//! g.reset()                                      tape slots and their buffers kept
//! x      = input.forward(batch)                  (B, D_in)   embeddings | numerics
//! out_k  = model.forward(x)                      K × (B, 1)
//! L_k    = masked BCE / MSE (+ AITM's extra term) K × (1, 1)
//! balancer: zero grads, backward of Σ_k w_k L_k   info (objective, L_k, w_k)
//! (data-parallel only) Σ over ranks of gradients and L_k    `dist`, `synced_step`
//! clip (optional); opt.step(lr)
//! ```
//!
//! Every buffer a step needs is owned by something that outlives it (the graph's node
//! slots and handle lists, the store's gradients, the optimiser's moments, `info`), so
//! after the first steps have grown them a step allocates nothing (`tests/alloc.rs`
//! checks this with a counting allocator, for fixed task weights and DWA; the other
//! balancers rebuild `info`). That holds for the ops of the tabular models; the attention
//! op of SASRec (`ops::attention`) allocates its per-step buffers, so a sequence step
//! (`train::seq`) does allocate.

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::balance::{Balancer, StepInfo};
use crate::config::TaskType;
use crate::data::features::EncodedBatch;
use crate::dist::{self, GradientSync, LossWeights, SyncBuffers};
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
    record_weighted_losses(g, kinds, model, outs, batch, None, losses)
}

/// [`record_task_losses`] with one rank's loss weights of a data-parallel step
/// (`dist::grads`: each task's masked sum over the global count, AITM's term times B_r/B).
pub fn record_weighted_losses(
    g: &mut Graph,
    kinds: &[TaskType],
    model: &dyn MultiTaskModel,
    outs: &[Var],
    batch: &EncodedBatch,
    weights: Option<&LossWeights>,
    losses: &mut Vec<Var>,
) -> Result<()> {
    losses.clear();
    for (k, (kind, &o)) in kinds.iter().zip(outs).enumerate() {
        let opts = LossOpts {
            weights: weights.map(|w| w.rows[k].as_slice()),
            mask: Some(&batch.mask[k]),
        };
        losses.push(match kind {
            TaskType::Binary => g.bce_with_logits(o, &batch.labels[k], opts)?, // (1, 1)
            TaskType::Regression => g.mse_loss(o, &batch.labels[k], opts)?,    // (1, 1)
        });
    }
    if let Some(extra) = model.extra_loss(g, outs)? {
        let last = losses.len() - 1;
        let extra_weight = weights.map_or(1.0, |w| w.extra);
        losses[last] = g.weighted_sum(&[losses[last], extra], &[1.0, extra_weight])?;
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
    synced_step(g, p, None, batch, lr, info)
}

/// The data-parallel hook of a step: the collectives and the buffers they reuse.
pub struct Synced<'a> {
    pub sync: &'a mut dyn GradientSync,
    pub weights: &'a mut LossWeights,
    pub buffers: &'a mut SyncBuffers,
}

/// [`encoded_step`] on this rank's rows `batch` of a global batch when `synced` is given:
/// losses weighted to their share of the global batch, gradients and losses summed over
/// all ranks before clipping and the optimiser step (`dist::grads`), so every rank
/// applies the update of the global batch. `None`: exactly [`encoded_step`].
pub fn synced_step(
    g: &mut Graph,
    p: &mut StepParts<'_>,
    mut synced: Option<Synced<'_>>,
    batch: &EncodedBatch,
    lr: f32,
    info: &mut StepInfo,
) -> Result<()> {
    let weights = match synced.as_mut() {
        Some(s) => {
            dist::loss_weights(s.sync, batch, s.weights)?;
            Some(&*s.weights)
        }
        None => None,
    };
    if batch.rows == 0 {
        // more ranks than rows in a short last batch: this rank adds nothing
        p.store.zero_grad();
        info.objective = 0.0;
        info.task_losses.clear();
        info.task_losses.resize(p.kinds.len(), 0.0);
    } else {
        g.reset();
        let x = p.input.forward(g, p.store, batch)?; // (B, D_in)
        let outs = p.model.forward(g, p.store, x)?; // K × (B, 1)
        let mut losses = g.take_vars();
        let recorded =
            record_weighted_losses(g, p.kinds, p.model, &outs, batch, weights, &mut losses); // K × (1, 1)
        g.give_vars(outs);
        let stepped = recorded.and_then(|()| {
            p.balancer
                .backward_into(g, p.store, &losses, p.shared, info)
        });
        g.give_vars(losses);
        stepped?;
    }
    if let Some(s) = synced {
        // Σ over ranks: the gradient and losses of the global batch on every rank
        dist::sync_gradients(s.sync, p.store, info, s.buffers)?;
    }
    if !info.objective.is_finite() {
        return Ok(());
    }
    if p.clip_norm > 0.0 {
        clip_grad_norm(p.store, p.clip_norm)?;
    }
    p.opt.step(p.store, lr)
}
