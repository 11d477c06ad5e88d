//! The recommend route checks a request on the HTTP side (`serve::rec_request::Front`):
//! a typed parse that borrows the candidate ids and maps them to catalogue indices at
//! once. Every body must come out as the JSON value path (`serve::lists::parse`) makes
//! it, errors with the same message, and the reply must be the JSON `lists::reply`
//! writes, byte for byte.

mod recommend_support;
mod serve_support;

use mtrec::config::RunConfig;
use mtrec::recommend::{Ranked, Recommender};
use mtrec::serve::rec_request::{Front, Lists};
use recommend_support::trained;
use serde_json::{json, Value};
use serve_support::Server;

fn loaded(test: &str) -> (std::path::PathBuf, std::path::PathBuf, Recommender) {
    let (dir, run) = trained(test);
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let r = Recommender::load(&run, &dir, cfg.recommend.unwrap()).unwrap();
    (dir, run, r)
}

#[test]
fn typed_check_equals_the_json_value_path_for_good_and_bad_bodies() {
    let (_dir, _run, r) = loaded("s8front-check");
    let front = Front::of(&r);
    let bodies: Vec<String> = [
        r#"{"user": "u1"}"#,
        r#"{"user": "u1", "candidates": ["i1", "i2", "nope", "i1"], "k": 3}"#,
        r#"{"user": 17, "candidates": ["i\u0031", "i3"], "k": null, "fusion": null}"#,
        r#"{"user": "u2", "features": {"segment": "a", "age": 31.5}, "exclude_history": false}"#,
        r#"{"user": "u1", "fusion": {"kind": "sum", "weights": {"click": 2.0}}}"#,
        r#"{"user": "u1", "k": 4, "k": 2}"#,
        r#"{"user": "u1", "candidates": ["i1"], "candidates": ["i2"]}"#,
        // errors: each must name its field as the value path does
        r#"{"user": ""}"#,
        r#"{"user": 1.5}"#,
        r#"{"k": 3}"#,
        r#"{"user": "u1", "candidates": []}"#,
        r#"{"user": "u1", "candidates": "i1"}"#,
        r#"{"user": "u1", "candidates": ["i1", 2.5]}"#,
        r#"{"user": "u1", "candidates": ["i1", ""]}"#,
        r#"{"user": "u1", "candidates": ["nope", "nada"]}"#,
        r#"{"user": "u1", "k": 0}"#,
        r#"{"user": "u1", "k": 100000}"#,
        r#"{"user": "u1", "k": "ten"}"#,
        r#"{"user": "u1", "colour": 1}"#,
        r#"{"user": "u1", "features": {"age": [1]}}"#,
        r#"{"user": "u1", "features": 3}"#,
        r#"{"user": "u1", "fusion": {"kind": "product", "weights": {"nope": 1.0}}}"#,
        r#"{"user": "u1", "fusion": {"kind": "bogus"}}"#,
        r#"{"user": "u1", "exclude_history": "yes"}"#,
        r#"[1, 2]"#,
        r#"{"user": "u1""#,
        r#"not json"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut errors = 0;
    for b in &bodies {
        let typed = front.check(b.as_bytes());
        let value = front.check_value(b.as_bytes());
        assert_eq!(format!("{typed:?}"), format!("{value:?}"), "body {b}");
        if let Err(e) = &typed {
            assert_eq!(e.status, 400, "{b}: {e}");
            errors += 1;
        }
    }
    assert_eq!(errors, 20, "the bad bodies above must all be refused");
    // the typed parse took the good bodies itself: the allow-list is there
    let p = format!("{:?}", front.check(bodies[1].as_bytes()).unwrap());
    assert!(p.contains("allow: Some(("), "{p}");
    assert!(p.contains(", 1))"), "one unknown candidate: {p}");
}

#[test]
fn written_reply_is_the_json_of_the_value_path_byte_for_byte() {
    let (_dir, _run, r) = loaded("s8front-write");
    let front = Front::of(&r);
    let tasks: Vec<String> = r.model.cfg.tasks.iter().map(|t| t.name.clone()).collect();
    assert!(tasks.len() >= 2);
    let list = vec![
        Ranked {
            item: 2,
            score: 0.1,
            tasks: vec![0.3; tasks.len()],
        },
        Ranked {
            item: 0,
            score: 1.0 / 3.0,
            tasks: (0..tasks.len()).map(|t| t as f32 * 0.7 + 0.01).collect(),
        },
        Ranked {
            item: 1,
            score: f32::NAN,
            tasks: vec![f32::INFINITY; tasks.len()],
        },
    ];
    for unknown in [0usize, 4] {
        let l = Lists {
            user: "u\"1".into(),
            list: list.clone(),
            unknown,
        };
        // what `serve::lists::reply` builds with `json!`
        let items: Vec<Value> = list
            .iter()
            .enumerate()
            .map(|(rank, x)| {
                let per_task: serde_json::Map<String, Value> = tasks
                    .iter()
                    .zip(&x.tasks)
                    .map(|(t, v)| (t.clone(), json!(v)))
                    .collect();
                json!({
                    "rank": rank + 1,
                    "item": r.catalogue.ids[x.item as usize],
                    "score": x.score,
                    "tasks": per_task,
                })
            })
            .collect();
        let mut want = json!({ "model_name": "rec", "user": l.user, "items": items });
        if unknown > 0 {
            want["unknown_candidates"] = json!(unknown);
        }
        let got = front.write("rec", &l);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
    }
}

#[test]
fn served_lists_come_through_the_http_side_check_and_bad_candidates_are_400s() {
    let (dir, run, r) = loaded("s8front-http");
    let run_arg = format!("rec={}", run.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1", "--plain"],
    );
    let ids = &r.catalogue.ids;
    let cands: Vec<&str> = ids.iter().map(String::as_str).chain(["nope"]).collect();
    let body = json!({"user": "u1", "k": 4, "candidates": cands, "exclude_history": false});
    let reply = server.call("POST", "/v1/models/rec/recommend", Some(&body.to_string()));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v: Value = reply.json();
    assert_eq!(v["unknown_candidates"], 1);
    // the list the library gives for the same request
    let fusion = mtrec::recommend::Fusion::new(&r.rec.fusion, &r.model.cfg.tasks).unwrap();
    let (allow, _) = r.item_indices(&cands);
    let req = mtrec::recommend::Request {
        k: 4,
        fusion: &fusion,
        candidates: Some(&allow),
        exclude_history: false,
        max_per_value: None,
    };
    let want = r
        .recommend_for_user("u1", &Default::default(), &req)
        .unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), want.len());
    for (got, w) in items.iter().zip(&want) {
        assert_eq!(got["item"].as_str().unwrap(), ids[w.item as usize]);
        assert!((got["score"].as_f64().unwrap() - w.score as f64).abs() < 1e-6);
    }
    for (body, words) in [
        (json!({"user": "u1", "candidates": [1.5]}), "`candidates`"),
        (json!({"user": "u1", "candidates": "i1"}), "`candidates`"),
        (json!({"user": "u1", "candidates": [null]}), "`candidates`"),
        (
            json!({"user": "u1", "candidates": ["nope", "nada"]}),
            "none of the 2 ids is in the catalogue",
        ),
    ] {
        let r = server.call("POST", "/v1/models/rec/recommend", Some(&body.to_string()));
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let msg = r.json()["error"].as_str().unwrap().to_string();
        assert!(msg.contains(words), "{body}: {msg}");
    }
}
