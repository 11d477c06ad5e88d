//! `mtrec serve` under load and change, on 127.0.0.1: per-request timeout (504), a full
//! queue (503), micro-batching of concurrent requests, Prometheus metrics, graceful
//! shutdown on SIGTERM, and hot reload (admin call and SIGHUP) that drops no request and
//! keeps the old model when the new run folder is broken.

mod serve_support;

use serve_support::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

#[test]
fn a_slow_request_is_a_504_and_a_full_queue_a_503_at_once() {
    let dir = temp_dir("serve-queue");
    let run = train_run(&dir, "run", 1, 3);
    let server = Server::start(
        &dir,
        &[run.to_str().unwrap()],
        &[
            "--test-delay-ms",
            "1500",
            "--timeout-ms",
            "700",
            "--queue",
            "2",
            "--max-delay-ms",
            "0",
            "--max-batch-rows",
            "1",
        ],
    );
    let body = infer_body(&event_rows(&dir, 0..1));
    std::thread::scope(|s| {
        let t0 = Instant::now();
        let first = s.spawn(|| server.infer("run", &body));
        // the batcher takes the first request and is busy; two more fill the queue
        std::thread::sleep(Duration::from_millis(200));
        let queued: Vec<_> = (0..2)
            .map(|_| s.spawn(|| server.infer("run", &body)))
            .collect();
        let full = wait_until(5.0, || {
            let m = server.call("GET", "/metrics", None).text();
            metric(&m, "mtrec_queue_depth{model=\"run\"}") == Some(2.0)
        });
        assert!(
            full,
            "queue depth never reached 2: {}",
            server.call("GET", "/metrics", None).text()
        );
        let t = Instant::now();
        let r = server.infer("run", &body);
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(
            r.json()["error"].as_str().unwrap().contains("--queue"),
            "{}",
            r.text()
        );
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "503 took {:?}",
            t.elapsed()
        );
        let r = first.join().unwrap();
        assert_eq!(r.status, 504, "{}", r.text());
        assert!(
            r.json()["error"].as_str().unwrap().contains("700 ms"),
            "{}",
            r.text()
        );
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(650) && took < Duration::from_millis(1450),
            "504 after {took:?}"
        );
        for q in queued {
            assert_eq!(q.join().unwrap().status, 504);
        }
    });
    let m = server.call("GET", "/metrics", None).text();
    assert_eq!(
        metric(
            &m,
            "mtrec_http_requests_total{route=\"infer\",code=\"503\"}"
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "mtrec_http_requests_total{route=\"infer\",code=\"504\"}"
        ),
        Some(3.0),
        "{m}"
    );
    assert!(
        metric(&m, "mtrec_http_request_duration_seconds_count").unwrap() >= 4.0,
        "{m}"
    );
}

#[test]
fn requests_in_flight_are_bounded_by_max_inflight() {
    let dir = temp_dir("serve-inflight");
    let run = train_run(&dir, "run", 1, 3);
    let server = Server::start(
        &dir,
        &[run.to_str().unwrap()],
        &["--test-delay-ms", "800", "--max-inflight", "1"],
    );
    let body = infer_body(&event_rows(&dir, 0..1));
    std::thread::scope(|s| {
        let first = s.spawn(|| server.infer("run", &body));
        std::thread::sleep(Duration::from_millis(250));
        for path in ["/v2/models/run/infer", "/metrics"] {
            let r = server.call(
                if path == "/metrics" { "GET" } else { "POST" },
                path,
                Some(&body)
                    .filter(|_| path != "/metrics")
                    .map(|b| b.as_str()),
            );
            assert_eq!(r.status, 503, "{path}: {}", r.text());
            assert!(
                r.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("--max-inflight"),
                "{}",
                r.text()
            );
        }
        // the probes are not counted
        assert_eq!(server.call("GET", "/v2/health/ready", None).status, 200);
        assert_eq!(first.join().unwrap().status, 200);
    });
    assert_eq!(
        server.infer("run", &body).status,
        200,
        "the permit is given back"
    );
}

/// 8 concurrent one-row requests; returns (forward passes, rows scored).
fn eight_at_once(max_batch_rows: &str) -> (f64, f64) {
    let dir = temp_dir(&format!("serve-batch-{max_batch_rows}"));
    let run = train_run(&dir, "run", 1, 3);
    let server = Server::start(
        &dir,
        &[run.to_str().unwrap()],
        &["--max-delay-ms", "400", "--max-batch-rows", max_batch_rows],
    );
    let rows = event_rows(&dir, 0..8);
    let barrier = Barrier::new(8);
    std::thread::scope(|s| {
        let hs: Vec<_> = rows
            .iter()
            .map(|r| {
                let (server, barrier) = (&server, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    server.infer("run", &infer_body(std::slice::from_ref(r)))
                })
            })
            .collect();
        for h in hs {
            let r = h.join().unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
        }
    });
    let m = server.call("GET", "/metrics", None).text();
    assert_eq!(
        metric(
            &m,
            "mtrec_http_requests_total{route=\"infer\",code=\"200\"}"
        ),
        Some(8.0),
        "{m}"
    );
    (
        metric(&m, "mtrec_batch_requests_count").unwrap(),
        metric(&m, "mtrec_batch_rows_sum").unwrap(),
    )
}

#[test]
fn concurrent_requests_share_forward_passes_up_to_max_batch_rows() {
    let (passes, rows) = eight_at_once("1000");
    assert_eq!(rows, 8.0);
    assert!(
        passes < 8.0,
        "8 concurrent requests took {passes} forward passes"
    );
    let (passes, rows) = eight_at_once("1");
    assert_eq!(
        (passes, rows),
        (8.0, 8.0),
        "--max-batch-rows 1: one request per pass"
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let dir = temp_dir("serve-term");
    let run = train_run(&dir, "run", 1, 3);
    let mut server = Server::start(&dir, &[run.to_str().unwrap()], &["--test-delay-ms", "1500"]);
    let body = infer_body(&event_rows(&dir, 0..3));
    let addr = server.addr;
    let in_flight = infer_in_thread(addr, "run", body);
    std::thread::sleep(Duration::from_millis(500));
    server.signal("TERM");
    let r = in_flight.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(outputs(&r)[0].1.len(), 3);
    server.wait_exit();
    assert!(
        server.stderr().contains("shutting down"),
        "{}",
        server.stderr()
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

fn copy_run(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["config.toml", "spec.json", "model.safetensors"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

fn close(a: &[(String, Vec<f64>)], b: &[(String, Vec<f64>)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((n, x), (m, y))| {
            n == m && x.len() == y.len() && x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 6e-7)
        })
}

#[test]
fn reload_swaps_the_model_without_dropping_a_request_and_a_broken_run_keeps_the_old() {
    let dir = temp_dir("serve-reload");
    let run_a = train_run(&dir, "a", 2, 3);
    let run_b = train_run(&dir, "b", 2, 11);
    let serving = dir.join("serving");
    copy_run(&run_a, &serving);
    let rows = event_rows(&dir, 0..20);
    let (want_a, want_b) = (
        predict_scores(&dir, &run_a, &rows),
        predict_scores(&dir, &run_b, &rows),
    );
    assert!(
        !close(&want_a, &want_b),
        "the two runs must score differently"
    );
    let server = Server::start(&dir, &[&format!("m={}", serving.display())], &[]);
    let body = infer_body(&rows);
    let scores = || {
        let r = server.infer("m", &body);
        assert_eq!(r.status, 200, "{}", r.text());
        outputs(&r)
    };
    assert!(close(&scores(), &want_a));

    // traffic all along: every request must be answered 200
    let stop = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let traffic: Vec<_> = (0..3)
        .map(|_| {
            let (stop, statuses, body, addr) =
                (stop.clone(), statuses.clone(), body.clone(), server.addr);
            std::thread::spawn(move || {
                let mut c = mtrec::serve::client::Client::connect(addr, Some(TOKEN)).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let r = c.post("/v2/models/m/infer", body.as_bytes()).unwrap();
                    statuses.lock().unwrap().push(r.status);
                }
            })
        })
        .collect();

    // 1. admin call to a new run folder
    let req = serde_json::json!({ "model": "m", "run": run_b }).to_string();
    let r = server.call("POST", "/v1/admin/reload", Some(&req));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["reloaded"][0]["run"], run_b.display().to_string());
    assert!(close(&scores(), &want_b));
    let meta = server.call("GET", "/v2/models/m", None).json();
    assert_eq!(meta["parameters"]["run"], run_b.display().to_string());

    // 2. a broken run folder: refused with the reason, the old model keeps serving
    let broken = dir.join("broken");
    copy_run(&run_a, &broken);
    std::fs::write(broken.join("model.safetensors"), b"not a checkpoint").unwrap();
    let req = serde_json::json!({ "model": "m", "run": broken }).to_string();
    let r = server.call("POST", "/v1/admin/reload", Some(&req));
    assert_eq!(r.status, 422, "{}", r.text());
    let err = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("still serving"),
        "{err}"
    );
    assert!(close(&scores(), &want_b));
    assert!(
        server.stderr().contains("reload of model `m`"),
        "{}",
        server.stderr()
    );

    // 3. SIGHUP: the folder served (now run b) is replaced in place by run a's files
    copy_run(&run_a, &run_b);
    server.signal("HUP");
    assert!(
        wait_until(10.0, || close(&scores(), &want_a)),
        "SIGHUP did not reload"
    );
    // ... and a SIGHUP while the folder is broken keeps run a
    std::fs::write(run_b.join("model.safetensors"), b"broken").unwrap();
    server.signal("HUP");
    let m = || server.call("GET", "/metrics", None).text();
    assert!(
        wait_until(10.0, || metric(
            &m(),
            "mtrec_model_reloads_total{result=\"failed\"}"
        ) == Some(2.0)),
        "{}",
        m()
    );
    assert!(close(&scores(), &want_a));

    stop.store(true, Ordering::Relaxed);
    for t in traffic {
        t.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    assert!(
        statuses.len() >= 3,
        "only {} requests during the reloads",
        statuses.len()
    );
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(
        metric(&m(), "mtrec_model_reloads_total{result=\"ok\"}"),
        Some(2.0)
    );
    // a bad admin body is a 400
    let r = server.call("POST", "/v1/admin/reload", Some("{\"run\": \"x\"}"));
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn a_run_folder_that_does_not_load_stops_the_server_before_it_listens() {
    let dir = temp_dir("serve-bad-start");
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let out = std::process::Command::new(bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--run"])
        .arg(dir.join("nothing-here"))
        .arg("--token-file")
        .arg(dir.join("token"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("config.toml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // and a token file with too short a token
    std::fs::write(dir.join("short"), "abc").unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--run",
            "x",
            "--token-file",
        ])
        .arg(dir.join("short"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least 16"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
