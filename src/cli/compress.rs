//! `mtrec compress`: a trained run folder made smaller and faster to score.
//!
//! ```text
//! mtrec compress --run runs/census_mmoe --int8 --out runs/census_mmoe_int8
//! ```
//! `--int8` writes a new run folder: the run's config, feature spec, data fingerprint and
//! summaries copied, `model.int8.safetensors` (dense weights int8 per output column,
//! embedding tables int8 per row) and `compress.json` (what was quantised and how, model
//! bytes before and after). `eval`, `predict`, `recommend` and `serve` take it as any run
//! folder (see `crate::quant` and docs/compress.md).

use crate::error::{Error, Result};
use crate::train::run::folder::{CACHE_DIR, RUN_FILES};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct CompressArgs {
    /// A run folder written by `mtrec train` (not a `mtrec seq` run, an ensemble or an
    /// already compressed folder).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Post-training int8: dense weights int8 per output column (activations quantised
    /// per row at run time, multiplied by an AVX2 integer kernel), embedding tables int8
    /// per row; biases and norms stay f32 (docs/compress.md).
    #[arg(long)]
    pub int8: bool,
    /// The new run folder to write; it must not exist yet.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Files of the source run that are not copied: its f32 weights and optimiser state.
const NOT_COPIED: &[&str] = &["model.safetensors", "state.safetensors"];

pub fn run(args: &CompressArgs) -> Result<()> {
    let refuse = |message: String| Error::Config {
        what: "mtrec compress".into(),
        message,
    };
    if !args.int8 {
        return Err(refuse(
            "nothing to do: pass --int8 (post-training int8 quantisation)".into(),
        ));
    }
    let run = &args.run;
    if !run.is_dir() || !run.join("config.toml").is_file() {
        return Err(Error::Io {
            path: run.display().to_string(),
            message:
                "is not a run folder (no config.toml); give --run a folder written by mtrec train"
                    .into(),
        });
    }
    if crate::ensemble::is_ensemble(run) {
        return Err(refuse(format!(
            "{} is an ensemble folder; compress its member runs instead",
            run.display()
        )));
    }
    if crate::quant::is_int8(run) {
        return Err(refuse(format!(
            "{} is already compressed (it holds {}); give the original run",
            run.display(),
            crate::quant::INT8_FILE
        )));
    }
    if crate::recommend::seq::is_seq_run(run)? {
        return Err(refuse(format!(
            "{} is a mtrec seq run; int8 covers the multi-task models of mtrec train",
            run.display()
        )));
    }
    if args.out.exists() {
        return Err(Error::Io {
            path: args.out.display().to_string(),
            message: "already exists; give --out a new folder (compress never overwrites)".into(),
        });
    }
    // the model as eval / predict build it, with the run's f32 weights
    let saved = crate::train::run::saved::load_saved(run)?;
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: format!("cannot write the compressed run: {e}"),
    };
    std::fs::create_dir_all(
        args.out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
    .map_err(|e| io(&args.out, e))?;
    std::fs::create_dir(&args.out).map_err(|e| io(&args.out, e))?;
    let written = copy_run(run, &args.out)
        .and_then(|_| crate::quant::write_int8(&saved.store, &args.out, run));
    let report = match written {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&args.out); // we created it: leave nothing half
            return Err(e);
        }
    };
    eprintln!(
        "wrote {}: {} dense weights int8 per column, {} embedding tables int8 per row, {} tensors f32; weights {} → {} bytes ({:.2}× smaller)",
        args.out.display(),
        report.dense_int8.len(),
        report.tables_int8.len(),
        report.f32.len(),
        report.f32_bytes,
        report.int8_bytes,
        report.f32_bytes as f64 / report.int8_bytes.max(1) as f64
    );
    Ok(())
}

/// Copies the run's files (but its weights and optimiser state) and its text cache.
fn copy_run(run: &Path, out: &Path) -> Result<()> {
    for name in RUN_FILES.iter().filter(|n| !NOT_COPIED.contains(n)) {
        let src = run.join(name);
        if src.is_file() {
            std::fs::copy(&src, out.join(name)).map_err(|e| Error::Io {
                path: src.display().to_string(),
                message: format!("cannot copy into {}: {e}", out.display()),
            })?;
        }
    }
    copy_dir(&run.join(CACHE_DIR), &out.join(CACHE_DIR))
}

fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    if !src.is_dir() {
        return Ok(());
    }
    let err = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: format!("cannot copy the text cache: {e}"),
    };
    std::fs::create_dir_all(dst).map_err(|e| err(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| err(src, e))? {
        let entry = entry.map_err(|e| err(src, e))?;
        let p = entry.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(entry.file_name()))?;
        } else if p.is_file() {
            std::fs::copy(&p, dst.join(entry.file_name())).map_err(|e| err(&p, e))?;
        }
    }
    Ok(())
}
