//! The recommend route with a recommender plugged in through `ServeOptions::recommend`
//! (the server run in-process with `mtrec::serve::serve_with`, on 127.0.0.1:0).

mod serve_support;

use mtrec::serve::batcher::BatchConfig;
use mtrec::serve::errors::{ApiError, ApiResult};
use mtrec::serve::recommend::RecommendHook;
use mtrec::serve::{serve_with, Limits, ServeOptions};
use serde_json::{json, Value};
use serve_support::*;
use std::sync::Arc;
use std::time::Duration;

/// Recommends the request's `candidates` in reverse order; 400 without them.
struct Reverse;

impl RecommendHook for Reverse {
    fn recommend(&self, model: &str, request: Value) -> ApiResult<Value> {
        let c = request["candidates"].as_array().ok_or_else(|| {
            ApiError::bad_request("`candidates` is missing; expected a list of item ids")
        })?;
        let items: Vec<Value> = c.iter().rev().cloned().collect();
        Ok(json!({ "model": model, "items": items }))
    }
}

fn options(run: std::path::PathBuf, hook: Arc<dyn RecommendHook>) -> ServeOptions {
    ServeOptions {
        runs: vec![("m".into(), run)],
        addr: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.as_bytes().to_vec(),
        limits: Limits {
            max_body_bytes: 1 << 20,
            max_rows: 100,
            timeout: Duration::from_secs(10),
            max_inflight: 16,
        },
        batch: BatchConfig {
            max_batch_rows: 64,
            max_delay: Duration::ZERO,
            queue: 8,
            test_delay: Duration::ZERO,
        },
        recommend: Some(hook),
    }
}

/// Starts the server in-process; its address.
fn start(opts: ServeOptions) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    // runs until the test process ends
    std::thread::spawn(move || serve_with(opts, move |addr| tx.send(addr).unwrap()));
    rx.recv_timeout(Duration::from_secs(60)).unwrap()
}

#[test]
fn a_plugged_in_recommender_answers_the_recommend_route() {
    let dir = temp_dir("serve-hook");
    let run = train_run(&dir, "run", 1, 3);
    let addr = start(options(run, Arc::new(Reverse)));
    let call = |token: Option<&str>, body: &str| {
        mtrec::serve::client::once(
            addr,
            token,
            "POST",
            "/v1/models/m/recommend",
            Some(body.as_bytes()),
        )
        .unwrap()
    };
    let r = call(
        Some(TOKEN),
        r#"{"user": "3", "candidates": ["a", "b", "c"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({ "model": "m", "items": ["c", "b", "a"] }));
    let r = call(Some(TOKEN), r#"{"user": "3"}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("`candidates`"));
    let r = call(Some(TOKEN), "not json");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(call(None, "{}").status, 401);
}

#[test]
fn a_recommender_that_is_not_send_is_served_from_its_own_thread() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let dir = temp_dir("serve-hook-thread");
    let run = train_run(&dir, "run", 1, 3);
    // Rc + RefCell: neither Send nor Sync, like a model behind Box<dyn MultiTaskModel>
    let hook = mtrec::serve::recommend::on_thread(|| {
        let calls = Rc::new(RefCell::new(0u32));
        Ok(move |model: &str, request: Value| -> ApiResult<Value> {
            *calls.borrow_mut() += 1;
            Ok(json!({ "model": model, "user": request["user"], "call": *calls.borrow() }))
        })
    })
    .unwrap();
    let addr = start(options(run, Arc::new(hook)));
    for n in 1..=3 {
        let r = mtrec::serve::client::once(
            addr,
            Some(TOKEN),
            "POST",
            "/v1/models/m/recommend",
            Some(b"{\"user\": \"7\"}"),
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!({ "model": "m", "user": "7", "call": n }));
    }
    // a recommender that cannot be built is an error at start, not a broken route
    let err = mtrec::serve::recommend::on_thread(
        || -> mtrec::Result<fn(&str, Value) -> ApiResult<Value>> {
            Err(mtrec::Error::Config {
                what: "recommender".into(),
                message: "no items".into(),
            })
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no items"), "{err}");
}
