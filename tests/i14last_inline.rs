//! `/infer` scored inline (issue #14, `ModelHandle::try_inline`): a request that finds
//! the batcher's queue empty is scored in its HTTP task, with the scores `mtrec predict`
//! writes; a large request, or a server asked to wait for company (`--max-delay-ms`),
//! goes through the batcher; after a reload the inline copies score with the new run.

mod serve_support;

use serve_support::{event_rows, infer_body, outputs, predict_scores, temp_dir, train_run, Server};
use std::path::Path;

fn inline_passes(server: &Server) -> u64 {
    let m = server.call("GET", "/metrics", None).text();
    let line = m
        .lines()
        .find(|l| l.starts_with("mtrec_inline_passes_total "))
        .unwrap_or_else(|| panic!("no inline counter in\n{m}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Each row of `rows` alone (one client, one request at a time), then all of them in
/// one request: both equal `mtrec predict` (6 decimals).
fn check_scores(server: &Server, dir: &Path, run: &Path, rows: &[[String; 4]]) {
    let want = predict_scores(dir, run, rows);
    let mut single: Vec<Vec<(String, Vec<f64>)>> = Vec::new();
    for r in rows {
        let reply = server.infer("run", &infer_body(std::slice::from_ref(r)));
        assert_eq!(reply.status, 200, "{}", reply.text());
        single.push(outputs(&reply));
    }
    let whole = server.infer("run", &infer_body(rows));
    assert_eq!(whole.status, 200, "{}", whole.text());
    let whole = outputs(&whole);
    for (task, w) in &want {
        let all = &whole.iter().find(|(n, _)| n == task).unwrap().1;
        for (i, wi) in w.iter().enumerate() {
            let one = single[i].iter().find(|(n, _)| n == task).unwrap().1[0];
            assert!((one - wi).abs() < 2e-6, "{task} row {i}: {one} vs {wi}");
            assert!(
                (all[i] - wi).abs() < 2e-6,
                "{task} row {i}: {} vs {wi}",
                all[i]
            );
        }
    }
}

#[test]
fn a_lone_request_is_scored_inline_as_mtrec_predict_scores_it() {
    let dir = temp_dir("i14last_inline");
    let run = train_run(&dir, "run", 1, 3);
    let other = train_run(&dir, "other", 2, 9);
    let server = Server::start(&dir, &[run.to_str().unwrap()], &["--threads", "1"]);
    assert_eq!(inline_passes(&server), 0);
    let rows = event_rows(&dir, 0..20);
    check_scores(&server, &dir, &run, &rows);
    // the 20 one-row requests went inline; the 20-row one (> 16 rows) to the batcher
    assert_eq!(inline_passes(&server), 20);

    // after a reload the inline copies score with the new run
    let body = serde_json::json!({ "model": "run", "run": other }).to_string();
    let r = server.call("POST", "/v1/admin/reload", Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());
    check_scores(&server, &dir, &other, &rows[..6]);
    // six one-row requests and the 6-row one
    assert_eq!(inline_passes(&server), 27);

    // a value the pipeline refuses is still a 400 inline
    let mut bad = infer_body(&rows[..1]);
    bad = bad.replacen("\"FP32\"", "\"BOOL\"", 1);
    let r = server.infer("run", &bad);
    assert_eq!(r.status, 400, "{}", r.text());

    // --max-delay-ms: every request waits in the batcher for company, none inline
    let waiting = Server::start(
        &dir,
        &[run.to_str().unwrap()],
        &["--threads", "1", "--max-delay-ms", "1"],
    );
    check_scores(&waiting, &dir, &run, &rows[..4]);
    assert_eq!(inline_passes(&waiting), 0);
}
