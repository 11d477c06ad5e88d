//! `mtrec serve`: trained run folders behind HTTP (Open Inference Protocol), see
//! docs/serving.md and [`crate::serve`].

use crate::error::{Error, Result};
use crate::serve::batcher::BatchConfig;
use crate::serve::{Limits, ServeOptions};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A run folder written by `mtrec train` or `mtrec seq` (SASRec: recommend from an
    /// item history only, no /infer), served under the folder's name; or
    /// NAME=DIR to choose the name; or an ensemble folder of `mtrec ensemble` (every
    /// member scores, combined as mtrec predict). Repeat for several models.
    #[arg(long = "run", value_name = "[NAME=]DIR", required = true)]
    pub runs: Vec<String>,
    /// Address to listen on (port 0: any free port; the first stdout line says which).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder of the runs' data files, read once at start by runs whose config.toml has
    /// a [recommend] section (catalogue and history of /v1/models/{name}/recommend)
    /// [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// File holding the bearer token (at least 16 characters) every request but the
    /// health probes must send as `Authorization: Bearer <token>`.
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// A forward pass closes once it holds this many rows (micro-batching).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_batch_rows: usize,
    /// ... or this many milliseconds after its first request arrived. 0 (the default):
    /// no waiting; a pass takes the requests that queued while the previous one ran.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub max_delay_ms: u64,
    /// Requests that may wait per model; one more is answered 503 at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub queue: usize,
    /// Per-request time limit from arrival to reply; past it the reply is 504.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Largest request body; larger bodies are answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// Most rows in one inference request; more is answered 400.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_rows: usize,
    /// Requests in flight at once (being read, checked or scored), over all models;
    /// one more is answered 503. With --max-body-bytes it bounds their memory.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_inflight: usize,
    /// Worker threads of the model's CPU kernels [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Threads answering HTTP (parsing, checking, replies; and scoring a lone small
    /// /infer request inline); 0: one per core. Each thread runs its own event loop and
    /// serves the connections handed to it in turn, so a request never wakes another
    /// thread.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub http_threads: usize,
    /// After writing a reply, an HTTP thread keeps polling its connections for this
    /// many microseconds before it sleeps, so that a client's next request arriving
    /// within the window is picked up without waking the thread (lower latency at few
    /// clients; costs at most this much CPU per reply, only while the thread is idle).
    /// Default 50; 0: off (use 0 where the cores are shared with other busy work,
    /// where it gains nothing). At most 1000.
    #[arg(long, value_name = "US", default_value_t = crate::serve::busy_poll::DEFAULT_US)]
    pub busy_poll_us: u64,
    /// Sleep this long before each forward pass (tests: a slow model).
    #[arg(long, hide = true, value_name = "MS", default_value_t = 0)]
    pub test_delay_ms: u64,
    /// Recommend route: score with the two-tower split of MMoE's first layers (the
    /// default for MMoE runs, as in `mtrec recommend`): each item's part of the experts'
    /// first layer and of the gates is computed once at start, each user's once per
    /// request, so a (user, item) pair costs only the rest of the network. Same lists,
    /// scores to ~1e-6. Given explicitly, a served run with a [recommend] section that
    /// is not MMoE stops the start.
    #[arg(long, conflicts_with = "plain")]
    pub two_tower: bool,
    /// Recommend route: score every (user, item) row through the whole network instead
    /// of the two-tower split that MMoE runs use by default (for comparison).
    #[arg(long)]
    pub plain: bool,
    /// Recommend route: threads answering recommendations at once, each with its own
    /// copy of every recommender (model, catalogue, histories: memory × N).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub recommend_threads: usize,
}

/// `NAME=DIR` or `DIR` (named after its last component).
pub fn parse_run(arg: &str) -> Result<(String, PathBuf)> {
    if let Some((name, dir)) = arg.split_once('=') {
        if !name.is_empty() && !name.contains('/') {
            return Ok((name.to_string(), PathBuf::from(dir)));
        }
    }
    let dir = PathBuf::from(arg);
    let name = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.clone())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::Config {
            what: format!("--run {arg}"),
            message: "has no folder name to serve it under; expected --run NAME=DIR".into(),
        })?;
    Ok((name, dir))
}

pub fn run(args: &ServeArgs) -> Result<()> {
    if args.busy_poll_us > crate::serve::busy_poll::MAX_US {
        return Err(Error::Config {
            what: "--busy-poll-us".into(),
            message: format!(
                "is {}; expected 0 (off) to {} microseconds: a longer window spins more CPU than a wake-up costs",
                args.busy_poll_us,
                crate::serve::busy_poll::MAX_US
            ),
        });
    }
    let positive = |v: usize, flag: &str| {
        if v == 0 {
            Err(Error::Config {
                what: flag.to_string(),
                message: "is 0; expected at least 1".into(),
            })
        } else {
            Ok(v)
        }
    };
    let opts = ServeOptions {
        runs: args
            .runs
            .iter()
            .map(|r| parse_run(r))
            .collect::<Result<_>>()?,
        addr: args.addr,
        token: crate::serve::auth::read_token(&args.token_file)?,
        limits: Limits {
            max_body_bytes: positive(args.max_body_bytes, "--max-body-bytes")?,
            max_rows: positive(args.max_rows, "--max-rows")?,
            timeout: Duration::from_millis(
                positive(args.timeout_ms as usize, "--timeout-ms")? as u64
            ),
            max_inflight: positive(args.max_inflight, "--max-inflight")?,
        },
        batch: BatchConfig {
            max_batch_rows: positive(args.max_batch_rows, "--max-batch-rows")?,
            max_delay: Duration::from_millis(args.max_delay_ms),
            queue: positive(args.queue, "--queue")?,
            test_delay: Duration::from_millis(args.test_delay_ms),
        },
        recommend: None, // below, once the thread pool is set
    };
    if let Some(t) = args.threads {
        super::thread_pool(Some(t))?; // checks t ≥ 1
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| Error::Config {
                what: "--threads".into(),
                message: format!("could not start the thread pool: {e}"),
            })?;
    }
    // the lists of /v1/models/{name}/recommend (runs with a [recommend] section)
    let data_dir = super::train::data_dir(args.data_dir.clone());
    let mut opts = opts;
    opts.recommend = Some(std::sync::Arc::new(crate::serve::lists::hook(
        opts.runs.clone(),
        data_dir,
        crate::recommend::Scoring::from_flags(args.two_tower, args.plain),
        positive(args.recommend_threads, "--recommend-threads")?,
    )?));
    let http = crate::serve::http::HttpConfig {
        threads: args.http_threads,
        busy_poll: Duration::from_micros(args.busy_poll_us),
    };
    crate::serve::serve_on(opts, http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_folder_or_by_name_equals() {
        assert_eq!(
            parse_run("m=runs/a").unwrap(),
            ("m".into(), PathBuf::from("runs/a"))
        );
        assert_eq!(parse_run("runs/census_mmoe").unwrap().0, "census_mmoe");
        assert_eq!(parse_run("runs/census_mmoe/").unwrap().0, "census_mmoe");
        // a path holding `=` after a slash is a folder, not a name
        assert_eq!(
            parse_run("runs/x=1").unwrap(),
            ("x=1".into(), PathBuf::from("runs/x=1"))
        );
    }
}
