//! The load-test machinery of issue #14 (`mtrec::serve::load`, driven by
//! `examples/loadgen.rs` and `reference/bench_serve.sh`): closed-loop clients on the
//! recommend route count every reply, a first reply that did not score every candidate
//! stops the test, and the soak samples the server's RSS (start, end, max).

mod recommend_support;
mod serve_support;

use mtrec::serve::client::once;
use mtrec::serve::load::{check_first, read_ids, recommend_body, rss_mib, run_level, sampled};
use recommend_support::trained;
use serve_support::{Server, TOKEN};
use std::time::Duration;

/// The run's item ids (its item_id vocabulary: the catalogue of `mtrec recommend`).
fn catalogue(run: &std::path::Path) -> Vec<String> {
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("spec.json")).unwrap()).unwrap();
    spec["categorical"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "item_id")
        .unwrap()["encoder"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn start(test: &str) -> (Server, Vec<String>) {
    let (dir, run) = trained(test);
    let run_arg = format!("rec={}", run.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1"],
    );
    (server, catalogue(&run))
}

const PATH: &str = "/v1/models/rec/recommend";

#[test]
fn serve_load_recommend_levels_score_every_candidate_and_count_errors() {
    let (server, items) = start("serve_load_levels");
    assert!(items.len() >= 10, "{items:?}");
    let file = items.join("\n") + "\n\n";
    let ids = read_ids(&file);
    assert_eq!(ids.len(), items.len(), "blank lines are skipped");
    let body = recommend_body("u1", &ids, 3);

    let first = once(
        server.addr,
        Some(TOKEN),
        "POST",
        PATH,
        Some(body.as_bytes()),
    )
    .unwrap();
    check_first(&first, Some(3)).unwrap();
    // a candidate outside the catalogue: not every request would score every candidate
    let mut with_unknown = ids.clone();
    with_unknown.push("no-such-item");
    let r = once(
        server.addr,
        Some(TOKEN),
        "POST",
        PATH,
        Some(recommend_body("u1", &with_unknown, 3).as_bytes()),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let e = check_first(&r, Some(3)).unwrap_err();
    assert!(
        e.contains("1 candidates are not in the model's catalogue"),
        "{e}"
    );
    // fewer items than asked for, and a refused request
    let short = recommend_body("u1", &ids[..2], 3);
    let r = once(
        server.addr,
        Some(TOKEN),
        "POST",
        PATH,
        Some(short.as_bytes()),
    )
    .unwrap();
    assert!(check_first(&r, Some(3))
        .unwrap_err()
        .contains("items, asked for 3"));
    let r = once(server.addr, Some(TOKEN), "POST", PATH, Some(b"{}")).unwrap();
    assert!(check_first(&r, Some(3))
        .unwrap_err()
        .starts_with("the request is refused: 400"));

    let l = run_level(server.addr, TOKEN, PATH, body.as_bytes(), 3, 0.5);
    assert_eq!(l.errors, 0, "{}", server.stderr());
    assert!(l.latencies.len() >= 3, "{} replies", l.latencies.len());
    assert!(l.latencies.windows(2).all(|w| w[0] <= w[1]), "sorted");
    assert!(l.pct_ms(0.5) > 0.0 && l.pct_ms(0.5) <= l.pct_ms(0.99));
    assert!((l.per_s(0.5) - l.latencies.len() as f64 * 2.0).abs() < 1e-9);

    // every refused reply is an error, and none is a latency
    let l = run_level(
        server.addr,
        "wrong-token-0123456789",
        PATH,
        body.as_bytes(),
        2,
        0.3,
    );
    assert!(l.latencies.is_empty());
    assert!(l.errors >= 2, "{} errors", l.errors);
    assert!(l.pct_ms(0.5).is_nan());
}

#[test]
fn serve_load_soak_samples_the_servers_rss_start_end_max() {
    let (server, items) = start("serve_load_soak");
    let ids: Vec<&str> = items.iter().map(String::as_str).collect();
    let body = recommend_body("u2", &ids, 5);
    let pid = server.child.id();
    let (l, rss) = sampled(Some(pid), Duration::from_millis(50), || {
        run_level(server.addr, TOKEN, PATH, body.as_bytes(), 2, 0.6)
    });
    assert_eq!(l.errors, 0, "{}", server.stderr());
    assert!(!l.latencies.is_empty());
    let (start, end, max) = (rss.start.unwrap(), rss.end.unwrap(), rss.max.unwrap());
    assert!(start > 1.0 && end > 1.0, "{rss:?}");
    assert!(max >= start && max >= end, "{rss:?}");
    assert!(
        (8..=20).contains(&rss.samples),
        "{rss:?}: one every 50 ms for 0.6 s"
    );
    assert!(rss_mib(std::process::id()).is_some_and(|m| m > 0.0));

    // no process: nothing sampled, the work still runs
    let (n, none) = sampled(None, Duration::from_millis(10), || 7);
    assert_eq!(n, 7);
    assert_eq!((none.start, none.end, none.max), (None, None, None));
    assert_eq!(rss_mib(u32::MAX), None);
}

#[test]
fn serve_load_two_tower_serves_the_same_lists() {
    let (dir, run) = trained("serve_load_two_tower");
    let run_arg = format!("rec={}", run.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let plain = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1"],
    );
    let split = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1", "--two-tower"],
    );
    let items = catalogue(&run);
    let ids: Vec<&str> = items.iter().map(String::as_str).collect();
    for user in ["u0", "u3", "u11"] {
        let body = recommend_body(user, &ids, 8);
        let want = plain.call("POST", PATH, Some(&body));
        let got = split.call("POST", PATH, Some(&body));
        assert_eq!(want.status, 200, "{}", want.text());
        assert_eq!(got.status, 200, "{}", got.text());
        let (w, g) = (want.json(), got.json());
        let (w, g) = (
            w["items"].as_array().unwrap(),
            g["items"].as_array().unwrap(),
        );
        assert_eq!(w.len(), 8);
        assert_eq!(g.len(), 8);
        for (a, b) in w.iter().zip(g) {
            assert_eq!(a["item"], b["item"], "{user}: {w:?} vs {g:?}");
            let d = (a["score"].as_f64().unwrap() - b["score"].as_f64().unwrap()).abs();
            assert!(d < 1e-5, "{user}: score differs by {d}");
        }
    }
}

#[test]
fn serve_load_recommend_threads_answer_at_once_with_the_same_lists() {
    let (dir, run) = trained("serve_load_threads");
    let run_arg = format!("rec={}", run.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let one = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1"],
    );
    let three = Server::start(
        &dir,
        &[&run_arg],
        &[
            "--data-dir",
            &data_dir,
            "--threads",
            "1",
            "--recommend-threads",
            "3",
        ],
    );
    let items = catalogue(&run);
    let ids: Vec<&str> = items.iter().map(String::as_str).collect();
    let users: Vec<String> = (0..12).map(|u| format!("u{u}")).collect();
    // 12 users asked at once, from 12 connections
    let got: Vec<serde_json::Value> = std::thread::scope(|s| {
        let hs: Vec<_> = users
            .iter()
            .map(|u| {
                let body = recommend_body(u, &ids, 6);
                let addr = three.addr;
                s.spawn(move || {
                    let r = once(addr, Some(TOKEN), "POST", PATH, Some(body.as_bytes())).unwrap();
                    assert_eq!(r.status, 200, "{}", r.text());
                    r.json()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (u, g) in users.iter().zip(&got) {
        let want = one
            .call("POST", PATH, Some(&recommend_body(u, &ids, 6)))
            .json();
        assert_eq!(g["user"], want["user"]);
        assert_eq!(g["items"], want["items"], "{u}");
    }
    assert_eq!(
        three
            .stderr()
            .matches("recommendations on /v1/models/rec/recommend")
            .count(),
        3,
        "one recommender per thread: {}",
        three.stderr()
    );

    // 0 threads: refused at start, naming the flag
    std::fs::write(dir.join("token0"), TOKEN).unwrap();
    let out = std::process::Command::new(serve_support::bin())
        .args([
            "serve",
            "--run",
            &run_arg,
            "--addr",
            "127.0.0.1:0",
            "--token-file",
        ])
        .arg(dir.join("token0"))
        .args(["--data-dir", &data_dir, "--recommend-threads", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--recommend-threads"), "{err}");
}
