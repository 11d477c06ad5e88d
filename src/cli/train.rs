//! `mtrec train`, `mtrec eval` and `mtrec predict`: a run config in, a run folder out,
//! and the run folder used to score data.

use crate::checkpoint::load_params;
use crate::config::RunConfig;
use crate::data::features::Encoded;
use crate::data::loaders::load_table;
use crate::error::{Error, Result};
use crate::train::run::{self, predict, task_metrics, RunOptions};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the data files named in a config are looked up.
fn data_dir(flag: Option<PathBuf>) -> PathBuf {
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
    /// transfer.json, config_changes.jsonl, text_cache/) are removed first; other files
    /// are kept and listed.
    #[arg(long)]
    pub overwrite: bool,
    /// With --resume: continue even though --config/--set differ from the run's
    /// config.toml (then the run no longer equals an uninterrupted one). The change is
    /// appended to <out>/config_changes.jsonl and config.toml is updated. Changing only
    /// train.epochs needs no flag unless train.schedule = "cosine".
    #[arg(long, requires = "resume")]
    pub allow_config_change: bool,
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
    let cfg = RunConfig::from_file(&config, &args.set)?;
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
        let summary = run::train(&opts)?;
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        println!("{text}");
        eprintln!("run folder: {}", out.display());
        Ok(())
    })
}

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
fn load_run(run_dir: &Path, data_dir: &Path, models_dir: Option<&Path>) -> Result<run::Setup> {
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

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// A run folder written by `mtrec train`.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Rows to score, in the same format as the training data (label columns optional).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Output CSV: one column per task (probability for binary tasks, value for regression).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Folder of pretrained text encoders, searched first for `[features.text] encoder`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

pub fn predict_cmd(args: &PredictArgs) -> Result<()> {
    let mut cfg = RunConfig::from_file(args.run.join("config.toml"), &[])?;
    let spec_path = args.run.join("spec.json");
    let spec_text = std::fs::read_to_string(&spec_path).map_err(|e| Error::Io {
        path: spec_path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut spec = crate::data::features::FeatureSpec::from_json_str(&spec_text)?;
    cfg.data.files = vec![args.input.display().to_string()];
    let mut needed: Vec<&str> = cfg.features.iter().map(|f| f.name.as_str()).collect();
    needed.extend(spec.text.iter().map(|t| t.column.as_str()));
    let table = load_table(&cfg.data, Path::new("."), &needed)?;
    let mut encoded = spec.encode(&table)?;
    if !spec.text.is_empty() {
        // Texts already embedded by the run are read from its cache.
        let provider = run::text::native_provider(Path::new("."), args.models_dir.as_deref());
        let env = crate::data::features::TextEnv {
            provider: &provider,
            cache_dir: Some(run::text_cache_dir(&args.run)),
        };
        crate::data::features::attach_texts(&mut spec, &table, &mut encoded, &env)?;
    }
    let mut store = crate::autograd::ParamStore::new();
    let mut rng =
        <ndarray_rand::rand::rngs::StdRng as ndarray_rand::rand::SeedableRng>::seed_from_u64(
            cfg.train.seed,
        );
    let input = crate::nn::FeatureInput::new(&mut store, "input", &spec, &mut rng)?;
    let model = crate::train::run::build::build_model(
        &cfg.model,
        input.d_in(),
        &cfg.tasks,
        &mut store,
        &mut rng,
    )?;
    let _ = crate::train::run::build::build_balancer(&cfg.train, &cfg.tasks, &mut store)?;
    load_params(args.run.join("model.safetensors"), &mut store)?;
    let mut g = crate::autograd::Graph::new(0);
    let out = predict(&mut g, &input, model.as_ref(), &store, &encoded, 4096)?;
    let mut text = cfg
        .tasks
        .iter()
        .map(|t| t.name.clone())
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for i in 0..encoded.len() {
        let row: Vec<String> = cfg
            .tasks
            .iter()
            .zip(&out)
            .map(|(t, o)| match t.kind {
                crate::config::TaskType::Binary => format!(
                    "{:.6}",
                    crate::ops::unary::f(crate::autograd::UnaryFn::Sigmoid, o[i])
                ),
                crate::config::TaskType::Regression => format!("{:.6}", o[i]),
            })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let mut f = std::fs::File::create(&args.output).map_err(|e| Error::Io {
        path: args.output.display().to_string(),
        message: e.to_string(),
    })?;
    f.write_all(text.as_bytes()).map_err(|e| Error::Io {
        path: args.output.display().to_string(),
        message: e.to_string(),
    })?;
    eprintln!(
        "wrote {} rows × {} tasks to {}",
        encoded.len(),
        cfg.tasks.len(),
        args.output.display()
    );
    Ok(())
}
