//! `mtrec train`: a run config in, a run folder out (`mtrec eval` and `mtrec predict`
//! are in `eval.rs` and `predict.rs`).

use crate::config::RunConfig;
use crate::error::Result;
use crate::train::run::{self, RunOptions};
use clap::Args;
use std::path::PathBuf;

/// Where the data files named in a config are looked up.
pub(super) fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("MTREC_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"))
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The run config (TOML; see docs/config.md and configs/).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Folder the config's data files are relative to [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders, searched first for `[features.text] encoder`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// The run folder to write [default: runs/<config name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override a config value, e.g. --set train.lr=0.01 --set model.num_experts=4.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue the run in --out from its last completed epoch (same result as an
    /// uninterrupted run with the same seed and thread count).
    #[arg(long)]
    pub resume: bool,
    /// Worker threads [default: train.threads from the config, 0 = one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Stop after N epochs of this invocation (for testing --resume).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
    /// Where the training step runs: cpu, or cuda (a build with `--features cuda` and a
    /// GPU; see docs/cuda.md). The run folder is the same either way.
    #[arg(long, value_enum, default_value_t = super::DeviceArg::Cpu)]
    pub device: super::DeviceArg,
}

pub fn train(args: &TrainArgs) -> Result<()> {
    let device = super::check_device(args.device)?;
    let cfg = RunConfig::from_file(&args.config, &args.set)?;
    let threads = args
        .threads
        .or((cfg.train.threads > 0).then_some(cfg.train.threads));
    // the whole command runs on a worker of its own pool: parallel regions then fork
    // from inside the pool instead of handing work over from the main thread
    super::in_pool(threads, || {
        let out = args.out.clone().unwrap_or_else(|| {
            let stem = args
                .config
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into());
            PathBuf::from("runs").join(stem)
        });
        let opts = RunOptions {
            config: args.config.clone(),
            data_dir: data_dir(args.data_dir.clone()),
            models_dir: args.models_dir.clone(),
            out: out.clone(),
            overrides: args.set.clone(),
            resume: args.resume,
            progress: !args.quiet,
            stop_after: args.stop_after,
            device,
        };
        let summary = run::train(&opts)?;
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        println!("{text}");
        eprintln!("run folder: {}", out.display());
        Ok(())
    })
}
