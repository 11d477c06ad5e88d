//! Closed-loop load generator for `mtrec serve`, on loopback only.
//!
//! For each concurrency level, that many clients (one keep-alive connection each) send
//! an inference request, wait for the reply and send the next, for `--seconds`; the
//! report gives requests/s, p50 / p99 latency, errors (any reply but 200, or a broken
//! connection) and the server's resident memory (VmRSS) before and after the level.
//!
//! ```text
//! cargo build --release --examples
//! target/release/examples/loadgen --run runs/census_mmoe --levels 1,8,64 --seconds 5
//! target/release/examples/loadgen --addr 127.0.0.1:8080 --token-file token --model m --pid 1234
//! ```
//!
//! `--run DIR` starts `target/release/mtrec serve` on 127.0.0.1:0 itself (with a fresh
//! token) and stops it at the end. The request body is `--body FILE` (an inference
//! request), or `--rows N` rows made from the model's metadata: "1" for every BYTES
//! input (an unknown category costs what a known one does) and 0.5 for every FP32 one.

use mtrec::serve::client::{once, Client};
use std::io::BufRead;
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
    levels: Vec<usize>,
    seconds: f64,
    bin: PathBuf,
    serve_args: Vec<String>,
}

fn usage(msg: &str) -> ! {
    eprintln!("loadgen: {msg}\nusage: loadgen (--run DIR | --addr IP:PORT --token-file F --model NAME [--pid PID])\n       [--body FILE | --rows N] [--levels 1,8,64] [--seconds 5] [--bin target/release/mtrec]\n       [--serve-arg ARG]...");
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
        levels: vec![1, 8, 64],
        seconds: 5.0,
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
            "--levels" => {
                a.levels = v()
                    .split(',')
                    .map(|x| x.trim().parse().unwrap_or_else(|_| bad("--levels")))
                    .collect()
            }
            "--seconds" => a.seconds = v().parse().unwrap_or_else(|_| bad("--seconds")),
            "--bin" => a.bin = v().into(),
            "--serve-arg" => a.serve_args.push(v()),
            "--help" | "-h" => usage("closed-loop load on a local mtrec serve"),
            other => usage(&format!("unknown flag {other}")),
        }
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
    let inputs: Vec<serde_json::Value> = meta.json()["inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            let data = if i["datatype"] == "FP32" {
                serde_json::json!(vec![0.5; rows])
            } else {
                serde_json::json!(vec!["1"; rows])
            };
            serde_json::json!({ "name": i["name"], "shape": [rows], "datatype": i["datatype"], "data": data })
        })
        .collect();
    serde_json::json!({ "inputs": inputs }).to_string()
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
    let body = match &a.body {
        Some(f) => {
            std::fs::read_to_string(f).unwrap_or_else(|e| usage(&format!("{}: {e}", f.display())))
        }
        None => body_from_metadata(addr, &token, &model, a.rows),
    };
    let path = format!("/v2/models/{model}/infer");
    let check = once(addr, Some(&token), "POST", &path, Some(body.as_bytes())).unwrap();
    if check.status != 200 {
        usage(&format!(
            "the request body is refused: {} {}",
            check.status,
            check.text()
        ));
    }
    println!("| clients | requests | requests/s | p50 ms | p99 ms | errors | server RSS MiB start → end |");
    println!("|---:|---:|---:|---:|---:|---:|---|");
    for &clients in &a.levels {
        let before = rss_mib(pid);
        let l = run_level(addr, &token, &path, body.as_bytes(), clients, a.seconds);
        let after = rss_mib(pid);
        let fmt = |r: Option<f64>| r.map_or("n/a".into(), |v| format!("{v:.1}"));
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
    }
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
}
