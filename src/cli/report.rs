//! `mtrec report`: run folders in, one self-contained HTML page out (see `crate::report`
//! and docs/report.md).
//!
//! ```text
//! mtrec report runs/census_mmoe [runs/census_ple ...] --output report.html
//! mtrec report runs/tune-census --output tune.html
//! ```

use crate::error::Result;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Run folders written by `mtrec train` or `mtrec seq`; two or more are compared
    /// (overlaid curves, final metrics with the best marked, config keys that differ).
    /// A search folder of `mtrec tune` (given alone) gets the search's page: leaderboard
    /// with the best marked, objective per trial and per searched key, the best trial's
    /// test metrics beside the preset's, and the top trials' curves.
    #[arg(value_name = "RUN", required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// The HTML file to write (replaced atomically).
    #[arg(long, short, value_name = "FILE", default_value = "report.html")]
    pub output: PathBuf,
}

pub fn run(args: &ReportArgs) -> Result<()> {
    let dirs: Vec<&Path> = args.runs.iter().map(PathBuf::as_path).collect();
    crate::report::write_report(&dirs, &args.output)?;
    eprintln!("report: {}", args.output.display());
    Ok(())
}
