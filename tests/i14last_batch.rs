//! Batching of concurrent recommend requests (issue #14, `src/recommend/batch.rs`,
//! `src/serve/lists.rs`): requests of different users scored in one pass get the very
//! lists (same items, same floats) each gets alone, and one bad request fails alone.

mod recommend_support;
mod serve_support;

use mtrec::config::RunConfig;
use mtrec::recommend::batch::Ask;
use mtrec::recommend::{Fusion, FusionConfig, Recommender, Request, Scoring};
use mtrec::serve::client::once;
use recommend_support::trained_with;
use serve_support::{Server, TOKEN};
use std::collections::BTreeMap;

fn load(test: &str, set: &[&str]) -> Recommender {
    let (dir, run) = trained_with(test, set);
    let cfg = RunConfig::from_file(run.join("config.toml"), &[]).unwrap();
    let mut r = Recommender::load(&run, &dir, cfg.recommend.unwrap()).unwrap();
    assert!(r.set_scoring(Scoring::Auto).unwrap(), "MMoE: the split");
    r
}

fn many_equals_one_at_a_time(r: &Recommender) {
    let product = Fusion::new(&r.rec.fusion, &r.model.cfg.tasks).unwrap();
    let sum_cfg: FusionConfig =
        serde_json::from_str(r#"{"kind": "sum", "weights": {"rating": 1.0}}"#).unwrap();
    let sum = Fusion::new(&sum_cfg, &r.model.cfg.tasks).unwrap();
    let some: Vec<u32> = (0..r.catalogue.len() as u32).step_by(2).collect();
    let mut users: Vec<(String, BTreeMap<String, String>)> = r
        .train_users
        .ids
        .iter()
        .map(|u| (u.clone(), BTreeMap::new()))
        .collect();
    // a user of no training row: fine with its features, an error without them, and
    // (maybe) an error with a value the numeric feature cannot read
    let given: BTreeMap<String, String> = [("segment", "b"), ("age", "41")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    users.push(("stranger".into(), given));
    users.push(("nobody".into(), BTreeMap::new()));
    let mut bad = BTreeMap::new();
    bad.insert("age".to_string(), "not a number".to_string());
    bad.insert("segment".to_string(), "a".to_string());
    users.push(("odd".into(), bad));
    // the known user u3 with another age: the request's value, not the training row's
    users.push((
        "u3".into(),
        [("age".to_string(), "99".to_string())]
            .into_iter()
            .collect(),
    ));
    let asks: Vec<Ask<'_>> = users
        .iter()
        .enumerate()
        .map(|(j, (u, f))| Ask {
            user: u,
            features: f,
            req: Request {
                k: 1 + j % 7,
                fusion: if j % 2 == 0 { &product } else { &sum },
                candidates: (j % 3 == 1).then_some(some.as_slice()),
                exclude_history: j % 4 != 3,
                max_per_value: None,
            },
        })
        .collect();
    let together = r.recommend_many(&asks);
    assert_eq!(together.len(), asks.len());
    let mut oks = 0;
    for (a, got) in asks.iter().zip(&together) {
        let alone = r.recommend_for_user(a.user, a.features, &a.req);
        match (got, &alone) {
            (Ok(g), Ok(w)) => {
                assert_eq!(g, w, "user {}", a.user);
                assert_eq!(g.len(), a.req.k.min(g.len()));
                assert!(!g.is_empty(), "user {}", a.user);
                oks += 1;
            }
            (Err(g), Err(w)) => assert_eq!(g.to_string(), w.to_string()),
            _ => panic!("user {}: together {got:?}, alone {alone:?}", a.user),
        }
    }
    assert!(oks >= 13, "{oks} lists");
    let nobody = together[users.len() - 3].as_ref().unwrap_err().to_string();
    assert!(nobody.contains("nobody"), "{nobody}");
}

#[test]
fn recommend_many_equals_each_request_alone_fused_pass() {
    many_equals_one_at_a_time(&load("i14last_many_fused", &[]));
}

#[test]
fn recommend_many_equals_each_request_alone_two_layer_experts() {
    many_equals_one_at_a_time(&load("i14last_many_deep", &["model.expert=[8,4]"]));
}

#[test]
fn concurrent_requests_of_different_users_get_their_single_user_lists() {
    let (dir, run) = trained_with("i14last_serve_batch", &[]);
    let run_arg = format!("rec={}", run.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1"],
    );
    const PATH: &str = "/v1/models/rec/recommend";
    let users: Vec<String> = (0..12).map(|u| format!("u{u}")).collect();
    let body = |u: &str, j: usize| {
        let mut b = serde_json::json!({"user": u, "k": 3 + j % 4});
        if j.is_multiple_of(3) {
            b["fusion"] = serde_json::json!({"kind": "sum", "weights": {"rating": 1.0}});
        }
        if j % 2 == 1 {
            b["exclude_history"] = serde_json::json!(false);
        }
        b.to_string()
    };
    let bodies: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(j, u)| body(u, j))
        .chain(std::iter::once(r#"{"user": "nobody"}"#.to_string()))
        .collect();
    // 13 requests at once, from 13 connections, several rounds (so some queue up
    // behind others and are scored together)
    for _round in 0..5 {
        let got: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
            let hs: Vec<_> = bodies
                .iter()
                .map(|b| {
                    let addr = server.addr;
                    s.spawn(move || {
                        let r = once(addr, Some(TOKEN), "POST", PATH, Some(b.as_bytes())).unwrap();
                        (r.status, r.json())
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (b, (status, g)) in bodies.iter().zip(&got) {
            let want = server.call("POST", PATH, Some(b));
            assert_eq!(*status, want.status, "{b}");
            assert_eq!(g, &want.json(), "{b}");
        }
        let (status, nobody) = &got[12];
        assert_eq!(*status, 400, "{nobody}");
        assert!(nobody["error"].as_str().unwrap().contains("nobody"));
        for (status, g) in &got[..12] {
            assert_eq!(*status, 200, "{g}");
            assert!(!g["items"].as_array().unwrap().is_empty(), "{g}");
        }
    }
}
