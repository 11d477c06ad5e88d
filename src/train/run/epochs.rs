//! The epoch loop of [`super::train_synced`], stage by stage:
//!
//! ```text
//! EpochLoop::start   balancer, optimiser, transfer, schedule, compression; the first
//!                    validation check; run files; --resume state; device; graph
//! per epoch          train_steps (mini-batches: forward, losses, balanced backward, step)
//!                    end_epoch   (device → host, diagnostics, validation, early stopping,
//!                                 metrics line, commit point)
//! EpochLoop::finish  the best epoch's weights → valid / test / cold → summary.json
//! ```
//!
//! The statements are those of the single function this was cut from, in the same order:
//! the run's arithmetic, random streams and files are unchanged.

use super::persist::{self, LoopState};
use super::resume::{self, Change};
use super::step::{self, StepParts};
use super::transfer_run::{self, TransferInfo};
use super::{
    build, compress, device, distill, epoch_seed, evaluate, info, model_path, oov, progress,
    split_export, task_losses, valid_ranking, RunOptions, TaskMetrics,
};
use super::{predict, task_metrics};
use crate::autograd::{Graph, ParamId, ParamStore};
use crate::balance::Balancer;
use crate::config::{RunConfig, TaskType};
use crate::data::cache::CachedSets;
use crate::data::features::{EncodedBatch, Prepared};
use crate::data::ingest::SkippedRows;
use crate::data::rows::Rows;
use crate::device::DeviceTrainer;
use crate::dist::{GradientSync, LossWeights, SyncBuffers};
use crate::error::{Error, Result};
use crate::models::{gate_weights, MultiTaskModel};
use crate::nn::FeatureInput;
use crate::optim::{LrSchedule, Optimizer};
use serde_json::json;
use std::time::Instant;

/// The four sets the loop reads: memory-mapped from the cache, or in memory.
#[derive(Clone, Copy)]
pub(super) struct Sets<'a> {
    pub train: &'a dyn Rows,
    pub valid: &'a dyn Rows,
    pub test: &'a dyn Rows,
    pub cold: &'a dyn Rows,
}

impl<'a> Sets<'a> {
    pub fn of(prepared: &'a Prepared, cached: Option<&'a CachedSets>) -> Sets<'a> {
        match cached {
            Some(c) => Sets {
                train: &c.train,
                valid: &c.valid,
                test: &c.test,
                cold: &c.cold,
            },
            None => Sets {
                train: &prepared.train,
                valid: &prepared.valid,
                test: &prepared.test,
                cold: &prepared.cold,
            },
        }
    }
}

/// What the run built before the loop, read by every stage.
#[derive(Clone, Copy)]
pub(super) struct RunRefs<'a> {
    pub opts: &'a RunOptions,
    pub cfg: &'a RunConfig,
    pub prepared: &'a Prepared,
    pub cached: Option<&'a CachedSets>,
    pub skipped: &'a SkippedRows,
    pub input: &'a FeatureInput,
    pub model: &'a dyn MultiTaskModel,
    pub sets: Sets<'a>,
    /// `data.loader = "interactions"`: the pairs, ranked on validation after every
    /// epoch when `[data.ranking]` is set (`valid_ranking`).
    pub implicit: Option<&'a super::implicit::ImplicitRun>,
    /// This process writes the run folder (rank 0, or no data-parallel run).
    pub writes: bool,
}

/// Where `--resume` found the run, or a fresh run's id.
pub(super) struct Resume {
    pub changes: Vec<Change>,
    pub run_id: String,
}

/// The state the epoch loop carries from step to step and epoch to epoch.
pub(super) struct EpochLoop<'a, 's> {
    pub run: RunRefs<'a>,
    pub sync: Option<&'s mut dyn GradientSync>,
    pub store: ParamStore,
    pub balancer: Balancer,
    pub opt: Box<dyn Optimizer>,
    pub transfer: TransferInfo,
    pub schedule: LrSchedule,
    pub compress: compress::Compress,
    pub shared: Vec<ParamId>,
    pub metric_name: String,
    pub n_train: usize,
    shuffle_block: usize,
    shuffle_window: usize,
    pub st: LoopState,
    device: Option<DeviceTrainer>,
    pub g: Graph,
    batch: EncodedBatch,
    probe: Vec<usize>,
    loss_weights: LossWeights,
    sync_buffers: SyncBuffers,
}

impl<'a, 's> EpochLoop<'a, 's> {
    /// Everything between the prepared data and the first step.
    pub fn start(
        run: RunRefs<'a>,
        mut store: ParamStore,
        sync: Option<&'s mut dyn GradientSync>,
        resume_at: Resume,
    ) -> Result<Self> {
        let (cfg, out, opts) = (run.cfg, &run.opts.out, run.opts);
        let tc = &cfg.train;
        let mut balancer = build::build_balancer(tc, &cfg.tasks, &mut store)?;
        let mut opt = build::build_optimizer(tc)?;
        if let Some(s) = &sync {
            crate::dist::check_supported(s.size(), balancer.name(), cfg, opts.device)?;
        }
        // Transfer: weights from another run by name, frozen groups (recorded in transfer.json).
        let transfer = transfer_run::apply(cfg, &mut store, out, opts.resume)?;
        if !transfer.frozen.is_empty() {
            opt = Box::new(crate::optim::Frozen::new(opt, transfer.frozen.clone()));
        }
        // cached rows: the block shuffle; in memory: the full shuffle (window 0)
        let (shuffle_block, shuffle_window) = match run.cached {
            Some(_) => (cfg.data.shuffle_block, cfg.data.shuffle_window),
            None => (1, 0),
        };
        let n_train = run.sets.train.len();
        if n_train == 0 {
            return Err(Error::Config {
                what: "split".into(),
                message: "the training split is empty; check [split] and the data files".into(),
            });
        }
        let steps_per_epoch = n_train.div_ceil(tc.batch_size);
        let schedule = build::build_schedule(tc, steps_per_epoch * tc.epochs)?;
        // [train.prune] masks and a [train] teacher (issue 19)
        let mut compress = compress::Compress::start(
            cfg,
            &run.prepared.spec,
            &store,
            steps_per_epoch,
            opts.device,
        )?;
        let shared = run.model.shared_params();
        let metric_name = tc.early_stopping.metric.name();
        check_valid_scores(&run, &store, &metric_name)?;
        if run.writes {
            write_run_files(&run)?;
        }
        let mut st = LoopState {
            run_id: resume_at.run_id.clone(),
            ..LoopState::default()
        };
        if opts.resume {
            let ask = resume::Ask {
                changes: resume_at.changes,
                allow: opts.allow_config_change,
                run_id: resume_at.run_id,
            };
            st = if run.writes {
                resume::restore(out, &ask, cfg, &mut store, opt.as_mut(), &mut balancer)?
            } else {
                resume::load_only(out, &ask, cfg, &mut store, opt.as_mut(), &mut balancer)?
            };
            compress.restore(out, &store)?;
        }
        if run.writes {
            info::write_run_info(out, opts.resume)?;
        }

        // The training step on a device: parameters and Adam state move there once.
        let device = device::start(opts.device, &mut store, opt.as_mut(), &balancer)?;
        if let Some(t) = &device {
            eprintln!("training step on {}", t.device_name());
        }

        let mut g = Graph::new(tc.seed);
        if !tc.factorize_embeddings {
            g.set_embed_linear(crate::ops::embed_linear::EmbedLinearMode::Off);
        }
        let (loss_weights, sync_buffers) = Default::default();
        Ok(EpochLoop {
            run,
            sync,
            store,
            balancer,
            opt,
            transfer,
            schedule,
            compress,
            shared,
            metric_name,
            n_train,
            shuffle_block,
            shuffle_window,
            st,
            device,
            g,
            batch: EncodedBatch::default(),
            probe: Vec::with_capacity(tc.batch_size),
            loss_weights,
            sync_buffers,
        })
    }

    /// One epoch's training steps on `train_set`. Returns each task's loss summed over
    /// the rows, and the seconds the steps took.
    pub fn train_steps(&mut self, train_set: &dyn Rows) -> Result<(Vec<f64>, f64)> {
        let (cfg, tc) = (self.run.cfg, &self.run.cfg.train);
        let epoch = self.st.epoch;
        // the epoch's order: a function of (seed, epoch), so `--resume` at an epoch
        // boundary continues the same stream
        let mut order = crate::data::cache::EpochOrder::new(
            self.n_train,
            tc.batch_size,
            self.shuffle_block,
            self.shuffle_window,
            epoch_seed(tc.seed, epoch, 0x5348_5546),
        );
        self.probe.clear();
        self.g
            .reset_with_seed(epoch_seed(tc.seed, epoch, 0x4452_4F50));
        self.g.set_training(true);
        let show = self.run.opts.progress && self.run.writes;
        let bar = progress::epoch_bar(self.n_train, epoch, tc.epochs, show);
        let t0 = Instant::now();
        let mut loss_sums = vec![0f64; cfg.tasks.len()];
        let mut info = step::empty_info();
        let kinds: Vec<TaskType> = cfg.tasks.iter().map(|t| t.kind).collect();
        let mut parts = StepParts {
            input: self.run.input,
            model: self.run.model,
            store: &mut self.store,
            balancer: &mut self.balancer,
            opt: self.opt.as_mut(),
            shared: &self.shared,
            kinds: &kinds,
            clip_norm: tc.clip_norm as f32,
        };
        while let Some(chunk) = order.next_batch() {
            if self.probe.is_empty() {
                self.probe.extend_from_slice(chunk);
            }
            // data-parallel: this rank's part of the global batch
            let rows = match &self.sync {
                Some(s) => crate::dist::local_rows(chunk, s.rank(), s.size()),
                None => chunk,
            };
            let batch = &mut self.batch;
            train_set.batch(rows, batch);
            oov::drop_ids(batch, tc.oov_dropout, tc.seed, self.st.step);
            // forward, masked task losses, balanced backward, clip, optimiser step
            let lr = self.schedule.lr_at(self.st.step);
            let synced = self.sync.as_deref_mut().map(|s| step::Synced {
                sync: s,
                weights: &mut self.loss_weights,
                buffers: &mut self.sync_buffers,
            });
            let g = &mut self.g;
            match (self.device.as_mut(), self.compress.teacher.as_mut()) {
                (None, None) => step::synced_step(g, &mut parts, synced, batch, lr, &mut info)?,
                (None, Some(t)) => distill::distill_step(g, &mut parts, t, batch, lr, &mut info)?,
                (Some(t), _) => device::device_step(g, &mut parts, t, batch, lr, &mut info)?,
            }
            if !info.objective.is_finite() {
                return Err(Error::Value {
                    op: "train",
                    what: "training loss".into(),
                    position: self.st.step,
                    value: info.objective as f64,
                    expected: "a finite loss; lower train.lr or set train.clip_norm".into(),
                });
            }
            for (s, l) in loss_sums.iter_mut().zip(&info.task_losses) {
                *s += *l as f64 * chunk.len() as f64;
            }
            self.st.step += 1;
            if let Some(p) = self.compress.pruner.as_mut() {
                p.after_step(parts.store, self.st.step);
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        Ok((loss_sums, t0.elapsed().as_secs_f64()))
    }

    /// Diagnostics on one training batch (the epoch's first): expert utilisation and
    /// task conflict.
    fn diagnostics(&mut self, train_set: &dyn Rows) -> Result<(Vec<Vec<f32>>, Vec<f32>)> {
        let (g, model) = (&mut self.g, self.run.model);
        train_set.batch(&self.probe, &mut self.batch);
        g.reset();
        g.set_training(false);
        let x = self.run.input.forward(g, &self.store, &self.batch)?;
        let outs = model.forward(g, &self.store, x)?;
        let gates = gate_weights(g);
        let losses = task_losses(g, self.run.cfg, model, &outs, &self.batch)?;
        let cosines = if self.shared.is_empty() {
            Vec::new()
        } else {
            crate::balance::task_gradient_cosines(g, &mut self.store, &losses, &self.shared)?
        };
        Ok((gates, cosines))
    }

    /// Validates the epoch's weights; updates the best score and the count of epochs
    /// without improvement. Returns the metrics, the score and whether it improved.
    fn validate(&mut self) -> Result<(TaskMetrics, Option<f64>, bool)> {
        let (cfg, tc) = (self.run.cfg, &self.run.cfg.train);
        let es = &tc.early_stopping;
        let valid_rows = self.run.sets.valid;
        let valid_out = predict(
            &mut self.g,
            self.run.input,
            self.run.model,
            &self.store,
            valid_rows,
            tc.batch_size.max(1024),
        )?;
        let mut valid = task_metrics(&cfg.tasks, &valid_out, valid_rows)?;
        if let Some(implicit) = valid_ranking::per_epoch(cfg, self.run.implicit) {
            let (g, run) = (&mut self.g, self.run);
            valid_ranking::add_to(
                &mut valid,
                implicit,
                cfg,
                g,
                run.input,
                run.model,
                &self.store,
            )?;
        }
        let score = evaluate::score(&valid, &es.task, &self.metric_name);
        let st = &mut self.st;
        let improved = self.compress.may_be_best(st.step)
            && match (score, st.best) {
                (Some(s), None) => s.is_finite(),
                (Some(s), Some(b)) => {
                    if es.maximize() {
                        s > b
                    } else {
                        s < b
                    }
                }
                (None, _) => false,
            };
        if improved {
            st.best = score;
            st.best_epoch = st.epoch;
            st.bad_epochs = 0;
        } else if self.compress.may_be_best(st.step) {
            st.bad_epochs += 1;
        }
        Ok((valid, score, improved))
    }

    /// Everything after an epoch's steps, up to and including its commit point.
    pub fn end_epoch(
        &mut self,
        train_set: &dyn Rows,
        loss_sums: &[f64],
        train_seconds: f64,
        after_epoch: super::AfterEpoch<'_>,
    ) -> Result<()> {
        let (cfg, tc, out) = (self.run.cfg, &self.run.cfg.train, &self.run.opts.out);
        let (epoch, n_train, es) = (self.st.epoch, self.n_train, &tc.early_stopping);
        if let Some(t) = self.device.as_mut() {
            // the epoch's weights and optimiser state back to the host: validation, checkpoint
            t.download(&mut self.store, self.opt.as_mut())?;
        }
        // the task weights after the epoch's last step (the ones the next step uses)
        let weights = self.balancer.weights(&self.store);
        self.st.train_seconds += train_seconds;
        self.st.train_samples += n_train as u64;
        let mean_losses: Vec<f32> = loss_sums
            .iter()
            .map(|s| (s / n_train as f64) as f32)
            .collect();
        self.balancer.end_epoch(&mean_losses)?;
        let (gates, cosines) = self.diagnostics(train_set)?;
        let (valid, score, improved) = self.validate()?;
        let st = &self.st;
        let line = json!({
            // 1-based, as the console prints it (`epoch 3/10`); see `folder::truncate_metrics`
            "epoch": epoch + 1,
            "train_loss": cfg.tasks.iter().zip(&mean_losses).map(|(t, l)| (t.name.clone(), json!(l))).collect::<serde_json::Map<_, _>>(),
            "valid": valid,
            "early_stopping": { "task": es.task, "metric": self.metric_name, "score": score, "best": st.best, "best_epoch": st.best_epoch + 1 },
            "task_weights": weights,
            "gate_weights": gates,
            "task_gradient_cosines": cosines,
            "lr": self.schedule.lr_at(st.step.saturating_sub(1)),
            "train_seconds": train_seconds,
            "samples_per_s": n_train as f64 / train_seconds,
        });
        if self.run.writes {
            persist::append_metrics(out, &line)?;
            let samples_per_s = n_train as f64 / train_seconds;
            let ranked = valid_ranking::shown_metric(cfg, self.run.implicit);
            let text = persist::epoch_line(
                cfg,
                &mean_losses,
                &valid,
                ranked.as_deref(),
                samples_per_s,
                improved,
            );
            eprintln!("epoch {}/{}: {}", epoch + 1, tc.epochs, text);
        }
        self.st.epoch += 1;
        self.stop_early()?;
        if self.run.writes {
            // the commit point: metrics line, then state, then the best model (see `folder`)
            let masks = self.compress.masks();
            let (store, opt, balancer) = (&self.store, self.opt.as_ref(), &self.balancer);
            persist::save_state_masked(out, store, opt, balancer, &self.st, masks)?;
            if improved {
                let path = model_path(out);
                persist::save_params_masked(&path, store, cfg, epoch, &self.st.run_id, masks)?;
            }
            after_epoch(out)?;
        }
        Ok(())
    }

    /// Early stopping after the epoch just counted (patience 0: never), agreed by every rank.
    fn stop_early(&mut self) -> Result<()> {
        let es = &self.run.cfg.train.early_stopping;
        let st = &mut self.st;
        if es.patience > 0 && st.bad_epochs >= es.patience {
            eprintln!(
                "early stopping: no improvement of valid {} ({}) for {} epochs; best epoch {}",
                self.metric_name,
                es.task,
                es.patience,
                st.best_epoch + 1
            );
            st.stopped = true;
        }
        if let Some(s) = self.sync.as_deref_mut() {
            // every rank must leave the loop together, or one would wait alone
            st.stopped = crate::dist::writer_decides(s, st.stopped)?;
        }
        Ok(())
    }
}

/// A run whose validation cannot score an epoch would end without a best model: checked
/// on the initial weights before the first epoch.
fn check_valid_scores(run: &RunRefs<'_>, store: &ParamStore, metric_name: &str) -> Result<()> {
    let tc = &run.cfg.train;
    if tc.early_stopping.metric.is_ranking() {
        return valid_ranking::check_defined(run.implicit, run.cfg);
    }
    let valid_rows = run.sets.valid;
    let mut g = Graph::new(tc.seed);
    let out0 = predict(&mut g, run.input, run.model, store, valid_rows, 1024)?;
    let valid = task_metrics(&run.cfg.tasks, &out0, valid_rows)?;
    evaluate::check_score_defined(&valid, &tc.early_stopping, metric_name, valid_rows.len())
}

/// The run's config, spec, skipped rows, split and (fresh runs) data fingerprints.
fn write_run_files(run: &RunRefs<'_>) -> Result<()> {
    let (out, opts, cfg) = (&run.opts.out, run.opts, run.cfg);
    persist::write_run_files(out, cfg, run.prepared, run.skipped, opts.resume)?;
    match run.cached {
        Some(c) => split_export::write_split_cached(out, &run.prepared.files, c)?,
        None => split_export::write_split(out, run.prepared)?,
    };
    if !opts.resume {
        crate::data::fingerprint::write_data_files(out, &cfg.data, &opts.data_dir)?;
    }
    Ok(())
}
