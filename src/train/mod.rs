//! The training loop for dense-feature multi-task data.
//!
//! One step (`train_step`), as in every multi-task paper:
//!
//! ```text
//! g.reset()                                   new tape, buffers kept
//! x      = input (B, D)
//! out_k  = model.forward(x)                   K × (B, 1)
//! L_k    = MSE(out_k, y_k) or BCE(out_k, y_k)  K × (1, 1)
//! L      = Σ_k λ_k · L_k                      (1, 1)
//! store.zero_grad(); g.backward(L); opt.step(lr)
//! ```
//!
//! [`fit`] runs epochs of seeded shuffled mini-batches and evaluates on a held-out split
//! after each epoch; [`evaluate`] gives the per-task mean loss (MSE for regression).

pub mod eval;
pub mod prune;
pub mod run;
pub mod seq;

pub use eval::{evaluate, task_loss_name};

use crate::autograd::{Graph, ParamStore, Var};
use crate::data::{Batch, Dataset, TaskKind};
use crate::device::{open_backend, DeviceTrainer, StepDevice};
use crate::error::{Error, Result};
use crate::loss::LossOpts;
use crate::models::MultiTaskModel;
use crate::optim::{LrSchedule, Optimizer, Schedule};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;
use std::time::Instant;

/// Settings of [`fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Base learning rate η.
    pub lr: f32,
    /// Steps of linear warm-up to η (0: none).
    pub warmup_steps: usize,
    /// Decay after warm-up.
    pub schedule: Schedule,
    /// Seeds the shuffling and the dropout masks (the model's initial values are seeded
    /// where the model is built).
    pub seed: u64,
    /// λ_k, the weight of each task's loss; `None`: all 1.
    pub task_weights: Option<Vec<f32>>,
    /// After training, restore the parameters of the epoch with the lowest validation
    /// loss (Σ_k λ_k · L_k on the validation split).
    pub keep_best: bool,
    /// Where the training step runs (`crate::device`; Adam / AdamW or SGD). Validation
    /// runs on the CPU after each epoch's parameters are copied back.
    pub device: StepDevice,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 256,
            lr: 1e-3,
            warmup_steps: 0,
            schedule: Schedule::Constant,
            seed: 0,
            task_weights: None,
            keep_best: false,
            device: StepDevice::Cpu,
        }
    }
}

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    pub epoch: usize,
    /// Mean over the epoch's samples of the step loss Σ_k λ_k · L_k.
    pub train_loss: f32,
    /// Per-task validation loss (MSE or log-loss), if a validation split was given.
    pub valid: Option<Vec<f32>>,
    pub seconds: f64,
}

/// The history of a [`fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    pub epochs: Vec<EpochLog>,
    /// The loss of every step, in order.
    pub step_losses: Vec<f32>,
    /// The epoch whose parameters the store holds when `keep_best` restored one.
    pub best_epoch: Option<usize>,
    pub seconds: f64,
}

/// The K task losses and their weights λ_k.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub tasks: Vec<TaskKind>,
    pub weights: Vec<f32>,
}

impl Objective {
    /// `weights`: one finite λ_k ≥ 0 per task, or `None` for all 1.
    pub fn new(tasks: &[TaskKind], weights: Option<&[f32]>) -> Result<Objective> {
        let weights = weights
            .map(<[f32]>::to_vec)
            .unwrap_or_else(|| vec![1.0; tasks.len()]);
        if weights.len() != tasks.len() || weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::Config {
                what: "task weights".into(),
                message: format!(
                    "need one finite weight ≥ 0 per task ({} tasks), got {weights:?}",
                    tasks.len()
                ),
            });
        }
        Ok(Objective {
            tasks: tasks.to_vec(),
            weights,
        })
    }

    /// Per-task losses `K × (1, 1)` and their weighted sum `(1, 1)`.
    pub fn record(&self, g: &mut Graph, outs: &[Var], batch: &Batch) -> Result<(Var, Vec<Var>)> {
        if outs.len() != self.tasks.len() || batch.y.len() != self.tasks.len() {
            return Err(Error::Config {
                what: "model outputs".into(),
                message: format!("the model gives {} outputs and the data has {} label columns, for {} tasks; build the model with num_tasks = {}", outs.len(), batch.y.len(), self.tasks.len(), self.tasks.len()),
            });
        }
        let losses = outs
            .iter()
            .zip(&self.tasks)
            .zip(&batch.y)
            .map(|((&out, kind), y)| match kind {
                TaskKind::Regression => g.mse_loss(out, y, LossOpts::default()), // (1, 1)
                TaskKind::Binary => g.bce_with_logits(out, y, LossOpts::default()), // (1, 1)
            })
            .collect::<Result<Vec<_>>>()?;
        let total = g.weighted_sum(&losses, &self.weights)?; // (1, 1)
        Ok((total, losses))
    }
}

/// One optimisation step on `batch`; returns the step loss Σ_k λ_k · L_k.
pub fn train_step<M, O>(
    g: &mut Graph,
    model: &M,
    store: &mut ParamStore,
    opt: &mut O,
    batch: &Batch,
    objective: &Objective,
    lr: f32,
) -> Result<f32>
where
    M: MultiTaskModel + ?Sized,
    O: Optimizer + ?Sized,
{
    if batch.rows == 0 {
        return Err(Error::Config {
            what: "batch".into(),
            message: "a training step needs at least one sample".into(),
        });
    }
    g.reset();
    let x = g.input_slice(batch.rows, batch.x.len() / batch.rows, &batch.x)?; // (B, D)
    let outs = model.forward(g, store, x)?; // K × (B, 1)
    let (total, _) = objective.record(g, &outs, batch)?; // (1, 1)
    store.zero_grad();
    g.backward(total, store)?;
    opt.step(store, lr)?;
    Ok(g.scalar(total))
}

/// The device trainer of `device` (`None` for the CPU); the optimiser must be Adam or SGD.
fn start_device<O: Optimizer + ?Sized>(
    device: StepDevice,
    store: &mut ParamStore,
    opt: &mut O,
) -> Result<Option<DeviceTrainer>> {
    let Some(backend) = open_backend(device)? else {
        return Ok(None);
    };
    Ok(Some(DeviceTrainer::new(backend, store, opt)?))
}

/// [`train_step`] on a device: the step is recorded without arithmetic and run there.
fn device_step<M: MultiTaskModel + ?Sized>(
    g: &mut Graph,
    trainer: &mut DeviceTrainer,
    model: &M,
    store: &ParamStore,
    batch: &Batch,
    objective: &Objective,
    lr: f32,
) -> Result<f32> {
    g.reset();
    g.set_record_only(true);
    let stepped = (|| {
        let x = g.input_slice(batch.rows, batch.x.len() / batch.rows, &batch.x)?; // (B, D)
        let outs = model.forward(g, store, x)?; // K × (B, 1)
        let (total, losses) = objective.record(g, &outs, batch)?; // (1, 1), K × (1, 1)
        Ok(trainer.step(g, total, &losses, lr, 0.0)?[0])
    })();
    g.set_record_only(false);
    stepped
}

fn check(cfg: &TrainConfig, train: &Dataset) -> Result<()> {
    if cfg.batch_size == 0 {
        return Err(Error::Config {
            what: "batch size".into(),
            message: "must be at least 1".into(),
        });
    }
    if train.is_empty() {
        return Err(Error::Config {
            what: "training data".into(),
            message: "the training split is empty".into(),
        });
    }
    LrSchedule {
        base_lr: cfg.lr,
        warmup_steps: cfg.warmup_steps,
        schedule: cfg.schedule,
    }
    .validate()
}

/// Trains `model` on `train` for `cfg.epochs` epochs of shuffled mini-batches (the last
/// batch of an epoch may be smaller), evaluating on `valid` after each epoch.
/// Same seeds and thread count give bit-identical results.
pub fn fit<M, O>(
    model: &M,
    store: &mut ParamStore,
    opt: &mut O,
    train: &Dataset,
    valid: Option<&Dataset>,
    cfg: &TrainConfig,
) -> Result<TrainReport>
where
    M: MultiTaskModel + ?Sized,
    O: Optimizer + ?Sized,
{
    check(cfg, train)?;
    let start = Instant::now();
    let objective = Objective::new(&train.tasks, cfg.task_weights.as_deref())?;
    let schedule = LrSchedule {
        base_lr: cfg.lr,
        warmup_steps: cfg.warmup_steps,
        schedule: cfg.schedule,
    };
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut g = Graph::new(cfg.seed ^ 0x9E37_79B9_7F4A_7C15); // one tape for every step
    let mut eval_g = Graph::new(0);
    let mut batch = Batch::default();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut report = TrainReport {
        epochs: Vec::new(),
        step_losses: Vec::new(),
        best_epoch: None,
        seconds: 0.0,
    };
    let mut best: Option<(f32, ParamStore)> = None;
    let mut device = start_device(cfg.device, store, opt)?;

    for epoch in 0..cfg.epochs {
        let t0 = Instant::now();
        order.shuffle(&mut rng);
        let mut sum = 0f64;
        for idx in order.chunks(cfg.batch_size) {
            batch.fill(train, idx);
            let lr = schedule.lr_at(report.step_losses.len());
            let loss = match device.as_mut() {
                None => train_step(&mut g, model, store, opt, &batch, &objective, lr)?,
                Some(t) => device_step(&mut g, t, model, store, &batch, &objective, lr)?,
            };
            if !loss.is_finite() {
                return Err(Error::Value {
                    op: "fit",
                    what: "training loss".into(),
                    position: report.step_losses.len(),
                    value: loss as f64,
                    expected: "a finite loss; lower the learning rate".into(),
                });
            }
            sum += loss as f64 * idx.len() as f64;
            report.step_losses.push(loss);
        }
        if let Some(t) = device.as_mut() {
            t.download(store, opt)?; // the epoch's weights, for validation and keep_best
        }
        let valid_loss = valid
            .map(|v| evaluate(&mut eval_g, model, store, v, cfg.batch_size))
            .transpose()?;
        if let (Some(v), true) = (&valid_loss, cfg.keep_best) {
            let score: f32 = v.iter().zip(&objective.weights).map(|(l, w)| l * w).sum();
            if best.as_ref().is_none_or(|(b, _)| score < *b) {
                best = Some((score, store.clone()));
                report.best_epoch = Some(epoch);
            }
        }
        report.epochs.push(EpochLog {
            epoch,
            train_loss: (sum / train.len() as f64) as f32,
            valid: valid_loss,
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    if let Some((_, kept)) = best {
        *store = kept;
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{generate, SyntheticConfig};
    use crate::models::{SingleTask, SingleTaskConfig};
    use crate::nn::Activation;
    use crate::optim::{Adam, AdamConfig};

    #[test]
    fn keep_best_restores_the_epoch_with_the_lowest_validation_loss() {
        let data = generate(&SyntheticConfig {
            n: 600,
            seed: 4,
            ..Default::default()
        })
        .unwrap()
        .data;
        let split = data.split(&[500, 100]).unwrap();
        let mut store = ParamStore::new();
        let cfg = SingleTaskConfig {
            d_in: 100,
            hidden: vec![4],
            num_tasks: 2,
            activation: Activation::Relu,
            dropout: 0.0,
        };
        let model = SingleTask::new(&mut store, &cfg, &mut StdRng::seed_from_u64(0)).unwrap();
        let mut opt = Adam::new(AdamConfig::default()).unwrap();
        // A large learning rate makes the validation loss jump around between epochs.
        let tc = TrainConfig {
            epochs: 8,
            batch_size: 50,
            lr: 0.05,
            keep_best: true,
            ..Default::default()
        };
        let report = fit(
            &model,
            &mut store,
            &mut opt,
            &split[0],
            Some(&split[1]),
            &tc,
        )
        .unwrap();
        let total = |v: &[f32]| v.iter().sum::<f32>();
        let scores: Vec<f32> = report
            .epochs
            .iter()
            .map(|e| total(e.valid.as_ref().unwrap()))
            .collect();
        let best = report.best_epoch.unwrap();
        assert!(
            scores.iter().all(|&s| s >= scores[best]),
            "{scores:?}, kept {best}"
        );
        let now = evaluate(&mut Graph::new(0), &model, &store, &split[1], 100).unwrap();
        assert_eq!(total(&now), scores[best]);
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let data = generate(&SyntheticConfig {
            n: 10,
            ..Default::default()
        })
        .unwrap()
        .data;
        let mut store = ParamStore::new();
        let cfg = SingleTaskConfig {
            d_in: 100,
            hidden: vec![2],
            num_tasks: 2,
            activation: Activation::Relu,
            dropout: 0.0,
        };
        let model = SingleTask::new(&mut store, &cfg, &mut StdRng::seed_from_u64(0)).unwrap();
        let mut opt = Adam::new(AdamConfig::default()).unwrap();
        for tc in [
            TrainConfig {
                batch_size: 0,
                ..Default::default()
            },
            TrainConfig {
                lr: -1.0,
                ..Default::default()
            },
            TrainConfig {
                task_weights: Some(vec![1.0]),
                ..Default::default()
            },
        ] {
            assert!(
                matches!(
                    fit(&model, &mut store, &mut opt, &data, None, &tc),
                    Err(Error::Config { .. })
                ),
                "{tc:?}"
            );
        }
    }
}
