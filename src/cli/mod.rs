//! The `mtrec` command line: argument types (clap derive) and one file per command.
//! `src/main.rs` only parses the arguments, calls [`run`] and prints errors.

pub mod compress;
pub mod demo;
pub mod embed;
pub mod ensemble;
pub mod eval;
pub mod export;
pub mod generate;
pub mod output;
pub mod predict;
pub mod recommend;
pub mod recommend_seq;
pub mod report;
pub mod seq;
pub mod seq_runs;
pub mod serve;
pub mod train;
pub mod tune;

use crate::error::{Error, Result};
use clap::{Parser, Subcommand};

/// Multi-task recommendation models on a hand-written autodiff engine (no BLAS).
#[derive(Debug, Parser)]
#[command(name = "mtrec", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The MMoE synthetic study: Single-Task, Shared-Bottom, OMoE, MMoE and PLE on two
    /// regression tasks of controlled correlation ρ; prints test MSE per task and model.
    ///
    /// The data of the MMoE paper (Ma et al., KDD 2018, section 4), generated in memory:
    /// no files, no network. One run per (model, ρ) by default (under two minutes on two
    /// cores); --full runs five per pair and reports mean ± std.
    Demo(demo::DemoArgs),
    /// Train a model from a run config (TOML) on CSV/TSV data; writes a run folder with
    /// config.toml, metrics.jsonl, model.safetensors and summary.json.
    Train(train::TrainArgs),
    /// Evaluate a run folder's model on a split of its data.
    Eval(eval::EvalArgs),
    /// Score rows of a file with a run folder's model: one output column per task.
    Predict(predict::PredictArgs),
    /// Turn a column of texts into sentence embeddings with a native BERT encoder
    /// (e.g. all-MiniLM-L6-v2): mean-pooled, L2-normalised, one row per text.
    Embed(embed::EmbedArgs),
    /// Train a sequence model (SASRec with multi-task heads) on Amazon Beauty, MovieLens
    /// 100K or any `user item item ...` / `user,item[,timestamp]` file: leave-last-out split, full-ranking HR@5/10 and NDCG@5/10 of the
    /// next item (plus rating RMSE and like AUC on MovieLens); writes a run folder.
    Seq(seq::SeqArgs),
    /// Top-K lists from a run folder: every catalogue item scored for each user, the
    /// task outputs fused into one score, history / allow-list / diversity filters;
    /// --eval measures the lists on the test split (docs/recommend.md).
    Recommend(Box<recommend::RecommendArgs>),
    /// Serve run folders over HTTP: the Open Inference Protocol (KServe v2) with bearer
    /// tokens, micro-batching, a bounded queue, Prometheus metrics and hot reload
    /// (docs/serving.md).
    Serve(serve::ServeArgs),
    /// Hyper-parameter search: grid, random or successive halving over config keys;
    /// each trial a run folder, leaderboard.csv, best.toml, and the best trial's test
    /// metrics beside the preset's (docs/tune.md).
    Tune(tune::TuneArgs),
    /// One self-contained HTML page (inline SVG, no scripts, no network) of one or more
    /// run folders: per-task curves with the best epoch, learning rate, task weights,
    /// gate heat maps, task-gradient cosines, final metrics, config, machine; several
    /// runs are compared (docs/report.md).
    Report(report::ReportArgs),
    /// Write a run folder's model as an ONNX file (inputs: the encoded feature columns;
    /// outputs: one per task; an `mtrec seq` run: history in, catalogue scores out) plus
    /// `<name>.inputs.json` on how to encode them (docs/export.md).
    Export(export::ExportArgs),
    /// Combine run folders trained on the same tasks, data and split into one model:
    /// mean, logit_mean, rank_mean or stack (weights fitted on the validation split);
    /// writes an ensemble folder that eval and predict accept (docs/ensemble.md).
    Ensemble(ensemble::EnsembleArgs),
    /// Write synthetic data sets for scale benchmarks: `mtrec gen aliexpress --rows N
    /// --out file.csv[.gz] --seed S` (the AliExpress layout, Zipf ids, learnable labels).
    Gen(generate::GenArgs),
    /// Make a trained run smaller and faster to score: --int8 writes a new run folder
    /// with int8 weights (per output column; embedding tables per row) that eval,
    /// predict, recommend and serve take like any run (docs/compress.md).
    Compress(compress::CompressArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Train(args) => train::train(&args),
        // one worker per core, the command on one of them (see `in_pool`)
        Command::Eval(args) => in_pool(None, || eval::eval(&args)),
        Command::Predict(args) => in_pool(None, || predict::predict_cmd(&args)),
        Command::Embed(args) => embed::run(&args),
        Command::Seq(args) => seq::run(&args),
        Command::Recommend(args) => recommend::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Tune(args) => tune::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Ensemble(args) => in_pool(None, || ensemble::run(&args)),
        Command::Gen(args) => generate::run(&args),
        Command::Compress(args) => compress::run(&args),
    }
}

/// A rayon pool of `threads` workers (`None`: one per core).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    if threads == Some(0) {
        return Err(Error::Config {
            what: "--threads".into(),
            message: "must be at least 1 (leave it out to use every core)".into(),
        });
    }
    if let Some(n) = threads {
        let cap = max_threads();
        if n > cap {
            return Err(Error::Config {
                what: "--threads".into(),
                message: format!(
                    "{n} is more than {cap} ({MAX_THREADS} or {THREADS_PER_CORE} per core of the {} here, whichever is less); expected a count near the number of cores, or leave it out to use every core",
                    cores()
                ),
            });
        }
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0)) // 0: rayon's default, one per core
        .build()
        .map_err(|e| Error::Config {
            what: "--threads".into(),
            message: format!("could not start the thread pool: {e}"),
        })
}

/// Most worker threads `--threads` / `train.threads` may ask for, whatever the machine.
pub const MAX_THREADS: usize = 1024;
/// Most worker threads per core.
pub const THREADS_PER_CORE: usize = 64;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The largest thread count [`thread_pool`] accepts: `min(1024, 64 × cores)`.
pub fn max_threads() -> usize {
    MAX_THREADS.min(THREADS_PER_CORE.saturating_mul(cores()))
}

/// Runs `f` on a worker of a pool of `threads` workers (`None`: one per core). The
/// command's own thread is then one of the workers: a parallel region forks and joins
/// inside the pool (the idle worker steals half) instead of handing each region from the
/// main thread to the pool and waiting, two thread wake-ups per region.
pub fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    thread_pool(threads)?.install(f)
}

/// `--device` of `mtrec train` and `mtrec demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceArg {
    /// Host memory, rayon-parallel kernels.
    #[default]
    Cpu,
    /// The first CUDA GPU (needs a build with `--features cuda`): parameters,
    /// activations, gradients and optimiser state stay on the GPU; validation and
    /// checkpoints run on the CPU once per epoch. GradNorm and PCGrad are CPU-only.
    Cuda,
    /// The GPU's training step executed by its CPU twins (checks the device path on a
    /// machine without a GPU; slower than `cpu`).
    #[value(hide = true)]
    HostReplay,
}

/// Checks `--device` before any work starts and says where the step runs. The CPU always
/// runs. For `cuda` this opens GPU 0, so a build without the feature, a machine without a
/// driver or GPU, or a missing NVRTC each give their own message (an error, never a
/// silent fall-back to the CPU).
pub fn check_device(device: DeviceArg) -> Result<crate::device::StepDevice> {
    use crate::device::StepDevice;
    Ok(match device {
        DeviceArg::Cpu => StepDevice::Cpu,
        DeviceArg::HostReplay => StepDevice::HostReplay,
        DeviceArg::Cuda => {
            crate::device::cuda::CudaDevice::open(0)?;
            StepDevice::Cuda(0)
        }
    })
}
