//! A run folder's model as `mtrec train` left it: the resolved config, the fitted
//! features (`spec.json`, not refitted, no data read), the input layer, the model and
//! its best weights (`model.safetensors`). What `mtrec recommend` and `mtrec serve`
//! score with.

use crate::autograd::ParamStore;
use crate::config::RunConfig;
use crate::data::features::FeatureSpec;
use crate::error::{Error, Result};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::path::Path;

/// The model of a run folder: config, spec, input layer, model and weights.
pub struct SavedRun {
    pub cfg: RunConfig,
    pub spec: FeatureSpec,
    pub input: FeatureInput,
    pub model: Box<dyn MultiTaskModel>,
    pub store: ParamStore,
}

/// Reads `config.toml`, `spec.json` and `model.safetensors` of `run_dir` and builds the
/// model they describe with those weights.
pub fn load_saved(run_dir: &Path) -> Result<SavedRun> {
    if crate::ensemble::is_ensemble(run_dir) {
        return Err(crate::ensemble::refuse(
            run_dir,
            "this command (one that reads a single run's weights: distill, export, embed, …)",
        ));
    }
    let cfg = RunConfig::from_file(run_dir.join("config.toml"), &[])?;
    let spec_path = run_dir.join("spec.json");
    let text = std::fs::read_to_string(&spec_path).map_err(|e| Error::Io {
        path: spec_path.display().to_string(),
        message: format!(
            "{e}; is {} a run folder written by mtrec train?",
            run_dir.display()
        ),
    })?;
    let spec = FeatureSpec::from_json_str(&text)?;
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(cfg.train.seed);
    let input = FeatureInput::new(&mut store, "input", &spec, &mut rng)?;
    let model =
        super::build::build_model(&cfg.model, input.d_in(), &cfg.tasks, &mut store, &mut rng)?;
    // the balancer's parameters (uncertainty weights) are in the checkpoint too
    let _ = super::build::build_balancer(&cfg.train, &cfg.tasks, &mut store)?;
    // model.safetensors, or the int8 weights of a `mtrec compress` folder
    crate::quant::load_weights(run_dir, &mut store)?;
    Ok(SavedRun {
        cfg,
        spec,
        input,
        model,
        store,
    })
}
