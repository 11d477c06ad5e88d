//! `mtrec export`: a run folder's model as an ONNX file (see `crate::export` and
//! docs/export.md).
//!
//! ```text
//! mtrec export --run runs/census_mmoe --onnx mmoe.onnx      # + mmoe.inputs.json
//! mtrec export --run runs/census_mmoe --onnx mmoe.onnx --feed test.csv --feed-out feed.json
//! ```

use super::output::{check_output, write_atomic};
use crate::config::BadRows;
use crate::data::loaders::load_table;
use crate::error::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A run folder written by `mtrec train` (any architecture; runs with text features
    /// and `mtrec seq` runs are refused).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The ONNX file to write (IR 8, opset 13). Its inputs are the encoded features, one
    /// per feature column (ids int64, numerics float after the run's scaling); its
    /// outputs one per task (probability or value, as `mtrec predict`). Beside it,
    /// `<name>.inputs.json` describes how to encode each input.
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
    /// [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
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
    let loaded = crate::export::load_run(&args.run)?;
    let og = crate::export::build_graph(&loaded)?;
    let bytes = og.to_model_bytes(env!("CARGO_PKG_VERSION"));
    let meta = crate::export::inputs_json(&loaded.spec, &loaded.cfg.tasks)?;
    let json = |v: &serde_json::Value| {
        serde_json::to_vec_pretty(v).map_err(|e| Error::Config {
            what: "mtrec export".into(),
            message: format!("JSON could not be written ({e}); please report this"),
        })
    };
    write_atomic(&args.onnx, &bytes)?;
    write_atomic(&side, &json(&meta)?)?;
    eprintln!(
        "wrote {} ({} nodes, {} initializers, {} bytes; inputs {}; outputs {}) and {}",
        args.onnx.display(),
        og.nodes.len(),
        og.initializers.len(),
        bytes.len(),
        og.inputs
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        og.outputs
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        side.display()
    );
    if let (Some(feed), Some(out)) = (&args.feed, &args.feed_out) {
        let mut cfg = loaded.cfg.clone();
        cfg.data.files = vec![feed.display().to_string()];
        cfg.data.dedup = false;
        cfg.data.bad_rows = BadRows::Error;
        let side_dir = super::train::data_dir(args.data_dir.clone());
        for j in &mut cfg.data.join {
            j.file = side_dir.join(&j.file).display().to_string();
        }
        let needed: Vec<&str> = cfg.features.iter().map(|f| f.name.as_str()).collect();
        let table = load_table(&cfg.data, Path::new("."), &needed)?;
        let enc = loaded.spec.encode(&table)?;
        write_atomic(out, &json(&crate::export::feed_json(&loaded.spec, &enc))?)?;
        eprintln!("wrote {} encoded rows to {}", enc.len(), out.display());
    }
    Ok(())
}
