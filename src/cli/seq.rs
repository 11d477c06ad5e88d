//! `mtrec seq`: train and test a sequence model (SASRec with multi-task heads) on a
//! leave-last-out split; prints the test metrics and writes a run folder.
//!
//! ```text
//! mtrec seq --config configs/beauty_sasrec.toml [--quick] [--set model.item_input=text+id]
//! ```

use crate::data::sequences::leave_last_out;
use crate::error::Result;
use crate::models::sasrec::ItemInput;
use crate::train::run::text::resolve_encoder;
use crate::train::seq::text::{item_text_vectors, text_cache_dir};
use crate::train::seq::{fit, load_data, SeqFitOptions, SeqInputs, SeqRunConfig};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct SeqArgs {
    /// The run config (TOML; see configs/beauty_sasrec.toml and docs/sequences.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Folder holding the data sets [default: $MTREC_DATA, then ../shared/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders, searched first for `model.text_model`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// The run folder to write [default: runs/<config name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override a config value, e.g. --set model.item_input=text+id --set train.epochs=5.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Train train.quick_epochs epochs (a few minutes on two cores).
    #[arg(long)]
    pub quick: bool,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar and no per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
    /// Rewrite <out>/report.html (atomically) after every epoch and at the end: open it
    /// in a browser and reload to watch the run (the page of `mtrec report <out>`).
    #[arg(long)]
    pub report: bool,
}

fn dir_or(flag: &Option<PathBuf>, env: &str, default: &str) -> PathBuf {
    flag.clone()
        .or_else(|| std::env::var_os(env).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(default))
}

pub fn run(args: &SeqArgs) -> Result<()> {
    crate::text::progress::set_enabled(!args.quiet); // the item-text embedding's bar
    let cfg = SeqRunConfig::from_file(&args.config, &args.set)?;
    // the whole command runs on a worker of its own pool: parallel regions then fork
    // from inside the pool instead of handing work over from the main thread
    super::in_pool(args.threads, || {
        let data_dir = dir_or(&args.data_dir, "MTREC_DATA", "../shared/data");
        let out = args.out.clone().unwrap_or_else(|| {
            let stem = args
                .config
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned());
            PathBuf::from("runs").join(stem.unwrap_or_else(|| "seq".into()))
        });
        let data = load_data(&cfg, &data_dir)?;
        let split = leave_last_out(&data)?;
        if !args.quiet {
            eprintln!(
                "{}: {} users, {} items, {} interactions; {} users with < 3 interactions train only",
                data.name,
                data.seqs.len(),
                data.num_items,
                data.num_interactions(),
                split.short_users
            );
        }
        let text = if ItemInput::parse(&cfg.model.item_input)?.uses_text() {
            Some(item_text_vectors(
                &data,
                &resolve_encoder(&cfg.model.text_model, &data_dir, args.models_dir.as_deref())?,
                &text_cache_dir(&cfg.model.text_cache),
            )?)
        } else {
            None
        };
        let inputs = SeqInputs {
            data: &data,
            split: &split,
            text: text.as_ref().map(|(v, _)| v.as_slice()),
            text_dim: text.as_ref().map_or(0, |(_, width)| *width),
        };
        let opts = SeqFitOptions {
            out: Some(out.clone()),
            quick: args.quick,
            progress: !args.quiet,
            log: !args.quiet,
            data_dir: Some(data_dir.clone()),
            after_epoch: args
                .report
                .then_some(crate::report::write_run_report as fn(&Path) -> Result<()>),
            ..SeqFitOptions::default()
        };
        let fitted = fit(&cfg, &inputs, &opts)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&fitted.summary).unwrap_or_default()
        );
        eprintln!("run folder: {}", out.display());
        Ok(())
    })
}
