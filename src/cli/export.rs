//! `mtrec export`: a run folder's model as an ONNX file (see `crate::export` and
//! docs/export.md).
//!
//! ```text
//! mtrec export --run runs/census_mmoe --onnx mmoe.onnx      # + mmoe.inputs.json
//! mtrec export --run runs/census_mmoe --onnx mmoe.onnx --feed test.csv --feed-out feed.json
//! mtrec export --run runs/beauty_sasrec --onnx sasrec.onnx    # an `mtrec seq` run: history → scores
//! ```

use super::output::{check_output, write_atomic};
use crate::config::BadRows;
use crate::data::loaders::load_table;
use crate::error::{Error, Result};
use crate::export::onnx::OnnxGraph;
use crate::models::sasrec::ItemInput;
use crate::train::run as train_run;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A run folder written by `mtrec train` (any architecture, text features included)
    /// or by `mtrec seq` (the SASRec scorer: input `history`, the user's last max_len
    /// items as the model ids of the run's ids.json; outputs the scores of every
    /// catalogue item, one per task).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The ONNX file to write (IR 8, opset 13). Its inputs are the encoded features, one
    /// per feature column (ids int64, numerics float after the run's scaling, a text
    /// feature as its text's sentence vector, float (batch, 384), named after the text
    /// column: the caller embeds the text); its outputs one per task (probability or
    /// value, as `mtrec predict`). Beside it, `<name>.inputs.json` describes how to
    /// encode each input (for a seq run: the item ids).
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// Replace the output files if they exist.
    #[arg(long)]
    pub force: bool,
    /// Also encode the rows of this file (the training data's format) as the model's
    /// inputs, written to --feed-out as JSON `{input: {dtype, shape, data}}`: what
    /// reference/onnx/check.py feeds to onnxruntime.
    #[arg(long, value_name = "FILE", requires = "feed_out")]
    pub feed: Option<PathBuf>,
    /// Where --feed writes the encoded rows (JSON).
    #[arg(long, value_name = "FILE", requires = "feed")]
    pub feed_out: Option<PathBuf>,
    /// Folder the run's side tables (`[[data.join]]`) are relative to, for --feed
    /// [default: $MTREC_DATA, then data/]. For an `mtrec seq` run whose items are read
    /// as text (`model.item_input = "text"` or `"text+id"`): the run's data folder, whose
    /// item texts are embedded into the exported item matrix [default: the folder in the
    /// run's ids.json, then $MTREC_DATA, then ../shared/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders, searched first for the run's encoder (text
    /// features with --feed, and `mtrec seq` runs that read item text).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// For an `mtrec seq` run that ranks with a transition prior (summary.json's
    /// `transition_prior.weight` > 0): export the model's logits alone. By default the
    /// prior is part of the graph (its counts rebuilt from the run's training data under
    /// --data-dir), so `next_item` is the score mtrec recommend ranks by; without it the
    /// scores differ from mtrec recommend / predict by the prior.
    #[arg(long)]
    pub without_prior: bool,
}

/// `model.onnx` → `model.inputs.json` beside it.
pub fn inputs_json_path(onnx: &Path) -> PathBuf {
    onnx.with_extension("inputs.json")
}

pub fn run(args: &ExportArgs) -> Result<()> {
    let side = inputs_json_path(&args.onnx);
    check_output(&args.onnx, &args.run, &args.run, args.force)?;
    check_output(&side, &args.run, &args.run, args.force)?;
    if let (Some(feed), Some(out)) = (&args.feed, &args.feed_out) {
        check_output(out, feed, &args.run, args.force)?;
    }
    if crate::recommend::seq::is_seq_run(&args.run)? {
        return run_seq(args, &side);
    }
    let loaded = crate::export::load_run(&args.run)?;
    let og = crate::export::build_graph(&loaded)?;
    let bytes = og.to_model_bytes(env!("CARGO_PKG_VERSION"));
    let meta = crate::export::inputs_json(&loaded.spec, &loaded.cfg.tasks)?;
    write_atomic(&args.onnx, &bytes)?;
    write_atomic(&side, &to_json(&meta)?)?;
    report(&args.onnx, &og, bytes.len(), &side);
    if let (Some(feed), Some(out)) = (&args.feed, &args.feed_out) {
        let mut cfg = loaded.cfg.clone();
        cfg.data.files = vec![feed.display().to_string()];
        cfg.data.dedup = false;
        cfg.data.bad_rows = BadRows::Error;
        let side_dir = super::train::data_dir(args.data_dir.clone());
        for j in &mut cfg.data.join {
            j.file = side_dir.join(&j.file).display().to_string();
        }
        let mut needed: Vec<&str> = cfg.features.iter().map(|f| f.name.as_str()).collect();
        needed.extend(loaded.spec.text.iter().map(|t| t.column.as_str()));
        let table = load_table(&cfg.data, Path::new("."), &needed)?;
        let mut spec = loaded.spec.clone();
        let mut enc = spec.encode(&table)?;
        if !spec.text.is_empty() {
            // the texts embedded as mtrec predict embeds them (the run's cache first)
            let provider = train_run::text::native_provider(&side_dir, args.models_dir.as_deref());
            let env = crate::data::features::TextEnv {
                provider: &provider,
                cache_dir: Some(train_run::text_cache_dir(&args.run)),
            };
            crate::data::features::attach_texts(&mut spec, &table, &mut enc, &env)?;
        }
        write_atomic(out, &to_json(&crate::export::feed_json(&spec, &enc))?)?;
        eprintln!("wrote {} encoded rows to {}", enc.len(), out.display());
    }
    Ok(())
}

fn to_json(v: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Config {
        what: "mtrec export".into(),
        message: format!("JSON could not be written ({e}); please report this"),
    })
}

fn report(onnx: &Path, og: &OnnxGraph, bytes: usize, side: &Path) {
    let names = |v: &[crate::export::onnx::ValueInfo]| {
        v.iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "wrote {} ({} nodes, {} initializers, {bytes} bytes; inputs {}; outputs {}) and {}",
        onnx.display(),
        og.nodes.len(),
        og.initializers.len(),
        names(&og.inputs),
        names(&og.outputs),
        side.display()
    );
}

/// `mtrec export --run <seq run>`: the SASRec scorer (`crate::export::seq`).
fn run_seq(args: &ExportArgs, side: &Path) -> Result<()> {
    if args.feed.is_some() {
        return Err(Error::Config {
            what: "--feed".into(),
            message: "applies to mtrec train runs; for an mtrec seq run the input `history` is the user's last items as the model ids of the run's ids.json (see docs/export.md; reference/onnx/check.py builds it): leave --feed out".into(),
        });
    }
    let cfg = crate::train::seq::SeqRunConfig::from_file(&args.run.join("config.toml"), &[])?;
    let text = if ItemInput::parse(&cfg.model.item_input)?.uses_text() {
        Some(item_text_vectors(args, &cfg)?)
    } else {
        None
    };
    let mut loaded = crate::export::seq::load_seq_run(&args.run, text.as_deref())?;
    let beta = crate::recommend::seq::prior_weight(&args.run)?.filter(|&w| w != 0.0);
    match (beta, args.without_prior) {
        (Some(_), false) => {
            let data_dir = super::seq_runs::data_dir(args.data_dir.as_deref(), &args.run)?;
            loaded.prior = crate::export::prior::run_prior(&args.run, &data_dir)?;
            if let Some(p) = &loaded.prior {
                eprintln!(
                    "transition prior: weight {}, rows of {} successors ({} bytes), added to next_item",
                    p.weight,
                    p.k,
                    p.bytes()
                );
            }
        }
        (Some(w), true) => eprintln!(
            "note: --without-prior: next_item is the model's logit alone; mtrec recommend / predict add the run's transition prior (weight {w})"
        ),
        (None, _) => {}
    }
    let og = crate::export::seq::build_seq_graph(&loaded)?;
    let bytes = og.to_model_bytes(env!("CARGO_PKG_VERSION"));
    write_atomic(&args.onnx, &bytes)?;
    write_atomic(
        side,
        &to_json(&crate::export::seq::seq_inputs_json(&loaded))?,
    )?;
    report(&args.onnx, &og, bytes.len(), side);
    Ok(())
}

/// The frozen item text vectors `(V+1, D_text)` of a seq run that reads item text, row 0
/// zero: the run's data read again (checked against its ids.json) and its item texts
/// embedded by its encoder, as `mtrec seq` does (the shared text cache first).
fn item_text_vectors(args: &ExportArgs, cfg: &crate::train::seq::SeqRunConfig) -> Result<Vec<f32>> {
    let data_dir = super::seq_runs::data_dir(args.data_dir.as_deref(), &args.run)?;
    let data = crate::train::seq::load_data(cfg, &data_dir)?;
    if let Some(ids) = crate::data::sequences::IdMaps::read(&args.run)? {
        ids.check(&data, &args.run)?;
    }
    let encoder = train_run::text::resolve_encoder(
        &cfg.model.text_model,
        &data_dir,
        args.models_dir.as_deref(),
    )?;
    let cache = if cfg.model.text_cache.is_empty() {
        crate::text::cache::shared_dir().unwrap_or_else(|| PathBuf::from("runs/text-cache"))
    } else {
        PathBuf::from(&cfg.model.text_cache)
    };
    let m = crate::text::cache::embed_cached(&encoder, &data.item_text[1..], &cache)?; // (V, D_text)
    let mut out = vec![0.0; m.ncols()]; // padding row
    out.extend(m.iter().copied());
    Ok(out)
}
