//! `mtrec serve`'s HTTP threads (`serve::http`): each thread runs its own event loop
//! and the acceptor hands connections to them in turn. Checked here: the connections
//! are spread over the threads (`mtrec_http_connections_total`), every thread scores a
//! lone request inline as `mtrec predict` does, concurrent clients on several threads
//! still share forward passes in the batcher, and SIGTERM lets requests in flight on
//! every thread finish.

mod serve_support;

use serve_support::*;
use std::sync::Barrier;
use std::time::Duration;

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

fn connections(m: &str, thread: usize) -> f64 {
    metric(
        m,
        &format!("mtrec_http_connections_total{{thread=\"{thread}\"}}"),
    )
    .unwrap_or(0.0)
}

#[test]
fn connections_go_to_the_http_threads_in_turn_and_each_scores_as_predict() {
    let ScoredRun {
        dir,
        run_arg,
        rows,
        want,
        ..
    } = scored_run("s9http-threads", 0..6);
    let server = Server::start(&dir, &[&run_arg], &["--http-threads", "2"]);
    // one request per connection: connections 0, 2, 4 on thread 0, 1, 3, 5 on thread 1,
    // each scored inline on its thread's own copy of the model
    server.assert_rows_score_as_predict("m", &rows, &want);
    let m = server.call("GET", "/metrics", None).text();
    let (a, b) = (connections(&m, 0), connections(&m, 1));
    assert!(
        a >= 3.0 && b >= 3.0 && (a - b).abs() <= 1.0,
        "connections by thread {a} / {b}; expected 7 handed out in turn:\n{m}"
    );
    assert_eq!(
        metric(&m, "mtrec_inline_passes_total"),
        Some(6.0),
        "each lone request is scored inline:\n{m}"
    );
    drop(server);

    // one thread: every connection on it
    let server = Server::start(&dir, &[&run_arg], &["--http-threads", "1"]);
    for row in &rows[..3] {
        let r = server.infer("m", &infer_body(std::slice::from_ref(row)));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let m = server.call("GET", "/metrics", None).text();
    assert_eq!(connections(&m, 0), 4.0, "{m}");
    assert!(
        !m.contains("mtrec_http_connections_total{thread=\"1\"}"),
        "{m}"
    );
}

#[test]
fn concurrent_clients_on_two_http_threads_still_share_forward_passes() {
    let ScoredRun {
        dir,
        run_arg,
        rows,
        want,
        ..
    } = scored_run("s9http-batch", 0..16);
    // a slow model (each pass >= 1 ms, so no request is scored inline in its HTTP
    // task): requests that arrive on either thread while a pass runs share the next one.
    // With the defaults and a model this small they would meet in a pass only by chance.
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--http-threads", "2", "--test-delay-ms", "1"],
    );
    let addr = server.addr;
    let barrier = Barrier::new(rows.len());
    std::thread::scope(|s| {
        for (i, row) in rows.iter().enumerate() {
            let (barrier, want) = (&barrier, &want);
            s.spawn(move || {
                let body = infer_body(std::slice::from_ref(row));
                let mut c = mtrec::serve::client::Client::connect(addr, Some(TOKEN)).unwrap();
                barrier.wait();
                for _ in 0..40 {
                    let r = c.post("/v2/models/m/infer", body.as_bytes()).unwrap();
                    assert_eq!(r.status, 200, "{}", r.text());
                    for ((_, got), (_, all)) in outputs(&r).iter().zip(want) {
                        assert!((got[0] - all[i]).abs() <= 1e-6);
                    }
                }
            });
        }
    });
    let m = server.call("GET", "/metrics", None).text();
    assert_eq!(
        metric(
            &m,
            "mtrec_http_requests_total{route=\"infer\",code=\"200\"}"
        ),
        Some(640.0),
        "{m}"
    );
    let (a, b) = (connections(&m, 0), connections(&m, 1));
    assert!(a >= 8.0 && b >= 8.0, "connections by thread {a} / {b}\n{m}");
    let passes = metric(&m, "mtrec_batch_requests_count").unwrap();
    let alone = metric(&m, "mtrec_batch_requests_bucket{le=\"1\"}").unwrap();
    assert!(
        alone < passes && passes <= 320.0,
        "16 concurrent clients, 1 ms passes: {alone} of {passes} forward passes scored one request\n{m}"
    );
    assert_eq!(metric(&m, "mtrec_batch_rows_sum"), Some(640.0), "{m}");
}

#[test]
fn sigterm_finishes_the_requests_in_flight_on_every_http_thread() {
    let dir = temp_dir("s9http-term");
    let run = train_run(&dir, "run", 1, 3);
    let run_arg = format!("m={}", run.display());
    let mut server = Server::start(
        &dir,
        &[&run_arg],
        &["--http-threads", "2", "--test-delay-ms", "1000"],
    );
    let addr = server.addr;
    // two connections: one on each thread
    let in_flight: Vec<_> = (0..2)
        .map(|k| {
            let h = infer_in_thread(addr, "m", infer_body(&event_rows(&dir, k..k + 2)));
            std::thread::sleep(Duration::from_millis(100));
            h
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    for h in in_flight {
        let r = h.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(outputs(&r)[0].1.len(), 2);
    }
    server.wait_exit();
    let err = server.stderr();
    assert!(
        err.contains("every request in flight was answered"),
        "{err}"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}
