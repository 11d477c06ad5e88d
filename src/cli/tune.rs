//! `mtrec tune`: hyper-parameter search (src/tune, docs/tune.md).

use crate::error::Result;
use crate::tune::{self, Strategy, TuneOptions};
use clap::Args;
use std::path::PathBuf;

/// `--strategy` of `mtrec tune`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StrategyArg {
    /// Every point of the grid in order (ranges need `points`); --trials takes the first N.
    Grid,
    /// Trial i draws each key from a stream seeded by (space seed, i).
    #[default]
    Random,
    /// Random trials under asynchronous successive halving: epochs are the budget
    /// (`[halving] min_epochs`, `eta`; the top rung is the config's train.epochs);
    /// a promoted trial continues its run folder with --resume.
    Halving,
}

#[derive(Debug, Clone, Args)]
pub struct TuneArgs {
    /// The base run config (TOML); trial 0 runs it unchanged (the preset).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The search space (TOML): [params] with config keys as for --set (lists of
    /// choices, or { uniform | log_uniform | int = [low, high] }), [objective] (task or
    /// weights, metric, direction), optional seed and [halving] (docs/tune.md).
    #[arg(long, value_name = "FILE")]
    pub space: PathBuf,
    /// Trials besides trial 0 (the preset). Required for random and halving; grid runs
    /// the first N grid points [default: all of them].
    #[arg(long, value_name = "N")]
    pub trials: Option<usize>,
    /// How trials are chosen.
    #[arg(long, value_enum, default_value_t = StrategyArg::Random)]
    pub strategy: StrategyArg,
    /// Trials trained at once; each gets max(1, threads / P) worker threads.
    #[arg(long, value_name = "P", default_value_t = 1)]
    pub parallel: usize,
    /// Worker threads in all, split among the --parallel trials [default: train.threads
    /// of the config, else one per core]. Trials give the same results whatever
    /// --parallel is when each gets the same number of threads.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The search folder: a run folder per trial (trial-000, ...), trials.jsonl,
    /// leaderboard.csv, best.toml, result.json [default: runs/tune-<config name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder the config's data files are relative to [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders (as for mtrec train).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Continue the search in --out: finished trials are not run again; a trial killed
    /// mid-run continues from its run folder's last epoch.
    #[arg(long)]
    pub resume: bool,
    /// Where each trial's training step runs (as for mtrec train).
    #[arg(long, value_enum, default_value_t = super::DeviceArg::Cpu)]
    pub device: super::DeviceArg,
}

pub fn run(args: &TuneArgs) -> Result<()> {
    let device = super::check_device(args.device)?;
    let cfg = crate::config::RunConfig::from_file(&args.config, &[])?;
    let threads = args
        .threads
        .or((cfg.train.threads > 0).then_some(cfg.train.threads));
    // checked like --threads of mtrec train
    super::thread_pool(threads)?;
    let threads = threads.unwrap_or_else(rayon::current_num_threads);
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        PathBuf::from("runs").join(format!("tune-{stem}"))
    });
    let opts = TuneOptions {
        config: args.config.clone(),
        space: args.space.clone(),
        out: out.clone(),
        data_dir: super::train::data_dir(args.data_dir.clone()),
        models_dir: args.models_dir.clone(),
        strategy: match args.strategy {
            StrategyArg::Grid => Strategy::Grid,
            StrategyArg::Random => Strategy::Random,
            StrategyArg::Halving => Strategy::Halving,
        },
        trials: args.trials,
        parallel: args.parallel,
        threads,
        resume: args.resume,
        device,
    };
    let result = tune::tune(&opts)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&result).unwrap_or_default()
    );
    eprintln!(
        "search folder: {} (leaderboard.csv, best.toml, result.json)",
        out.display()
    );
    Ok(())
}
