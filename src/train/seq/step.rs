//! One training step of an `mtrec seq` run (the loss of the module docs of
//! [`super`], backward, Adam) and one epoch of them.

use super::build::Built;
use super::{SeqRunConfig, LIKE_THRESHOLD};
use crate::autograd::{Graph, ParamStore, Var};
use crate::data::sequences::{Keywords, SeqBatch, SeqExample};
use crate::error::Result;
use crate::loss::LossOpts;
use crate::models::sasrec::SasRec;

/// Records the multi-task loss of one batch; returns `(L, [L_next, L_rating?, L_like?, L_kw?])`.
pub fn record_loss(
    g: &mut Graph,
    store: &ParamStore,
    model: &SasRec,
    cfg: &SeqRunConfig,
    batch: &SeqBatch,
    text: Option<&[f32]>,
    keywords: Option<&Keywords>,
) -> Result<(Var, Vec<Var>)> {
    let t = &cfg.train;
    let out = model.forward(g, store, &batch.input(), text)?;
    let classes: Vec<u32> = batch.targets.iter().map(|&i| i - 1).collect();
    let mut losses = vec![model.next_item_loss(g, out, &classes)?];
    let mut weights = vec![t.next_item_weight];
    if let Some(r) = &batch.ratings {
        if let Some(p) = model.rating(g, store, out, &batch.targets)? {
            losses.push(g.mse_loss(p, r, LossOpts::default())?);
            weights.push(t.rating_weight);
        }
        if let Some(z) = model.like(g, store, out, &batch.targets)? {
            let y: Vec<f32> = r.iter().map(|&x| f32::from(x >= LIKE_THRESHOLD)).collect();
            losses.push(g.bce_with_logits(z, &y, LossOpts::default())?);
            weights.push(t.like_weight);
        }
    }
    if let Some(kw) = keywords {
        if let Some(z) = model.keywords(g, store, out)? {
            let y = kw.rows(&batch.targets); // (N, K)
            losses.push(g.bce_with_logits(z, &y, LossOpts::default())?);
            weights.push(t.keyword_weight);
        }
    }
    let total = g.weighted_sum(&losses, &weights)?;
    Ok((total, losses))
}

/// One epoch's steps over `order`, `train.batch_size` examples at a time. Returns the
/// summed total loss, the summed task losses and the number of steps.
pub(super) fn train_epoch(
    g: &mut Graph,
    b: &mut Built,
    cfg: &SeqRunConfig,
    text: Option<&[f32]>,
    order: &[&SeqExample],
    bar: &indicatif::ProgressBar,
) -> Result<(f64, Vec<f64>, usize)> {
    let t = &cfg.train;
    let (mut loss_sum, mut task_sums, mut steps) = (0f64, Vec::<f64>::new(), 0usize);
    for chunk in order.chunks(t.batch_size) {
        let batch = SeqBatch::train(chunk, b.mcfg.max_len);
        g.reset();
        let (total, losses) = record_loss(
            g,
            &b.store,
            &b.model,
            cfg,
            &batch,
            text,
            b.keywords.as_ref(),
        )?;
        b.store.zero_grad();
        g.backward(total, &mut b.store)?;
        b.opt.step(&mut b.store, t.lr)?;
        loss_sum += g.scalar(total) as f64;
        task_sums.resize(losses.len(), 0.0);
        for (s, l) in task_sums.iter_mut().zip(&losses) {
            *s += g.scalar(*l) as f64;
        }
        steps += 1;
        bar.inc(chunk.len() as u64);
    }
    Ok((loss_sum, task_sums, steps))
}
