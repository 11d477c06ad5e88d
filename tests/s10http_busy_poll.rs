//! `mtrec serve --busy-poll-us N` (`serve::busy_poll`): after a reply an HTTP thread
//! keeps polling its sockets for N µs before it sleeps. Checked here: replies are the
//! same bytes with the window on and off (and equal `mtrec predict`), windows open and
//! close (`mtrec_http_busy_poll_expired_total`) only when it is on, the flag is
//! validated and explained in `--help`, and concurrent clients still share forward
//! passes with it on.

mod serve_support;

use mtrec::serve::client::Client;
use serve_support::*;
use std::sync::Barrier;

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

/// Each row's reply body, over one keep-alive connection (so the busy-poll window of
/// its thread is open when the next request comes), and the server's metrics after.
fn replies(server: &Server, rows: &[[String; 4]]) -> (Vec<Vec<u8>>, String) {
    let mut c = Client::connect(server.addr, Some(TOKEN)).unwrap();
    let bodies = rows
        .iter()
        .map(|row| {
            let body = infer_body(std::slice::from_ref(row));
            let r = c.post("/v2/models/m/infer", body.as_bytes()).unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            r.body
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(50)); // every window closes
    (bodies, server.call("GET", "/metrics", None).text())
}

#[test]
fn busy_poll_on_and_off_give_the_same_replies_and_only_on_spins() {
    let dir = temp_dir("s10http-busy");
    let run = train_run(&dir, "run", 1, 3);
    let rows = event_rows(&dir, 0..12);
    let want = predict_scores(&dir, &run, &rows);
    let run_arg = format!("m={}", run.display());

    let on = Server::start(&dir, &[&run_arg], &["--busy-poll-us", "300"]);
    let (with, m_on) = replies(&on, &rows);
    drop(on);
    let off = Server::start(&dir, &[&run_arg], &["--busy-poll-us", "0"]);
    let (without, m_off) = replies(&off, &rows);
    drop(off);

    assert_eq!(with, without, "replies differ with busy-polling on and off");
    for (i, body) in with.iter().enumerate() {
        let r = mtrec::serve::client::Reply {
            status: 200,
            headers: vec![],
            body: body.clone(),
        };
        for ((task, got), (_, all)) in outputs(&r).iter().zip(&want) {
            assert!(
                (got[0] - all[i]).abs() <= 1e-6,
                "{task} row {i}: served {} vs predict {}",
                got[0],
                all[i]
            );
        }
    }
    let expired = |m: &str| metric(m, "mtrec_http_busy_poll_expired_total");
    assert!(
        expired(&m_on).is_some_and(|n| n >= 1.0),
        "with --busy-poll-us 300 a window closes after the last reply:\n{m_on}"
    );
    assert_eq!(
        expired(&m_off),
        Some(0.0),
        "--busy-poll-us 0: no window:\n{m_off}"
    );
}

#[test]
fn the_busy_poll_flag_is_validated_and_explained() {
    let serve = |v: &str| {
        std::process::Command::new(bin())
            .args([
                "serve",
                "--busy-poll-us",
                v,
                "--run",
                "/nonexistent/run",
                "--token-file",
                "/nonexistent/token",
            ])
            .output()
            .unwrap()
    };
    for bad in ["5000", "fast"] {
        let out = serve(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--busy-poll-us {bad} was accepted");
        assert!(err.contains("--busy-poll-us"), "{bad}: {err}");
    }
    let err = String::from_utf8_lossy(&serve("5000").stderr).into_owned();
    assert!(err.contains("1000"), "names the largest value: {err}");
    // a value in range gets past the flag: the run folder is what fails next
    let err = String::from_utf8_lossy(&serve("1000").stderr).into_owned();
    assert!(!err.contains("--busy-poll-us"), "{err}");

    let help = std::process::Command::new(bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--busy-poll-us") && help.contains("[default: 50]"),
        "{help}"
    );
}

/// 16 clients at once, 40 requests each, every reply checked against predict.
fn round(addr: std::net::SocketAddr, rows: &[[String; 4]], want: &[(String, Vec<f64>)]) {
    let barrier = Barrier::new(rows.len());
    std::thread::scope(|s| {
        for (i, row) in rows.iter().enumerate() {
            let barrier = &barrier;
            s.spawn(move || {
                let body = infer_body(std::slice::from_ref(row));
                let mut c = Client::connect(addr, Some(TOKEN)).unwrap();
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
}

/// Starts a server with `--http-threads 2 --busy-poll-us 200` and `extra`, runs one
/// [`round`], checks every request was answered and scored once, and returns the
/// metrics and the number of forward passes.
fn shared_round(
    dir: &std::path::Path,
    run_arg: &str,
    rows: &[[String; 4]],
    want: &[(String, Vec<f64>)],
    extra: &[&str],
) -> (String, f64) {
    let mut args = vec!["--http-threads", "2", "--busy-poll-us", "200"];
    args.extend_from_slice(extra);
    let server = Server::start(dir, &[run_arg], &args);
    round(server.addr, rows, want);
    let m = server.call("GET", "/metrics", None).text();
    assert_eq!(
        metric(
            &m,
            "mtrec_http_requests_total{route=\"infer\",code=\"200\"}"
        ),
        Some(640.0),
        "{m}"
    );
    assert_eq!(metric(&m, "mtrec_batch_rows_sum"), Some(640.0), "{m}");
    let passes = metric(&m, "mtrec_batch_requests_count").unwrap();
    (m, passes)
}

#[test]
fn concurrent_clients_still_share_forward_passes_with_busy_poll_on() {
    let dir = temp_dir("s10http-batch");
    let run = train_run(&dir, "run", 1, 3);
    let rows = event_rows(&dir, 0..16);
    let want = predict_scores(&dir, &run, &rows);
    let run_arg = format!("m={}", run.display());

    // defaults but the window: every reply right (a lone request is scored inline;
    // with a model this small, concurrent ones meet in a pass only by chance)
    let (m, _) = shared_round(&dir, &run_arg, &rows, &want, &[]);

    // a slow model (each pass >= 1 ms, no inline scoring): requests that come during a
    // pass share the next one
    let (m1, passes) = shared_round(&dir, &run_arg, &rows, &want, &["--test-delay-ms", "1"]);
    assert!(
        passes <= 320.0,
        "16 clients, 1 ms passes: {passes} passes for 640 requests\n{m1}"
    );

    // every request waits up to 2 ms for company (no inline scoring): passes are shared
    let (m2, passes) = shared_round(&dir, &run_arg, &rows, &want, &["--max-delay-ms", "2"]);
    assert!(
        passes <= 320.0,
        "16 clients, 2 ms batching delay: {passes} passes for 640 requests\n{m2}\n(defaults: {m})"
    );
}
