//! Closed-loop load on a server (`examples/loadgen.rs`, `reference/bench_serve.sh`):
//! clients that each send a request, wait for the reply and send the next, and the
//! server's resident memory sampled meanwhile. Loopback only (the [`Client`] refuses
//! any other address).
//!
//! A *level* is `clients` such clients for a fixed time; its result is every latency of
//! a 200 reply (sorted) and the count of errors (any other status, a refused or broken
//! connection). Requests/s = 200 replies / seconds; p50 / p99 are nearest-rank over the
//! sorted latencies.

use super::client::{Repeater, Reply};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The result of one level.
#[derive(Debug, Default)]
pub struct Level {
    /// Latency of every 200 reply, ascending.
    pub latencies: Vec<Duration>,
    /// Replies other than 200, and connections refused or broken.
    pub errors: usize,
}

impl Level {
    /// 200 replies per second over `secs`.
    pub fn per_s(&self, secs: f64) -> f64 {
        self.latencies.len() as f64 / secs
    }

    /// The `p` quantile (0 … 1) of the latencies in ms, nearest rank; NaN if none.
    pub fn pct_ms(&self, p: f64) -> f64 {
        let s = &self.latencies;
        if s.is_empty() {
            return f64::NAN;
        }
        let i = ((s.len() as f64 - 1.0) * p).round() as usize;
        s[i].as_secs_f64() * 1e3
    }
}

/// `clients` closed-loop clients (one keep-alive connection each, reconnecting after a
/// broken one) posting `body` to `path` (a GET when `body` is empty) for `secs`, each
/// with the request's bytes built once ([`Repeater`]).
pub fn run_level(
    addr: SocketAddr,
    token: &str,
    path: &str,
    body: &[u8],
    clients: usize,
    secs: f64,
) -> Level {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let method = if body.is_empty() { "GET" } else { "POST" };
    let results: Vec<Level> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(move || {
                    let mut out = Level::default();
                    let mut conn: Option<Repeater> = None;
                    while Instant::now() < end {
                        let c = match conn.as_mut() {
                            Some(c) => c,
                            None => {
                                match Repeater::connect(addr, Some(token), method, path, body) {
                                    Ok(c) => conn.insert(c),
                                    Err(_) => {
                                        out.errors += 1;
                                        std::thread::sleep(Duration::from_millis(10));
                                        continue;
                                    }
                                }
                            }
                        };
                        let t = Instant::now();
                        match c.send() {
                            Ok(r) if r.status == 200 => out.latencies.push(t.elapsed()),
                            Ok(_) => out.errors += 1,
                            Err(_) => {
                                out.errors += 1;
                                conn = None;
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("a load client panicked"))
            .collect()
    });
    let mut all = Level::default();
    for r in results {
        all.latencies.extend(r.latencies);
        all.errors += r.errors;
    }
    all.latencies.sort();
    all
}

/// VmRSS of process `pid` in MiB (Linux `/proc`), if readable.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// RSS of `pid` (MiB) around and during a piece of work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RssSamples {
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// The largest of start, end and the samples taken every `every` in between.
    pub max: Option<f64>,
    /// How many samples were taken in between.
    pub samples: usize,
}

/// Runs `work` while a thread samples the RSS of `pid` every `every`.
pub fn sampled<T: Send>(
    pid: Option<u32>,
    every: Duration,
    work: impl FnOnce() -> T + Send,
) -> (T, RssSamples) {
    let read = || pid.and_then(rss_mib);
    let start = read();
    let done = AtomicBool::new(false);
    let (out, (max, samples)) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let (mut max, mut n) = (start, 0);
            // sleep in short steps so that the end of `work` is not delayed by `every`
            let mut next = Instant::now() + every;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5).min(every));
                if Instant::now() >= next {
                    next += every;
                    n += 1;
                    if let Some(r) = read() {
                        max = Some(max.map_or(r, |m: f64| m.max(r)));
                    }
                }
            }
            (max, n)
        });
        let out = work();
        done.store(true, Ordering::Relaxed);
        (out, sampler.join().expect("the RSS sampler panicked"))
    });
    let end = read();
    let max = match (max, end) {
        (Some(m), Some(e)) => Some(m.max(e)),
        (m, e) => m.or(e),
    };
    (
        out,
        RssSamples {
            start,
            end,
            max,
            samples,
        },
    )
}

/// Item ids of a candidates file: one per line, blank lines skipped.
pub fn read_ids(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The body of `POST /v1/models/{m}/recommend` for `user`, `candidates`, `k`.
pub fn recommend_body(user: &str, candidates: &[&str], k: usize) -> String {
    json!({ "user": user, "candidates": candidates, "k": k }).to_string()
}

/// Checks a first reply before a load test: a 200, and for a recommend request
/// (`k = Some(K)`) exactly K items and no unknown candidate, so that every request of
/// the test scores every candidate. The reason otherwise.
pub fn check_first(reply: &Reply, k: Option<usize>) -> Result<(), String> {
    if reply.status != 200 {
        return Err(format!(
            "the request is refused: {} {}",
            reply.status,
            reply.text()
        ));
    }
    if let Some(k) = k {
        let v: Value = reply.json();
        let items = v["items"].as_array().map_or(0, Vec::len);
        if items != k {
            return Err(format!(
                "the recommend reply has {items} items, asked for {k}: {}",
                reply.text()
            ));
        }
        if let Some(n) = v.get("unknown_candidates") {
            return Err(format!(
                "{n} candidates are not in the model's catalogue; give ids the catalogue has, so that each request scores them all"
            ));
        }
    }
    Ok(())
}
