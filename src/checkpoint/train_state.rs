//! Everything needed to resume training exactly: `<run>/state.safetensors`.
//!
//! Tensors: `param/<name>` (the parameters), the optimiser's state as it names it
//! (`adam.m/<name>`, `adam.v/<name>`, `sgd.velocity/<name>`) and, when the trainer keeps
//! the best epoch's parameters, `best/<name>`. Metadata: the [`TrainState`] counters,
//! `rng.<name>`, `optim.<scalar>` (e.g. `optim.adam.step`) and `extra.<key>`; the full
//! list is in `docs/checkpoint.md`.
//!
//! Resuming equals an uninterrupted run when the trainer derives everything random from
//! what is stored here (per-epoch shuffles from `(seed, epoch)`, dropout seeds from
//! `rng.*`) and runs with the same thread count.

use super::params::{check_params_in, load_params_from, param_tensors};
use super::safetensors_io::{read_safetensors, write_safetensors, Checkpoint, TensorOut};
use super::{FORMAT_VERSION, KIND_TRAIN_STATE, META_KIND, META_OPTIMIZER, META_VERSION};
use crate::autograd::ParamStore;
use crate::error::Result;
use crate::optim::{OptimState, Optimizer, StateTensor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name of the training state inside a run folder.
pub const STATE_FILE: &str = "state.safetensors";

/// `<run>/state.safetensors`.
pub fn state_path(run_dir: impl AsRef<Path>) -> PathBuf {
    run_dir.as_ref().join(STATE_FILE)
}

/// The trainer's counters, saved as metadata next to the parameters and optimiser state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainState {
    /// Epochs completed: the next epoch to run has this index.
    pub epoch: usize,
    /// Optimiser steps taken: the learning-rate schedule's position.
    pub global_step: u64,
    /// Positions of random streams as u64 seeds or counters (`rng.<name>`), e.g. the
    /// dropout seed of the next epoch.
    pub rng: BTreeMap<String, u64>,
    /// Best validation metric so far (`None`: no validation yet).
    pub best_metric: Option<f64>,
    /// Epoch that reached `best_metric`.
    pub best_epoch: Option<usize>,
    /// Early stopping: epochs since the best one.
    pub epochs_without_improvement: usize,
    /// Anything else the trainer wants back (`extra.<key>`), e.g. a hash of the config.
    pub extra: BTreeMap<String, String>,
}

/// What [`load_train_state`] gives back besides the store and the optimiser it fills.
#[derive(Clone, Debug)]
pub struct Resumed {
    pub state: TrainState,
    /// The best epoch's parameters, when they were saved.
    pub best_params: Option<ParamStore>,
}

const EPOCH: &str = "epoch";
const GLOBAL_STEP: &str = "global_step";
const BEST_METRIC: &str = "best_metric";
const BEST_EPOCH: &str = "best_epoch";
const WITHOUT_IMPROVEMENT: &str = "epochs_without_improvement";

/// Writes `store`, `opt`'s state, `state` and (if given) `best_params` to `path`
/// atomically: a crash during the save leaves the previous state file intact.
pub fn save_train_state<O: Optimizer + ?Sized>(
    path: impl AsRef<Path>,
    store: &ParamStore,
    opt: &O,
    state: &TrainState,
    best_params: Option<&ParamStore>,
) -> Result<()> {
    save_train_state_with(path, store, opt, state, best_params, Vec::new())
}

/// [`save_train_state`] with `extra` tensors (pruning masks, `param/<name>.mask`).
pub fn save_train_state_with<O: Optimizer + ?Sized>(
    path: impl AsRef<Path>,
    store: &ParamStore,
    opt: &O,
    state: &TrainState,
    best_params: Option<&ParamStore>,
    extra: Vec<TensorOut<'_>>,
) -> Result<()> {
    let path = path.as_ref();
    let exported = opt.export_state(store);
    let mut tensors = param_tensors(store, "param/");
    tensors.extend(extra);
    tensors.extend(
        exported
            .tensors
            .iter()
            .map(|t| TensorOut::new(t.name.clone(), t.shape.clone(), t.values)),
    );
    if let Some(best) = best_params {
        tensors.extend(param_tensors(best, "best/"));
    }

    let mut meta = BTreeMap::new();
    meta.insert(META_KIND.to_string(), KIND_TRAIN_STATE.to_string());
    meta.insert(META_VERSION.into(), FORMAT_VERSION.into());
    meta.insert(META_OPTIMIZER.into(), opt.name().into());
    meta.insert(EPOCH.into(), state.epoch.to_string());
    meta.insert(GLOBAL_STEP.into(), state.global_step.to_string());
    meta.insert(
        WITHOUT_IMPROVEMENT.into(),
        state.epochs_without_improvement.to_string(),
    );
    if let Some(m) = state.best_metric {
        meta.insert(BEST_METRIC.into(), m.to_string()); // shortest text that parses back exactly
    }
    if let Some(e) = state.best_epoch {
        meta.insert(BEST_EPOCH.into(), e.to_string());
    }
    for (k, v) in &state.rng {
        meta.insert(format!("rng.{k}"), v.to_string());
    }
    for (k, v) in &exported.scalars {
        meta.insert(format!("optim.{k}"), v.clone());
    }
    for (k, v) in &state.extra {
        meta.insert(format!("extra.{k}"), v.clone());
    }
    write_safetensors(path, &tensors, &meta)
}

/// Reads `path` (written by [`save_train_state`]) into `store` and `opt` and returns the
/// counters. `store` must have the same parameters (names, shapes) and `opt` be the same
/// kind of optimiser as when saving. On error `store` is unchanged; `opt` may have been
/// reset to "before the first step".
pub fn load_train_state<O: Optimizer + ?Sized>(
    path: impl AsRef<Path>,
    store: &mut ParamStore,
    opt: &mut O,
) -> Result<Resumed> {
    let ckpt = read_safetensors(path.as_ref())?;
    let kind = ckpt.meta(META_KIND)?;
    if kind != KIND_TRAIN_STATE {
        return Err(ckpt.error(format!(
            "is a `{kind}` file, not a training state; resume from `<run>/{STATE_FILE}` (load_params reads parameter files)"
        )));
    }
    let version = ckpt.meta(META_VERSION)?;
    if version != FORMAT_VERSION {
        return Err(ckpt.error(format!(
            "has format version {version}; this mtrec reads version {FORMAT_VERSION}"
        )));
    }
    let saved_opt = ckpt.meta(META_OPTIMIZER)?;
    if saved_opt != opt.name() {
        return Err(ckpt.error(format!(
            "was written with optimiser `{saved_opt}` but this run uses `{}`; resume with the same optimiser or start a new run",
            opt.name()
        )));
    }
    let state = parse_state(&ckpt)?;
    check_counters(&ckpt, &state)?;

    // Validate everything that can fail before changing `store`.
    check_params_in(&ckpt, store, "param/")?;
    let has_best = ckpt.tensors().keys().any(|k| k.starts_with("best/"));
    let best_params = if has_best {
        let mut best = store.clone();
        load_params_from(&ckpt, &mut best, "best/")?;
        Some(best)
    } else {
        None
    };
    let optim_state = OptimState {
        tensors: ckpt
            .tensors()
            .iter()
            .filter(|(k, _)| !k.starts_with("param/") && !k.starts_with("best/"))
            .map(|(k, t)| StateTensor {
                name: k.clone(),
                shape: t.shape.clone(),
                values: &t.data,
            })
            .collect(),
        scalars: prefixed(&ckpt, "optim."),
    };
    opt.import_state(store, &optim_state)
        .map_err(|e| ckpt.error(format!("cannot restore the optimiser: {e}")))?;
    load_params_from(&ckpt, store, "param/")?;
    Ok(Resumed { state, best_params })
}

/// More epochs than any run has: a counter above it is a damaged or hand-edited file.
pub const MAX_EPOCHS: usize = 1 << 32;

/// Sanity bounds of the counters that hold for every state a trainer writes: `epoch` at
/// most [`MAX_EPOCHS`], `best_epoch < epoch` (it indexes a completed epoch), at most
/// `epoch` epochs without improvement, a finite best metric, and a best metric exactly
/// when there is a best epoch. The error names the file, the key and the value.
fn check_counters(ckpt: &Checkpoint, s: &TrainState) -> Result<()> {
    let bad = |key: &str, value: String, expected: String| {
        Err(ckpt.error(format!(
            "metadata `{key}` = {value} is impossible ({expected}); the training state is damaged or was edited — resume from an intact state or start a new run"
        )))
    };
    if s.epoch > MAX_EPOCHS {
        return bad(
            EPOCH,
            s.epoch.to_string(),
            format!("expected at most {MAX_EPOCHS} epochs"),
        );
    }
    if let Some(b) = s.best_epoch {
        if b >= s.epoch {
            return bad(
                BEST_EPOCH,
                b.to_string(),
                format!(
                    "expected an epoch already completed, below `{EPOCH}` = {}",
                    s.epoch
                ),
            );
        }
    }
    if s.epochs_without_improvement > s.epoch {
        return bad(
            WITHOUT_IMPROVEMENT,
            s.epochs_without_improvement.to_string(),
            format!("expected at most `{EPOCH}` = {}", s.epoch),
        );
    }
    match (s.best_metric, s.best_epoch) {
        (Some(m), _) if !m.is_finite() => bad(
            BEST_METRIC,
            m.to_string(),
            "expected a finite number".into(),
        ),
        (Some(m), None) => bad(
            BEST_METRIC,
            m.to_string(),
            format!("a best metric needs `{BEST_EPOCH}`, which is missing"),
        ),
        (None, Some(b)) => bad(
            BEST_EPOCH,
            b.to_string(),
            format!("a best epoch needs `{BEST_METRIC}`, which is missing"),
        ),
        _ => Ok(()),
    }
}

impl TrainState {
    /// Checks the counters against the run's config: at most `epochs` epochs completed
    /// (`train.epochs`). `path` names the state file in the error.
    pub fn check_epochs(&self, path: &Path, epochs: usize) -> Result<()> {
        if self.epoch > epochs {
            return Err(crate::error::Error::Io {
                path: path.display().to_string(),
                message: format!(
                    "metadata `{EPOCH}` = {} but the run's train.epochs is {epochs}; the training state is damaged or belongs to another run — start a new run or raise train.epochs",
                    self.epoch
                ),
            });
        }
        Ok(())
    }
}

/// The metadata keys starting with `prefix`, without it.
fn prefixed(ckpt: &Checkpoint, prefix: &str) -> BTreeMap<String, String> {
    ckpt.metadata()
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
        .collect()
}

fn parse_state(ckpt: &Checkpoint) -> Result<TrainState> {
    let required = |key: &str| -> Result<u64> {
        ckpt.meta(key)?;
        Ok(ckpt.meta_parse::<u64>(key)?.unwrap_or_default())
    };
    let mut rng = BTreeMap::new();
    for k in prefixed(ckpt, "rng.").keys() {
        let key = format!("rng.{k}");
        rng.insert(k.clone(), ckpt.meta_parse::<u64>(&key)?.unwrap_or_default());
    }
    Ok(TrainState {
        epoch: required(EPOCH)? as usize,
        global_step: required(GLOBAL_STEP)?,
        rng,
        best_metric: ckpt.meta_parse::<f64>(BEST_METRIC)?,
        best_epoch: ckpt.meta_parse::<usize>(BEST_EPOCH)?,
        epochs_without_improvement: required(WITHOUT_IMPROVEMENT)? as usize,
        extra: prefixed(ckpt, "extra."),
    })
}
