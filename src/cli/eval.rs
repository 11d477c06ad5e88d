//! `mtrec eval`: a run folder's model scored on a split of its data.

use super::train::data_dir;
use crate::checkpoint::load_params;
use crate::config::RunConfig;
use crate::data::features::Encoded;
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
    /// A run folder written by `mtrec train`.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Which split of the run's data to evaluate.
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Folder of the data files [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders, searched first for `[features.text] encoder`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

/// Rebuilds the run's model with its saved weights and prepared data.
pub(super) fn load_run(
    run_dir: &Path,
    data_dir: &Path,
    models_dir: Option<&Path>,
) -> Result<run::Setup> {
    let cfg = RunConfig::from_file(run_dir.join("config.toml"), &[])?;
    let provider = run::text::native_provider(data_dir, models_dir);
    let env = crate::data::features::TextEnv {
        provider: &provider,
        cache_dir: Some(run::text_cache_dir(run_dir)),
    };
    let mut setup = run::setup_with(cfg, data_dir, &env)?;
    let model_path = run_dir.join("model.safetensors");
    if !model_path.is_file() {
        return Err(Error::Io {
            path: model_path.display().to_string(),
            message: "missing: the run has not finished an epoch yet".into(),
        });
    }
    load_params(&model_path, &mut setup.store)?;
    Ok(setup)
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    let setup = load_run(
        &args.run,
        &data_dir(args.data_dir.clone()),
        args.models_dir.as_deref(),
    )?;
    let data: &Encoded = match args.split {
        Split::Train => &setup.prepared.train,
        Split::Valid => &setup.prepared.valid,
        Split::Test => &setup.prepared.test,
        Split::Cold => &setup.prepared.cold,
    };
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
    println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    Ok(())
}
