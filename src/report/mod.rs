//! `mtrec report`: one self-contained HTML page of one or more run folders.
//!
//! ```text
//! run folder(s) → load (what is there, notes on what is not) → series per epoch
//!              → inline SVG charts + tables → report.html (atomic rename)
//! ```
//! One run: overview (command line, version, commit, machine, threads, wall time,
//! samples/s), the early-stopping decision, final metrics, per-task loss and validation
//! curves with the best epoch marked, learning rate, balancer task weights, gate heat
//! maps, task-gradient cosines, the resolved config. Several runs: overlaid curves, the
//! final metrics side by side with the best per metric marked, the config keys that
//! differ, then each run. No script, no network: it opens offline in any browser.

pub mod compare;
pub mod html;
pub mod load;
pub mod scatter;
pub mod sections;
pub mod series;
pub mod svg;
pub mod tune_load;
pub mod tune_page;
pub mod tune_plots;

pub use load::{load_run, Run};

use crate::error::{Error, Result};
use html::esc;
use std::fmt::Write;
use std::path::Path;

/// The run folder's record of who ran it (see `train::run::info`).
pub const RUN_INFO: &str = crate::train::run::info::RUN_INFO;

/// The file `mtrec train --report` rewrites in the run folder.
pub const REPORT_FILE: &str = "report.html";

/// The page of `runs` (already loaded).
pub fn render(runs: &[Run]) -> String {
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let title = format!("mtrec report: {}", names.join(", "));
    let mut body = format!("<h1>{}</h1>", esc(&title));
    if runs.len() > 1 {
        body.push_str(&compare::comparison(runs));
    }
    for r in runs {
        let _ = write!(
            body,
            r#"<section class="run"><h2>Run {}</h2>{}</section>"#,
            esc(&r.name),
            sections::run_section(r)
        );
    }
    body.push_str(&format!(
        "<footer><p>Written by mtrec {} (commit {}).</p></footer>",
        env!("CARGO_PKG_VERSION"),
        env!("MTREC_COMMIT")
    ));
    html::page(&title, &body)
}

/// Loads the folders `dirs` and writes their page to `output` atomically (a reader sees
/// the old page or the new one, never half of one).
pub fn write_report(dirs: &[&Path], output: &Path) -> Result<()> {
    if dirs.is_empty() {
        return Err(Error::Config {
            what: "mtrec report".into(),
            message: "give at least one run folder".into(),
        });
    }
    if let Some(t) = dirs.iter().find(|dir| tune_load::is_tune_folder(dir)) {
        if dirs.len() > 1 {
            return Err(Error::Config {
                what: "mtrec report".into(),
                message: format!(
                    "{} is a search folder (mtrec tune); give it alone for its page (the best trials' curves are on it), or give run folders (e.g. its trial-NNN folders) to compare",
                    t.display()
                ),
            });
        }
        let tune = tune_load::load_tune(t)?;
        let out_dir = output.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        });
        return write_atomic(output, &tune_page::render_tune(&tune, out_dir));
    }
    let runs = dirs
        .iter()
        .map(|dir| load_run(dir))
        .collect::<Result<Vec<_>>>()?;
    write_atomic(output, &render(&runs))
}

/// `<run>/report.html` of the run alone (`--report` of `mtrec train` and `mtrec seq`).
pub fn write_run_report(run: &Path) -> Result<()> {
    write_report(&[run], &run.join(REPORT_FILE))
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}
