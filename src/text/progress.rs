//! Progress and throughput of an encoding run, shared by `mtrec embed` and the run-time
//! embedding of `train` / `eval` / `predict` / `seq` ([`super::cache::embed_cached`]).
//!
//! An indicatif bar on stderr (texts done / total, texts/s, ETA) like the training bars,
//! drawn only when stderr is a terminal and progress is on ([`set_enabled`]: the commands'
//! `--quiet` turns it off); the caller prints the final throughput line either way.
//! [`styled_bar`] is the one bar style of every long command (embedding, training
//! epochs, `mtrec predict`).

use super::encoder::Encoder;
use crate::error::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::Array2;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the encoding progress bar on or off for this process (`--quiet` → off).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A bar over `total` steps drawn on stderr with the indicatif `template`; hidden when
/// `on` is false or stderr is not a terminal (so logs and pipes get no bar).
pub fn styled_bar(total: u64, template: &str, on: bool) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if !on || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// `(N, D)` embeddings of `texts` and the seconds the encoding took, with a progress bar
/// (see the module docs).
pub fn encode_with_bar(
    enc: &Encoder,
    texts: &[&str],
    batch_size: usize,
) -> Result<(Array2<f32>, f64)> {
    let bar = styled_bar(
        texts.len() as u64,
        "embed [{bar:30}] {pos}/{len} texts  {per_sec}  ETA {eta}",
        ENABLED.load(Ordering::Relaxed),
    );
    let t0 = Instant::now();
    let m = enc.encode_with_progress(texts, batch_size, &mut |done, _| {
        bar.set_position(done as u64)
    })?;
    let secs = t0.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok((m, secs))
}
