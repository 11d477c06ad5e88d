//! `POST /v1/models/{name}/recommend` (issue #14): the server's lists equal
//! `mtrec recommend`'s for the same user, and malformed requests are JSON 400s naming
//! the field.

mod recommend_support;
mod serve_support;

use recommend_support::{mtrec, ok, trained};
use serde_json::{json, Value};
use serve_support::Server;

/// `mtrec recommend --all-users` lines of `user`: (item, score, task values).
fn cli_list(
    dir: &std::path::Path,
    run: &std::path::Path,
    user: &str,
    k: usize,
) -> Vec<Vec<String>> {
    let out = dir.join("recs.csv");
    ok(mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--all-users",
        "--k",
        &k.to_string(),
        "--output",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]));
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|f| f[0] == user)
        .collect()
}

#[test]
fn the_served_list_equals_mtrec_recommend_and_bad_requests_are_400s() {
    let (dir, run) = trained("serve");
    let want = cli_list(&dir, &run, "u1", 5);
    assert_eq!(want.len(), 5);
    let run_arg = format!("rec={}", run.display());
    let data_dir = dir.to_str().unwrap().to_string();
    let server = Server::start(
        &dir,
        &[&run_arg],
        &["--data-dir", &data_dir, "--threads", "1"],
    );

    let r = server.call(
        "POST",
        "/v1/models/rec/recommend",
        Some(&json!({"user": "u1", "k": 5}).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = r.json();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for (got, w) in items.iter().zip(&want) {
        assert_eq!(got["rank"].to_string(), w[1]);
        assert_eq!(got["item"].as_str().unwrap(), w[2], "{}", r.text());
        let score: f64 = w[3].parse().unwrap();
        assert!((got["score"].as_f64().unwrap() - score).abs() < 1e-5);
        let click: f64 = w[4].parse().unwrap();
        assert!((got["tasks"]["click"].as_f64().unwrap() - click).abs() < 1e-5);
    }

    // candidates restrict the list; other fusion weights are validated
    let r = server.call(
        "POST",
        "/v1/models/rec/recommend",
        Some(&json!({"user": "u1", "k": 3, "candidates": ["i1", "i2", "nope"], "exclude_history": false}).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = r.json();
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| ["i1", "i2"].contains(&x["item"].as_str().unwrap())));
    assert_eq!(v["unknown_candidates"], 1);

    for (body, words) in [
        (json!({"k": 5}), "`user`"),
        (json!({"user": "u1", "k": 0}), "`k`"),
        (json!({"user": "u1", "k": "ten"}), "`k`"),
        (json!({"user": "u1", "colour": 1}), "`colour`"),
        (
            json!({"user": "u1", "fusion": {"kind": "product", "weights": {"nope": 1.0}}}),
            "nope",
        ),
        (
            json!({"user": "u1", "features": {"age": [1]}}),
            "`features.age`",
        ),
        (json!({"user": "u1", "candidates": []}), "`candidates`"),
        (
            json!({"user": "u1", "exclude_history": "yes"}),
            "`exclude_history`",
        ),
        (json!([1, 2]), "object"),
    ] {
        let r = server.call("POST", "/v1/models/rec/recommend", Some(&body.to_string()));
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(words), "{body}: {e}");
    }
    let r = server.call(
        "POST",
        "/v1/models/other/recommend",
        Some(r#"{"user": "u1"}"#),
    );
    assert_eq!(r.status, 404, "{}", r.text());
}
