//! `mtrec predict`: rows of a file scored with a run folder's model.

use crate::checkpoint::load_params;
use crate::config::RunConfig;
use crate::data::loaders::load_table;
use crate::error::{Error, Result};
use crate::train::run::{self, predict};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

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
