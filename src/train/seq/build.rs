//! The model of an `mtrec seq` run before training: its configuration from the run
//! configuration and the data, transferred and frozen parameters, the optimiser.

use super::{SeqInputs, SeqRunConfig};
use crate::autograd::ParamStore;
use crate::checkpoint::transfer::{freeze_groups, init_from_except};
use crate::data::sequences::{Keywords, SeqData};
use crate::error::{Error, Result};
use crate::models::sasrec::{ItemInput, SasRec, SasRecConfig};
use crate::optim::{Adam, AdamConfig, Frozen, Optimizer};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::path::Path;

/// Loads the parameters of `path` (a run folder, its `model.safetensors` or a training
/// state) into `store` by name with `checkpoint::transfer`, except the item ID table and
/// the heads, which keep their fresh values; returns the names loaded. Errors if a shared
/// name has another shape or nothing could be loaded.
pub fn init_from(store: &mut ParamStore, path: &Path) -> Result<Vec<String>> {
    // another catalogue: its item table and heads mean nothing here
    let report = init_from_except(store, path, &["item.emb", "head"]).map_err(|e| match e {
        Error::Config { what, message } => Error::Config {
            what,
            message: format!("{message} (mtrec seq: use the same model.dim, blocks and data.max_len as the pretrained run)"),
        },
        e => e,
    })?;
    if report.loaded.is_empty() {
        return Err(Error::Config {
            what: format!("train.init_from ({})", report.source.display()),
            message: "no parameter of this model is in the checkpoint; pass a model.safetensors of an mtrec seq run".into(),
        });
    }
    Ok(report.loaded)
}

/// The model configuration implied by the run configuration and the data.
pub fn model_config(cfg: &SeqRunConfig, data: &SeqData, text_dim: usize) -> Result<SasRecConfig> {
    Ok(SasRecConfig {
        num_items: data.num_items,
        max_len: cfg.data.max_len,
        dim: cfg.model.dim,
        blocks: cfg.model.blocks,
        heads: cfg.model.heads,
        dropout: cfg.model.dropout,
        item_input: ItemInput::parse(&cfg.model.item_input)?,
        text_dim,
        keywords: cfg.model.keywords,
        rating_head: cfg.model.rating_head,
        like_head: cfg.model.like_head,
    })
}

/// The model of a run, its optimiser, and what was done to its parameters before training.
pub(super) struct Built {
    pub(super) mcfg: SasRecConfig,
    pub(super) keywords: Option<Keywords>,
    pub(super) store: ParamStore,
    pub(super) model: SasRec,
    /// Parameters read from `train.init_from`.
    pub(super) transferred: Vec<String>,
    /// Parameters `train.freeze` holds fixed.
    pub(super) frozen_names: Vec<String>,
    pub(super) opt: Box<dyn Optimizer>,
}

/// Builds the model (initial weights from `train.seed`), transfers and freezes
/// parameters as configured, and the optimiser.
pub(super) fn build(cfg: &SeqRunConfig, inputs: &SeqInputs<'_>) -> Result<Built> {
    let mcfg = model_config(cfg, inputs.data, inputs.text_dim)?;
    let keywords =
        (mcfg.keywords > 0).then(|| Keywords::from_texts(&inputs.data.item_text, mcfg.keywords));
    if let Some(kw) = &keywords {
        if kw.len() < mcfg.keywords {
            return Err(Error::Config {
                what: "model.keywords".into(),
                message: format!(
                    "the item texts hold only {} distinct keywords; lower model.keywords",
                    kw.len()
                ),
            });
        }
    }
    let t = &cfg.train;
    let mut rng = StdRng::seed_from_u64(t.seed);
    let mut store = ParamStore::new();
    let model = SasRec::new(&mut store, &mcfg, &mut rng)?;
    let transferred = if t.init_from.is_empty() {
        Vec::new()
    } else {
        init_from(&mut store, Path::new(&t.init_from))?
    };
    let frozen = freeze_groups(&store, &t.freeze)?;
    let frozen_names: Vec<String> = frozen
        .iter()
        .map(|&id| store.info(id).name.clone())
        .collect();
    let adam = Adam::new(AdamConfig {
        weight_decay: t.weight_decay,
        ..AdamConfig::default()
    })?;
    let opt: Box<dyn Optimizer> = if frozen.is_empty() {
        Box::new(adam)
    } else {
        Box::new(Frozen::new(Box::new(adam), frozen))
    };
    Ok(Built {
        mcfg,
        keywords,
        store,
        model,
        transferred,
        frozen_names,
        opt,
    })
}
