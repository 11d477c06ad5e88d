//! The `mtrec` command line: argument types (clap derive) and one file per command.
//! `src/main.rs` only parses the arguments, calls [`run`] and prints errors.

pub mod demo;
pub mod embed;
pub mod seq;
pub mod serve;
pub mod train;

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
    Eval(train::EvalArgs),
    /// Score rows of a file with a run folder's model: one output column per task.
    Predict(train::PredictArgs),
    /// Turn a column of texts into sentence embeddings with a native BERT encoder
    /// (e.g. all-MiniLM-L6-v2): mean-pooled, L2-normalised, one row per text.
    Embed(embed::EmbedArgs),
    /// Train a sequence model (SASRec with multi-task heads) on Amazon Beauty or
    /// MovieLens 100K: leave-last-out split, full-ranking HR@5/10 and NDCG@5/10 of the
    /// next item (plus rating RMSE and like AUC on MovieLens); writes a run folder.
    Seq(seq::SeqArgs),
    /// Serve run folders over HTTP: the Open Inference Protocol (KServe v2) with bearer
    /// tokens, micro-batching, a bounded queue, Prometheus metrics and hot reload
    /// (docs/serving.md).
    Serve(serve::ServeArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Train(args) => train::train(&args),
        // one worker per core, the command on one of them (see `in_pool`)
        Command::Eval(args) => in_pool(None, || train::eval(&args)),
        Command::Predict(args) => in_pool(None, || train::predict_cmd(&args)),
        Command::Embed(args) => embed::run(&args),
        Command::Seq(args) => seq::run(&args),
        Command::Serve(args) => serve::run(&args),
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
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0)) // 0: rayon's default, one per core
        .build()
        .map_err(|e| Error::Config {
            what: "--threads".into(),
            message: format!("could not start the thread pool: {e}"),
        })
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
            crate::cuda::CudaDevice::open(0)?;
            StepDevice::Cuda(0)
        }
    })
}
