//! `mtrec train`: a run config in, a run folder out (`mtrec eval` and `mtrec predict`
//! are in `eval.rs` and `predict.rs`).

use crate::config::RunConfig;
use crate::error::{Error, Result};
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
    /// The run config (TOML; see docs/config.md and configs/). With --resume it defaults
    /// to the run's own <out>/config.toml; a given one must resolve (with --set) to the
    /// same values, see --allow-config-change.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub config: Option<PathBuf>,
    /// Folder the config's data files are relative to [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders, searched first for `[features.text] encoder`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// The run folder to write [default: runs/<config name>]. One process writes it at a
    /// time (<out>/.lock); a folder that already holds a run is refused unless --resume
    /// or --overwrite is given.
    #[arg(long, value_name = "DIR", required_unless_present = "config")]
    pub out: Option<PathBuf>,
    /// Override a config value, e.g. --set train.lr=0.01 --set model.num_experts=4.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue the run in --out from its last completed epoch (same result as an
    /// uninterrupted run with the same seed and thread count).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Start afresh in an --out that holds a run: its run files (config.toml, spec.json,
    /// metrics.jsonl, model.safetensors, state.safetensors, summary.json, bad_rows.txt,
    /// transfer.json, config_changes.jsonl, data_files.json, split.csv[.gz], run_info.json,
    /// report.html, text_cache/) are removed first; other files are kept and listed.
    #[arg(long)]
    pub overwrite: bool,
    /// With --resume: continue even though --config/--set differ from the run's
    /// config.toml (then the run no longer equals an uninterrupted one). The change is
    /// appended to <out>/config_changes.jsonl and config.toml is updated. Changing only
    /// train.epochs needs no flag unless train.schedule = "cosine".
    #[arg(long, requires = "resume")]
    pub allow_config_change: bool,
    /// Worker threads [default: train.threads from the config, 0 = one per core; at
    /// most min(1024, 64 × cores)].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Memory the run may use, e.g. 8G or 512M: a config whose estimated parameters,
    /// optimiser state and activations exceed it is refused before anything is
    /// allocated [default: train.max_memory, else the machine's available memory].
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
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
    /// Rewrite <out>/report.html (atomically) after every epoch and at the end: open it
    /// in a browser and reload to watch the run (the page of `mtrec report <out>`).
    #[arg(long)]
    pub report: bool,
}

pub fn train(args: &TrainArgs) -> Result<()> {
    crate::text::progress::set_enabled(!args.quiet); // the text encoder's bar
    if let Some(m) = &args.max_memory {
        // read by config::budget (the same variable a user may set); set before any
        // thread starts
        std::env::set_var("MTREC_MAX_MEMORY", m);
    }
    let device = super::check_device(args.device)?;
    let config = match (&args.config, &args.out) {
        (Some(c), _) => c.clone(),
        (None, Some(out)) => out.join("config.toml"), // --resume without --config
        (None, None) => {
            return Err(Error::Config {
                what: "mtrec train".into(),
                message: "give --config, or --resume with --out".into(),
            })
        }
    };
    let cfg = RunConfig::from_file_in(&config, &args.set, Some(&data_dir(args.data_dir.clone())))?;
    let threads = args
        .threads
        .or((cfg.train.threads > 0).then_some(cfg.train.threads));
    // the whole command runs on a worker of its own pool: parallel regions then fork
    // from inside the pool instead of handing work over from the main thread
    super::in_pool(threads, || {
        let out = args.out.clone().unwrap_or_else(|| {
            let stem = config
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into());
            PathBuf::from("runs").join(stem)
        });
        let opts = RunOptions {
            config: config.clone(),
            data_dir: data_dir(args.data_dir.clone()),
            models_dir: args.models_dir.clone(),
            out: out.clone(),
            overrides: args.set.clone(),
            resume: args.resume,
            overwrite: args.overwrite,
            allow_config_change: args.allow_config_change,
            progress: !args.quiet,
            stop_after: args.stop_after,
            device,
        };
        let provider = run::text::native_provider(&opts.data_dir, opts.models_dir.as_deref());
        let after: run::AfterEpoch<'_> = if args.report {
            &crate::report::write_run_report
        } else {
            &|_| Ok(())
        };
        let summary = match distributed()? {
            None => run::train_hooked(&opts, &provider, after)?,
            #[cfg(not(feature = "mpi"))]
            Some(never) => match never {},
            #[cfg(feature = "mpi")]
            Some(mut job) => {
                use crate::dist::GradientSync;
                match run::train_synced(&opts, &provider, after, Some(&mut job)) {
                    Ok(_) if !job.writes() => return Ok(()), // rank 0 prints the summary
                    Ok(summary) => summary,
                    Err(e) if job.size() > 1 => {
                        // the other ranks wait in a collective: end them all
                        eprintln!(
                            "error: rank {} of {}: {e}\nending the job (MPI_Abort); the run folder keeps its last checkpoint, continue with --resume",
                            job.rank(),
                            job.size()
                        );
                        job.abort(1)
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        println!("{text}");
        eprintln!("run folder: {}", out.display());
        Ok(())
    })
}

/// The MPI job this process belongs to (`mpirun -np P mtrec train`, docs/distributed.md);
/// `None` when started alone.
#[cfg(feature = "mpi")]
fn distributed() -> Result<Option<crate::dist::mpi::MpiSync>> {
    crate::dist::mpi::launch()
}

/// Without the `mpi` feature: `None`, and an error when `mpirun` started this process
/// (P independent runs would race for one run folder).
#[cfg(not(feature = "mpi"))]
fn distributed() -> Result<Option<std::convert::Infallible>> {
    if crate::dist::under_launcher() {
        return Err(Error::Config {
            what: "mpirun".into(),
            message: "this mtrec was built without MPI: build it with `cargo build --release --features mpi` to train one model on several processes (docs/distributed.md)".into(),
        });
    }
    Ok(None)
}
