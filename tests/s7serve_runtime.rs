//! `mtrec serve --http-threads 1` (tokio's current-thread scheduler) answers as the
//! default runtime does: the scores of `mtrec predict` for single rows (inline) and for
//! requests sent at once (through the batcher), the health probe, a 400 naming the
//! field, and a SIGTERM that ends it cleanly; a bad value is refused.

mod serve_support;

use serve_support::*;

#[test]
fn one_http_thread_serves_the_same_scores_and_errors() {
    let ScoredRun {
        dir,
        run_arg,
        rows,
        want,
        ..
    } = scored_run("s7serve-runtime", 0..6);
    let server = Server::start(&dir, &[&run_arg], &["--http-threads", "1"]);
    // one request at a time: scored inline on the one HTTP thread
    server.assert_rows_score_as_predict("m", &rows, &want);
    // eight at once: some go through the batcher
    let addr = server.addr;
    let bodies: Vec<String> = rows
        .iter()
        .map(|r| infer_body(std::slice::from_ref(r)))
        .collect();
    let hs: Vec<_> = (0..8)
        .map(|k| infer_in_thread(addr, "m", bodies[k % rows.len()].clone()))
        .collect();
    let replies: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    for (k, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 200, "{}", r.text());
        let i = k % rows.len();
        for ((_, got), (_, all)) in outputs(r).iter().zip(&want) {
            assert!((got[0] - all[i]).abs() <= 1e-6);
        }
    }
    assert_eq!(server.call("GET", "/v2/health/live", None).status, 200);
    let bad = server.infer(
        "m",
        r#"{"inputs": [{"name": "nope", "shape": [1], "datatype": "BYTES", "data": ["1"]}]}"#,
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.text().contains("unknown input `nope`"),
        "{}",
        bad.text()
    );
    let mut server = server;
    server.signal("TERM");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", server.stderr());
}

#[test]
fn a_bad_http_threads_value_is_refused() {
    let out = std::process::Command::new(bin())
        .args(["serve", "--http-threads", "many", "--run", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--http-threads"));
}
