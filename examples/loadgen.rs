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
//! `--route health` GETs `/v2/health/live` (no body, no model): the floor of one
//! request's round trip (loopback, HTTP, the server's routing) without any work.
//!
//! Each client sends the same request bytes, built once, and reads each reply into one
//! reused buffer (`serve::client::Repeater`), so the load generator's own share of the
//! cores is small and the same for every server measured.
//!
//! `--levels none` runs no level. `--soak SECS` then runs `--soak-clients` clients (default 8) for SECS more, sampling
//! the server's RSS every `--sample-secs` (default 1): start, end and max. `--json FILE`
//! appends one JSON object per level and soak (for reference/bench_serve.sh), tagged
//! with `--label`.

use mtrec::serve::client::once;
use mtrec::serve::load::{
    check_first, read_ids, recommend_body, run_level, sampled, Level, RssSamples,
};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
    eprintln!("loadgen: {msg}\nusage: loadgen (--run DIR | --addr IP:PORT --token-file F --model NAME [--pid PID])\n       [--route infer|recommend|health] [--body FILE | --rows N | --user ID --candidates FILE --k K]\n       [--levels 1,8,64] [--seconds 5] [--soak SECS --soak-clients 8 --sample-secs 1]\n       [--json FILE --label NAME] [--bin target/release/mtrec] [--serve-arg ARG]...");
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
                if !matches!(a.route.as_str(), "infer" | "recommend" | "health") {
                    usage("--route is `infer`, `recommend` or `health`")
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

fn rss_mib(pid: Option<u32>) -> Option<f64> {
    pid.and_then(mtrec::serve::load::rss_mib)
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

fn fmt(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |v| format!("{v:.1}"))
}

fn record(
    a: &Args,
    kind: &str,
    clients: usize,
    secs: f64,
    l: &Level,
    rss: RssSamples,
    extra: &Value,
) {
    let Some(path) = &a.json else { return };
    let v = json!({
        "label": a.label, "route": a.route, "kind": kind, "clients": clients,
        "seconds": secs, "requests": l.latencies.len(),
        "requests_per_s": l.per_s(secs), "p50_ms": l.pct_ms(0.5), "p99_ms": l.pct_ms(0.99),
        "errors": l.errors, "rss_start_mib": rss.start, "rss_end_mib": rss.end,
        "rss_max_mib": rss.max, "rss_samples": rss.samples, "request": extra,
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
    let health = a.route == "health";
    let (body, extra) = match (&a.body, recommend, &a.candidates) {
        _ if health => (String::new(), json!({ "get": "/v2/health/live" })),
        (Some(f), _, _) => (
            std::fs::read_to_string(f).unwrap_or_else(|e| usage(&format!("{}: {e}", f.display()))),
            json!({ "body": f.display().to_string() }),
        ),
        (None, false, _) => (
            body_from_metadata(addr, &token, &model, a.rows),
            json!({ "rows": a.rows }),
        ),
        (None, true, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .unwrap_or_else(|e| usage(&format!("{}: {e}", file.display())));
            let ids = read_ids(&text);
            if ids.is_empty() {
                usage(&format!("{}: no candidate ids", file.display()))
            }
            let n = ids.len();
            (
                recommend_body(&a.user, &ids, a.k),
                json!({ "user": a.user, "candidates": n, "k": a.k }),
            )
        }
        (None, true, None) => usage("--route recommend needs --candidates FILE (or --body FILE)"),
    };
    let path = if health {
        "/v2/health/live".to_string()
    } else if recommend {
        format!("/v1/models/{model}/recommend")
    } else {
        format!("/v2/models/{model}/infer")
    };
    let (method, sent) = if health {
        ("GET", None)
    } else {
        ("POST", Some(body.as_bytes()))
    };
    let check = once(addr, Some(&token), method, &path, sent)
        .unwrap_or_else(|e| usage(&format!("first request: {e}")));
    check_first(&check, recommend.then_some(a.k)).unwrap_or_else(|e| usage(&e));
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
            l.per_s(a.seconds),
            l.pct_ms(0.5),
            l.pct_ms(0.99),
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
            RssSamples {
                start: before,
                end: after,
                max: None,
                samples: 0,
            },
            &extra,
        );
    }
    if a.soak > 0.0 {
        let every = std::time::Duration::from_secs_f64(a.sample_secs);
        let (l, rss) = sampled(pid, every, || {
            run_level(addr, &token, &path, body.as_bytes(), a.soak_clients, a.soak)
        });
        println!(
            "soak: {} clients for {} s: {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors; server RSS MiB start {}, end {}, max {}",
            a.soak_clients,
            a.soak,
            l.latencies.len(),
            l.per_s(a.soak),
            l.pct_ms(0.5),
            l.pct_ms(0.99),
            l.errors,
            fmt(rss.start),
            fmt(rss.end),
            fmt(rss.max)
        );
        record(&a, "soak", a.soak_clients, a.soak, &l, rss, &extra);
    }
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
}
