//! `mtrec eval`: a run folder's model scored on a split of its data.
//!
//! No exit 0 without a result: the data files must be the ones the run was trained on
//! (`<run>/data_files.json`, see [`crate::data::fingerprint`]; `--allow-changed-data`
//! overrides), and the chosen split must hold rows with labels — `--split cold` of a run
//! not split by `item_holdout`, an empty split, or a split without any label is an error.

use super::train::data_dir;
use crate::config::RunConfig;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::train::run::{self, predict, task_metrics};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Split {
    Train,
    Valid,
    Test,
    /// `split.kind = "item_holdout"`: the rows of the held-out (cold) items.
    Cold,
}

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// A run folder written by `mtrec train`, or by `mtrec seq` (then the test or
    /// validation holdouts are ranked as `mtrec seq` did: the metrics equal its summary).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Which split of the run's data to evaluate.
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Folder of the data files [default: $MTREC_DATA, then data/; for an mtrec seq run:
    /// the folder recorded in its ids.json, then $MTREC_DATA, then ../shared/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders, searched first for `[features.text] encoder`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Evaluate even if the data files changed since training (the split then holds
    /// other rows than the run's; the changes are still listed).
    #[arg(long)]
    pub allow_changed_data: bool,
}

/// Rebuilds the run's model with its saved weights and prepared data.
pub(super) fn load_run(
    run_dir: &Path,
    data_dir: &Path,
    models_dir: Option<&Path>,
    allow_changed_data: bool,
) -> Result<run::Setup> {
    let cfg = RunConfig::from_file(run_dir.join("config.toml"), &[])?;
    check_data_unchanged(run_dir, &cfg, data_dir, allow_changed_data)?;
    let provider = run::text::native_provider(data_dir, models_dir);
    let env = crate::data::features::TextEnv {
        provider: &provider,
        cache_dir: Some(run::text_cache_dir(run_dir)),
    };
    let mut setup = run::setup_with(cfg, data_dir, &env)?;
    // the balancer's parameters (uncertainty weights) are in the checkpoint too
    let _ = run::build::build_balancer(&setup.cfg.train, &setup.cfg.tasks, &mut setup.store)?;
    // model.safetensors, or the int8 weights of a `mtrec compress` folder
    crate::quant::load_weights(run_dir, &mut setup.store)?;
    Ok(setup)
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    if crate::ensemble::is_ensemble(&args.run) {
        return super::ensemble::eval(args);
    }
    if crate::recommend::seq::is_seq_run(&args.run)? {
        return super::seq_runs::eval(args);
    }
    let setup = load_run(
        &args.run,
        &data_dir(args.data_dir.clone()),
        args.models_dir.as_deref(),
        args.allow_changed_data,
    )?;
    // memory-mapped from the cache when the run trained with data.cache on
    let data = split_rows(&setup, args.split);
    check_split(&args.run, &setup.cfg, args.split, data)?;
    let mut g = crate::autograd::Graph::new(0);
    let out = predict(
        &mut g,
        &setup.input,
        setup.model.as_ref(),
        &setup.store,
        data,
        4096,
    )?;
    let m = task_metrics(&setup.cfg.tasks, &out, data)?;
    if let Some((task, _)) = m.iter().find(|(_, v)| v.values().any(|x| !x.is_finite())) {
        return Err(Error::Io {
            path: args.run.join("model.safetensors").display().to_string(),
            message: format!(
                "task `{task}` has a metric that is not a finite number on the {:?} split; the model's scores are not finite",
                args.split
            ),
        });
    }
    println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    Ok(())
}

/// The rows of `split` in a loaded run: in memory, or memory-mapped from the data cache
/// when the run trained with `data.cache` on (read a mini-batch at a time).
pub(super) fn split_rows(setup: &run::Setup, split: Split) -> &dyn Rows {
    setup.rows(&format!("{split:?}").to_lowercase())
}

/// Refuses data files that changed since training (listing every change) unless
/// `allow` is set; a run folder from before `data_files.json` gets a note only.
fn check_data_unchanged(
    run_dir: &Path,
    cfg: &RunConfig,
    data_dir: &Path,
    allow: bool,
) -> Result<()> {
    use crate::data::fingerprint::{changes_since_training, DATA_FILES};
    match changes_since_training(run_dir, &cfg.data, data_dir)? {
        None => eprintln!(
            "note: {} has no {DATA_FILES} (written by an older mtrec); the data files cannot be checked against the ones the run was trained on",
            run_dir.display()
        ),
        Some(changes) if changes.is_empty() => {}
        Some(changes) if allow => eprintln!(
            "warning: the data files changed since training (--allow-changed-data): {}; the split holds other rows than the run's",
            changes.join("; ")
        ),
        Some(changes) => {
            return Err(Error::Io {
                path: run_dir.join(DATA_FILES).display().to_string(),
                message: format!(
                    "the data files changed since training, so the split would hold other rows than the run's: {}; restore the files, or pass --allow-changed-data to evaluate anyway",
                    changes.join("; ")
                ),
            })
        }
    }
    Ok(())
}

/// The split must have rows, and at least one task a label on them.
pub(super) fn check_split(
    run_dir: &Path,
    cfg: &RunConfig,
    split: Split,
    data: &dyn Rows,
) -> Result<()> {
    let err = |message: String| Error::Config {
        what: format!("--split {}", format!("{split:?}").to_lowercase()),
        message,
    };
    if data.is_empty() {
        if matches!(split, Split::Cold) && cfg.split.kind != crate::config::SplitKind::ItemHoldout {
            return Err(err(format!(
                "the split has no cold rows because the run {} has split.kind = \"{}\", not \"item_holdout\"; cold rows exist only for runs trained with split.kind = \"item_holdout\"",
                run_dir.display(),
                format!("{:?}", cfg.split.kind).to_lowercase()
            )));
        }
        return Err(err(
            "the split has no rows; check [split] in the run's config.toml (e.g. split.valid = 0 leaves no validation rows)".into(),
        ));
    }
    let k = cfg.tasks.len();
    let labelled = (0..k).any(|t| data.task_column(t).1.iter().any(|&m| m > 0.0));
    if !labelled {
        return Err(err(format!(
            "none of its {} rows has a label for any task ({}); the metrics would be empty — evaluate a split with labels",
            data.len(),
            cfg.tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}
