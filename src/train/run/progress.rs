//! Progress of a long epoch: samples/s and ETA on a terminal, silent otherwise
//! (logs and CI get the one summary line per epoch instead).

use crate::text::progress::styled_bar;
use indicatif::ProgressBar;

/// A bar over the samples of one epoch; hidden when stderr is not a terminal.
pub fn epoch_bar(samples: usize, epoch: usize, epochs: usize, enabled: bool) -> ProgressBar {
    let bar = styled_bar(
        samples as u64,
        "epoch {prefix} [{bar:30}] {pos}/{len} samples  {per_sec}  ETA {eta}",
        enabled,
    );
    bar.set_prefix(format!("{}/{}", epoch + 1, epochs));
    bar
}

/// Peak resident memory of this process in MB (Linux `VmHWM`); 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
