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

#[test]
fn a_plugged_in_recommender_answers_the_recommend_route() {
    let dir = temp_dir("serve-hook");
    let run = train_run(&dir, "run", 1, 3);
    let opts = ServeOptions {
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
        recommend: Some(Arc::new(Reverse)),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // runs until the test process ends
    std::thread::spawn(move || serve_with(opts, move |addr| tx.send(addr).unwrap()));
    let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap();
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
