//! Closed-loop load generator for `mtrec serve` (or any server speaking the same JSON,
//! e.g. `reference/serve/server.py`), on loopback only.
//!
//! For each concurrency level, that many clients (one keep-alive connection each) send
//! a request, wait for the reply and send the next, for `--seconds`; the report gives
//! requests/s, p50 / p99 latency, errors (any reply but 200, or a broken connection) and
//! the server's resident memory (VmRSS) before and after the level.
//!
//! ```text
//! cargo build --release --examples
//! target/release/examples/loadgen --run runs/census_mmoe --levels 1,8,64 --seconds 5
//! target/release/examples/loadgen --addr 127.0.0.1:8080 --token-file token --model m --pid 1234
//! target/release/examples/loadgen --addr 127.0.0.1:8080 --token-file token --model ml --pid 1234 \
//!     --route recommend --user 196 --candidates items.txt --k 10 --soak 300 --soak-clients 8
//! ```
//!
//! `--run DIR` starts `target/release/mtrec serve` on 127.0.0.1:0 itself (with a fresh
//! token) and stops it at the end. `--route infer` (default) posts to
//! `/v2/models/{m}/infer` the body `--body FILE`, or `--rows N` rows made from the
//! model's metadata: "1" for every BYTES input (an unknown category costs what a known
//! one does) and 0.5 for every FP32 one. `--route recommend` posts to
//! `/v1/models/{m}/recommend` `{"user": U, "candidates": [the ids of --candidates FILE,
//! one per line], "k": K}` (or `--body FILE`); a first reply that is not a 200 with K
//! items, or that counts unknown candidates, stops it (every candidate must be scored).
//!
//! `--levels none` runs no level. `--soak SECS` then runs `--soak-clients` clients (default 8) for SECS more, sampling
//! the server's RSS every `--sample-secs` (default 1): start, end and max. `--json FILE`
//! appends one JSON object per level and soak (for reference/bench_serve.sh), tagged
//! with `--label`.

use mtrec::serve::client::{once, Client};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    run: Option<PathBuf>,
    addr: Option<SocketAddr>,
    token_file: Option<PathBuf>,
    model: Option<String>,
    pid: Option<u32>,
    body: Option<PathBuf>,
    rows: usize,
    route: String,
    user: String,
    candidates: Option<PathBuf>,
    k: usize,
    levels: Vec<usize>,
    seconds: f64,
    soak: f64,
    soak_clients: usize,
    sample_secs: f64,
    json: Option<PathBuf>,
    label: String,
    bin: PathBuf,
    serve_args: Vec<String>,
}

fn usage(msg: &str) -> ! {
    eprintln!("loadgen: {msg}\nusage: loadgen (--run DIR | --addr IP:PORT --token-file F --model NAME [--pid PID])\n       [--route infer|recommend] [--body FILE | --rows N | --user ID --candidates FILE --k K]\n       [--levels 1,8,64] [--seconds 5] [--soak SECS --soak-clients 8 --sample-secs 1]\n       [--json FILE --label NAME] [--bin target/release/mtrec] [--serve-arg ARG]...");
    std::process::exit(2)
}

fn bad<T>(flag: &str) -> T {
    usage(&format!("bad value for {flag}"))
}

fn parse() -> Args {
    let mut a = Args {
        run: None,
        addr: None,
        token_file: None,
        model: None,
        pid: None,
        body: None,
        rows: 1,
        route: "infer".into(),
        user: "1".into(),
        candidates: None,
        k: 10,
        levels: vec![1, 8, 64],
        seconds: 5.0,
        soak: 0.0,
        soak_clients: 8,
        sample_secs: 1.0,
        json: None,
        label: "server".into(),
        bin: PathBuf::from("target/release/mtrec"),
        serve_args: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut v = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--run" => a.run = Some(v().into()),
            "--addr" => a.addr = Some(v().parse().unwrap_or_else(|_| bad("--addr"))),
            "--token-file" => a.token_file = Some(v().into()),
            "--model" => a.model = Some(v()),
            "--pid" => a.pid = Some(v().parse().unwrap_or_else(|_| bad("--pid"))),
            "--body" => a.body = Some(v().into()),
            "--rows" => a.rows = v().parse().unwrap_or_else(|_| bad("--rows")),
            "--route" => {
                a.route = v();
                if a.route != "infer" && a.route != "recommend" {
                    usage("--route is `infer` or `recommend`")
                }
            }
            "--user" => a.user = v(),
            "--candidates" => a.candidates = Some(v().into()),
            "--k" => a.k = v().parse().unwrap_or_else(|_| bad("--k")),
            "--levels" => {
                // "" or "none": no levels (e.g. only a --soak)
                a.levels = v()
                    .split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty() && *x != "none")
                    .map(|x| x.parse().unwrap_or_else(|_| bad("--levels")))
                    .collect()
            }
            "--seconds" => a.seconds = v().parse().unwrap_or_else(|_| bad("--seconds")),
            "--soak" => a.soak = v().parse().unwrap_or_else(|_| bad("--soak")),
            "--soak-clients" => {
                a.soak_clients = v().parse().unwrap_or_else(|_| bad("--soak-clients"))
            }
            "--sample-secs" => a.sample_secs = v().parse().unwrap_or_else(|_| bad("--sample-secs")),
            "--json" => a.json = Some(v().into()),
            "--label" => a.label = v(),
            "--bin" => a.bin = v().into(),
            "--serve-arg" => a.serve_args.push(v()),
            "--help" | "-h" => usage("closed-loop load on a local mtrec serve"),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if a.sample_secs <= 0.0 || a.seconds <= 0.0 || a.soak < 0.0 {
        usage("--seconds and --sample-secs must be > 0, --soak ≥ 0")
    }
    a
}

/// VmRSS of `pid` in MiB (Linux), if readable.
fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
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

fn body_from_metadata(addr: SocketAddr, token: &str, model: &str, rows: usize) -> String {
    let meta = once(
        addr,
        Some(token),
        "GET",
        &format!("/v2/models/{model}"),
        None,
    )
    .unwrap_or_else(|e| usage(&format!("metadata: {e}")));
    if meta.status != 200 {
        usage(&format!("metadata: {} {}", meta.status, meta.text()));
    }
    let inputs: Vec<Value> = meta.json()["inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            let data = if i["datatype"] == "FP32" {
                json!(vec![0.5; rows])
            } else {
                json!(vec!["1"; rows])
            };
            json!({ "name": i["name"], "shape": [rows], "datatype": i["datatype"], "data": data })
        })
        .collect();
    json!({ "inputs": inputs }).to_string()
}

/// The recommend request: `user`, the ids of `file` (one per line, blank lines
/// skipped) as `candidates`, `k`.
fn recommend_body(user: &str, file: &std::path::Path, k: usize) -> (String, usize) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| usage(&format!("{}: {e}", file.display())));
    let ids: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if ids.is_empty() {
        usage(&format!("{}: no candidate ids", file.display()))
    }
    let n = ids.len();
    (
        json!({ "user": user, "candidates": ids, "k": k }).to_string(),
        n,
    )
}

/// Stops unless the first reply is a 200 that did all the work asked for.
fn check_first(reply: &mtrec::serve::client::Reply, route: &str, k: usize) {
    if reply.status != 200 {
        usage(&format!(
            "the request body is refused: {} {}",
            reply.status,
            reply.text()
        ));
    }
    if route == "recommend" {
        let v = reply.json();
        let items = v["items"].as_array().map_or(0, Vec::len);
        if items != k || v.get("unknown_candidates").is_some() {
            usage(&format!(
                "the recommend reply has {items} items (asked for {k}) or unknown candidates: {}",
                reply.text()
            ));
        }
    }
}

struct Level {
    latencies: Vec<Duration>,
    errors: usize,
}

fn run_level(
    addr: SocketAddr,
    token: &str,
    path: &str,
    body: &[u8],
    clients: usize,
    secs: f64,
) -> Level {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let results: Vec<Level> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(move || {
                    let mut out = Level {
                        latencies: Vec::new(),
                        errors: 0,
                    };
                    let mut conn: Option<Client> = None;
                    while Instant::now() < end {
                        let c = match conn.as_mut() {
                            Some(c) => c,
                            None => match Client::connect(addr, Some(token)) {
                                Ok(c) => conn.insert(c),
                                Err(_) => {
                                    out.errors += 1;
                                    std::thread::sleep(Duration::from_millis(10));
                                    continue;
                                }
                            },
                        };
                        let t = Instant::now();
                        match c.post(path, body) {
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
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Level {
        latencies: Vec::new(),
        errors: 0,
    };
    for r in results {
        all.latencies.extend(r.latencies);
        all.errors += r.errors;
    }
    all.latencies.sort();
    all
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// RSS samples taken every `every` while `work` runs: (start, end, max).
fn sampled<T>(
    pid: Option<u32>,
    every: f64,
    work: impl FnOnce() -> T + Send,
) -> (T, [Option<f64>; 3])
where
    T: Send,
{
    let start = rss_mib(pid);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (out, max) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut max = start;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs_f64(every));
                if let Some(r) = rss_mib(pid) {
                    max = Some(max.map_or(r, |m: f64| m.max(r)));
                }
            }
            max
        });
        let out = work();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (out, sampler.join().unwrap())
    });
    let end = rss_mib(pid);
    let max = match (max, end) {
        (Some(m), Some(e)) => Some(m.max(e)),
        (m, e) => m.or(e),
    };
    (out, [start, end, max])
}

fn fmt(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |v| format!("{v:.1}"))
}

#[allow(clippy::too_many_arguments)]
fn record(
    a: &Args,
    kind: &str,
    clients: usize,
    secs: f64,
    l: &Level,
    rss: [Option<f64>; 3],
    extra: &Value,
) {
    let Some(path) = &a.json else { return };
    let v = json!({
        "label": a.label, "route": a.route, "kind": kind, "clients": clients,
        "seconds": secs, "requests": l.latencies.len(),
        "requests_per_s": l.latencies.len() as f64 / secs,
        "p50_ms": pct(&l.latencies, 0.5), "p99_ms": pct(&l.latencies, 0.99),
        "errors": l.errors, "rss_start_mib": rss[0], "rss_end_mib": rss[1],
        "rss_max_mib": rss[2], "request": extra,
    });
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| usage(&format!("{}: {e}", path.display())));
    writeln!(f, "{v}").unwrap_or_else(|e| usage(&format!("{}: {e}", path.display())));
}

fn main() {
    let a = parse();
    let mut child = None;
    let (addr, token, model, pid) = if let Some(run) = &a.run {
        let token = format!(
            "loadgen-{:x}",
            std::process::id() as u64 * 0x9e37_79b9_7f4a_7c15
        );
        let token_file =
            std::env::temp_dir().join(format!("mtrec-loadgen-token-{}", std::process::id()));
        std::fs::write(&token_file, &token).unwrap();
        let model = "m".to_string();
        let mut c = Command::new(&a.bin)
            .args(["serve", "--addr", "127.0.0.1:0", "--run"])
            .arg(format!("{model}={}", run.display()))
            .arg("--token-file")
            .arg(&token_file)
            .args(&a.serve_args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| usage(&format!("cannot start {}: {e}", a.bin.display())));
        let mut line = String::new();
        std::io::BufReader::new(c.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| usage(&format!("server did not start: {line:?}")));
        let pid = c.id();
        child = Some(c);
        (addr, token, model, Some(pid))
    } else {
        let addr = a.addr.unwrap_or_else(|| usage("give --run or --addr"));
        let tf = a
            .token_file
            .as_ref()
            .unwrap_or_else(|| usage("--addr needs --token-file"));
        let token = std::fs::read_to_string(tf)
            .unwrap_or_else(|e| usage(&format!("{}: {e}", tf.display())));
        let model = a
            .model
            .clone()
            .unwrap_or_else(|| usage("--addr needs --model"));
        (addr, token.trim().to_string(), model, a.pid)
    };
    let recommend = a.route == "recommend";
    let (body, extra) = match (&a.body, recommend, &a.candidates) {
        (Some(f), _, _) => (
            std::fs::read_to_string(f).unwrap_or_else(|e| usage(&format!("{}: {e}", f.display()))),
            json!({ "body": f.display().to_string() }),
        ),
        (None, false, _) => (
            body_from_metadata(addr, &token, &model, a.rows),
            json!({ "rows": a.rows }),
        ),
        (None, true, Some(file)) => {
            let (b, n) = recommend_body(&a.user, file, a.k);
            (b, json!({ "user": a.user, "candidates": n, "k": a.k }))
        }
        (None, true, None) => usage("--route recommend needs --candidates FILE (or --body FILE)"),
    };
    let path = if recommend {
        format!("/v1/models/{model}/recommend")
    } else {
        format!("/v2/models/{model}/infer")
    };
    let check = once(addr, Some(&token), "POST", &path, Some(body.as_bytes()))
        .unwrap_or_else(|e| usage(&format!("first request: {e}")));
    check_first(&check, &a.route, a.k);
    println!("{} {path} {extra}", a.label);
    println!("| clients | requests | requests/s | p50 ms | p99 ms | errors | server RSS MiB start → end |");
    println!("|---:|---:|---:|---:|---:|---:|---|");
    for &clients in &a.levels {
        let before = rss_mib(pid);
        let l = run_level(addr, &token, &path, body.as_bytes(), clients, a.seconds);
        let after = rss_mib(pid);
        println!(
            "| {clients} | {} | {:.0} | {:.2} | {:.2} | {} | {} → {} |",
            l.latencies.len(),
            l.latencies.len() as f64 / a.seconds,
            pct(&l.latencies, 0.5),
            pct(&l.latencies, 0.99),
            l.errors,
            fmt(before),
            fmt(after)
        );
        record(
            &a,
            "level",
            clients,
            a.seconds,
            &l,
            [before, after, None],
            &extra,
        );
    }
    if a.soak > 0.0 {
        let (l, rss) = sampled(pid, a.sample_secs, || {
            run_level(addr, &token, &path, body.as_bytes(), a.soak_clients, a.soak)
        });
        println!(
            "soak: {} clients for {} s: {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors; server RSS MiB start {}, end {}, max {}",
            a.soak_clients,
            a.soak,
            l.latencies.len(),
            l.latencies.len() as f64 / a.soak,
            pct(&l.latencies, 0.5),
            pct(&l.latencies, 0.99),
            l.errors,
            fmt(rss[0]),
            fmt(rss[1]),
            fmt(rss[2])
        );
        record(&a, "soak", a.soak_clients, a.soak, &l, rss, &extra);
    }
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
}
