//! The recommend route awaits a recommender thread's reply (`RecommendHook::submit`)
//! instead of holding one of tokio's blocking threads per request in flight: with 32
//! requests waiting on a busy recommender, the server has no more runtime threads than
//! its workers. (Before, each waiting request held a blocking thread: 32 more.)

mod serve_support;

use mtrec::serve::batcher::BatchConfig;
use mtrec::serve::errors::ApiResult;
use mtrec::serve::recommend::RecommendHook;
use mtrec::serve::{serve_with, Limits, ServeOptions};
use serde_json::{json, Value};
use serve_support::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

static RELEASE: AtomicBool = AtomicBool::new(false);
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Threads of this process whose name tokio gives its runtime threads (workers and
/// blocking threads alike; `comm` holds 15 characters).
fn runtime_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == "tokio-runtime-w")
        .count()
}

#[test]
fn waiting_recommend_requests_hold_no_blocking_threads() {
    let dir = temp_dir("s7serve-submit");
    let run = train_run(&dir, "run", 1, 3);
    let hook = mtrec::serve::recommend::on_thread(|| {
        Ok(move |model: &str, request: Value| -> ApiResult<Value> {
            STARTED.fetch_add(1, Ordering::SeqCst);
            while !RELEASE.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(json!({ "model": model, "user": request["user"] }))
        })
    })
    .unwrap();
    // the same hook answers a direct call, off any runtime
    let opts = ServeOptions {
        runs: vec![("m".into(), run)],
        addr: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.as_bytes().to_vec(),
        limits: Limits {
            max_body_bytes: 1 << 20,
            max_rows: 100,
            timeout: Duration::from_secs(60),
            max_inflight: 64,
        },
        batch: BatchConfig {
            max_batch_rows: 64,
            max_delay: Duration::ZERO,
            queue: 8,
            test_delay: Duration::ZERO,
        },
        recommend: Some(Arc::new(hook) as Arc<dyn RecommendHook>),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || serve_with(opts, move |addr| tx.send(addr).unwrap()));
    let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let before = runtime_threads();
    let clients: Vec<_> = (0..32)
        .map(|i| {
            std::thread::spawn(move || {
                let body = format!("{{\"user\": \"{i}\"}}");
                mtrec::serve::client::once(
                    addr,
                    Some(TOKEN),
                    "POST",
                    "/v1/models/m/recommend",
                    Some(body.as_bytes()),
                )
                .unwrap()
            })
        })
        .collect();
    // the recommender holds the first request; the others queue behind it
    assert!(wait_until(30.0, || STARTED.load(Ordering::SeqCst) == 1));
    std::thread::sleep(Duration::from_millis(500));
    let during = runtime_threads();
    RELEASE.store(true, Ordering::SeqCst);
    for (i, c) in clients.into_iter().enumerate() {
        let r = c.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!({ "model": "m", "user": i.to_string() }));
    }
    assert_eq!(STARTED.load(Ordering::SeqCst), 32);
    assert!(
        during <= before + 2,
        "{during} runtime threads with 32 requests waiting, {before} before: requests hold threads"
    );
}

#[test]
fn submit_hands_back_a_reply_to_await_and_recommend_still_blocks_for_it() {
    let hook = mtrec::serve::recommend::on_thread(|| {
        Ok(|model: &str, request: Value| -> ApiResult<Value> {
            Ok(json!({ "model": model, "k": request["k"] }))
        })
    })
    .unwrap();
    let rx = hook.submit("a", json!({ "k": 3 })).ok().unwrap();
    assert_eq!(
        rx.blocking_recv().unwrap().unwrap(),
        json!({ "model": "a", "k": 3 })
    );
    assert_eq!(
        hook.recommend("b", json!({ "k": 4 })).unwrap(),
        json!({ "model": "b", "k": 4 })
    );
}
