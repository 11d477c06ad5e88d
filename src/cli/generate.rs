//! `mtrec gen aliexpress`: writes AliExpress-shaped CSV of any size for scale
//! benchmarks (src/data/gen_aliexpress.rs says what the data looks like).
//!
//! A subcommand rather than an example binary: it ships in the one binary the
//! benchmark scripts already call, needs no `cargo run --example` (so no source tree),
//! and shares the thread pool and error reporting of the other commands.

use crate::error::Result;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `mtrec gen ...`
#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(subcommand)]
    pub what: GenWhat,
}

/// The data sets `mtrec gen` can write.
#[derive(Debug, Subcommand)]
pub enum GenWhat {
    /// The AliExpress (MTReclib) layout: search_id, categorical_1..16 (Zipf ids, up to
    /// 10^6 values), numerical_1..63, click, conversion (labels that depend on the
    /// features). Deterministic for (--rows, --seed) at any thread count.
    Aliexpress(AliexpressArgs),
}

/// `mtrec gen aliexpress`.
#[derive(Debug, Args)]
pub struct AliexpressArgs {
    /// Number of data rows (the header line is extra).
    #[arg(long)]
    pub rows: u64,
    /// The file to write; a name ending in `.gz` is gzip-compressed. Written under a
    /// `.partial` name and renamed when complete.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of every random draw: the same (rows, seed) gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: one per core); the output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `mtrec gen`; prints one JSON line: rows, bytes of CSV text, seconds, MB/s.
pub fn run(args: &GenArgs) -> Result<()> {
    match &args.what {
        GenWhat::Aliexpress(a) => super::in_pool(a.threads, || {
            let start = std::time::Instant::now();
            let w = crate::data::gen_aliexpress::generate(a.rows, a.seed, &a.out)?;
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "out": a.out.display().to_string(),
                    "rows": w.rows,
                    "csv_bytes": w.text_bytes,
                    "seconds": secs,
                    "csv_mb_per_s": w.text_bytes as f64 / 1e6 / secs.max(1e-9),
                })
            );
            Ok(())
        }),
    }
}
