//! `mtrec train`: a run config and a data folder in, a run folder out.
//!
//! ```text
//! read  → prepare (split, vocabularies, scaling, labels) → build input + model + optimiser
//! for each epoch:  shuffled mini-batches → forward → masked task losses → balancer → step
//!                  validate every task → early stopping → checkpoint (atomic)
//! restore the best epoch → test → run folder
//! ```
//! The run folder holds `config.toml` (as resolved), `spec.json` (the fitted features),
//! `metrics.jsonl` (one line per epoch), `model.safetensors` (best weights),
//! `state.safetensors` (everything `--resume` needs), `summary.json`, and
//! `bad_rows.txt` when rows were skipped. One process writes it at a time (`folder`:
//! a lock, no foreign run mixed in, the log cut back to the saved state on `--resume`).
//!
//! Same seed and thread count give the same run, and `--resume` after a kill continues
//! to the same result: each epoch's shuffle and dropout stream derive from (seed, epoch).

pub mod build;
pub mod compress;
pub mod device;
pub mod distill;
pub mod evaluate;
pub mod folder;
pub mod implicit;
pub mod info;
pub mod oov;
mod persist;
pub mod progress;
pub mod resume;
pub mod saved;
pub mod split_export;
pub mod step;
pub mod text;
mod transfer_run;

pub use evaluate::{predict, task_metrics, TaskMetrics};
pub use step::{encoded_step, StepParts};

use crate::autograd::{Graph, ParamStore, Var};
use crate::config::{RunConfig, TaskType};
use crate::data::features::{prepare_with, EncodedBatch, Prepared, TextEnv, TextProvider};
use crate::data::ingest::SkippedRows;
use crate::data::loaders::load_table;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::models::{gate_weights, MultiTaskModel};
use crate::nn::FeatureInput;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use persist::LoopState;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `mtrec train` was asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub config: PathBuf,
    pub data_dir: PathBuf,
    /// Where text encoders are looked up first (`--models-dir`; see `text`).
    pub models_dir: Option<PathBuf>,
    pub out: PathBuf,
    /// `key=value` overrides of the config (`train.lr=0.01`).
    pub overrides: Vec<String>,
    /// Continue the run in `out` from its last completed epoch.
    pub resume: bool,
    /// A fresh run may replace the run files already in `out` (never other files).
    pub overwrite: bool,
    /// `--resume` may continue with a config that differs from the run's (recorded in
    /// `config_changes.jsonl`).
    pub allow_config_change: bool,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
    /// Stop after this many epochs of *this invocation* (testing `--resume`); `None`: run to the end.
    pub stop_after: Option<usize>,
    /// Where the training step runs (validation and test always run on the CPU).
    pub device: crate::device::StepDevice,
}

/// Everything a run builds before its first step; shared by train, eval and predict.
pub struct Setup {
    pub cfg: RunConfig,
    pub prepared: Prepared,
    pub store: ParamStore,
    pub input: FeatureInput,
    pub model: Box<dyn MultiTaskModel>,
    /// Rows the reader skipped (`data.bad_rows = "skip"`), reported at the end.
    pub skipped: SkippedRows,
    /// `data.cache` on: the sets, memory-mapped (`prepared`'s sets are empty then).
    pub cached: Option<crate::data::cache::CachedSets>,
}

impl Setup {
    /// The rows of a set (`"train"`, `"valid"`, `"test"`, `"cold"`): in the cache when
    /// `data.cache` is on, else in `prepared`.
    pub fn rows(&self, set: &str) -> &dyn Rows {
        match (&self.cached, set) {
            (Some(c), "train") => &c.train,
            (Some(c), "valid") => &c.valid,
            (Some(c), "test") => &c.test,
            (Some(c), _) => &c.cold,
            (None, "train") => &self.prepared.train,
            (None, "valid") => &self.prepared.valid,
            (None, "test") => &self.prepared.test,
            (None, _) => &self.prepared.cold,
        }
    }
}

/// Reads and prepares the data and builds the model for `cfg` (weights freshly initialised).
/// Text features are embedded with the native encoder, without a cache.
pub fn setup(cfg: RunConfig, data_dir: &Path) -> Result<Setup> {
    let provider = text::native_provider(data_dir, None);
    setup_with(
        cfg,
        data_dir,
        &TextEnv {
            provider: &provider,
            cache_dir: None,
        },
    )
}

/// [`setup`] with the text encoder and cache of `text` (`<run>/text_cache`).
pub fn setup_with(cfg: RunConfig, data_dir: &Path, text: &TextEnv<'_>) -> Result<Setup> {
    cfg.validate()?;
    let (prepared, skipped, cached) = match crate::data::cache::cache_root(&cfg, data_dir) {
        Some(root) => {
            let (p, sets, skipped) = crate::data::cache::open_or_build(&cfg, data_dir, &root)?;
            (p, skipped, Some(sets))
        }
        None => {
            let needed = cfg.needed_columns();
            let mut table = load_table(&cfg.data, data_dir, &needed)?;
            crate::data::features::drop_bad_values(
                &mut table,
                &cfg.features,
                &cfg.tasks,
                &cfg.split,
                &cfg.data,
            )?;
            let p = prepare_with(
                &table,
                &cfg.features,
                &cfg.tasks,
                &cfg.split,
                &cfg.data.missing_values,
                Some(text),
            )?;
            (p, table.skipped, None)
        }
    };
    // the real table sizes are known now: refuse a model the machine cannot hold
    let spec = &prepared.spec;
    let vocab: Vec<(&str, usize)> = spec
        .categorical
        .iter()
        .map(|c| (c.name.as_str(), c.encoder.size()))
        .chain(
            spec.multi_hot
                .iter()
                .map(|b| (b.name.as_str(), b.encoder.size())),
        )
        .collect();
    crate::config::budget::check_model_memory(&cfg, &vocab)?;
    let mut rng = StdRng::seed_from_u64(cfg.train.seed);
    let mut store = ParamStore::new();
    let input = FeatureInput::new(&mut store, "input", &prepared.spec, &mut rng)?;
    let model = build::build_model(&cfg.model, input.d_in(), &cfg.tasks, &mut store, &mut rng)?;
    Ok(Setup {
        cfg,
        prepared,
        store,
        input,
        model,
        skipped,
        cached,
    })
}

/// The text cache of a run folder.
pub fn text_cache_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("text_cache")
}

/// `<out>/model.safetensors`: the best epoch's weights.
fn model_path(out: &Path) -> PathBuf {
    out.join("model.safetensors")
}

/// Per-epoch shuffle and dropout seeds: a function of (seed, epoch) only.
fn epoch_seed(seed: u64, epoch: usize, salt: u64) -> u64 {
    seed ^ salt ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Records the K masked task losses of one batch, AITM's extra term folded into the last.
fn task_losses(
    g: &mut Graph,
    cfg: &RunConfig,
    model: &dyn MultiTaskModel,
    outs: &[Var],
    batch: &EncodedBatch,
) -> Result<Vec<Var>> {
    let kinds: Vec<TaskType> = cfg.tasks.iter().map(|t| t.kind).collect();
    let mut losses = Vec::with_capacity(outs.len());
    step::record_task_losses(g, &kinds, model, outs, batch, &mut losses)?;
    Ok(losses)
}

/// Trains as configured; returns the summary also written to `summary.json`.
/// Text features use the native encoder ([`text::native_provider`]).
pub fn train(opts: &RunOptions) -> Result<serde_json::Value> {
    let provider = text::native_provider(&opts.data_dir, opts.models_dir.as_deref());
    train_with(opts, &provider)
}

/// [`train`] with text features embedded by `provider` (cached in `<out>/text_cache`).
pub fn train_with(opts: &RunOptions, provider: &TextProvider<'_>) -> Result<serde_json::Value> {
    train_hooked(opts, provider, &|_| Ok(()))
}

/// What runs after every epoch's commit point and after `summary.json`, given the run
/// folder (`mtrec train --report` rewrites `<out>/report.html` with it).
pub type AfterEpoch<'a> = &'a (dyn Fn(&Path) -> Result<()> + Sync);

/// [`train_with`], calling `after_epoch` with the run folder after every epoch and at the end.
pub fn train_hooked(
    opts: &RunOptions,
    provider: &TextProvider<'_>,
    after_epoch: AfterEpoch<'_>,
) -> Result<serde_json::Value> {
    train_synced(opts, provider, after_epoch, None)
}

/// [`train_hooked`] as one rank of a data-parallel run when `sync` is given (`dist`,
/// docs/distributed.md): every rank trains on its part of each global batch and applies
/// the same update; only the writing rank (0) touches the run folder (the others read
/// the state on `--resume`) and goes on to the test split after the last epoch.
/// `None`: exactly [`train_hooked`].
pub fn train_synced(
    opts: &RunOptions,
    provider: &TextProvider<'_>,
    after_epoch: AfterEpoch<'_>,
    mut sync: Option<&mut dyn crate::dist::GradientSync>,
) -> Result<serde_json::Value> {
    let out = &opts.out;
    let writes = sync.as_ref().is_none_or(|s| s.writes());
    if opts.resume && opts.overwrite {
        return Err(Error::Config {
            what: "--resume with --overwrite".into(),
            message: "--resume continues the run in --out, --overwrite replaces it; give one"
                .into(),
        });
    }
    let given = RunConfig::from_file_in(&opts.config, &opts.overrides, Some(&opts.data_dir))?;
    // one writer per folder, held to the end; nothing is written before it is taken
    let _lock = if writes {
        Some(folder::lock(out)?)
    } else {
        None
    };
    let (changes, run_id) = if opts.resume {
        folder::check_resumable(out)?;
        let stored = RunConfig::from_file(out.join("config.toml"), &[])?;
        // other data than the run started with cannot continue it to the same result
        if let Some(changed) =
            crate::data::fingerprint::changes_since_training(out, &stored.data, &opts.data_dir)?
        {
            if !changed.is_empty() {
                return Err(Error::Io {
                    path: out.join("data_files.json").display().to_string(),
                    message: format!(
                        "the data files changed since the run started: {}; resume with the run's data, or start a new run",
                        changed.join("; ")
                    ),
                });
            }
        }
        let changes = resume::diff(&stored, &given)?;
        resume::precheck(&changes, opts.allow_config_change)?;
        (changes, persist::run_id(&stored)?)
    } else {
        if writes {
            folder::prepare_fresh(out, opts.overwrite)?;
        }
        (Vec::new(), persist::run_id(&given)?)
    };
    let stale = if writes {
        folder::remove_temp_files(out)?
    } else {
        Vec::new()
    };
    if !stale.is_empty() {
        eprintln!("removed temp files of a killed run: {}", stale.join(", "));
    }
    let cfg = given;
    let started = Instant::now();
    let Setup {
        cfg,
        prepared,
        mut store,
        input,
        model,
        skipped,
        cached,
    } = setup_with(
        cfg,
        &opts.data_dir,
        &TextEnv {
            provider,
            cache_dir: writes.then(|| text_cache_dir(&opts.out)),
        },
    )?;
    if writes {
        eprintln!("{}", prepared.report);
    }
    // the reference models and their columns, checked before any epoch
    let mut baseline_plan = crate::baselines::plan(&cfg, &prepared.spec)?;
    if cached.is_some() && !baseline_plan.models.is_empty() {
        baseline_plan.models.clear();
        baseline_plan
            .skipped
            .push("the reference models need the rows in memory (data.cache is on)".into());
    }
    // data.loader = "interactions": per-epoch negatives and ranking evaluation
    let implicit_run = implicit::ImplicitRun::start(&cfg, &opts.data_dir, &prepared.spec)?;

    let tc = &cfg.train;
    let mut balancer = build::build_balancer(tc, &cfg.tasks, &mut store)?;
    let mut opt = build::build_optimizer(tc)?;
    if let Some(s) = &sync {
        crate::dist::check_supported(s.size(), balancer.name(), &cfg, opts.device)?;
    }
    // Transfer: weights from another run by name, frozen groups (recorded in transfer.json).
    let transfer = transfer_run::apply(&cfg, &mut store, out, opts.resume)?;
    if !transfer.frozen.is_empty() {
        opt = Box::new(crate::optim::Frozen::new(opt, transfer.frozen.clone()));
    }
    // the sets the loop reads: memory-mapped from the cache, or in memory
    let (train_rows, valid_rows, test_rows, cold_rows): (
        &dyn Rows,
        &dyn Rows,
        &dyn Rows,
        &dyn Rows,
    ) = match &cached {
        Some(c) => (&c.train, &c.valid, &c.test, &c.cold),
        None => (
            &prepared.train,
            &prepared.valid,
            &prepared.test,
            &prepared.cold,
        ),
    };
    // cached rows: the block shuffle; in memory: the full shuffle (window 0)
    let (shuffle_block, shuffle_window) = match &cached {
        Some(_) => (cfg.data.shuffle_block, cfg.data.shuffle_window),
        None => (1, 0),
    };
    let n_train = train_rows.len();
    if n_train == 0 {
        return Err(Error::Config {
            what: "split".into(),
            message: "the training split is empty; check [split] and the data files".into(),
        });
    }
    let steps_per_epoch = n_train.div_ceil(tc.batch_size);
    let schedule = build::build_schedule(tc, steps_per_epoch * tc.epochs)?;
    // [train.prune] masks and a [train] teacher (issue 19)
    let mut compress =
        compress::Compress::start(&cfg, &prepared.spec, &store, steps_per_epoch, opts.device)?;
    let shared = model.shared_params();
    let es = &tc.early_stopping;
    let metric_name = format!("{:?}", es.metric).to_lowercase();
    {
        // a run whose validation cannot score an epoch would end without a best model
        let mut g = Graph::new(tc.seed);
        let out0 = predict(&mut g, &input, model.as_ref(), &store, valid_rows, 1024)?;
        let valid = task_metrics(&cfg.tasks, &out0, valid_rows)?;
        evaluate::check_score_defined(&valid, es, &metric_name, valid_rows.len())?;
    }
    if writes {
        persist::write_run_files(out, &cfg, &prepared, &skipped, opts.resume)?;
        match &cached {
            Some(c) => split_export::write_split_cached(out, &prepared.files, c)?,
            None => split_export::write_split(out, &prepared)?,
        };
        if !opts.resume {
            crate::data::fingerprint::write_data_files(out, &cfg.data, &opts.data_dir)?;
        }
    }
    let mut st = LoopState {
        run_id: run_id.clone(),
        ..LoopState::default()
    };
    if opts.resume {
        let ask = resume::Ask {
            changes,
            allow: opts.allow_config_change,
            run_id,
        };
        st = if writes {
            resume::restore(out, &ask, &cfg, &mut store, opt.as_mut(), &mut balancer)?
        } else {
            resume::load_only(out, &ask, &cfg, &mut store, opt.as_mut(), &mut balancer)?
        };
        compress.restore(out, &store)?;
    }
    if writes {
        info::write_run_info(out, opts.resume)?;
    }

    // The training step on a device: parameters and Adam state move there once.
    let mut device = device::start(opts.device, &mut store, opt.as_mut(), &balancer)?;
    if let Some(t) = &device {
        eprintln!("training step on {}", t.device_name());
    }

    let mut g = Graph::new(tc.seed);
    if !tc.factorize_embeddings {
        g.set_embed_linear(crate::ops::embed_linear::EmbedLinearMode::Off);
    }
    let mut batch = EncodedBatch::default();
    let mut probe: Vec<usize> = Vec::with_capacity(tc.batch_size);
    let first_epoch = st.epoch;
    let mut resampled: Option<crate::data::features::Encoded> = None;
    let (mut loss_weights, mut sync_buffers) = Default::default();
    while st.epoch < tc.epochs && !st.stopped {
        let epoch = st.epoch;
        if let Some(run) = &implicit_run {
            resampled = run.train_for_epoch(&prepared.train, epoch)?;
        }
        let train_set: &dyn Rows = match &resampled {
            Some(r) => r,
            None => train_rows,
        };
        // the epoch's order: a function of (seed, epoch), so `--resume` at an epoch
        // boundary continues the same stream
        let mut order = crate::data::cache::EpochOrder::new(
            n_train,
            tc.batch_size,
            shuffle_block,
            shuffle_window,
            epoch_seed(tc.seed, epoch, 0x5348_5546),
        );
        probe.clear();
        g.reset_with_seed(epoch_seed(tc.seed, epoch, 0x4452_4F50));
        g.set_training(true);
        let bar = progress::epoch_bar(n_train, epoch, tc.epochs, opts.progress && writes);
        let t0 = Instant::now();
        let mut loss_sums = vec![0f64; cfg.tasks.len()];
        let mut info = step::empty_info();
        let kinds: Vec<TaskType> = cfg.tasks.iter().map(|t| t.kind).collect();
        let mut parts = StepParts {
            input: &input,
            model: model.as_ref(),
            store: &mut store,
            balancer: &mut balancer,
            opt: opt.as_mut(),
            shared: &shared,
            kinds: &kinds,
            clip_norm: tc.clip_norm as f32,
        };
        while let Some(chunk) = order.next_batch() {
            if probe.is_empty() {
                probe.extend_from_slice(chunk);
            }
            // data-parallel: this rank's part of the global batch
            let rows = match &sync {
                Some(s) => crate::dist::local_rows(chunk, s.rank(), s.size()),
                None => chunk,
            };
            train_set.batch(rows, &mut batch);
            oov::drop_ids(&mut batch, tc.oov_dropout, tc.seed, st.step);
            // forward, masked task losses, balanced backward, clip, optimiser step
            let lr = schedule.lr_at(st.step);
            let synced = sync.as_deref_mut().map(|s| step::Synced {
                sync: s,
                weights: &mut loss_weights,
                buffers: &mut sync_buffers,
            });
            match (device.as_mut(), compress.teacher.as_mut()) {
                (None, None) => {
                    step::synced_step(&mut g, &mut parts, synced, &batch, lr, &mut info)?
                }
                (None, Some(t)) => {
                    distill::distill_step(&mut g, &mut parts, t, &batch, lr, &mut info)?
                }
                (Some(t), _) => device::device_step(&mut g, &mut parts, t, &batch, lr, &mut info)?,
            }
            if !info.objective.is_finite() {
                return Err(Error::Value {
                    op: "train",
                    what: "training loss".into(),
                    position: st.step,
                    value: info.objective as f64,
                    expected: "a finite loss; lower train.lr or set train.clip_norm".into(),
                });
            }
            for (s, l) in loss_sums.iter_mut().zip(&info.task_losses) {
                *s += *l as f64 * chunk.len() as f64;
            }
            st.step += 1;
            if let Some(p) = compress.pruner.as_mut() {
                p.after_step(parts.store, st.step);
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        let train_seconds = t0.elapsed().as_secs_f64();
        if let Some(t) = device.as_mut() {
            // the epoch's weights and optimiser state back to the host: validation, checkpoint
            t.download(&mut store, opt.as_mut())?;
        }
        // the task weights after the epoch's last step (the ones the next step uses)
        let weights = balancer.weights(&store);
        st.train_seconds += train_seconds;
        st.train_samples += n_train as u64;
        let mean_losses: Vec<f32> = loss_sums
            .iter()
            .map(|s| (s / n_train as f64) as f32)
            .collect();
        balancer.end_epoch(&mean_losses)?;

        // Diagnostics on one training batch: expert utilisation and task conflict.
        train_set.batch(&probe, &mut batch);
        g.reset();
        g.set_training(false);
        let x = input.forward(&mut g, &store, &batch)?;
        let outs = model.forward(&mut g, &store, x)?;
        let gates = gate_weights(&g);
        let losses = task_losses(&mut g, &cfg, model.as_ref(), &outs, &batch)?;
        let cosines = if shared.is_empty() {
            Vec::new()
        } else {
            crate::balance::task_gradient_cosines(&mut g, &mut store, &losses, &shared)?
        };

        let valid_out = predict(
            &mut g,
            &input,
            model.as_ref(),
            &store,
            valid_rows,
            tc.batch_size.max(1024),
        )?;
        let valid = task_metrics(&cfg.tasks, &valid_out, valid_rows)?;
        let score = evaluate::score(&valid, &es.task, &metric_name);
        let improved = compress.may_be_best(st.step)
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
            st.best_epoch = epoch;
            st.bad_epochs = 0;
        } else if compress.may_be_best(st.step) {
            st.bad_epochs += 1;
        }
        let line = json!({
            // 1-based, as the console prints it (`epoch 3/10`); see `folder::truncate_metrics`
            "epoch": epoch + 1,
            "train_loss": cfg.tasks.iter().zip(&mean_losses).map(|(t, l)| (t.name.clone(), json!(l))).collect::<serde_json::Map<_, _>>(),
            "valid": valid,
            "early_stopping": { "task": es.task, "metric": metric_name, "score": score, "best": st.best, "best_epoch": st.best_epoch + 1 },
            "task_weights": weights,
            "gate_weights": gates,
            "task_gradient_cosines": cosines,
            "lr": schedule.lr_at(st.step.saturating_sub(1)),
            "train_seconds": train_seconds,
            "samples_per_s": n_train as f64 / train_seconds,
        });
        if writes {
            persist::append_metrics(out, &line)?;
            eprintln!(
                "epoch {}/{}: {}",
                epoch + 1,
                tc.epochs,
                persist::epoch_line(
                    &cfg,
                    &mean_losses,
                    &valid,
                    n_train as f64 / train_seconds,
                    improved
                )
            );
        }
        st.epoch += 1;
        // patience 0: never stop early
        if es.patience > 0 && st.bad_epochs >= es.patience {
            eprintln!(
                "early stopping: no improvement of valid {} ({}) for {} epochs; best epoch {}",
                metric_name,
                es.task,
                es.patience,
                st.best_epoch + 1
            );
            st.stopped = true;
        }
        if let Some(s) = sync.as_deref_mut() {
            // every rank must leave the loop together, or one would wait alone
            st.stopped = crate::dist::writer_decides(s, st.stopped)?;
        }
        if writes {
            // the commit point: metrics line, then state, then the best model (see `folder`)
            let masks = compress.masks();
            persist::save_state_masked(out, &store, opt.as_ref(), &balancer, &st, masks)?;
            if improved {
                persist::save_params_masked(
                    &model_path(out),
                    &store,
                    &cfg,
                    epoch,
                    &st.run_id,
                    masks,
                )?;
            }
            after_epoch(out)?;
        }
        if opts.stop_after.is_some_and(|n| st.epoch - first_epoch >= n) {
            return Ok(json!({ "interrupted_after_epoch": st.epoch }));
        }
    }

    if !writes {
        // the writing rank tests the best weights and writes the summary
        return Ok(json!({ "rank": sync.map(|s| s.rank()), "epochs_run": st.epoch }));
    }
    // The best epoch's weights, then the test split.
    if st.best.is_none() {
        return Err(Error::Config {
            what: "train.early_stopping".into(),
            message: format!(
                "no epoch gave a finite valid {metric_name} of `{}`, so the run has no best model; check the validation split's labels, lower train.lr, or choose another metric",
                es.task
            ),
        });
    }
    let saved = persist::load_params(&model_path(out), &mut store)?;
    if saved.epoch.is_some_and(|e| e != st.best_epoch)
        || saved.run.as_ref().is_some_and(|r| *r != st.run_id)
    {
        return Err(Error::Io {
            path: model_path(out).display().to_string(),
            message: format!(
                "holds epoch {:?} of run {:?}, not the best epoch {} of this run ({}): it was replaced during the run; train again with --overwrite",
                saved.epoch, saved.run, st.best_epoch, st.run_id
            ),
        });
    }
    let batch_size = tc.batch_size.max(1024);
    let valid = task_metrics(
        &cfg.tasks,
        &predict(
            &mut g,
            &input,
            model.as_ref(),
            &store,
            valid_rows,
            batch_size,
        )?,
        valid_rows,
    )?;
    let test = task_metrics(
        &cfg.tasks,
        &predict(
            &mut g,
            &input,
            model.as_ref(),
            &store,
            test_rows,
            batch_size,
        )?,
        test_rows,
    )?;
    let summary = persist::summary(
        &cfg,
        &st,
        &valid,
        &test,
        started.elapsed().as_secs_f64(),
        &prepared,
    );
    let mut summary = summary;
    if let Some(c) = &cached {
        let [tr, va, te, _] = c.sizes();
        summary["rows"] = json!({ "train": tr, "valid": va, "test": te });
        summary["data_cache"] = json!(c.dir.display().to_string());
    }
    if !cold_rows.is_empty() {
        let cold = task_metrics(
            &cfg.tasks,
            &predict(
                &mut g,
                &input,
                model.as_ref(),
                &store,
                cold_rows,
                batch_size,
            )?,
            cold_rows,
        )?;
        transfer_run::add_cold(&mut summary, &cfg, &cold, cold_rows.len());
    }
    transfer_run::add_transfer(&mut summary, &transfer);
    compress.add_summary(&mut summary, &cfg);
    add_baselines(&mut summary, &cfg, &baseline_plan, &prepared, &test)?;
    if let Some(run) = &implicit_run {
        if let Some((value, table)) = run.ranking(&cfg, &mut g, &input, model.as_ref(), &store)? {
            eprint!("{table}");
            summary["ranking"] = value;
        }
    }
    persist::write_summary(out, &summary)?;
    after_epoch(out)?;
    if !skipped.is_empty() {
        eprintln!("{}", skipped.report());
    }
    Ok(summary)
}

/// Scores the planned baselines on the test split with the model's metrics, adds
/// `"baselines"` and each task's `"beats_baselines"` to `summary`, and prints the table.
fn add_baselines(
    summary: &mut serde_json::Value,
    cfg: &RunConfig,
    plan: &crate::baselines::Plan,
    prepared: &Prepared,
    test: &TaskMetrics,
) -> Result<()> {
    use crate::baselines::report;
    if !plan.skipped.is_empty() {
        eprintln!("baselines skipped: {}", plan.skipped.join("; "));
        summary["baselines_skipped"] = json!(plan.skipped);
    }
    if plan.models.is_empty() {
        return Ok(());
    }
    let outs =
        crate::baselines::tabular_outputs(plan, &cfg.tasks, &prepared.train, &[&prepared.test]);
    let mut scored = Vec::with_capacity(outs.len());
    for (kind, out) in outs {
        scored.push((
            kind.name().to_string(),
            task_metrics(&cfg.tasks, &out[0], &prepared.test)?,
        ));
    }
    let verdicts = report::verdicts(test, &scored);
    summary["baselines"] = report::baselines_json(&scored);
    for t in &cfg.tasks {
        if let Some(v) = report::task_verdict(&verdicts, &t.name) {
            summary["tasks"][&t.name]["beats_baselines"] = v;
        }
    }
    eprint!("{}", report::table(test, &scored, "test"));
    Ok(())
}
