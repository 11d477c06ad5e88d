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
mod epochs;
pub mod evaluate;
mod finish;
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
pub mod valid_ranking;

pub use evaluate::{predict, task_metrics, TaskMetrics};
pub use step::{encoded_step, StepParts};

use crate::autograd::{Graph, ParamStore, Var};
use crate::config::{RunConfig, TaskType};
use crate::data::features::{prepare_with, EncodedBatch, Prepared, TextEnv, TextProvider};
use crate::data::ingest::SkippedRows;
use crate::data::loaders::load_table;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
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
    /// Wall seconds of the data preparation: reading, vocabularies, split, scaling, the
    /// encoded sets (the cache build or reuse, or the in-memory path); not the model.
    pub data_seconds: f64,
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
    let data_t0 = Instant::now();
    let (prepared, skipped, cached) = match crate::data::cache::cache_root(&cfg, data_dir) {
        Some(root) => {
            let (p, sets, skipped) =
                crate::data::cache::open_or_build_with(&cfg, data_dir, &root, Some(text))?;
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
    let data_seconds = data_t0.elapsed().as_secs_f64();
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
        data_seconds,
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
    sync: Option<&mut dyn crate::dist::GradientSync>,
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
    let resume_at = open_folder(opts, &given, writes)?;
    let cfg = given;
    let started = Instant::now();
    let Setup {
        cfg,
        prepared,
        store,
        input,
        model,
        skipped,
        cached,
        data_seconds,
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
    // (fitted from the training rows in memory or, with data.cache on, read in chunks
    // from the mapped cache: baselines::scan)
    let baseline_plan = crate::baselines::plan(&cfg, &prepared.spec)?;
    // data.loader = "interactions": per-epoch negatives and ranking evaluation
    let implicit_run = implicit::ImplicitRun::start(&cfg, &opts.data_dir, &prepared.spec)?;
    let run = epochs::RunRefs {
        opts,
        cfg: &cfg,
        prepared: &prepared,
        cached: cached.as_ref(),
        skipped: &skipped,
        input: &input,
        model: model.as_ref(),
        sets: epochs::Sets::of(&prepared, cached.as_ref()),
        implicit: implicit_run.as_ref(),
        writes,
    };
    let mut lp = epochs::EpochLoop::start(run, store, sync, resume_at)?;
    let first_epoch = lp.st.epoch;
    let mut resampled: Option<crate::data::features::Encoded> = None;
    while lp.st.epoch < cfg.train.epochs && !lp.st.stopped {
        if let Some(run) = &implicit_run {
            resampled = run.train_for_epoch(lp.run.sets.train, lp.st.epoch)?;
        }
        let train_set: &dyn Rows = match &resampled {
            Some(r) => r,
            None => lp.run.sets.train,
        };
        let (loss_sums, train_seconds) = lp.train_steps(train_set)?;
        lp.end_epoch(train_set, &loss_sums, train_seconds, after_epoch)?;
        if opts
            .stop_after
            .is_some_and(|n| lp.st.epoch - first_epoch >= n)
        {
            return Ok(json!({ "interrupted_after_epoch": lp.st.epoch }));
        }
    }
    lp.finish(finish::Finish {
        baseline_plan: &baseline_plan,
        implicit_run: implicit_run.as_ref(),
        started,
        data_seconds,
        after_epoch,
    })
}

/// Checks that `--out` can take this run: on `--resume`, the run there, its data files and
/// the config changes; else a fresh folder (`--overwrite` to replace a run). Removes the
/// temp files of a killed run. Returns the config changes and the run id.
fn open_folder(opts: &RunOptions, given: &RunConfig, writes: bool) -> Result<epochs::Resume> {
    let out = &opts.out;
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
        let changes = resume::diff(&stored, given)?;
        resume::precheck(&changes, opts.allow_config_change)?;
        (changes, persist::run_id(&stored)?)
    } else {
        if writes {
            folder::prepare_fresh(out, opts.overwrite)?;
        }
        (Vec::new(), persist::run_id(given)?)
    };
    let stale = if writes {
        folder::remove_temp_files(out)?
    } else {
        Vec::new()
    };
    if !stale.is_empty() {
        eprintln!("removed temp files of a killed run: {}", stale.join(", "));
    }
    Ok(epochs::Resume { changes, run_id })
}
